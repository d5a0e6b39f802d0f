"""`verify`: a side-by-side report on one function's gradient — backward, central finite
differences and PyTorch replaying the same graph — with an ε sweep and, on disagreement, the
first op whose own rule is wrong."""

from __future__ import annotations

import importlib
import math

import numpy as np

from ..autograd import grad
from ..graph import all_nodes
from .jacobians import _as_inputs, _as_outputs, _float64_copies, numerical_grad
from .localise import first_bad_op
from .report_view import VerifyReport
from .torch_twins import TORCH_OPS, replay


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


def verify(fn, inputs, gradient=None, eps=1e-6, atol=1e-5, rtol=1e-3,
           use_torch=True) -> VerifyReport:
    """A report (a JSON-serialisable dict) on the gradient of `fn` at `inputs`, side by side:
    matrixflow's backward, central finite differences, and PyTorch (when importable) replaying
    the same graph; their largest absolute and relative differences; an eps sweep of the finite
    differences, where truncation error (large ε) and rounding error (small ε) show; and, when
    backward and finite differences disagree, the first op whose own rule is wrong.

    The gradient is of L = tr(Ȳᵀ fn(inputs)); Ȳ = `gradient`, or [[1]] for a 1×1 output, or a
    fixed random matrix otherwise.

    The report is a dict subclass so it can be indexed, compared and stored as JSON as before;
    `print(report)` shows it as text (verdict first, a table per input, the ε sweep, the
    localised op), `report.to_json()` keeps it, and Jupyter shows it as a table.
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
    report = VerifyReport({
        "inputs": [{"index": i, "name": x.name, "shape": list(x.shape),
                    "requires_grad": x.requires_grad} for i, x in enumerate(nodes)],
        "output_shape": list(output.shape),
        "seed": seed.tolist(),
        "eps": eps, "atol": atol, "rtol": rtol,
        "backward": [g.tolist() for g in backward],
        "finite_differences": [g.tolist() for g in finite],
    })
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
    torch = _torch()
    if torch is None:
        return {"available": False, "reason": "PyTorch is not installed"}
    order = all_nodes(output)
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
