"""Ops that move entries without changing them: concat, getitem (and its adjoint scatter_add),
reshape, clone.

Each is linear, Y = 𝒜(A), so dY = 𝒜(dA) and Ā = 𝒜*(Ȳ), the adjoint: concat's adjoint slices
Ȳ apart, getitem's adjoint adds Ȳ back into a zero matrix at the indexed places (repeated
indices add up), reshape's adjoint reshapes back.  The original MatrixFlow built concat from
0/1 mask matrices, A·[I|0] + B·[0|I]; slicing is the same map without the O(n²) masks.
"""

from __future__ import annotations

import numbers
import operator

import numpy as np

from ..backend import array_module, device_of, is_cupy_array, to_device
from ..node import Node
from .base import Rule, apply1, apply2, defop


def _check_concat(A, B, axis):
    kept = 1 - axis
    if A.shape[kept] != B.shape[kept]:
        what = "columns" if axis == 0 else "rows"
        raise ValueError(
            f"concat: shapes {A.shape} and {B.shape} along axis {axis}: the number of {what} "
            f"differs ({A.shape[kept]} vs {B.shape[kept]})"
        )


def _first_part(G, A, axis):
    return _take(G, (slice(0, A.shape[0]), slice(None)) if axis == 0
                 else (slice(None), slice(0, A.shape[1])))


def _second_part(G, A, axis):
    return _take(G, (slice(A.shape[0], None), slice(None)) if axis == 0
                 else (slice(None), slice(A.shape[1], None)))


CONCAT = defop(
    "concat",
    family="structure",
    summary="Y = [A; B] (axis 0) or [A, B] (axis 1)",
    forward=lambda A, B, axis: array_module(A).concatenate((A, B), axis=axis),
    differential="dY = [dA; dB] (axis 0), [dA, dB] (axis 1)",
    shapes="A: m×n, B: k×n → Y: (m+k)×n (axis 0); A: m×n, B: m×k → Y: m×(n+k) (axis 1)",
    rules=(
        Rule("A", "tr([Ȳ_A; Ȳ_B]ᵀ [dA; 0]) ={blocks} tr(Ȳ_Aᵀ dA)",
             "Ā = Ȳ_A, the block of Ȳ where A sits",
             lambda G, Y, A, B, axis: _first_part(G, A, axis)),
        Rule("B", "tr([Ȳ_A; Ȳ_B]ᵀ [0; dB]) ={blocks} tr(Ȳ_Bᵀ dB)",
             "B̄ = Ȳ_B, the block of Ȳ where B sits",
             lambda G, Y, A, B, axis: _second_part(G, A, axis)),
    ),
    check=_check_concat,
)


def _is_basic(index) -> bool:
    """True when the index is two slices: no entry can be picked twice."""
    return isinstance(index[0], slice) and isinstance(index[1], slice)


def _is_paired(index) -> bool:
    """True when both parts are integer arrays: NumPy pairs them entry by entry."""
    return not isinstance(index[0], slice) and not isinstance(index[1], slice)


def _getitem_forward(A, index):
    Y = A[index]
    return Y.reshape(-1, 1) if Y.ndim == 1 else Y  # paired indices pick a column of entries


def _selected_shape(index, shape):
    """The shape of M[index] for a normalised index into an m×n matrix M (paired arrays pick a
    column of entries)."""
    if _is_paired(index):
        return (len(index[0]), 1)
    return tuple(len(range(*part.indices(length))) if isinstance(part, slice) else len(part)
                 for part, length in zip(index, shape))


def _check_scatter_add(A, index, shape):
    selected = _selected_shape(index, shape)
    if _is_paired(index):  # entries picked one by one: any operand with that many entries
        if A.size != selected[0]:
            raise ValueError(f"scatter_add: the index picks {selected[0]} entries, but the "
                             f"operand {A.shape} has {A.size}")
    elif tuple(A.shape) != selected:
        raise ValueError(
            f"scatter_add: the index selects a {selected[0]}×{selected[1]} block of {shape}, "
            f"but the operand has shape {tuple(A.shape)}; give one of the block's shape "
            "(mf.broadcast_to copies a row or a column)")


def _picked(G, A, index):
    """S(Ȳ) = Ȳ[index] in A's shape: paired indices read a column, which A may not be."""
    taken = _take(G, index)
    return taken if taken.shape == A.shape else reshape(taken, *A.shape)


def _scatter_add_forward(G, index, shape):
    xp = array_module(G)
    out = xp.zeros(shape, dtype=G.dtype)
    if _is_basic(index):
        out[index] = G
    else:  # integer arrays may repeat an entry: each copy's gradient adds up
        # xp's own ufunc: NumPy does not hand add.at on to CuPy (CuPy's is its scatter_add)
        xp.add.at(out, index, G.reshape(-1) if _is_paired(index) else G)
    return out


