"""Matrix ops: matmul, transpose, trace, inv, det, logdet, solve.

These are the rows of a matrix-calculus table.  Each differential comes from the product rule
and, for the inverse, from differentiating A·A⁻¹ = I: d(A⁻¹) = −A⁻¹·dA·A⁻¹.  Determinants use
Jacobi's formula d det A = det A · tr(A⁻¹ dA).
"""

from __future__ import annotations

import math

import numpy as np

from ..backend import array_module
from ..node import Node
from .base import Rule, apply1, apply2, defop, value


def _check_matmul(A, B):
    if A.shape[1] != B.shape[0]:
        raise ValueError(
            f"matmul: {A.shape} @ {B.shape}: inner dimensions {A.shape[1]} and {B.shape[0]} "
            "differ (for the element-wise product use *)"
        )


MATMUL = defop(
    "matmul",
    family="matrix",
    summary="Y = A·B, the matrix product (@)",
    forward=np.matmul,
    differential="dY = dA·B + A·dB",
    rules=(
        Rule("A", "tr(Ȳᵀ dA·B) ={cyclic} tr(B·Ȳᵀ dA) ={transpose} tr((Ȳ·Bᵀ)ᵀ dA)",
             "Ā = Ȳ·Bᵀ", lambda G, Y, A, B: G @ B.T),
        Rule("B", "tr(Ȳᵀ A·dB) ={transpose} tr((Aᵀ·Ȳ)ᵀ dB)", "B̄ = Aᵀ·Ȳ",
             lambda G, Y, A, B: A.T @ G),
    ),
    shapes="A: m×n, B: n×p → Y: m×p",
    check=_check_matmul,
)

TRANSPOSE = defop(
    "transpose",
    family="matrix",
    summary="Y = Aᵀ",
    forward=np.transpose,
    differential="dY = dAᵀ",
    rules=(Rule("A", "tr(Ȳᵀ dAᵀ) ={transpose} tr(dA·Ȳ) ={cyclic} tr(Ȳ·dA) ={transpose} "
                     "tr((Ȳᵀ)ᵀ dA)", "Ā = Ȳᵀ", lambda G, Y, A: G.T),),
    shapes="A: m×n → Y: n×m",
)


def _identity_like(A):
    """I with A's shape and precision (A an array or a Node)."""
    data = value(A)
    return array_module(data).eye(*data.shape, dtype=data.dtype)


TRACE = defop(
    "trace",
    family="matrix",
    summary="Y = tr(A), the sum of the diagonal (1×1)",
    forward=lambda A: A.trace().reshape(1, 1),
    differential="dY = tr(dA) = tr(Iᵀ dA)",
    rules=(Rule("A", "tr(Ȳᵀ tr(dA)) ={scalar} Ȳ·tr(I·dA) ={linearity} tr((Ȳ·I)ᵀ dA)",
                "Ā = Ȳ·I", lambda G, Y, A: G * _identity_like(A)),),
    shapes="A: m×n → Y: 1×1",
    notes="A need not be square (the sum of A[i, i]), as in NumPy and PyTorch; I is then "
    "the m×n matrix with ones at (i, i) and zeros elsewhere.",
)


def _check_square(name):
    def check(A):
        if A.shape[0] != A.shape[1]:
            raise ValueError(f"{name}: needs a square matrix, got shape {A.shape}")

    return check


INV = defop(
    "inv",
    family="matrix",
    summary="Y = A⁻¹",
    forward=np.linalg.inv,
    differential="dY = −Y·dA·Y (from d(A·A⁻¹) = dA·Y + A·dY = 0)",
    rules=(Rule("A", "tr(Ȳᵀ(−Y·dA·Y)) ={cyclic} tr(−Y·Ȳᵀ·Y·dA) ={transpose} "
                     "tr((−Yᵀ·Ȳ·Yᵀ)ᵀ dA)",
                "Ā = −Yᵀ·Ȳ·Yᵀ = −A⁻ᵀ·Ȳ·A⁻ᵀ", lambda G, Y, A: -(Y.T @ G @ Y.T)),),
    shapes="A: n×n → Y: n×n",
    check=_check_square("inv"),
)

def _adjugate(A):
    """adj(A), exact for singular A too, from the SVD A = U·diag(s)·Vᵀ:
    adj(A) = det(U)·det(V)·V·diag(∏_{j≠i} s_j)·Uᵀ."""
    U, s, Vt = np.linalg.svd(A)
    return np.linalg.det(U) * np.linalg.det(Vt) * (Vt.T * _products_of_others(s)) @ U.T


def _products_of_others(s):
    """[∏_{j≠i} s_j for each i], without dividing (a zero s_i is the point): the product of
    the entries before i times the product of those after it, on s's device."""
    one = array_module(s).ones(1, dtype=s.dtype)
    before = np.cumprod(np.concatenate((one, s[:-1])))
    after = np.cumprod(np.concatenate((one, s[:0:-1])))[::-1]
    return before * after


