"""Reductions that keep matrices 2-D — sum, mean, max — and broadcast_to, the adjoint of sum.

With 1 a column of ones: summing down the rows (axis 0) is 1ᵀA, across the columns (axis 1) is
A·1, over everything 1ᵀA·1.  Their adjoints copy Ȳ back along the summed axis, which is what
broadcast_to does; its own adjoint is the sum again (`sum_to`).
"""

from __future__ import annotations

import numpy as np

from ..backend import array_module
from ..node import Node
from .base import Rule, apply1, check_axis, defop, value
from .elementwise import sqrt

_SUM_AXES = "axis 0: Y = 1ᵀ·A (1×n); axis 1: Y = A·1 (m×1); axis None: Y = 1ᵀ·A·1 (1×1)"

SUM = defop(
    "sum",
    family="reduce",
    summary="Y = sum of A's entries over an axis (None, 0, 1); stays 2-D",
    forward=lambda A, axis=None: A.sum(axis=axis, keepdims=True),
    differential="dY = 1ᵀ·dA (axis 0), dA·1 (axis 1), 1ᵀ·dA·1 (axis None)",
    shapes="A: m×n → Y: 1×n (axis 0), m×1 (axis 1), 1×1 (axis None)",
    rules=(
        Rule(
            "A",
            "tr(Ȳᵀ·1ᵀ·dA) ={transpose} tr((1·Ȳ)ᵀ dA)",
            "Ā = 1·Ȳ, Ȳ copied down the rows (axis 0); Ȳ·1ᵀ across the columns (axis 1); "
            "Ȳ·1·1ᵀ for the sum of all",
            lambda G, Y, A, axis=None: broadcast_to(G, A.shape),
        ),
    ),
    notes=_SUM_AXES,
)