GETITEM = defop(
    "getitem",
    family="structure",
    summary="Y = A[rows, cols] (slices, integers, integer or boolean arrays); always 2-D",
    forward=_getitem_forward,
    differential="dY = dA[rows, cols] = S(dA), S the selection",
    shapes="A: m×n → Y: r×c, the rows and columns selected",
    rules=(Rule("A", "tr(Ȳᵀ S(dA)) ={adjoint} tr(S*(Ȳ)ᵀ dA)",
                "Ā = S*(Ȳ): zeros of A's shape with Ȳ added at the selected places",
                lambda G, Y, A, index: scatter_add(G, index, A.shape)),),
)

SCATTER_ADD = defop(
    "scatter_add",
    family="structure",
    summary="Y = zeros(shape) with A added at index (the adjoint of getitem)",
    forward=_scatter_add_forward,
    differential="dY = S*(dA), S* adding entries at their places",
    shapes="A: r×c → Y: m×n (`shape`)",
    rules=(Rule("A", "tr(Ȳᵀ S*(dA)) ={adjoint} tr(S(Ȳ)ᵀ dA)", "Ā = S(Ȳ) = Ȳ[index]",
                lambda G, Y, A, index, shape: _picked(G, A, index)),),
    check=_check_scatter_add,
)


def _check_reshape(A, shape):
    if A.size != shape[0] * shape[1]:
        raise ValueError(
            f"reshape: cannot reshape {A.shape} ({A.size} entries) into {shape} "
            f"({shape[0] * shape[1]} entries)"
        )


RESHAPE = defop(
    "reshape",
    family="structure",
    summary="Y = A read row by row into (rows, cols) (C order, as NumPy and PyTorch)",
    forward=lambda A, shape: A.reshape(shape),
    differential="dY = R(dA), R reading the entries row by row into the new shape",
    shapes="A: m×n → Y: r×c with rc = mn",
    rules=(Rule("A", "tr(Ȳᵀ R(dA)) ={adjoint} tr(R⁻¹(Ȳ)ᵀ dA)",
                "Ā = Ȳ reshaped back to A's shape",
                lambda G, Y, A, shape: reshape(G, *A.shape)),),
    check=_check_reshape,
)


def concat(nodes, axis=0):
    """Y = the nodes stacked down (axis 0, as np.concatenate) or side by side (axis 1).

    Every op has at most two operands, so a list becomes a balanced tree of pairwise concats
    (depth log₂ n).
    """
    if axis not in (0, 1, -1, -2) or isinstance(axis, bool):
        raise ValueError(f"concat: axis must be 0 (stack rows) or 1 (stack columns), got {axis!r}")
    axis = 0 if axis in (0, -2) else 1
    parts = list(nodes)
    if not parts:
        raise ValueError("concat: needs at least one matrix")
    while len(parts) > 1:
        paired = [apply2(CONCAT, parts[i], parts[i + 1], {"axis": axis})
                  for i in range(0, len(parts) - 1, 2)]
        if len(parts) % 2:
            paired.append(parts[-1])
        parts = paired
    only = parts[0]
    return only if isinstance(only, Node) or getattr(only, "ndim", 0) == 2 else Node(only)


def _normalise_part(part, length, axis):
    """One axis of an index as a slice or a 1-D integer array, so results stay 2-D."""
    if part is None:
        raise IndexError(
            "getitem: None (np.newaxis) would add a dimension; matrixflow keeps every value 2-D"
        )
    if isinstance(part, slice):
        return part
    if isinstance(part, (bool, np.bool_)):
        raise IndexError("getitem: a single True/False is not an index; use a boolean array")
    if isinstance(part, (numbers.Integral, np.integer)):
        i = int(part)
        if not -length <= i < length:
            raise IndexError(
                f"getitem: index {i} is out of range for axis {axis} with {length} entries"
            )
        i %= length
        return slice(i, i + 1)  # an integer keeps its axis: x[i] is the 1×n row i
    if isinstance(part, Node):
        raise TypeError("getitem: index with integers, slices or arrays, not with a Node")
    # a copy: the index is kept on the node, and a later change to the caller's array must not
    # change what the backward scatters
    array = part.get() if is_cupy_array(part) else np.array(part)  # checked on the host
    if array.ndim == 0 and array.dtype.kind in "iu":
        return _normalise_part(int(array), length, axis)
    if array.dtype.kind == "b":
        if array.shape != (length,):
            raise IndexError(
                f"getitem: a boolean index for axis {axis} must have shape ({length},), "
                f"got {array.shape}"
            )
        return np.flatnonzero(array)
    if array.size == 0:
        return np.zeros(0, dtype=np.intp)
    if array.dtype.kind not in "iu":
        raise IndexError(f"getitem: indices must be integers, got dtype {array.dtype}")
    if array.ndim != 1:
        raise IndexError(
            f"getitem: an index array must be 1-D, got shape {array.shape}; index rows and "
            "columns separately, e.g. x[rows][:, cols]"
        )
    if array.size and (array.max() >= length or array.min() < -length):
        raise IndexError(
            f"getitem: index {int(array.max() if array.max() >= length else array.min())} "
            f"is out of range for axis {axis} with {length} entries"
        )
    return array