def _det_rule(G, Y, A):
    try:
        cofactors = Y * inv(A).T  # adj(A)ᵀ = det A · A⁻ᵀ
    except np.linalg.LinAlgError as exc:
        if not isinstance(A, Node):  # A singular: adj(A)ᵀ exists all the same
            return G * _adjugate(A).T
        raise np.linalg.LinAlgError(
            f"{exc}: the first derivative of det at a singular matrix is adj(A)ᵀ, but its "
            "higher derivatives there are not supported (create_graph=True)"
        ) from exc
    return G * cofactors


DET = defop(
    "det",
    family="matrix",
    summary="Y = det A (1×1)",
    forward=lambda A: np.linalg.det(A).reshape(1, 1),
    differential="dY = tr(adj(A) dA) = det A · tr(A⁻¹ dA) (Jacobi's formula)",
    rules=(Rule("A", "tr(Ȳᵀ tr(adj(A)·dA)) ={scalar} Ȳ·tr(adj(A)·dA) ={transpose} "
                     "tr((Ȳ·adj(A)ᵀ)ᵀ dA)",
                "Ā = Ȳ·adj(A)ᵀ = Ȳ·Y·A⁻ᵀ", _det_rule),),
    shapes="A: n×n → Y: 1×1",
    check=_check_square("det"),
    notes="At a singular A the adjugate comes from the SVD (first order only).",
)


def _logdet(A):
    sign, logabs = np.linalg.slogdet(A)
    # log det A as torch.logdet: NaN when det A < 0, −inf when det A = 0 (CuPy gives 0-d arrays)
    result = logabs if sign > 0 else (-np.inf if sign == 0 else np.nan)
    return array_module(A).full((1, 1), float(result), dtype=A.dtype)


def _logdet_rule(G, Y, A):
    gradient = G * inv(A).T
    if np.isnan(value(Y)).any():  # det A < 0: ln det A is NaN, and so is its gradient
        gradient = gradient * math.nan
    return gradient


LOGDET = defop(
    "logdet",
    family="matrix",
    summary="Y = ln det A (1×1; NaN when det A < 0, as torch.logdet)",
    forward=_logdet,
    differential="dY = tr(A⁻¹ dA)",
    rules=(Rule("A", "tr(Ȳᵀ tr(A⁻¹·dA)) ={scalar} Ȳ·tr(A⁻¹·dA) ={transpose} "
                     "tr((Ȳ·A⁻ᵀ)ᵀ dA)", "Ā = Ȳ·A⁻ᵀ", _logdet_rule),),
    shapes="A: n×n → Y: 1×1",
    check=_check_square("logdet"),
)


def _check_solve(A, B):
    if A.shape[0] != A.shape[1] or B.shape[0] != A.shape[0]:
        raise ValueError(
            f"solve: A {A.shape}, B {B.shape}: A·X = B needs A square (n×n) and B with n rows"
        )


SOLVE = defop(
    "solve",
    family="matrix",
    summary="Y = A⁻¹·B, the solution X of A·X = B (without forming A⁻¹)",
    forward=np.linalg.solve,
    differential="dY = A⁻¹·(dB − dA·Y)",
    rules=(
        Rule("A", "tr(Ȳᵀ·A⁻¹(−dA·Y)) ={cyclic} tr(−Y·Ȳᵀ·A⁻¹·dA) ={transpose} "
                  "tr((−A⁻ᵀ·Ȳ·Yᵀ)ᵀ dA)",
             "Ā = −B̄·Yᵀ, B̄ = A⁻ᵀ·Ȳ = solve(Aᵀ, Ȳ)",
             lambda G, Y, A, B: -(solve(A.T, G) @ Y.T)),
        Rule("B", "tr(Ȳᵀ·A⁻¹·dB) ={transpose} tr((A⁻ᵀ·Ȳ)ᵀ dB)", "B̄ = A⁻ᵀ·Ȳ = solve(Aᵀ, Ȳ)",
             lambda G, Y, A, B: solve(A.T, G)),
    ),
    shapes="A: n×n, B: n×p → Y: n×p",
    check=_check_solve,
)


def matmul(a, b):
    """Y = a·b, the matrix product (the `@` operator)."""
    return apply2(MATMUL, a, b)


def transpose(x):
    """Y = xᵀ (also `x.T`)."""
    return apply1(TRANSPOSE, x)


def trace(x):
    """Y = tr(x) as a 1×1 matrix."""
    return apply1(TRACE, x)


def inv(x):
    """Y = x⁻¹ for a square, non-singular x (LinAlgError names the op otherwise)."""
    return apply1(INV, x)


def det(x):
    """Y = det x as a 1×1 matrix."""
    return apply1(DET, x)


def logdet(x):
    """Y = ln det x as a 1×1 matrix (NaN when det x < 0, −inf when it is 0, as torch.logdet)."""
    return apply1(LOGDET, x)


def solve(a, b):
    """Y = a⁻¹·b, the X with a·X = b, computed without forming a⁻¹."""
    return apply2(SOLVE, a, b)