MEAN = defop(
    "mean",
    family="reduce",
    summary="Y = mean of A's entries over an axis (None, 0, 1); stays 2-D",
    forward=lambda A, axis=None: A.mean(axis=axis, keepdims=True),
    differential="dY = (1/k)·1ᵀ·dA, k the number of entries averaged (likewise for each axis)",
    shapes="A: m×n → Y: 1×n (axis 0), m×1 (axis 1), 1×1 (axis None)",
    rules=(
        Rule(
            "A",
            "tr(Ȳᵀ·(1/k)·1ᵀ·dA) ={transpose} tr(((1/k)·1·Ȳ)ᵀ dA)",
            "Ā = (1/k)·1·Ȳ, Ȳ/k copied along the averaged axis",
            lambda G, Y, A, axis=None: broadcast_to(G / (A.size // Y.size), A.shape),
        ),
    ),
)


def _max_share(A, Y, axis):
    """Where A attains its maximum along `axis`: 1/(number of ties) there, 0 elsewhere."""
    data = value(A)
    hits = data == value(Y)
    return (hits / hits.sum(axis=axis, keepdims=True)).astype(data.dtype, copy=False)


MAX = defop(
    "max",
    family="reduce",
    summary="Y = largest entry of A over an axis (None, 0, 1); stays 2-D",
    forward=lambda A, axis=None: A.max(axis=axis, keepdims=True),
    differential="dY = 1ᵀ(M ⊙ dA) (axis 0; likewise for the others), M = 1/(ties) where A "
    "equals its maximum, 0 elsewhere",
    shapes="A: m×n → Y: 1×n (axis 0), m×1 (axis 1), 1×1 (axis None)",
    rules=(
        Rule(
            "A",
            "tr(Ȳᵀ·1ᵀ(M ⊙ dA)) ={transpose} tr((1·Ȳ)ᵀ(M ⊙ dA)) ={hadamard} "
            "tr((1·Ȳ ⊙ M)ᵀ dA)",
            "Ā = 1·Ȳ ⊙ M, M = 1/(ties) where A equals its maximum, 0 elsewhere",
            lambda G, Y, A, axis=None: G * _max_share(A, Y, axis),
        ),
    ),
    notes="Ties share the gradient equally, as torch.amax does.",
)


def _check_broadcast_to(A, shape):
    rows, cols = A.shape
    if (rows not in (1, shape[0])) or (cols not in (1, shape[1])):
        raise ValueError(
            f"broadcast_to: cannot broadcast {A.shape} to {shape} — each dimension must be "
            "equal, or 1 in the operand"
        )


BROADCAST_TO = defop(
    "broadcast_to",
    family="reduce",
    summary="Y = A copied along its length-1 axes to `shape` (the adjoint of sum)",
    forward=lambda A, shape: _xp_broadcast_to(A, shape),
    differential="dY = 1·dA (rows copied), dA·1ᵀ (columns copied), 1·dA·1ᵀ (both)",
    shapes="A: 1×n, m×1 or 1×1 → Y: m×n",
    rules=(
        Rule(
            "A",
            "tr(Ȳᵀ·1·dA) ={transpose} tr((1ᵀ·Ȳ)ᵀ dA)",
            "Ā = 1ᵀ·Ȳ, Ȳ summed over the copied rows (Ȳ·1 over copied columns)",
            lambda G, Y, A, shape: sum_to(G, A.shape),
        ),
    ),
    check=_check_broadcast_to,
)


def _xp_broadcast_to(A, shape):
    # A read-only view: the copies are never written, so none is made.
    if A.shape == shape:
        return A
    return array_module(A).broadcast_to(A, shape)


def sum(x, axis=None):
    """Y = Σ of x's entries: axis=None → 1×1, axis=0 → 1×n (column sums), axis=1 → m×1."""
    axis = check_axis("sum", axis)
    return apply1(SUM, x, {"axis": axis})


def mean(x, axis=None):
    """Y = the mean of x's entries over `axis` (None, 0 or 1), kept 2-D like `sum`."""
    axis = check_axis("mean", axis)
    return apply1(MEAN, x, {"axis": axis})


def max(x, axis=None):
    """Y = the largest entry of x over `axis` (None, 0 or 1), kept 2-D; ties share the gradient."""
    axis = check_axis("max", axis)
    return apply1(MAX, x, {"axis": axis})


def broadcast_to(x, shape):
    """Y = x copied along its length-1 axes to `shape` (rows, cols)."""
    shape = tuple(int(n) for n in shape)
    if len(shape) != 2:
        raise ValueError(f"broadcast_to: shape must be (rows, cols), got {shape}")
    return apply1(BROADCAST_TO, x, {"shape": shape})


def broadcast_axis(shape, target):
    """The axis sum_to sums a `shape` gradient over to reach `target`: 0 (rows copied), 1
    (columns copied) or None (both)."""
    down = target[0] == 1 and shape[0] != 1
    across = target[1] == 1 and shape[1] != 1
    return None if (down and across) else (0 if down else 1)


def sum_to(G, shape):
    """G summed over the axes where `shape` has 1 and G does not: the adjoint of broadcasting.

    Every rule of a broadcasting op ends with it, so the reduction lives in this one place.
    """
    if G.shape == shape:
        return G
    axis = broadcast_axis(G.shape, shape)
    if G.__class__ is np.ndarray:  # a plain backward: the sum op's forward, called directly
        return np.add.reduce(G, axis=axis, keepdims=True)
    return sum(G, axis)


def norm(x, axis=None):
    """‖x‖, the Frobenius norm √(Σ x²) (axis None, 1×1), or the norms of the columns (axis 0,
    1×n) or rows (axis 1, m×1), as torch.linalg.norm(x, dim=…); a composition, so its gradient
    x/‖x‖ comes from sum, mul and sqrt.  At x = 0 that is 0/0 = NaN, where PyTorch's own rule
    gives 0: use ‖x‖² = mf.sum(x * x) where x may vanish."""
    if not hasattr(x, "shape"):
        x = Node(x)
    return sqrt(sum(x * x, axis))
