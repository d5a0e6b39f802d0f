"""Finding the broken op: each op's own rule checked against finite differences of its forward.

When a composite function's gradient disagrees with finite differences, the symptom is at the
inputs but the cause is one op's rule.  `first_bad_op` walks the graph in backward order and
checks each op on its own: with its operands' values from the failing run and a random seed Ȳ,
the rule's vector-Jacobian product against central differences of the op's forward.  The first
op that disagrees is the bug — unless it disagrees only at a kink of its forward (relu at 0),
where finite differences cannot judge a rule: such an op is noted and the search goes on.

Everything here works on host (NumPy) copies of the inputs, wherever they live: a rule's math
is the same on every device, and the reports are numbers to read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..grad_mode import enable_grad
from ..graph import all_nodes, topological_order
from ..node import Node
from ..ops.base import apply1, apply2
from .jacobians import (
    _as_inputs,
    _as_outputs,
    _float64_copies,
    analytic_jacobians,
    jacobians_agree,
    numerical_jacobians,
)


@dataclass
class LocalFailure:
    """One op whose own rule disagrees with finite differences of its forward.

    `kink`: True when it disagrees only at entries where the forward has no derivative (the
    one-sided differences there disagree with each other), so finite differences cannot judge
    the rule; `entry`, `entry_value` and `one_sided` (forward, backward difference) describe the
    first such entry.  `kinks_passed`: the ops at a kink that the search passed over before
    this wrong rule.
    """

    op: str
    operand: str
    position: int
    operand_shapes: tuple
    output_shape: tuple
    max_abs_error: float
    backward_index: int
    kink: bool = False
    entry: tuple = ()
    entry_value: float = 0.0
    one_sided: tuple = ()
    kinks_passed: tuple = ()
    second_order: bool = False
    dropped_graph: bool = False  # under create_graph the rule returned no graph at all

    def _where(self) -> str:
        shapes = " and ".join(str(s) for s in self.operand_shapes)
        return (f"op {self.op!r} (operands {shapes}, output {self.output_shape}), number "
                f"{self.backward_index} in backward order")

    def _kink_text(self) -> str:
        return (f"operand {self.operand}[{', '.join(map(str, self.entry))}] = "
                f"{self.entry_value:.6g} is at (or within ε of) a point where the op has no "
                "derivative (the differences from the right and from the left disagree there)")

    def describe(self) -> str:
        if self.dropped_graph:
            return (f"{self._where()}: under create_graph=True its rule for operand "
                    f"{self.operand} returns a result that is not a graph of the seed Ȳ (a raw "
                    "array, or a Node that needs no grad), so nothing can differentiate it "
                    "again: the rule computes on plain arrays (value(), .data, np.…) where it "
                    "should use Nodes")
        if self.second_order:
            return (f"{self._where()}: its rule for operand {self.operand} gives the right "
                    "gradient, but the graph it builds under create_graph=True has the wrong "
                    f"derivative (off by up to {self.max_abs_error:.3e} from finite "
                    "differences of the rule itself): part of the rule is computed on plain "
                    "arrays (value(), .data, np.…) where it should use Nodes")
        if self.kink:
            return (f"{self._where()}: {self._kink_text()}, so finite differences cannot check "
                    "its rule there, and no op's rule is wrong elsewhere — move the inputs off "
                    "the kink")
        text = (f"{self._where()}: its rule for operand {self.operand} is off by up to "
                f"{self.max_abs_error:.3e} from finite differences of its own forward, where "
                "that forward is smooth (its one-sided differences agree): a wrong rule")
        for kink in self.kinks_passed:
            text += (f"; passed over {kink._where()}, whose {kink._kink_text()} (not a wrong "
                     "rule)")
        return text

    def to_dict(self) -> dict:
        return {"op": self.op, "operand": self.operand, "operand_position": self.position,
                "operand_shapes": [list(s) for s in self.operand_shapes],
                "output_shape": list(self.output_shape), "max_abs_error": self.max_abs_error,
                "backward_index": self.backward_index, "kink": self.kink,
                "entry": list(self.entry), "entry_value": self.entry_value,
                "one_sided": list(self.one_sided),
                "kinks_passed": [k.to_dict() for k in self.kinks_passed],
                "second_order": self.second_order}


def _local_differences(node, position, eps, rng):
    """For one operand of one op node: the rule's Ā for a random seed Ȳ, and finite differences
    of ⟨Ȳ, forward⟩ — central, forward (x + ε) and backward (x − ε) — entry by entry."""
    op, attrs = node.op, node.attrs or {}
    # C-order copies: reshape(-1) must be a view, so perturbing it reaches the forward
    operands = [np.array(node.left.data, dtype=np.float64, order="C")]
    if node.right is not None:
        operands.append(np.array(node.right.data, dtype=np.float64, order="C"))
    Y = op.forward(*operands, **attrs)
    seed = rng.standard_normal(Y.shape)
    analytic = np.asarray(op.gradient(position, seed, Y, *operands, **attrs), dtype=np.float64)
    target = operands[position]
    flat = target.reshape(-1)
    here = np.sum(seed * Y)
    central, right, left = (np.empty_like(flat) for _ in range(3))
    for i in range(flat.size):
        original = flat[i]
        flat[i] = original + eps
        plus = np.sum(seed * op.forward(*operands, **attrs))
        flat[i] = original - eps
        minus = np.sum(seed * op.forward(*operands, **attrs))
        flat[i] = original
        central[i] = (plus - minus) / (2 * eps)
        right[i] = (plus - here) / eps
        left[i] = (here - minus) / eps
    shape = target.shape
    return analytic, central.reshape(shape), right.reshape(shape), left.reshape(shape), target


def _at_kink(right, left, atol, rtol):
    """Where the differences from the right and from the left disagree: no derivative there."""
    scale = np.maximum(np.abs(right), np.abs(left))
    return ~(np.abs(right - left) <= atol + rtol * scale)


def first_bad_op(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """The first op, in backward order, whose own rule disagrees with finite differences of its
    forward on the values of this run; None when every op agrees locally.

    An op that disagrees only where its forward has no derivative (a kink: relu or abs at 0,
    a tie in max — its one-sided differences disagree with each other) is not called wrong:
    the search goes on past it, and the wrong rule found lists it in `kinks_passed`.  When only
    kinks disagree, the first of them is returned with kink=True.
    """
    nodes = _float64_copies(_as_inputs(inputs), host=True)
    outputs = [o for o in _as_outputs(fn(*nodes), "first_bad_op") if o.requires_grad]
    if not outputs:
        return None
    rng = np.random.default_rng(seed)
    visited = 0
    kinks = []
    for node in reversed(topological_order(outputs)):
        if node.op is None:
            continue
        visited += 1
        for position, operand in enumerate((node.left, node.right)):
            if operand is None or not operand.requires_grad:
                continue
            analytic, central, right, left, target = _local_differences(node, position, eps,
                                                                        rng)
            mismatch = ~np.isclose(analytic, central, atol=atol, rtol=rtol, equal_nan=True)
            if not mismatch.any():
                continue
            wrong = mismatch & ~_at_kink(right, left, atol, rtol)
            shapes = tuple(x.shape for x in (node.left, node.right) if x is not None)
            found = wrong if wrong.any() else mismatch
            entry = tuple(int(i) for i in np.argwhere(found)[0])
            failure = LocalFailure(
                node.op.name, node.op.rules[position].operand, position, shapes, node.shape,
                float(np.nanmax(np.abs(analytic - central)[found])), visited,
                kink=not wrong.any(), entry=entry, entry_value=float(target[entry]),
                one_sided=(float(right[entry]), float(left[entry])))
            if not failure.kink:
                failure.kinks_passed = tuple(kinks)
                return failure
            kinks.append(failure)
    return kinks[0] if kinks else None


def first_bad_graph_rule(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """For a failing gradgradcheck: the first op, in backward order, whose rule run as a graph
    (create_graph=True) has derivatives that disagree with finite differences of the rule
    itself — a rule right on arrays that builds its graph from constants; None when every rule
    passes.  Ops at a kink of their forward (where the rule jumps) are passed over."""
    nodes = _float64_copies(_as_inputs(inputs), host=True)
    outputs = [o for o in _as_outputs(fn(*nodes), "first_bad_graph_rule") if o.requires_grad]
    rng = np.random.default_rng(seed)
    visited = 0
    for node in reversed(topological_order(outputs)):
        if node.op is None:
            continue
        visited += 1
        op, attrs = node.op, node.attrs or {}
        operands = [x for x in (node.left, node.right) if x is not None]
        for position, operand in enumerate(operands):
            if not operand.requires_grad:
                continue
            _, _, right, left, _ = _local_differences(node, position, eps, rng)
            if _at_kink(right, left, atol, rtol).any():
                continue  # at a kink the rule itself jumps: finite differences cannot judge it

            def rule_as_graph(G, *xs, op=op, attrs=attrs, position=position):
                Y = apply1(op, xs[0], attrs) if len(xs) == 1 else apply2(op, *xs, attrs)
                return op.gradient(position, G, Y, *xs, **attrs)

            leaves = [Node(rng.standard_normal(node.shape), requires_grad=True)]
            leaves += [Node(np.array(x.numpy(), dtype=np.float64), requires_grad=True)
                       for x in operands]
            shapes = tuple(x.shape for x in operands)
            with enable_grad():
                result = rule_as_graph(*leaves)
                # every rule is linear in its seed G, a leaf that requires grad: a result that
                # is no Node, or one that needs no grad, is a rule that dropped the graph
                if not isinstance(result, Node) or not result.requires_grad:
                    return LocalFailure(op.name, op.rules[position].operand, position, shapes,
                                        node.shape, math.inf, visited, second_order=True,
                                        dropped_graph=True)
                if jacobians_agree(rule_as_graph, leaves, eps, atol, rtol):
                    continue
            error = _graph_rule_error(rule_as_graph, leaves, eps)
            return LocalFailure(op.name, op.rules[position].operand, position, shapes,
                                node.shape, error, visited, second_order=True)
    return None


def _graph_rule_error(rule, leaves, eps):
    """The largest |analytic − numeric| over the Jacobians of `rule` (already known to fail)."""
    copies = _float64_copies(leaves, host=True)
    _, analytic = analytic_jacobians(rule, copies)
    numeric = numerical_jacobians(rule, copies, eps)
    return float(max(np.nanmax(np.abs(a - n)) for a, n in zip(analytic, numeric)
                     if a is not None))


@dataclass
class NonFinite:
    """Where a NaN or ±inf first appears: an op's forward, or its rule, on finite numbers."""

    op: str
    stage: str  # "forward", or "rule for operand A"
    operand_shapes: tuple
    output_shape: tuple
    entry: tuple
    value: float

    def describe(self) -> str:
        shapes = " and ".join(str(s) for s in self.operand_shapes)
        kind = "NaN" if math.isnan(self.value) else ("inf" if self.value > 0 else "−inf")
        if self.stage == "input":
            return (f"input {self.op} (shape {self.output_shape}) already holds {kind} at "
                    f"{list(self.entry)}")
        if self.stage == "forward":
            return (f"op {self.op!r} (operands {shapes}, output {self.output_shape}) computes "
                    f"{kind} at {list(self.entry)} from finite operands: an operand is outside "
                    "its domain")
        return (f"op {self.op!r} (operands {shapes}, output {self.output_shape}): its "
                f"{self.stage} gives {kind} at {list(self.entry)} from finite values: the op "
                "has no finite derivative there")

    def to_dict(self) -> dict:
        return {"op": self.op, "stage": self.stage,
                "operand_shapes": [list(s) for s in self.operand_shapes],
                "output_shape": list(self.output_shape), "entry": list(self.entry),
                "value": str(self.value)}