def normalise_index(index, shape):
    """Turn a user's index into (rows, cols), each a slice or a 1-D integer array."""
    if index.__class__ is tuple and len(index) == 2 and index[0].__class__ is slice \
            and index[1].__class__ is slice:  # x[a:b, c:d] is already normal: the common case
        return index
    if not isinstance(index, tuple):
        index = (index,)
    ellipses = sum(part is Ellipsis for part in index)
    if ellipses > 1:
        raise IndexError("getitem: an index can only have a single ellipsis ('...')")
    if ellipses:
        position = next(i for i, part in enumerate(index) if part is Ellipsis)
        fill = (slice(None),) * (2 - (len(index) - 1))
        index = index[:position] + fill + index[position + 1:]
    if len(index) == 1:
        only = index[0]
        mask = None if isinstance(only, (slice, numbers.Integral)) else (
            only.get() if is_cupy_array(only) else np.asarray(only))
        if mask is not None and mask.dtype.kind == "b" and mask.ndim == 2:
            if mask.shape != tuple(shape):
                raise IndexError(
                    f"getitem: a boolean mask must have the matrix's shape {tuple(shape)}, "
                    f"got {mask.shape}"
                )
            return tuple(np.nonzero(mask))  # the selected entries, as a column
        index = (only, slice(None))
    if len(index) != 2:
        raise IndexError(
            f"getitem: too many indices ({len(index)}) for a matrix; use x[rows, cols]"
        )
    return tuple(_normalise_part(part, length, axis)
                 for axis, (part, length) in enumerate(zip(index, shape)))


def getitem(x, index):
    """Y = x[index], always 2-D: an integer keeps its axis (x[i] is the 1×n row i, x[:, j] the
    m×1 column j); two integer arrays pick entries pairwise, as NumPy, into a column."""
    if not hasattr(x, "shape"):
        x = Node(x)
    index = _on_device_of(normalise_index(index, x.shape), x)
    return apply1(GETITEM, x, {"index": index})


def _on_device_of(index, x):
    """A normalised index with its integer arrays on x's device (copied there once, when the
    node is made, instead of by CuPy at every indexing)."""
    data = x.data if isinstance(x, Node) else x
    if not is_cupy_array(data):
        return index
    device = device_of(data)
    return tuple(part if isinstance(part, slice) or is_cupy_array(part)
                 else to_device(part, device) for part in index)


def _take(G, index):
    """G[index] for an index already normalised (the rules' own use)."""
    return apply1(GETITEM, G, {"index": index})


def scatter_add(x, index, shape):
    """Y = zeros(shape) with x added at `index` (normalised): getitem's adjoint."""
    return apply1(SCATTER_ADD, x, {"index": _on_device_of(tuple(index), x),
                                   "shape": tuple(shape)})


CLONE = defop(
    "clone",
    family="structure",
    summary="Y = A, a copy with memory of its own (as torch.clone)",
    forward=lambda A: A.copy(),
    differential="dY = dA",
    rules=(Rule("A", "tr(Ȳᵀ dA)", "Ā = Ȳ", lambda G, Y, A: G),),
    notes="The copy is recorded in the tree, so gradients flow through it; detach() is the "
    "copy that cuts the tree.",
)


def clone(x):
    """Y = x, a copy that stays in the tree (gradients flow back through it), as torch.clone."""
    if not hasattr(x, "shape"):
        x = Node(x)
    return apply1(CLONE, x)


def reshape(x, rows, cols=None):
    """Y = x read row by row into a rows×cols matrix; one of them may be -1 (inferred)."""
    if cols is None:
        if isinstance(rows, (tuple, list)) and len(rows) == 2:
            rows, cols = rows
        else:
            raise ValueError(
                f"reshape: give the new shape as (rows, cols); got {rows!r}. matrixflow keeps "
                "every value 2-D"
            )
    try:
        rows, cols = operator.index(rows), operator.index(cols)
    except TypeError as exc:
        raise TypeError(f"reshape: rows and cols must be integers, got {rows!r}, {cols!r}") from exc
    if not hasattr(x, "shape"):
        x = Node(x)
    size, shape = x.shape[0] * x.shape[1], tuple(x.shape)
    if rows == -1 and cols == -1:
        raise ValueError("reshape: only one of rows and cols can be -1")
    if rows == -1 and cols > 0 and size % cols == 0:
        rows = size // cols
    elif cols == -1 and rows > 0 and size % rows == 0:
        cols = size // rows
    if rows < 0 or cols < 0 or rows * cols != size:
        raise ValueError(f"reshape: cannot reshape {shape} ({size} entries) into ({rows}, {cols})")
    return apply1(RESHAPE, x, {"shape": (rows, cols)})
