"""Finding the broken op: local rule checks, and `verify`, a side-by-side gradient report.

When a composite function's gradient disagrees with finite differences, the symptom is at the
inputs but the cause is one op's rule.  `first_bad_op` walks the graph in backward order and
checks each op on its own: with its operands' values from the failing run and a random seed Ȳ,
the rule's vector-Jacobian product against central differences of the op's forward.  The first
op that disagrees is the bug.
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
    """One op whose own rule disagrees with finite differences of its forward."""

    op: str
    operand: str
    position: int
    operand_shapes: tuple
    output_shape: tuple
    max_abs_error: float
    backward_index: int

    def describe(self) -> str:
        shapes = " and ".join(str(s) for s in self.operand_shapes)
        return (f"op {self.op!r} (operands {shapes}, output {self.output_shape}), number "
                f"{self.backward_index} in backward order: its rule for operand "
                f"{self.operand} is off by up to {self.max_abs_error:.3e} from finite "
                "differences of its own forward (a wrong rule, or an input within ε of a "
                "point where the op has no derivative)")

    def to_dict(self) -> dict:
        return {"op": self.op, "operand": self.operand, "operand_position": self.position,
                "operand_shapes": [list(s) for s in self.operand_shapes],
                "output_shape": list(self.output_shape), "max_abs_error": self.max_abs_error,
                "backward_index": self.backward_index}


def _local_vjp_error(node, position, eps, rng):
    """max |rule's Ā − finite-difference Ā| for one operand of one op node."""
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
    numeric = np.empty_like(flat)
    for i in range(flat.size):
        original = flat[i]
        flat[i] = original + eps
        plus = np.sum(seed * op.forward(*operands, **attrs))
        flat[i] = original - eps
        minus = np.sum(seed * op.forward(*operands, **attrs))
        flat[i] = original
        numeric[i] = (plus - minus) / (2 * eps)
    numeric = numeric.reshape(target.shape)
    return analytic, numeric


def first_bad_op(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """The first op, in backward order, whose own rule disagrees with finite differences of its
    forward on the values of this run; None when every op agrees locally."""
    nodes = _float64_copies(_as_inputs(inputs))
    outputs = [o for o in _as_outputs(fn(*nodes), "first_bad_op") if o.requires_grad]
    if not outputs:
        return None
    rng = np.random.default_rng(seed)
    visited = 0
    for node in reversed(_topological_order(outputs)):
        if node.op is None:
            continue
        visited += 1
        for position, operand in enumerate((node.left, node.right)):
            if operand is None or not operand.requires_grad:
                continue
            analytic, numeric = _local_vjp_error(node, position, eps, rng)
            if not np.allclose(analytic, numeric, atol=atol, rtol=rtol, equal_nan=True):
                shapes = tuple(x.shape for x in (node.left, node.right) if x is not None)
                return LocalFailure(node.op.name, node.op.rules[position].operand, position,
                                    shapes, node.shape, float(np.nanmax(np.abs(
                                        analytic - numeric))), visited)
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
    nodes = _float64_copies(_as_inputs(inputs))
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
    report["eps_sweep"] = [
        {"eps": step, "max_abs_error": max(_errors(b, f)[0] for b, f in
                                           zip(backward, numeric_at(step)))}
        for step in (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10)]
    report["pytorch"] = _torch_side(output, wrt, seed, backward) if use_torch else None
    failure = None if agree else first_bad_op(fn, nodes, eps, atol, rtol)
    report["first_bad_op"] = failure.to_dict() if failure is not None else None
    report["verdict"] = _verdict(report, failure)
    return report


def _torch_side(output, wrt, seed, backward):
    torch = _torch()
    if torch is None:
        return {"available": False}
    from .calculus import _all_nodes
    from .twins import replay

    tensors = replay([output], torch, _all_nodes(output))
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
    sweep = [s["max_abs_error"] for s in report["eps_sweep"]]
    best = report["eps_sweep"][int(np.argmin(sweep))]["eps"] if all(map(math.isfinite, sweep)) \
        else None
    if best is not None:
        pieces.append(f"finite differences are most accurate near eps = {best:g}")
    if failure is not None:
        pieces.append("first wrong rule: " + failure.describe())
    return "; ".join(pieces)
