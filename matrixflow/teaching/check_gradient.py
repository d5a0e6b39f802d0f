"""Is my gradient right?  `mf.check_gradient(f, X, "A @ X + A.T @ X")`.

The true gradient is the closed form ∂f/∂X (backward's own rules run on symbols); the answer, a
string in the language of `matrixflow explain` or a Node built from the same symbols, is a
symbolic matrix too.  Both are evaluated on random draws inside f's domain (square matrices not
symmetric, so a missing transpose shows) and compared by `verification.slips.diagnose_slip`,
which names the likeliest classic slip: transposed, a constant factor (the 2 of a quadratic
form), the sign, right only for symmetric inputs, a missing or an extra term.  For the last two
the true gradient is split into its terms: the simplified closed form's sum, with products and
transposes expanded over sums, so that of (A + Aᵀ)X the terms are AX and AᵀX.  The difference
yours − true is given in closed form, simplified, with a counterexample on small integers.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

import numpy as np

from ..node import Node
from ..verification.slips import Counterexample, SlipDiagnosis, diagnose_slip
from . import expression
from .domains import numbers_for, small_numbers_for, sym_domains
from .symbolic import Sym, closed_form, simplify
from .symbolic import expr as sx

DRAWS = 5  # random draws compared (each a fresh value of every input)
SMALL_DRAWS = 5  # small-integer draws tried for the counterexample
ATTEMPTS = 50  # draws tried before saying the values keep leaving the domain
MAX_TERMS = 12  # a gradient expanded into more terms than this is not split further


@dataclass
class GradientCheck:
    """The verdict on a claimed gradient: `right`, the `slip` (a SlipDiagnosis, its kind one of
    right, shape, transposed, sign, constant factor, symmetric only, missing term, extra term,
    unknown), a `message`, the `difference` yours − true in closed form (None when the shapes
    differ) and a `counterexample` (inputs with small integer entries where the two differ)."""

    wrt: str
    gradient: Sym
    answer: Sym
    slip: SlipDiagnosis
    difference: Sym | None

    @property
    def right(self) -> bool:
        return self.slip.right

    @property
    def message(self) -> str:
        return self.slip.message

    @property
    def counterexample(self) -> Counterexample | None:
        return self.slip.counterexample

    def __bool__(self) -> bool:
        return self.right

    def _repr_pretty_(self, printer, cycle) -> None:  # a notebook shows the verdict's text
        printer.text(str(self))

    def __str__(self) -> str:
        if self.right:
            return f"right: {self.answer} is ∂f/∂{self.wrt} = {self.gradient} ({self.message})"
        head = ("wrong, no classic slip found" if self.slip.kind == "unknown" else
                f"wrong: {self.slip.kind} — {self.message}")
        lines = [head,
                 f"  ∂f/∂{self.wrt} = {self.gradient}", f"  yours  = {self.answer}"]
        if self.difference is not None:
            lines.append(f"  difference (yours − true) = {self.difference}")
        example = self.counterexample
        if example is not None:
            inputs = ", ".join(f"{name} = {_matrix(v)}" for name, v in example.values.items())
            where = "" if example.entry is None else f" (most at entry {list(example.entry)})"
            lines.append(f"  counterexample: {inputs}: yours {_matrix(example.claimed)}, true "
                         f"{_matrix(example.true)}{where}")
        return "\n".join(lines)


def _matrix(value) -> str:
    value = np.asarray(value, dtype=np.float64)
    if np.all(np.isfinite(value)) and np.array_equal(value, np.round(value)):
        value = value.astype(int) + 0  # −0 prints as 0
    else:
        value = np.round(value, 4) + 0.0
    text = np.array2string(value, separator=", ", max_line_width=10_000, threshold=100,
                           formatter={"float": lambda v: f"{v:.4g}"})
    return " ".join(text.split()).replace("-", "−")


def check_gradient(f, wrt, answer, *, seed=0) -> GradientCheck:
    """Compare `answer`, a claimed ∂f/∂wrt, with the true one on random numbers.

    `f` is a 1×1 Node built from `mf.symbols`; `wrt` one of its symbols (the Node or its name);
    `answer` a string in the `matrixflow explain` language over the same names ("(A + A.T) @ X",
    "2 * X.T @ (X @ w - y)") or a Node built from the same symbols.  Returns a GradientCheck:
    true when right, else the slip, the difference in closed form and a counterexample.
    """
    leaves = _symbol_leaves(f)
    name = wrt if isinstance(wrt, str) else _symbol_name(wrt)
    if name not in leaves:
        raise ValueError(f"check_gradient: f does not depend on {name!r} (its symbols: "
                         f"{', '.join(leaves)})")
    if tuple(f.shape) != (1, 1):
        raise ValueError(f"check_gradient: f is {f.shape[0]}×{f.shape[1]}, not a scalar")
    true = simplify(closed_form(f, leaves[name]))
    claimed = simplify(_as_sym(answer, leaves))
    shapes = {n: leaf.shape for n, leaf in leaves.items()}
    positive, invertible = {}, {}
    for sym in (f.data, true, claimed):
        more_positive, more_invertible = sym_domains(sym)
        for table, more in ((positive, more_positive), (invertible, more_invertible)):
            for key, reasons in more.items():
                table.setdefault(key, set()).update(reasons)
    with np.errstate(all="ignore"):
        draws = _draws(numbers_for, shapes, true, seed, positive, invertible, DRAWS)
        small = _draws(small_numbers_for, shapes, true, seed, positive, invertible, SMALL_DRAWS)
    if not draws:
        raise ValueError(f"check_gradient: {ATTEMPTS} draws of random numbers (seed {seed}) "
                         "all leave the gradient's domain")
    slip = diagnose_slip(claimed.evaluate, true.evaluate, draws, small_draws=small,
                         terms=_labelled_terms(true), claimed_terms=_labelled_terms(claimed))
    difference = simplify(claimed - true) if claimed.shape == true.shape else None
    return GradientCheck(name, true, claimed, slip, difference)


def _symbol_name(node) -> str:
    data = getattr(node, "data", None)
    if isinstance(data, Sym) and data.kind == "symbol":
        return data.attrs
    raise TypeError("check_gradient: wrt must be a symbol of f (from mf.symbols) or its name")


def _symbol_leaves(f) -> dict:
    """{name: leaf Node} for the symbols f is built from, in the order they appear."""
    from ..graph import all_nodes

    if not isinstance(f, Node) or not isinstance(f.data, Sym):
        raise TypeError("check_gradient: f must be a Node built from mf.symbols, e.g. "
                        "A, X = mf.symbols('A X'); f = mf.trace(X.T @ A @ X)")
    leaves = {}
    for node in all_nodes(f):
        if node.op is None and isinstance(node.data, Sym) and node.data.kind == "symbol":
            leaves.setdefault(node.data.attrs, node)
    return leaves


def _as_sym(answer, leaves) -> Sym:
    """The claimed gradient as a symbolic matrix, from a string, a Node or a Sym."""
    if isinstance(answer, str):
        used = expression.names(answer)
        unknown = [n for n in used if n not in leaves]
        if unknown:
            raise ValueError(f"check_gradient: the answer uses {', '.join(unknown)}, which f "
                             f"does not (its symbols: {', '.join(leaves)})")
        answer = expression.evaluate(answer, leaves)
    if isinstance(answer, Node):
        answer = answer.data
    return sx.lift(answer)


def _draws(generate, shapes, true, seed, positive, invertible, count):
    """Up to `count` draws of the inputs on which the true gradient is finite."""
    found = []
    for attempt in range(ATTEMPTS):
        if len(found) == count:
            break
        rng = np.random.default_rng([seed, attempt, generate is small_numbers_for])
        values = generate(shapes, rng, positive, invertible)
        try:
            value = true.evaluate(values)
        except (np.linalg.LinAlgError, ValueError, ZeroDivisionError):
            continue
        if np.all(np.isfinite(value)):
            found.append(values)
    return found


def terms(x: Sym, depth=3) -> list[Sym]:
    """x as a sum of terms: its top-level sum, with scalings, transposes and products expanded
    over sums (Σ distributes: (A + B)X = AX + BX), to `depth` levels and MAX_TERMS terms."""
    if depth == 0:
        return [x]
    if x.kind == "add":
        parts = [t for arg in x.args for t in terms(arg, depth)]
        if any(t.shape != x.shape for t in parts):  # a broadcast term (1 − σ): kept whole
            return [x]
    elif x.kind == "scale":
        parts = [sx.scale(x.attrs, t) for t in terms(x.args[0], depth - 1)]
    elif x.kind == "transpose":
        parts = [sx.transpose(t) for t in terms(x.args[0], depth - 1)]
    elif x.kind in ("matmul", "hadamard"):
        build = sx.matmul if x.kind == "matmul" else sx.hadamard
        choices = [terms(arg, depth - 1) for arg in x.args]
        if np.prod([len(c) for c in choices]) > MAX_TERMS:
            return [x]
        try:
            parts = [build(*combo) for combo in product(*choices)]
        except ValueError:  # shapes that only broadcast as a whole
            return [x]
    else:
        return [x]
    return parts if len(parts) <= MAX_TERMS else [x]


def _labelled_terms(x: Sym):
    """(label, function of the values) for each distinct term of x, equal terms merged."""
    merged = {}
    for term in terms(x):
        term = simplify(term)
        if term.kind == "zeros":
            continue
        key = str(term)
        count, _ = merged.get(key, (0, term))
        merged[key] = (count + 1, term)
    labelled = []
    for count, term in merged.values():
        term = term if count == 1 else simplify(sx.scale(count, term))
        labelled.append((str(term), term.evaluate))
    return labelled
