"""Checking someone's hand-written backward: a NumPy forward, the user's VJP, the slip named.

The convention is `torch.autograd.Function`'s: `forward(*inputs)` returns Y (an array or a
number); `backward(Ȳ, *inputs)` returns one gradient per input, Āₖ = ∂tr(Ȳᵀ Y)/∂Aₖ — the
vector-Jacobian product.  On a few draws of the inputs (the values given first, then random
ones of the same shapes: standard normal, positive where the given values are, never symmetric
when square) and of Ȳ, each Āₖ is compared with a reference:

- matrixflow's own backward, exact, when the forward is also written in matrixflow
  (`matrixflow_forward=`, or the forward itself when it accepts Nodes and returns one), checked
  against finite differences and, where installed, PyTorch replaying the same graph;
- else central finite differences of L = tr(Ȳᵀ Y) in float64, at the step an ε sweep picks
  (where FD(ε) and FD(ε/10) agree best: truncation error above it, rounding error below).

A wrong Āₖ is diagnosed as `mf.check_gradient` diagnoses a wrong closed form (slips.py: the
same code): transposed, a constant factor, the sign, right only on symmetric inputs, and — when
the matrixflow forward uses an input in several places — the missing term, each term being
the contribution one of its uses sends back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..autograd import grad
from ..graph import all_nodes
from ..node import Node
from .slips import SlipDiagnosis, diagnose_slip

SEED = "Ȳ"  # the upstream gradient's name in the draws and the report
STEPS = (1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8)


@dataclass
class InputCheck:
    """One input's verdict: `diagnosis` (a SlipDiagnosis: kind "right" when it agrees),
    `worst` = (index, yours, reference) at the entry where they differ most, the errors of
    the reference against finite differences and PyTorch when those were compared."""

    name: str
    shape: tuple
    diagnosis: SlipDiagnosis
    worst: tuple | None = None
    max_abs_error: float = 0.0
    finite_differences_error: float | None = None
    torch_error: float | None = None

    @property
    def right(self) -> bool:
        return self.diagnosis.right


@dataclass
class BackwardReport:
    """The check of a hand-written backward: one InputCheck per input, the reference used, the
    ε the sweep chose and each step's agreement, and notes (a forward that differs, …)."""

    inputs: list
    reference: str
    eps: float | None
    sweep: list = field(default_factory=list)
    draws: int = 0
    notes: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.right for check in self.inputs)

    def wrong(self) -> list:
        return [check for check in self.inputs if not check.right]

    def to_dict(self) -> dict:
        """The report as JSON-serialisable data."""
        return {"ok": self.ok, "reference": self.reference, "eps": self.eps,
                "draws": self.draws, "sweep": self.sweep, "notes": self.notes,
                "inputs": [{"name": c.name, "shape": list(c.shape), "right": c.right,
                            "slip": c.diagnosis.kind, "message": c.diagnosis.message,
                            "factor": c.diagnosis.factor, "terms": list(c.diagnosis.terms),
                            "max_abs_error": c.max_abs_error,
                            "worst": None if c.worst is None else
                            {"index": list(c.worst[0]), "yours": c.worst[1],
                             "reference": c.worst[2]},
                            "finite_differences_error": c.finite_differences_error,
                            "torch_error": c.torch_error} for c in self.inputs]}

    def __str__(self) -> str:
        from .handwritten_view import report_text

        return report_text(self)

    def _repr_pretty_(self, printer, cycle) -> None:  # IPython's text: the report, not fields
        printer.text(str(self))

    def _repr_html_(self) -> str:
        from .handwritten_view import report_html

        return report_html(self)


