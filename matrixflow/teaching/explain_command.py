"""`matrixflow explain "EXPR" --wrt X`: a scalar expression's gradient, derived and checked.

The expression (the `expression` language) is built on symbols, so backward's own rules give
its closed form; the derivation is worked node by node in the expression's symbols (`derive`);
and the closed form is checked on random
numbers inside the expression's domain, against backward and against finite differences.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from ..autograd import grad
from ..node import Node
from ..verification.localise import first_nonfinite
from . import expression
from .domains import describe_draws as _describe_draws
from .domains import domains as _domains
from .domains import numbers_for as _numbers_for
from .symbolic import symbols
from .symbolic.printing import describe
from .worked import derive


def _default_shape(name, size=3):
    """A lower-case name is a column (3×1), an upper-case one a square matrix (3×3)."""
    return (size, 1) if name[:1].islower() else (size, size)


FD_ENTRIES = 200  # finite differences on at most this many entries of the matrix differentiated
CHECK_DRAWS = 50  # draws tried before saying the values keep leaving the domain


def _outside_domain(text, values, wrt):
    """None when the expression, backward and the rules are finite on `values`; else why not."""
    order = list(values)
    nodes = [Node(values[n], requires_grad=n == wrt) for n in order]
    try:
        found = first_nonfinite(lambda *xs: expression.evaluate(text, dict(zip(order, xs))),
                                nodes)
    except np.linalg.LinAlgError as exc:
        return str(exc)
    return None if found is None else found.describe()


def _finite_differences(text, values, wrt, entries, eps=1e-6):
    """Central differences of the expression in the chosen flat entries of `wrt`."""
    def f(point):
        nodes = {n: Node(point if n == wrt else v) for n, v in values.items()}
        return float(expression.evaluate(text, nodes).numpy()[0, 0])

    base = np.array(values[wrt], dtype=np.float64)
    flat = base.reshape(-1)
    result = np.empty(len(entries))
    for k, i in enumerate(entries):
        original = flat[i]
        flat[i] = original + eps
        plus = f(base)
        flat[i] = original - eps
        minus = f(base)
        flat[i] = original
        result[k] = (plus - minus) / (2 * eps)
    return result


def parse_shapes(items, option="--shape"):
    """["X=3x2", "a=3x1"] → {"X": (3, 2), "a": (3, 1)}; a ValueError names the bad item.
    `option` is what the messages call the items (the command's --shape, the page's shapes)."""
    shapes = {}
    for item in items or []:
        name, _, text = item.partition("=")
        name = name.strip()
        parts = text.strip().lower().replace("×", "x").split("x")
        if not name or len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
            raise ValueError(f"{option} wants NAME=ROWSxCOLS, got {item!r}")
        if name in shapes:
            raise ValueError(f"{option} gives {name} twice ({name}={shapes[name][0]}x"
                             f"{shapes[name][1]} and {item}); give it once")
        rows, cols = int(parts[0]), int(parts[1])
        if rows < 1 or cols < 1:
            raise ValueError(f"{option} {item}: a matrix needs at least one row and one "
                             "column")
        shapes[name] = (rows, cols)
    return shapes


def check_answer_names(answer, text, option="--answer"):
    """A ValueError when the answer uses a name the expression does not (found before any
    work is done, so a typo in the answer costs nothing)."""
    unknown = [n for n in expression.names(answer) if n not in expression.names(text)]
    if unknown:
        raise ValueError(f"{option} uses {', '.join(unknown)}, which the expression does "
                         f"not; its names are {', '.join(expression.names(text))}")


def explain_expression(text, wrt, shapes=None, seed=0, out=None, answer=None) -> int:
    """Print the derivative of `text` with respect to `wrt`: the walk, the closed form, a check,
    and, given an `answer` (an expression: your gradient), whether it is right (check_gradient).
    Returns 0 when the closed form agrees with backward and finite differences (and the answer
    is right), 1 when it does not, when no check values inside the expression's domain were
    found, or when the answer is wrong."""
    if answer is not None:  # a mistake in the answer is found before anything is printed
        check_answer_names(answer, text)
    with np.errstate(all="ignore"):  # an expression outside its domain is said so below
        return _explain(text, wrt, shapes, seed, out or sys.stdout, answer)


@dataclass
class Prepared:
    """An expression built on symbols: its `shapes` (every name), `leaves` {name: symbol
    Node}, the 1×1 root `f` and the `closed` form of ∂f/∂wrt (a Sym)."""

    text: str
    wrt: str
    shapes: dict
    leaves: dict
    f: Node
    closed: object


def prepare(text, wrt, shapes=None, option="--shape") -> Prepared:
    """Parse and build `text` on symbols of the given shapes (the rest by _default_shape) and
    derive ∂f/∂wrt in closed form; a ValueError (or ExpressionError) says what is wrong."""
    used = expression.names(text)
    if wrt not in used:
        raise ValueError(f"{wrt!r} does not appear in {text!r} (its names: {', '.join(used)})")
    if "I" in used:
        raise ValueError("the name I is the identity matrix in the closed forms printed; call "
                         "your matrix something else (e.g. J)")
    unused = [name for name in (shapes or {}) if name not in used]
    if unused:
        raise ValueError(f"{option} names {', '.join(unused)}, which the expression does not "
                         f"use; its names are {', '.join(used)}")
    shapes = {name: (shapes or {}).get(name, _default_shape(name)) for name in used}
    leaves = {name: symbols(name, shape=shape, requires_grad=name == wrt)
              for name, shape in shapes.items()}
    f = expression.evaluate(text, leaves)
    if f.shape != (1, 1):
        raise ValueError(f"{text!r} is {f.shape[0]}×{f.shape[1]}, not a scalar; "
                         "wrap it in trace(...) or sum(...)")
    (gradient,) = grad_of(f, leaves[wrt])
    return Prepared(text, wrt, shapes, leaves, f, gradient.data)


def _explain(text, wrt, shapes, seed, out, answer=None):
    prepared = prepare(text, wrt, shapes)
    shapes, leaves, f, closed = prepared.shapes, prepared.leaves, prepared.f, prepared.closed
    listing = ", ".join(f"{n}: {r}×{c}" for n, (r, c) in shapes.items())
    print(f"f = {text}   with {listing}", file=out)
    print(f"∂f/∂{wrt} = {closed}", file=out)
    print(f"LaTeX: {describe(closed, latex=True)}", file=out)  # (a note when too large)
    print("\nHow backward gets there, step by step (the trace trick, node by node):", file=out)
    print(derive(f, leaves[wrt]), file=out)

    check = check_closed_form(text, wrt, shapes, seed, closed)
    print(f"\n{check.text}", file=out)
    code = 0 if check.agree else 1
    if answer is None:
        return code
    from .check_gradient import check_gradient

    verdict = check_gradient(f, leaves[wrt], answer, seed=seed)
    print(f"\nYour answer {answer}:", file=out)
    print(verdict, file=out)
    return max(code, 0 if verdict.right else 1)


@dataclass
class ClosedFormCheck:
    """The closed form on random numbers: `agree` (with backward and finite differences; False
    when no draw stayed inside the domain, `checked` then False too) and the sentence `text`."""

    agree: bool
    checked: bool
    text: str
    vs_backward: float | None = None
    vs_finite: float | None = None


def check_closed_form(text, wrt, shapes, seed, closed) -> ClosedFormCheck:
    """Compare the closed form with backward and central differences on random numbers inside
    the expression's domain (at most CHECK_DRAWS draws to find such numbers)."""
    with np.errstate(all="ignore"):
        return _check_closed_form(text, wrt, shapes, seed, closed)