def _first_bad_entry(array):
    bad = np.argwhere(~np.isfinite(array))
    if not len(bad):
        return None
    entry = tuple(int(i) for i in bad[0])
    return entry, float(array[entry])


def first_nonfinite(fn, inputs):
    """Where the first NaN or ±inf of `fn` at `inputs` comes from: an input that holds one, the
    first op (in forward order) whose forward makes one from finite operands, or the first op
    (in backward order) whose rule makes one from finite values; None when all are finite."""
    nodes = _float64_copies(_as_inputs(inputs), host=True)
    outputs = _as_outputs(fn(*nodes), "first_nonfinite")
    order, seen = [], set()
    for output in outputs:
        for node in all_nodes(output):
            if id(node) not in seen:
                seen.add(id(node))
                order.append(node)
    for index, node in enumerate(nodes):
        found = _first_bad_entry(np.asarray(node.numpy(), dtype=np.float64))
        if found is not None:
            label = f"{index}" + (f" {node.name!r}" if node.name else "")
            return NonFinite(label, "input", (), node.shape, *found)
    for node in order:
        if node.op is None:
            continue
        operands = [x for x in (node.left, node.right) if x is not None]
        if not all(np.isfinite(x.numpy()).all() for x in operands):
            continue
        found = _first_bad_entry(node.numpy())
        if found is not None:
            return NonFinite(node.op.name, "forward", tuple(x.shape for x in operands),
                             node.shape, *found)
    for node in reversed(topological_order([o for o in outputs if o.requires_grad])):
        if node.op is None or not np.isfinite(node.numpy()).all():
            continue
        operands = [np.asarray(x.numpy(), dtype=np.float64)
                    for x in (node.left, node.right) if x is not None]
        if not all(np.isfinite(x).all() for x in operands):
            continue
        seed_gradient = np.ones(node.shape)  # Ȳ = 1: the sign of an inf is the derivative's
        for position, operand in enumerate((node.left, node.right)):
            if operand is None or not operand.requires_grad:
                continue
            with np.errstate(all="ignore"):
                result = node.op.gradient(position, seed_gradient, node.numpy(), *operands,
                                          **(node.attrs or {}))
            found = _first_bad_entry(np.asarray(result, dtype=np.float64))
            if found is not None:
                return NonFinite(node.op.name,
                                 f"rule for operand {node.op.rules[position].operand}",
                                 tuple(x.shape for x in operands), node.shape, *found)
    return None