def check_backward(forward, backward, inputs, *, matrixflow_forward=None, draws: int = 3,
                   seed: int = 0, rtol: float = 1e-6, use_torch: bool = True,
                   domains=None) -> BackwardReport:
    """Check `backward(Ȳ, *inputs)` against the gradient of `forward(*inputs)`.

    `inputs`: a dict {name: array} (or a list of arrays, named x0, x1, …) — the values of the
    first draw, whose shapes the others share.  `domains` {name: kind} draws an input's later
    values from a domain of verification.matrices ("spd", "symmetric", "orthogonal",
    "positive", …) where the forward needs one; the rest are standard normal, or positive
    where the given values are.  Returns a BackwardReport; `ok` says whether every gradient
    is right, `str()` says which is wrong, where, and the likeliest slip.
    """
    names, given = _named(inputs)
    rng = np.random.default_rng(seed)
    first = {name: np.array(value, dtype=np.float64) for name, value in zip(names, given)}
    output = _call_forward(forward, first)
    first[SEED] = _random_like(output, rng)
    domains = dict(domains or {})
    unknown = set(domains) - set(names)
    if unknown:
        raise ValueError(f"check_backward: domains= names {', '.join(sorted(unknown))}, which "
                         f"are not inputs (the inputs: {', '.join(names)})")
    samples = [first] + [{**{n: _draw_like(first[n], rng, domains.get(n)) for n in names},
                          SEED: _random_like(output, rng)} for _ in range(draws - 1)]
    yours = _Backward(backward, names)
    graph = _matrixflow_forward(forward, matrixflow_forward, first, names)
    notes = []
    fd = _FiniteDifferences(forward, names)
    eps, sweep = fd.choose_step(first, yours)
    if graph is not None:
        difference = np.max(np.abs(np.asarray(graph(first)[0].numpy(), dtype=np.float64)
                                   .reshape(-1) - np.asarray(output).reshape(-1)))
        if difference > 1e-8 * max(1.0, float(np.max(np.abs(output)))):
            notes.append(f"the matrixflow forward differs from yours by {difference:.3g}: "
                         "the reference is finite differences of yours")
            graph = None
    reference = _Exact(graph, names) if graph is not None else fd.at(eps)
    checks = []
    for k, name in enumerate(names):
        claimed = yours.of(k)
        true = reference.of(k)
        terms = reference.terms(k, first) if graph is not None else ()
        diagnosis = diagnose_slip(claimed, true, samples, terms=terms, rtol=rtol)
        check = InputCheck(name, first[name].shape, diagnosis)
        _fill_errors(check, claimed, true, samples[0])
        if graph is not None:
            check.finite_differences_error = _max_error(fd.at(eps).of(k)(first), true(first))
            if use_torch:
                check.torch_error = reference.torch_error(first, k)
        checks.append(check)
    kind = "matrixflow's backward" if graph is not None else f"finite differences (ε = {eps:g})"
    return BackwardReport(checks, kind, eps, sweep, len(samples), notes)


def _named(inputs):
    if isinstance(inputs, dict):
        return list(inputs), list(inputs.values())
    inputs = list(inputs)
    return [f"x{i}" for i in range(len(inputs))], inputs


def _call_forward(forward, values):
    arrays = [values[n] for n in values if n != SEED]
    return np.asarray(forward(*[a.copy() for a in arrays]), dtype=np.float64)


def _random_like(output, rng):
    return rng.standard_normal(np.shape(output))


def _draw_like(value, rng, kind=None):
    """A fresh value of `value`'s shape: of the domain `kind` when given, positive where the
    value is, else standard normal."""
    if kind is not None:
        from .matrices import random_matrix

        return random_matrix(kind, value.shape, rng)
    if value.size and np.all(value > 0):
        return rng.uniform(0.5, 2.0, value.shape)
    return rng.standard_normal(value.shape)


class _Backward:
    """The user's gradients, one call per draw (cached: every slip test reuses them)."""

    def __init__(self, backward, names):
        self.backward, self.names, self.cache = backward, names, {}

    def all(self, values):
        key = id(values)
        if key not in self.cache:
            arrays = [values[n].copy() for n in self.names]
            result = self.backward(np.array(values[SEED]), *arrays)
            if isinstance(result, np.ndarray) or not isinstance(result, (tuple, list)):
                result = (result,)
            if len(result) != len(self.names):
                raise ValueError(f"check_backward: backward returned {len(result)} gradients "
                                 f"for {len(self.names)} inputs ({', '.join(self.names)}); "
                                 "return one per input, in order (None for one without)")
            self.cache[key] = ([np.zeros_like(values[n]) if g is None else
                                np.asarray(g, dtype=np.float64)
                                for n, g in zip(self.names, result)], values)
        return self.cache[key][0]

    def of(self, k):
        return lambda values: self.all(values)[k]


