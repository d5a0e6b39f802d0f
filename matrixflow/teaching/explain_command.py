"""`matrixflow explain "EXPR" --wrt X`: a scalar expression's gradient, derived and checked.

The expression (the `expression` language) is built on symbols, so backward's own rules give
its closed form; the walk is explained op by op; and the closed form is checked on random
numbers inside the expression's domain, against backward and against finite differences.
"""

from __future__ import annotations

import ast
import sys

import numpy as np

from ..autograd import grad
from ..node import Node
from ..verification.localise import first_nonfinite
from . import expression
from .explain import explain
from .symbolic import symbols
from .symbolic.printing import describe


def _default_shape(name, size=3):
    """A lower-case name is a column (3×1), an upper-case one a square matrix (3×3)."""
    return (size, 1) if name[:1].islower() else (size, size)


# Functions whose argument must stay inside a domain: entries > 0, or det > 0 and
# well-conditioned (solve: its first argument).
_POSITIVE = ("log", "sqrt")
_INVERTIBLE = ("inv", "det", "logdet", "solve")


def _domains(text):
    """{name: set of reasons} for names that need positive entries, and for names that need
    invertible values, from where each name appears in the expression."""
    positive, invertible = {}, {}

    def mark(node, table, reason):
        for inner in ast.walk(node):
            if isinstance(inner, ast.Name) and inner.id not in expression.FUNCTIONS:
                table.setdefault(inner.id, set()).add(reason)

    for node in ast.walk(expression.parse(text).body):
        if isinstance(node, ast.Call):
            name = node.func.id
            if name in _POSITIVE:
                mark(node.args[0], positive, name)
            if name in _INVERTIBLE:
                mark(node.args[0], invertible, name)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            mark(node.right, positive, "a division")
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            exponent = expression._literal(node.right)
            if exponent is None or not float(exponent).is_integer() or exponent < 0:
                mark(node.left, positive, "a power")
    return positive, invertible


def _numbers_for(shapes, rng, positive=(), invertible=()):
    """Random values inside the expression's domains.  Square matrices are never symmetric,
    so a closed form with A where Aᵀ belongs (or X⁻¹ for X⁻ᵀ) disagrees on them:

    - names inside inv, det, logdet or solve: 2I + R/√n with R standard normal (its
      eigenvalues lie within about 1 of 2: det > 0, condition number ≲ 3);
    - names inside log, sqrt, a divisor or a fractional power: entries in [0.5, 2] (with a
      dominant diagonal when they must be invertible too);
    - the rest: standard normal."""
    values = {}
    for name, (rows, cols) in shapes.items():
        square = rows == cols
        if name in invertible and square and name in positive:
            values[name] = rng.uniform(0.1, 1.0, (rows, rows)) + rows * np.eye(rows)
        elif name in positive or (name in invertible and rows == cols == 1):
            values[name] = rng.uniform(0.5, 2.0, (rows, cols))
        elif name in invertible and square:
            values[name] = 2.0 * np.eye(rows) + rng.standard_normal((rows, rows)) / np.sqrt(rows)
        else:
            values[name] = rng.standard_normal((rows, cols))
    return values


def _describe_draws(shapes, positive, invertible):
    """What was asked of the check values: "x: entries > 0 (log); X: det > 0 (inv)"."""
    parts = []
    for name, (rows, cols) in shapes.items():
        needs = []
        if name in positive:
            needs.append(f"entries > 0 ({', '.join(sorted(positive[name]))})")
        if name in invertible and rows == cols:
            needs.append(f"det > 0, well-conditioned ({', '.join(sorted(invertible[name]))})")
        if needs:
            parts.append(f"{name}: {', '.join(needs)}")
    if any(r == c > 1 for r, c in shapes.values()):
        parts.append("square matrices not symmetric")
    return "; ".join(parts)


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


def explain_expression(text, wrt, shapes=None, seed=0, out=None) -> int:
    """Print the derivative of `text` with respect to `wrt`: the walk, the closed form, a check.
    Returns 0 when the closed form agrees with backward and finite differences, 1 when it does
    not or when no check values inside the expression's domain were found."""
    with np.errstate(all="ignore"):  # an expression outside its domain is said so below
        return _explain(text, wrt, shapes, seed, out or sys.stdout)


def _explain(text, wrt, shapes, seed, out):
    used = expression.names(text)
    if wrt not in used:
        raise ValueError(f"{wrt!r} does not appear in {text!r} (its names: {', '.join(used)})")
    if "I" in used:
        raise ValueError("the name I is the identity matrix in the closed forms printed; call "
                         "your matrix something else (e.g. J)")
    unused = [name for name in (shapes or {}) if name not in used]
    if unused:
        raise ValueError(f"--shape names {', '.join(unused)}, which the expression does not "
                         f"use; its names are {', '.join(used)}")
    shapes = {name: (shapes or {}).get(name, _default_shape(name)) for name in used}
    leaves = {name: symbols(name, shape=shape, requires_grad=name == wrt)
              for name, shape in shapes.items()}
    f = expression.evaluate(text, leaves)
    if f.shape != (1, 1):
        raise ValueError(f"{text!r} is {f.shape[0]}×{f.shape[1]}, not a scalar; "
                         "wrap it in trace(...) or sum(...)")
    (gradient,) = grad_of(f, leaves[wrt])
    closed = gradient.data
    listing = ", ".join(f"{n}: {r}×{c}" for n, (r, c) in shapes.items())
    print(f"f = {text}   with {listing}", file=out)
    print(f"∂f/∂{wrt} = {closed}", file=out)
    print(f"LaTeX: {describe(closed, latex=True)}", file=out)  # (a note when too large)
    print("\nHow backward gets there:", file=out)
    print(explain(f), file=out)

    return _check_closed_form(text, wrt, shapes, seed, closed, out)


def _check_closed_form(text, wrt, shapes, seed, closed, out):
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
        print(f"\nNot checked: {CHECK_DRAWS} draws of random numbers (seed {seed}"
              f"{'; ' + drawn if drawn else ''}) all leave the expression's domain — {problem}; "
              "the closed form above is unverified", file=out)
        return 1
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
    agree = np.allclose(formula, backward, rtol=1e-9, atol=1e-12) and np.allclose(
        formula.reshape(-1)[entries], finite, rtol=1e-4, atol=1e-6)
    which = ("" if size <= FD_ENTRIES else
             f" (on {FD_ENTRIES} of its {size} entries, chosen at random)")
    print(f"\nChecked on random numbers (seed {seed}{'; ' + drawn if drawn else ''}): the closed "
          f"form against backward, max |difference| {vs_backward:.1e}; against finite "
          f"differences{which}, {vs_finite:.1e}: {'they agree' if agree else 'THEY DISAGREE'}",
          file=out)
    return 0 if agree else 1


def grad_of(f, x):
    return grad(f, [x])
