"""Element-wise arithmetic with NumPy broadcasting: add, sub, neg, mul (Hadamard ⊙), div, pow.

Broadcasting between (m,n), (1,n), (m,1) and (1,1) is multiplication by a column of ones: a 1×n
row a enters as 1·a, so tr(Ȳᵀ 1·da) = tr((1ᵀȲ)ᵀ da) and ā = 1ᵀȲ, the column sums of Ȳ.  The
binary ops here are `broadcasting=True`: their rules give Ȳ-shaped gradients and the walk sums
each back over exactly the broadcast axes (`sum_to`), in one place for all of them.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..backend import array_module, device_of, is_cupy_array, to_device
from ..node import Node
from .base import Rule, apply1, apply2, broadcast_error, defop

_BROADCAST_SHAPES = "A: m×n, B: m×n (or 1×n, m×1, 1×1: broadcast) → Y: m×n"
_BROADCAST_NOTE = (
    "Broadcasting: a 1×n row b used for every row enters as 1·b, so tr(Ȳᵀ 1·db) = "
    "tr((1ᵀȲ)ᵀ db) and b̄ = 1ᵀȲ, the column sums of Ȳ; an m×1 column c enters as c·1ᵀ, so "
    "c̄ = Ȳ·1, the row sums; a 1×1 scalar gets the sum of all of Ȳ."
)

ADD = defop(
    "add",
    family="arithmetic",
    summary="Y = A + B (broadcasting)",
    forward=np.add,
    differential="dY = dA + dB",
    rules=(
        Rule("A", "tr(Ȳᵀ dA)", "Ā = Ȳ (summed over broadcast axes)",
             lambda G, Y, A, B: G),
        Rule("B", "tr(Ȳᵀ dB)", "B̄ = Ȳ (summed over broadcast axes)",
             lambda G, Y, A, B: G),
    ),
    shapes=_BROADCAST_SHAPES,
    broadcasting=True,
    shape_error=broadcast_error("add"),
    notes=_BROADCAST_NOTE,
)

SUB = defop(
    "sub",
    family="arithmetic",
    summary="Y = A − B (broadcasting)",
    forward=np.subtract,
    differential="dY = dA − dB",
    rules=(
        Rule("A", "tr(Ȳᵀ dA)", "Ā = Ȳ (summed over broadcast axes)",
             lambda G, Y, A, B: G),
        Rule("B", "tr(Ȳᵀ (−dB)) ={linearity} tr((−Ȳ)ᵀ dB)",
             "B̄ = −Ȳ (summed over broadcast axes)",
             lambda G, Y, A, B: -G),
    ),
    shapes=_BROADCAST_SHAPES,
    broadcasting=True,
    shape_error=broadcast_error("sub"),
    notes=_BROADCAST_NOTE,
)

NEG = defop(
    "neg",
    family="arithmetic",
    summary="Y = −A",
    forward=np.negative,
    differential="dY = −dA",
    rules=(Rule("A", "tr(Ȳᵀ (−dA)) ={linearity} tr((−Ȳ)ᵀ dA)", "Ā = −Ȳ", lambda G, Y, A: -G),),
)

MUL = defop(
    "mul",
    family="arithmetic",
    summary="Y = A ⊙ B, the element-wise (Hadamard) product (broadcasting)",
    forward=np.multiply,
    differential="dY = dA ⊙ B + A ⊙ dB",
    rules=(
        Rule("A", "tr(Ȳᵀ (B ⊙ dA)) ={hadamard} tr((Ȳ ⊙ B)ᵀ dA)",
             "Ā = Ȳ ⊙ B (summed over broadcast axes)",
             lambda G, Y, A, B: G * B),
        Rule("B", "tr(Ȳᵀ (A ⊙ dB)) ={hadamard} tr((Ȳ ⊙ A)ᵀ dB)",
             "B̄ = Ȳ ⊙ A (summed over broadcast axes)",
             lambda G, Y, A, B: G * A),
    ),
    shapes=_BROADCAST_SHAPES,
    broadcasting=True,
    shape_error=broadcast_error("mul"),
    notes=_BROADCAST_NOTE,
)

DIV = defop(
    "div",
    family="arithmetic",
    summary="Y = A / B, element-wise (broadcasting)",
    forward=np.divide,
    differential="dY = dA / B − (A / B²) ⊙ dB = dA / B − (Y / B) ⊙ dB",
    rules=(
        Rule("A", "tr(Ȳᵀ ((1/B) ⊙ dA)) ={hadamard} tr((Ȳ / B)ᵀ dA)",
             "Ā = Ȳ / B (summed over broadcast axes)",
             lambda G, Y, A, B: G / B),
        Rule("B", "tr(Ȳᵀ (−(Y/B) ⊙ dB)) ={hadamard} tr((−Ȳ ⊙ Y / B)ᵀ dB)",
             "B̄ = −Ȳ ⊙ Y / B (summed over broadcast axes)",
             lambda G, Y, A, B: G * Y / -B),
    ),
    shapes=_BROADCAST_SHAPES,
    broadcasting=True,
    shape_error=broadcast_error("div"),
    notes=_BROADCAST_NOTE,
)

POW = defop(
    "pow",
    family="arithmetic",
    summary="Y = A ** p, element-wise, for a constant scalar exponent p",
    forward=lambda A, exponent: A**exponent,
    differential="dY = p·A^(p−1) ⊙ dA",
    rules=(
        Rule("A", "tr(Ȳᵀ (p·A^(p−1) ⊙ dA)) ={hadamard} tr((Ȳ ⊙ p·A^(p−1))ᵀ dA)",
             "Ā = Ȳ ⊙ p·A^(p−1)",
             lambda G, Y, A, exponent: _power_rule(G, A, exponent)),
    ),
    notes="The exponent is a constant stored on the node, not an operand.",
)

RPOW = defop(
    "rpow",
    family="arithmetic",
    summary="Y = b ** A, element-wise, for a constant positive scalar base b",
    forward=lambda A, base: np.power(base, A),
    differential="dY = ln b · Y ⊙ dA",
    rules=(
        Rule("A", "tr(Ȳᵀ (ln b · Y ⊙ dA)) ={hadamard} tr((ln b · Ȳ ⊙ Y)ᵀ dA)",
             "Ā = ln b · Ȳ ⊙ Y",
             lambda G, Y, A, base: G * Y * math.log(base)),
    ),
    notes="The base is a constant stored on the node; b ** x is computed by np.power, exactly.",
)


def _power_rule(G, A, exponent):
    if exponent == 0:  # A⁰ is constant; A^(−1) would put 0·∞ = NaN at A = 0
        return G * 0.0
    return G * (exponent * A ** (exponent - 1))


def add(a, b):
    """Y = a + b, element-wise with broadcasting."""
    return apply2(ADD, a, b)


def sub(a, b):
    """Y = a − b, element-wise with broadcasting."""
    return apply2(SUB, a, b)


def neg(x):
    """Y = −x."""
    return apply1(NEG, x)


def mul(a, b):
    """Y = a ⊙ b, the element-wise (Hadamard) product with broadcasting (`*`; `@` is matmul)."""
    return apply2(MUL, a, b)


def div(a, b):
    """Y = a / b, element-wise with broadcasting."""
    return apply2(DIV, a, b)


def _constant_scalar(value, what: str) -> float:
    """`value` (the exponent or base of pow) as a float, or an error saying why it is not one."""
    if isinstance(value, Node):
        if value.shape != (1, 1):
            raise ValueError(
                f"pow: the {what} must be a scalar (a number or a 1×1 node); got a node of "
                f"shape {value.shape}. For an element-wise power use mf.exp(b * mf.log(a))"
            )
        if value.requires_grad:
            raise ValueError(
                f"pow: the {what} is a constant and is not differentiated, but this 1×1 node "
                "requires grad; to differentiate with respect to it write mf.exp(b * mf.log(a)),"
                " or pass b.item() for a constant"
            )
        return value.item()
    if isinstance(value, (numbers.Real, np.integer, np.floating, np.bool_)):
        return float(value)
    array = None if isinstance(value, str) else np.asarray(value)
    if array is not None and array.dtype.kind in "fiub" and array.size == 1:
        return float(array.reshape(()))
    shape = f" of shape {array.shape}" if array is not None and array.ndim else ""
    raise ValueError(
        f"pow: the {what} must be a scalar number, got {type(value).__name__}{shape}; "
        "for an element-wise power use mf.exp(b * mf.log(a))"
    )


def pow(x, exponent):
    """Y = x ** p element-wise, p a constant scalar (a number or a 1×1 node without grad)."""
    return apply1(POW, x, {"exponent": _constant_scalar(exponent, "exponent")})


def rpow(base, x):
    """Y = base ** x element-wise, for a constant positive scalar base (`2 ** x`)."""
    b = _constant_scalar(base, "base")
    if not b > 0:
        raise ValueError(
            f"pow: a scalar base raised to a node must be positive (its derivative is "
            f"ln b · b^x); got {b}"
        )
    return apply1(RPOW, x, {"base": b})


# ---- where: A where a constant mask C holds, B elsewhere --------------------------------------
def _mask_like(condition, G):
    """[C] as numbers of Ȳ's precision (an array, or beside a Node a constant operand)."""
    data = G.data if isinstance(G, Node) else G
    return condition.astype(data.dtype)


