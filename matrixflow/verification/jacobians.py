"""Jacobians two ways: by reverse mode, row by row, and by central differences, column by column.

J[o, i] = ∂ output entry o / ∂ input entry i.  Reverse mode gives a row per output entry (one
`grad` call with that entry's indicator as the seed Ȳ); central differences give a column per
input entry, (f(x + ε eᵢ) − f(x − ε eᵢ)) / 2ε, in float64 on copies of the inputs.  gradcheck
compares the two; the localiser compares them op by op.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..autograd import grad
from ..backend import array_module, is_cupy_array
from ..node import Node, _leaf


def _as_inputs(inputs) -> list[Node]:
    if isinstance(inputs, Node):
        return [inputs]
    if isinstance(inputs, np.ndarray):
        return [Node(inputs)]
    return [x if isinstance(x, Node) else Node(x) for x in inputs]


def _as_outputs(result, where) -> list[Node]:
    if isinstance(result, Node):
        return [result]
    if not isinstance(result, (tuple, list)):
        raise TypeError(f"{where}: the function must return a Node or a tuple of Nodes, "
                        f"got {type(result).__name__}")
    outputs = list(result)
    for output in outputs:
        if not isinstance(output, Node):
            raise TypeError(f"{where}: the function must return a Node or a tuple of Nodes, "
                            f"got {type(output).__name__}")
    return outputs


def _float64_copies(inputs: list[Node], host: bool = False) -> list[Node]:
    """Fresh float64 leaves with the inputs' values, requires_grad and names, on the inputs'
    device (on the host with `host=True`).

    Row-major (C order) so that `data.reshape(-1)` is a view: perturbing an entry of it must
    perturb the input the function sees.
    """
    return [Node(_float64_copy(x, host), requires_grad=x.requires_grad, name=x.name)
            for x in inputs]


def _float64_copy(x: Node, host: bool = False):
    """x's values as a fresh C-order float64 array on x's device: a check of GPU inputs runs
    on the GPU (only the Jacobians, built from .numpy(), are on the host)."""
    if is_cupy_array(x.data) and not host:
        return array_module(x.data).array(x.data, dtype=np.float64, order="C")
    return np.array(x.numpy(), dtype=np.float64, order="C")


def _evaluate(fn, inputs, where) -> list[np.ndarray]:
    # Not under no_grad(): the function may call mf.grad itself (a gradient penalty, an HVP).
    return [np.array(out.numpy(), dtype=np.float64) for out in _as_outputs(fn(*inputs), where)]


def numerical_jacobians(fn: Callable, inputs: Sequence[Node], eps: float):
    """J[k][o][i] = ∂ output o's entries / ∂ input k's entries, by central differences.

    Returns one (n_out_total × n_in_k) matrix per input (None for inputs without grad), with the
    outputs' entries stacked in order.
    """
    jacobians = []
    for x in inputs:
        if not x.requires_grad:
            jacobians.append(None)
            continue
        flat = x.data.reshape(-1)  # a view (the copies are C order): perturbing it perturbs x
        columns = []
        for i in range(flat.size):
            original = flat[i]
            flat[i] = original + eps
            plus = _evaluate(fn, inputs, "gradcheck")
            flat[i] = original - eps
            minus = _evaluate(fn, inputs, "gradcheck")
            flat[i] = original
            columns.append(np.concatenate([(p - m).reshape(-1) for p, m in zip(plus, minus)])
                           / (2 * eps))
        jacobians.append(np.stack(columns, axis=1) if columns else None)
    return jacobians


def analytic_jacobians(fn: Callable, inputs: Sequence[Node]):
    """J[k] for each input, rows from reverse mode: one seed per output entry."""
    outputs = _as_outputs(fn(*inputs), "gradcheck")
    wrt = [x for x in inputs if x.requires_grad]
    rows = {id(x): [] for x in wrt}
    for output in outputs:
        xp = array_module(output.data)  # seeds on the output's device
        for entry in range(output.size):
            seed = xp.zeros(output.shape, dtype=output.data.dtype)
            seed.reshape(-1)[entry] = 1.0
            if output.requires_grad:
                grads = grad(output, wrt, gradient=seed, materialize_grads=True)
            else:
                grads = [_leaf(np.zeros(x.shape)) for x in wrt]
            for x, g in zip(wrt, grads):
                rows[id(x)].append(np.asarray(g.numpy(), dtype=np.float64).reshape(-1))
    return outputs, [np.stack(rows[id(x)]) if x.requires_grad else None for x in inputs]


def numerical_grad(fn: Callable, inputs, eps: float = 1e-6, gradient=None) -> list[np.ndarray]:
    """∂ tr(Ȳᵀ fn(inputs)) / ∂ input, for every input, by central differences in float64.

    Ȳ = `gradient`, which a 1×1 output may leave out.  Returns one array per input, shaped
    like it; inputs need not require grad.
    """
    nodes = _float64_copies(_as_inputs(inputs))
    for node in nodes:
        node.requires_grad = True
    outputs = _evaluate(fn, nodes, "numerical_grad")
    if len(outputs) != 1:
        raise ValueError("numerical_grad: the function must return one Node")
    (output,) = outputs
    if gradient is None:
        if output.shape != (1, 1):
            raise ValueError(
                f"numerical_grad: the output has shape {output.shape}, not 1×1; pass gradient= "
                f"(the seed Ȳ) of that shape"
            )
        seed = np.ones((1, 1))
    else:
        seed = np.asarray(gradient.numpy() if isinstance(gradient, Node) else gradient,
                          dtype=np.float64)
        if seed.shape != output.shape:
            raise ValueError(f"numerical_grad: gradient= has shape {seed.shape}, the output "
                             f"{output.shape}")
    jacobians = numerical_jacobians(fn, nodes, eps)
    return [(seed.reshape(-1) @ J).reshape(x.shape) for x, J in zip(nodes, jacobians)]


def jacobians_agree(fn: Callable, inputs: Sequence[Node], eps: float, atol: float,
                    rtol: float) -> bool:
    """Whether reverse mode and central differences agree on every entry of every Jacobian:
    |analytic − numeric| ≤ atol + rtol·|numeric|, NaN or ±inf on either side a disagreement."""
    copies = _float64_copies(list(inputs))
    _, analytic = analytic_jacobians(fn, copies)
    numeric = numerical_jacobians(fn, copies, eps)
    for a, n in zip(analytic, numeric):
        if a is None:
            continue
        excess = np.abs(a - n) - (atol + rtol * np.abs(n))
        if not (np.isfinite(a) & np.isfinite(n) & (excess <= 0)).all():
            return False
    return True