def _check_closed_form(text, wrt, shapes, seed, closed):
    positive, invertible = _domains(text)
    problem = None
    for attempt in range(CHECK_DRAWS):
        rng = np.random.default_rng(seed if attempt == 0 else [seed, attempt])
        values = _numbers_for(shapes, rng, positive, invertible)
        problem = _outside_domain(text, values, wrt)
        if problem is None:
            break
    drawn = _describe_draws(shapes, positive, invertible)
    if problem is not None:
        return ClosedFormCheck(False, False, (
            f"Not checked: {CHECK_DRAWS} draws of random numbers (seed {seed}"
            f"{'; ' + drawn if drawn else ''}) all leave the expression's domain — {problem}; "
            "the closed form above is unverified"))
    nodes = {name: Node(value, requires_grad=name == wrt) for name, value in values.items()}
    expression.evaluate(text, nodes).backward()
    backward = nodes[wrt].grad
    formula = closed.evaluate(values)
    size = backward.size
    entries = (np.arange(size) if size <= FD_ENTRIES else
               np.sort(rng.choice(size, FD_ENTRIES, replace=False)))
    finite = _finite_differences(text, values, wrt, entries)
    vs_backward = float(np.abs(formula - backward).max())
    vs_finite = float(np.abs(formula.reshape(-1)[entries] - finite).max())
    agree = bool(np.allclose(formula, backward, rtol=1e-9, atol=1e-12) and np.allclose(
        formula.reshape(-1)[entries], finite, rtol=1e-4, atol=1e-6))
    which = ("" if size <= FD_ENTRIES else
             f" (on {FD_ENTRIES} of its {size} entries, chosen at random)")
    return ClosedFormCheck(agree, True, (
        f"Checked on random numbers (seed {seed}{'; ' + drawn if drawn else ''}): the closed "
        f"form against backward, max |difference| {vs_backward:.1e}; against finite "
        f"differences{which}, {vs_finite:.1e}: {'they agree' if agree else 'THEY DISAGREE'}"),
        vs_backward, vs_finite)


def grad_of(f, x):
    return grad(f, [x])
