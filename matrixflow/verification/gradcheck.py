"""Finite-difference checks of gradients: gradcheck, gradgradcheck, numerical_grad.

The analytic Jacobian J[o, i] = ∂ output entry o / ∂ input entry i is built row by row with
reverse mode (one `grad` call per output entry, seed = that entry's indicator); the numeric one
column by column with central differences (f(x + ε eᵢ) − f(x − ε eᵢ)) / 2ε, in float64.  An entry
passes when |analytic − numeric| ≤ atol + rtol·|numeric|, PyTorch's rule and defaults.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..autograd import RuleShapeError, grad
from ..backend import array_module, device_of, is_cupy_array, to_device
from ..grad_mode import no_grad
from ..node import Node, _leaf
from .jacobians import (
    _as_inputs,
    _as_outputs,
    _float64_copies,
    _float64_copy,
    analytic_jacobians,
    numerical_jacobians,
)
from .localise import first_bad_graph_rule, first_bad_op, first_nonfinite


class GradcheckError(RuntimeError):
    """A gradient disagrees with finite differences; the message and attributes say where.

    Attributes: input_index, input_name, input_shape, output_index, output_shape,
    input_entry, output_entry, analytic, numeric, abs_error, rel_error, mismatches, order,
    nonfinite (True when the failure is NaN or ±inf in either Jacobian), and culprit: the first
    op in backward order whose own rule disagrees with its local finite differences (a
    diagnose.LocalFailure), or for a non-finite failure the op where the NaN or inf starts (a
    diagnose.NonFinite), or None.
    """

    def __init__(self, message, **details):
        super().__init__(message)
        self.__dict__.update(details)


def gradcheck(fn: Callable, inputs, *, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """True when backward agrees with central differences for every input that requires grad.

    `fn(*inputs)` returns a Node (any shape) or a tuple of Nodes.  Both Jacobians are computed
    in float64 on copies of the inputs.  On a mismatch: GradcheckError naming the input, the
    worst entry, analytic vs numeric, absolute and relative error (or False when
    raise_exception=False).
    """
    return _check(fn, inputs, eps, atol, rtol, raise_exception, order="gradient")


def _check(fn, inputs, eps, atol, rtol, raise_exception, order, original=None):
    nodes = _float64_copies(_as_inputs(inputs))
    if not any(x.requires_grad for x in nodes):
        raise ValueError(f"{'gradgradcheck' if order != 'gradient' else 'gradcheck'}: no input "
                         "requires grad; pass at least one Node with requires_grad=True")
    try:
        outputs, analytic = analytic_jacobians(fn, nodes)
    except RuleShapeError as exc:  # the walk names the op: the report says it as a culprit
        if not raise_exception:
            return False
        raise GradcheckError(f"{'gradgradcheck' if order != 'gradient' else 'gradcheck'}: "
                             f"backward failed: {exc}", culprit=exc, order=order,
                             nonfinite=False) from exc
    numeric = numerical_jacobians(fn, nodes, eps)
    for k, (x, a, n) in enumerate(zip(nodes, analytic, numeric)):
        if a is None:
            continue
        # NaN or ±inf on either side is a failure, as in torch.autograd.gradcheck: a gradient
        # that is not a number cannot be said to agree with anything.
        nonfinite = ~(np.isfinite(a) & np.isfinite(n))
        excess = np.abs(a - n) - (atol + rtol * np.abs(n))
        bad = ~(excess <= 0) | nonfinite
        if not bad.any():
            continue
        if not raise_exception:
            return False
        if nonfinite.any():
            error = _report_nonfinite(outputs, k, x, a, n, nonfinite, order)
            _name_the_source(error, fn, nodes)
        else:
            error = _report(outputs, k, x, a, n, excess, bad, atol, rtol, order)
            _name_the_culprit(error, fn, nodes, eps, atol, rtol, original)
        raise error
    return True


def _name_the_culprit(error, fn, nodes, eps, atol, rtol, original=None):
    """Add to the report the first op (in backward order) whose own rule is wrong; for second
    derivatives (`original` = the function and inputs gradgradcheck was given), else the first
    op whose rule builds a graph with the wrong derivative."""

    try:
        culprit = first_bad_op(fn, nodes, eps, atol, rtol)
        if (culprit is None or culprit.kink) and original is not None:
            culprit = first_bad_graph_rule(*original, eps, atol, rtol) or culprit
    except Exception as exc:  # the report must not hide the mismatch behind a second error
        error.culprit = None
        error.args = (f"{error.args[0]}\n  (the per-op check could not run: {exc})",)
        return
    error.culprit = culprit
    if culprit is not None:
        line = ("  the cause: " if culprit.kink else "  the bug: ") + culprit.describe()
    else:
        line = ("  every op's own rule agrees with finite differences on this run: the mismatch "
                "is not one op's rule — is part of the function computed outside matrixflow "
                "(on .data or .numpy(), so backward cannot see it)?")
    error.args = (f"{error.args[0]}\n{line}",)


def _name_the_source(error, fn, nodes):
    """Add to a non-finite report the first op whose forward or rule makes the NaN or inf."""

    try:
        source = first_nonfinite(fn, nodes)
    except Exception as exc:  # the report must not hide the failure behind a second error
        error.culprit = None
        error.args = (f"{error.args[0]}\n  (the search for where it starts could not run: "
                      f"{exc})",)
        return
    error.culprit = source
    if source is not None:
        line = "  where it starts: " + source.describe()
    else:
        line = ("  every op's forward and rule are finite at these values, so the finite "
                "differences made it: an input within ε of the edge of a function's domain "
                "(a step of ±ε leaves it)?")
    error.args = (f"{error.args[0]}\n{line}",)


def _kind(value: float) -> str:
    return "NaN" if np.isnan(value) else ("inf" if value > 0 else "−inf")


def _locate(outputs, x, row, column):
    """(output index, entry in that output, entry in the input) of a stacked Jacobian entry."""
    sizes = np.cumsum([o.size for o in outputs])
    output_index = int(np.searchsorted(sizes, row, side="right"))
    start = 0 if output_index == 0 else int(sizes[output_index - 1])
    output = outputs[output_index]
    out_entry = tuple(int(v) for v in np.unravel_index(row - start, output.shape))
    in_entry = tuple(int(v) for v in np.unravel_index(column, x.shape))
    return output_index, out_entry, in_entry


def _report_nonfinite(outputs, k, x, a, n, nonfinite, order):
    """The error for a Jacobian with NaN or ±inf entries: where each side has them."""
    name = f" '{x.name}'" if x.name else ""
    what = "gradient" if order == "gradient" else "second derivative"
    lines = [f"gradcheck: the {what} for input {k}{name} (shape {x.shape}) is not finite in "
             f"{int(nonfinite.sum())} of {nonfinite.size} Jacobian entries."]
    first = None
    for side, values in (("analytic", a), ("numeric", n)):
        bad = ~np.isfinite(values)
        if not bad.any():
            continue
        row, column = (int(i) for i in np.argwhere(bad)[0])
        first = first or (row, column)
        output_index, out_entry, in_entry = _locate(outputs, x, row, column)
        output_label = f"output {output_index} " if len(outputs) > 1 else "output "
        count = int(bad.sum())
        more = f" (and {count - 1} more)" if count > 1 else ""
        lines.append(f"  {_kind(values[row, column])} in the {side} {what} at entry "
                     f"∂ {output_label}{list(out_entry)} / ∂ input {k}{list(in_entry)}{more}")
    row, column = first
    output_index, out_entry, in_entry = _locate(outputs, x, row, column)
    analytic, numeric = float(a[row, column]), float(n[row, column])
    lines += [f"  analytic  = {analytic:.10g}", f"  numeric   = {numeric:.10g}",
              "  a gradient can be checked only where the function and its derivative are "
              "finite: move the inputs into every function's domain (positive entries for log "
              "and sqrt, det > 0 for logdet, away from poles)"]
    return GradcheckError(
        "\n".join(lines), input_index=k, input_name=x.name, input_shape=x.shape,
        output_index=output_index, output_shape=outputs[output_index].shape,
        input_entry=in_entry, output_entry=out_entry, analytic=analytic, numeric=numeric,
        abs_error=abs(analytic - numeric), rel_error=float("nan"),
        mismatches=int(nonfinite.sum()), order=order, nonfinite=True,
    )


def _report(outputs, k, x, a, n, excess, bad, atol, rtol, order):
    ranked = np.where(np.isnan(excess), np.inf, excess)
    row, column = np.unravel_index(np.argmax(ranked), a.shape)
    output_index, out_entry, in_entry = _locate(outputs, x, row, column)
    output = outputs[output_index]
    analytic, numeric = float(a[row, column]), float(n[row, column])
    abs_error = abs(analytic - numeric)
    rel_error = abs_error / abs(numeric) if numeric != 0 else float("inf") if abs_error else 0.0
    name = f" '{x.name}'" if x.name else ""
    what = "gradient" if order == "gradient" else "second derivative"
    output_label = f"output {output_index} " if len(outputs) > 1 else "output "
    message = (
        f"gradcheck: the {what} for input {k}{name} (shape {x.shape}) disagrees with finite "
        f"differences in {int(bad.sum())} of {bad.size} Jacobian entries.\n"
        f"  worst entry: ∂ {output_label}{list(out_entry)} / ∂ input {k}{list(in_entry)}\n"
        f"  analytic  = {analytic:.10g}\n"
        f"  numeric   = {numeric:.10g}\n"
        f"  abs error = {abs_error:.3e}  (atol {atol:g})\n"
        f"  rel error = {rel_error:.3e}  (rtol {rtol:g})"
    )
    return GradcheckError(
        message, input_index=k, input_name=x.name, input_shape=x.shape,
        output_index=output_index, output_shape=output.shape, input_entry=in_entry,
        output_entry=out_entry, analytic=analytic, numeric=numeric, abs_error=abs_error,
        rel_error=rel_error, mismatches=int(bad.sum()), order=order, nonfinite=False,
    )


def gradgradcheck(fn: Callable, inputs, grad_outputs=None, *, eps: float = 1e-6,
                  atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True,
                  seed: int = 0) -> bool:
    """gradcheck of the first derivatives: second derivatives against finite differences.

    Checks G(x, Ȳ) = ∂ tr(Ȳᵀ fn(x)) / ∂x, built with create_graph=True, as a function of the
    inputs and of the seeds Ȳ (`grad_outputs`, random with `seed` when not given), as
    torch.autograd.gradgradcheck does.
    """
    nodes = _float64_copies(_as_inputs(inputs))
    with no_grad():
        outputs = _as_outputs(fn(*nodes), "gradgradcheck")
    if grad_outputs is None:
        rng = np.random.default_rng(seed)
        seeds = [Node(to_device(rng.standard_normal(o.shape), device_of(o)), requires_grad=True)
                 for o in outputs]
    else:
        given = [grad_outputs] if (isinstance(grad_outputs, (Node, np.ndarray))
                                   or is_cupy_array(grad_outputs)) else grad_outputs
        seeds = [Node(_float64_copy(s if isinstance(s, Node) else Node(s)), requires_grad=True)
                 for s in given]
    count = len(nodes)

    def first_derivatives(*args):
        xs, ys = args[:count], args[count:]
        outs = _as_outputs(fn(*xs), "gradgradcheck")
        wrt = [x for x in xs if x.requires_grad]
        if not any(o.requires_grad for o in outs):
            return tuple(_leaf(array_module(x.data).zeros(x.shape)) for x in wrt)
        return tuple(grad(outs, wrt, gradient=list(ys), create_graph=True,
                          materialize_grads=True))

    return _check(first_derivatives, [*nodes, *seeds], eps, atol, rtol, raise_exception,
                  order="second", original=(fn, nodes))