def _check_where(A, B, condition):
    try:
        np.broadcast_shapes(condition.shape, A.shape, B.shape)
    except ValueError:
        raise ValueError(
            f"where: the condition {condition.shape}, A {A.shape} and B {B.shape} cannot be "
            "broadcast — each dimension must be equal, or 1 in all but one of them"
        ) from None


WHERE = defop(
    "where",
    family="arithmetic",
    summary="Y = A where the constant mask C is true, B elsewhere (broadcasting, as torch.where)",
    forward=lambda A, B, condition: array_module(A).where(condition, A, B),
    differential="dY = [C] ⊙ dA + [¬C] ⊙ dB",
    rules=(
        Rule("A", "tr(Ȳᵀ ([C] ⊙ dA)) ={hadamard} tr((Ȳ ⊙ [C])ᵀ dA)",
             "Ā = Ȳ ⊙ [C] (summed over broadcast axes)",
             lambda G, Y, A, B, condition: G * _mask_like(condition, G)),
        Rule("B", "tr(Ȳᵀ ([¬C] ⊙ dB)) ={hadamard} tr((Ȳ ⊙ [¬C])ᵀ dB)",
             "B̄ = Ȳ ⊙ [¬C] (summed over broadcast axes)",
             lambda G, Y, A, B, condition: G * _mask_like(~condition, G)),
    ),
    shapes="C, A, B broadcast together → Y: their common shape",
    broadcasting=True,
    check=_check_where,
    notes="[C] is 1 where the condition holds and 0 elsewhere; the condition is a constant "
    "(a boolean matrix, e.g. x > 0), never differentiated.",
)


def where(condition, a, b):
    """Y = a where `condition` is true, b elsewhere, as torch.where: `condition` a boolean
    matrix (`x > 0` on a Node gives one), broadcast with a and b; a or b may be numbers."""
    if isinstance(condition, Node):
        condition = condition.data
    mask = condition if is_cupy_array(condition) else np.asarray(condition)
    if mask.dtype.kind != "b":
        raise TypeError(f"where: the condition must be boolean (e.g. x > 0), got dtype "
                        f"{mask.dtype}; compare first, e.g. mf.where(m != 0, a, b)")
    if mask.ndim == 0:
        mask = mask.reshape(1, 1)
    if mask.ndim != 2:
        raise ValueError(f"where: the condition must be a matrix (2-D); got shape {mask.shape}")
    for operand in (a, b):  # the mask lives where the data does
        data = operand.data if isinstance(operand, Node) else operand
        if is_cupy_array(data) and not is_cupy_array(mask):
            mask = to_device(mask, device_of(data))
            break
    return apply2(WHERE, a, b, {"condition": mask})