class _FiniteDifferences:
    """Central differences of tr(Ȳᵀ forward(inputs)), entry by entry, in float64."""

    def __init__(self, forward, names):
        self.forward, self.names, self.cache = forward, names, {}

    def gradients(self, values, eps):
        key = (id(values), eps)
        if key not in self.cache:
            seed = np.asarray(values[SEED])
            result = []
            for name in self.names:
                point = values[name]
                g = np.zeros_like(point)
                for index in np.ndindex(point.shape):
                    up, down = dict(values), dict(values)
                    up[name] = point.copy()
                    down[name] = point.copy()
                    up[name][index] += eps
                    down[name][index] -= eps
                    g[index] = (np.sum(seed * _call_forward(self.forward, up)) -
                                np.sum(seed * _call_forward(self.forward, down))) / (2 * eps)
                result.append(g)
            self.cache[key] = (result, values)
        return self.cache[key][0]

    def choose_step(self, values, yours):
        """The ε where FD(ε) and FD(ε/10) agree best, and each step's error against yours."""
        at = {eps: self.gradients(values, eps) for eps in STEPS}
        consistency = [max(_max_error(a, b) for a, b in zip(at[e], at[e / 10]))
                       if e / 10 in at else np.inf for e in STEPS]
        eps = STEPS[int(np.argmin(consistency))]
        mine = yours.all(values)
        sweep = []
        for e in STEPS:
            errors = [_max_error(m, g) if np.shape(m) == np.shape(g) else float("inf")
                      for m, g in zip(mine, at[e])]
            sweep.append({"eps": e, "max_abs_error": max(errors), "errors": errors})
        return eps, sweep

    def at(self, eps):
        outer = self

        class _AtStep:
            def of(self, k):
                return lambda values: outer.gradients(values, eps)[k]

        return _AtStep()


def _matrixflow_forward(forward, given, values, names):
    """A function values → (output Node, input Nodes) when the forward is written in
    matrixflow (given, or the forward itself accepting Nodes), else None."""
    candidate = given or forward

    def graph(values):
        # NumPy's 1-D vectors broadcast as rows (a bias b of shape (n,)), its scalars as 1×1
        nodes = [Node(np.atleast_2d(np.array(values[n], dtype=np.float64)), requires_grad=True,
                      name=n) for n in names]
        return candidate(*nodes), nodes

    try:
        output, _ = graph(values)
    except Exception:  # a NumPy forward that does not take Nodes: no graph
        if given is not None:
            raise
        return None
    return graph if isinstance(output, Node) else None


class _Exact:
    """matrixflow's gradients of tr(Ȳᵀ Y), and the contribution each use of an input sends."""

    def __init__(self, graph, names):
        self.graph, self.names, self.cache = graph, names, {}

    def _walk(self, values):
        key = id(values)
        if key not in self.cache:
            output, nodes = self.graph(values)
            seed = np.asarray(values[SEED], dtype=np.float64).reshape(output.shape)
            grads = grad(output, nodes, gradient=seed, materialize_grads=True)
            self.cache[key] = (output, nodes, seed, [np.asarray(g.numpy()) for g in grads],
                               values)
        return self.cache[key]

    def of(self, k):
        def gradient(values):
            _, _, _, grads, _ = self._walk(values)
            return grads[k].reshape(np.shape(values[self.names[k]]))

        return gradient

    def terms(self, k, values):
        """(label, function) per use of input k in the graph, when it has several."""
        output, nodes, _, _, _ = self._walk(values)
        uses = _uses(output, nodes[k])
        if len(uses) < 2:
            return ()
        name = self.names[k]
        return [(f"'{name} as {node.op.name}'s {'AB'[position]}'", self._use(k, number))
                for number, (node, position) in enumerate(uses)]

    def _use(self, k, number):
        def contribution(values):
            output, nodes, seed, _, _ = self._walk(values)
            node, position = _uses(output, nodes[k])[number]
            (total,) = grad(output, [node], gradient=seed, materialize_grads=True)
            operands = [x.data for x in (node.left, node.right) if x is not None]
            piece = node.op.gradient(position, total.data, node.data, *operands,
                                     **(node.attrs or {}))
            return np.asarray(piece, dtype=np.float64).reshape(np.shape(values[self.names[k]]))

        return contribution

    def torch_error(self, values, k):
        from .report import _torch_side

        output, nodes, seed, grads, _ = self._walk(values)
        side = _torch_side(output, nodes, seed, grads)
        if not side.get("available"):
            return None
        return _max_error(np.asarray(side["gradients"][k]), grads[k])


def _uses(output, leaf) -> list:
    """[(node, position)] for every operand slot of the graph that `leaf` fills."""
    return [(node, position) for node in all_nodes(output) if node.op is not None
            for position, operand in enumerate((node.left, node.right)) if operand is leaf]


def _max_error(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.size != b.size:
        return float("inf")
    return float(np.max(np.abs(a.reshape(-1) - b.reshape(-1)), initial=0.0))


def _fill_errors(check, claimed, true, values):
    mine, theirs = np.asarray(claimed(values)), np.asarray(true(values))
    if mine.shape != theirs.shape:
        check.max_abs_error = float("inf")
        return
    difference = np.abs(mine - theirs)
    check.max_abs_error = float(difference.max(initial=0.0))
    if difference.size:
        index = np.unravel_index(int(np.argmax(difference)), difference.shape)
        check.worst = (tuple(int(i) for i in index), float(mine[index]), float(theirs[index]))
