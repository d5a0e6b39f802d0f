"""Leaves made from a shape, as PyTorch's constructors: zeros, ones, eye, full.

Every value is a matrix, so a shape is (rows, cols) — given as two numbers or one pair, as
`torch.zeros(2, 3)` and `torch.zeros((2, 3))` — and `eye(n)` is n×n.  float64 unless `dtype`
says float32; on `device` ("cpu", "cuda", "cuda:N") as `Node.to` puts them.
"""

from __future__ import annotations

import operator

import numpy as np

from .backend import to_device
from .node import Node
from .ops.base import is_real_number

_DTYPES = {np.dtype(np.float64), np.dtype(np.float32)}


def _shape(where, size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    if len(size) != 2:
        raise ValueError(f"{where}: give a matrix's shape, rows and cols (e.g. {where}(3, 1) for "
                         f"a column); got {size!r} — every value in matrixflow is 2-D")
    try:
        rows, cols = (operator.index(n) for n in size)
    except TypeError:
        raise TypeError(f"{where}: rows and cols must be integers, got {size!r}") from None
    if rows < 0 or cols < 0:
        raise ValueError(f"{where}: rows and cols must be ≥ 0, got ({rows}, {cols})")
    return rows, cols


def _leaf(where, array, dtype, device, requires_grad, name):
    dtype = np.dtype(np.float64 if dtype is None else dtype)
    if dtype not in _DTYPES:
        raise TypeError(f"{where}: dtype must be float64 or float32, got {dtype}")
    array = array.astype(dtype, copy=False)
    if device not in (None, "cpu"):
        array = to_device(array, device)
    return Node(array, requires_grad=requires_grad, name=name)


def zeros(*size, dtype=None, device=None, requires_grad=False, name=None) -> Node:
    """A rows×cols leaf of zeros: mf.zeros(2, 3) or mf.zeros((2, 3))."""
    return _leaf("zeros", np.zeros(_shape("zeros", size)), dtype, device, requires_grad, name)


def ones(*size, dtype=None, device=None, requires_grad=False, name=None) -> Node:
    """A rows×cols leaf of ones."""
    return _leaf("ones", np.ones(_shape("ones", size)), dtype, device, requires_grad, name)


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False, name=None) -> Node:
    """A leaf of shape `size` (rows, cols) with every entry `fill_value`, as torch.full."""
    shape = _shape("full", (size,))
    if not is_real_number(fill_value):
        raise TypeError(f"full: fill_value must be a real number, got {fill_value!r}")
    return _leaf("full", np.full(shape, float(fill_value)), dtype, device, requires_grad, name)


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False, name=None) -> Node:
    """The n×m identity (n×n when m is None), as torch.eye."""
    rows, cols = _shape("eye", (n, n if m is None else m))
    return _leaf("eye", np.eye(rows, cols), dtype, device, requires_grad, name)
