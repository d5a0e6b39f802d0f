"""Finding the broken op: local rule checks, and `verify`, a side-by-side gradient report.

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

import importlib
import math
from dataclasses import dataclass

import numpy as np

from .autograd import _topological_order, grad
from .gradcheck import _as_inputs, _as_outputs, _float64_copies, numerical_grad


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

    def _where(self) -> str:
        shapes = " and ".join(str(s) for s in self.operand_shapes)
        return (f"op {self.op!r} (operands {shapes}, output {self.output_shape}), number "
                f"{self.backward_index} in backward order")

    def _kink_text(self) -> str:
        return (f"operand {self.operand}[{', '.join(map(str, self.entry))}] = "
                f"{self.entry_value:.6g} is at (or within ε of) a point where the op has no "
                "derivative (the differences from the right and from the left disagree there)")

    def describe(self) -> str:
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
    for node in reversed(_topological_order(outputs)):
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
    from .autograd import enable_grad
    from .gradcheck import gradcheck
    from .node import Node
    from .ops.base import apply1, apply2

    nodes = _float64_copies(_as_inputs(inputs), host=True)
    outputs = [o for o in _as_outputs(fn(*nodes), "first_bad_graph_rule") if o.requires_grad]
    rng = np.random.default_rng(seed)
    visited = 0
    for node in reversed(_topological_order(outputs)):
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
            with enable_grad():
                result = rule_as_graph(*leaves)
                if not isinstance(result, Node) or not result.requires_grad:
                    continue  # a rule that does not depend on its inputs is not checked here
                if gradcheck(rule_as_graph, leaves, eps=eps, atol=atol, rtol=rtol,
                             raise_exception=False):
                    continue
            shapes = tuple(x.shape for x in operands)
            error = _graph_rule_error(rule_as_graph, leaves, eps)
            return LocalFailure(op.name, op.rules[position].operand, position, shapes,
                                node.shape, error, visited, second_order=True)
    return None


def _graph_rule_error(rule, leaves, eps):
    """The largest |analytic − numeric| over the Jacobians of `rule` (already known to fail)."""
    from .gradcheck import analytic_jacobians, numerical_jacobians

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
    from .calculus import _all_nodes

    nodes = _float64_copies(_as_inputs(inputs), host=True)
    outputs = _as_outputs(fn(*nodes), "first_nonfinite")
    order, seen = [], set()
    for output in outputs:
        for node in _all_nodes(output):
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
    for node in reversed(_topological_order([o for o in outputs if o.requires_grad])):
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


def _torch():
    try:
        return importlib.import_module("torch")
    except ImportError:
        return None


def _errors(actual, reference):
    difference = np.abs(actual - reference)
    scale = np.abs(reference)
    large = scale > 1e-8
    return (float(difference.max(initial=0.0)),
            float((difference[large] / scale[large]).max(initial=0.0)))


def verify(fn, inputs, gradient=None, eps=1e-6, atol=1e-5, rtol=1e-3, use_torch=True) -> dict:
    """A report (a JSON-serialisable dict) on the gradient of `fn` at `inputs`, side by side:
    matrixflow's backward, central finite differences, and PyTorch (when importable) replaying
    the same graph; their largest absolute and relative differences; an eps sweep of the finite
    differences, where truncation error (large ε) and rounding error (small ε) show; and, when
    backward and finite differences disagree, the first op whose own rule is wrong.

    The gradient is of L = tr(Ȳᵀ fn(inputs)); Ȳ = `gradient`, or [[1]] for a 1×1 output, or a
    fixed random matrix otherwise.
    """
    nodes = _float64_copies(_as_inputs(inputs), host=True)
    outputs = _as_outputs(fn(*nodes), "verify")
    if len(outputs) != 1:
        raise ValueError("verify: the function must return one Node")
    (output,) = outputs
    wrt = [x for x in nodes if x.requires_grad]
    if not wrt:
        raise ValueError("verify: no input requires grad; pass Nodes with requires_grad=True")
    if gradient is None:
        seed = (np.ones((1, 1)) if output.shape == (1, 1)
                else np.random.default_rng(0).standard_normal(output.shape))
    else:
        seed = np.asarray(gradient, dtype=np.float64)
    backward = [g.numpy() for g in grad(output, wrt, gradient=seed, materialize_grads=True)]

    def numeric_at(step):
        return [g for x, g in zip(nodes, numerical_grad(fn, nodes, step, gradient=seed))
                if x.requires_grad]

    finite = numeric_at(eps)
    report = {
        "inputs": [{"index": i, "name": x.name, "shape": list(x.shape),
                    "requires_grad": x.requires_grad} for i, x in enumerate(nodes)],
        "output_shape": list(output.shape),
        "seed": seed.tolist(),
        "eps": eps, "atol": atol, "rtol": rtol,
        "backward": [g.tolist() for g in backward],
        "finite_differences": [g.tolist() for g in finite],
    }
    fd_abs, fd_rel = zip(*(_errors(b, f) for b, f in zip(backward, finite)))
    agree = all(np.allclose(b, f, atol=atol, rtol=rtol) for b, f in zip(backward, finite))
    report["finite_differences_vs_backward"] = {"max_abs_error": max(fd_abs),
                                                "max_rel_error": max(fd_rel), "agree": agree}
    sweep = []
    for step in (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10):
        at_step = numeric_at(step)
        sweep.append({"eps": step,
                      "max_abs_error": max(_errors(b, f)[0] for b, f in zip(backward, at_step)),
                      "agree": all(np.allclose(b, f, atol=atol, rtol=rtol)
                                   for b, f in zip(backward, at_step))})
    report["eps_sweep"] = sweep
    report["pytorch"] = _torch_side(output, wrt, seed, backward) if use_torch else None
    failure = None if agree else first_bad_op(fn, nodes, eps, atol, rtol)
    report["first_bad_op"] = failure.to_dict() if failure is not None else None
    report["verdict"] = _verdict(report, failure)
    return report


def _torch_side(output, wrt, seed, backward):
    from .calculus import _all_nodes
    from .twins import TORCH_OPS, replay

    torch = _torch()
    if torch is None:
        return {"available": False, "reason": "PyTorch is not installed"}
    order = _all_nodes(output)
    missing = sorted({n.op.name for n in order if n.op is not None and
                      n.op.name not in TORCH_OPS})
    if missing:  # a custom op (or one planted in a test): nothing to replay it with
        names = ", ".join(repr(name) for name in missing)
        return {"available": False,
                "reason": f"op {names} has no PyTorch twin" if len(missing) == 1 else
                f"ops {names} have no PyTorch twin",
                "version": torch.__version__}
    tensors = replay([output], torch, order)
    result = tensors[id(output)]
    leaves = [tensors[id(x)] for x in wrt]
    grads = torch.autograd.grad(result, leaves, torch.from_numpy(seed), allow_unused=True)
    theirs = [np.zeros(x.shape) if g is None else g.detach().numpy() for g, x in zip(grads, wrt)]
    errors = [_errors(b, t) for b, t in zip(backward, theirs)]
    return {"available": True, "version": torch.__version__,
            "value_max_abs_error": float(np.abs(result.detach().numpy()
                                                - output.numpy()).max()),
            "gradients": [g.tolist() for g in theirs],
            "max_abs_error": max(e[0] for e in errors), "max_rel_error": max(e[1] for e in errors),
            "agree": all(np.allclose(b, t, rtol=1e-7, atol=1e-9)
                         for b, t in zip(backward, theirs))}


def _verdict(report, failure):
    fd = report["finite_differences_vs_backward"]
    torch_part = report["pytorch"]
    pieces = [f"backward vs finite differences: {'agree' if fd['agree'] else 'DISAGREE'} "
              f"(max abs error {fd['max_abs_error']:.2e})"]
    if torch_part and torch_part.get("available"):
        pieces.append(f"vs PyTorch {torch_part['version']}: "
                      f"{'agree' if torch_part['agree'] else 'DISAGREE'} "
                      f"(max abs error {torch_part['max_abs_error']:.2e})")
    elif torch_part:
        pieces.append(f"PyTorch unavailable for this graph: {torch_part['reason']}")
    pieces.append(_sweep_verdict(report["eps_sweep"], fd["agree"], report["eps"]))
    if failure is not None:
        pieces.append(("no wrong rule found; the cause: " if failure.kink else
                       "first wrong rule: ") + failure.describe())
    return "; ".join(pieces)


def _sweep_verdict(sweep, agree, eps):
    """What the ε sweep says: where finite differences come closest to backward, or that no ε
    makes them agree (then the gradient is wrong, not the step)."""
    errors = [s["max_abs_error"] for s in sweep]
    if not all(map(math.isfinite, errors)):
        return "the ε sweep has non-finite errors (the function is not finite near the inputs)"
    if agree:
        best = sweep[int(np.argmin(errors))]["eps"]
        return (f"finite differences come closest to backward near eps = {best:g} (truncation "
                "error above it, rounding error below)")
    agreeing = [s["eps"] for s in sweep if s["agree"]]
    if agreeing:
        return (f"with eps = {eps:g} they disagree, but they agree at eps = "
                f"{', '.join(f'{e:g}' for e in agreeing)}: the step suits this function badly, "
                "so pass one of those eps")
    return (f"no eps from {sweep[0]['eps']:g} to {sweep[-1]['eps']:g} makes them agree (the "
            f"error never falls below {min(errors):.2e}): the gradient is wrong, not the step")
