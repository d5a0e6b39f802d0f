"""What counts as a matrix: any data → a 2-D floating array, or an error that says how to fix it.

Every value in matrixflow is a matrix: a scalar is 1×1, a column n×1.  Ints and bools become
float64, float32 and float64 are kept (as NumPy and PyTorch keep a tensor's precision), and
anything else — a 1-D or 3-D array, a string, complex numbers, a torch tensor — is refused with
the reshape or conversion that would make it a matrix.
"""

from __future__ import annotations

import numbers

import numpy as np

from . import symbolic_hooks as _symbolic
from .backend import is_cupy_array

_KEPT_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def as_matrix(data, dtype=None):
    """Return `data` as a 2-D floating array, or raise an error that says how to fix it.

    A scalar becomes 1×1; ints and bools become float64 (or `dtype` when given, which is how an
    op operand takes its partner's precision); float32 and float64 are kept.  NumPy arrays are
    not copied when they already fit, as with `np.asarray`.
    """
    if type(data) is _symbolic.Matrix:
        return data
    if isinstance(data, (numbers.Number, np.number, np.bool_)):
        if isinstance(data, (complex, np.complexfloating)):
            raise TypeError(
                f"matrixflow works on real matrices; got the complex scalar {data!r}: "
                "pass its real part (x.real) and imaginary part (x.imag) as separate real values"
            )
        if isinstance(data, np.floating) and data.dtype in _KEPT_FLOATS and dtype is None:
            return np.full((1, 1), data, dtype=data.dtype)
        return np.full((1, 1), data, dtype=dtype or np.float64)
    if is_cupy_array(data):
        array = data
    else:
        if isinstance(data, str):
            raise TypeError(
                f"matrix data must be numbers, got the string {data!r}: "
                "convert it first, e.g. float(text) or np.loadtxt(...)"
            )
        if type(data).__module__ == "torch":
            raise TypeError("matrixflow does not take torch tensors; use t.detach().numpy() "
                            "(the tensor's own graph stays in PyTorch)")
        try:
            array = np.asarray(data)
        except ValueError as exc:  # ragged nested lists
            raise ValueError(
                f"matrix data must be rectangular: every row the same length ({exc}); "
                "pad the rows or build the matrix with np.array first"
            ) from exc
    kind = array.dtype.kind
    if kind == "c":
        raise TypeError(
            f"matrixflow works on real matrices; got complex data of dtype {array.dtype}: "
            "pass x.real and x.imag as separate real matrices"
        )
    if kind not in "fiub":
        raise TypeError(
            f"matrix data must be numbers (int, float or bool); got dtype {array.dtype} "
            f"from {type(data).__name__}: convert it with np.asarray(x, dtype=float)"
        )
    if array.ndim != 2:
        if array.ndim == 0:
            array = array.reshape(1, 1)
        elif array.ndim == 1:
            raise ValueError(
                f"matrix data must be 2-D; got a 1-D array of shape {array.shape}: "
                f"use x.reshape(-1, 1) for a {array.shape[0]}×1 column or x.reshape(1, -1) "
                "for a row (a scalar is [[a]])"
            )
        else:
            raise ValueError(
                f"matrix data must be 2-D; got {array.ndim}-D shape {array.shape}: "
                "matrixflow keeps every value a matrix, so reshape it, e.g. "
                "x.reshape(x.shape[0], -1) for a batch of flattened samples"
            )
    if kind != "f":
        return array.astype(dtype or np.float64)
    if dtype is None and array.dtype not in _KEPT_FLOATS:
        return array.astype(np.float64)  # float16 and longdouble: kept types only
    return array
