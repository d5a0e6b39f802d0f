"""How each op of the registry builds a symbolic matrix, and how a symbolic function is
computed again on numbers.

Most ops map onto matrix algebra — matmul, ⊙, +, ᵀ, and the sums as products with a column of
ones (a sum down the rows is 1ᵀA, across the columns A·1) — so the simplifier can work on them.
The rest become named functions f(A) whose shape comes from running the op's own forward on
stand-in numbers.
"""

from __future__ import annotations

import numpy as np

from ...ops.images import _chosen_pixels
from ...ops.layers import _kept
from . import expr as sx


def _sum(a, axis=None):
    rows, cols = a.shape
    if axis == 0:
        return sx.matmul(sx.ones((1, rows)), a)
    if axis == 1:
        return sx.matmul(a, sx.ones((cols, 1)))
    return sx.matmul(sx.ones((1, rows)), a, sx.ones((cols, 1)))


def _mean(a, axis=None):
    total = _sum(a, axis)
    return sx.scale(total.size / a.size, total)


def _broadcast_to(a, shape):
    rows, cols = shape
    factors = [a]
    if a.shape[0] != rows:
        factors.insert(0, sx.ones((rows, 1)))
    if a.shape[1] != cols:
        factors.append(sx.ones((1, cols)))
    return factors[0] if len(factors) == 1 else sx.matmul(*factors)


def _solve(a, b):
    return sx.matmul(sx.apply("inv", a), b)


BUILDERS = {
    "add": lambda a, b: sx.add(a, b),
    "sub": lambda a, b: sx.add(a, sx.scale(-1, b)),
    "neg": lambda a: sx.scale(-1, a),
    "mul": lambda a, b: sx.hadamard(a, b),
    "div": lambda a, b: sx.div(a, b),
    "pow": lambda a, exponent: sx.power(a, exponent),
    "matmul": lambda a, b: sx.matmul(a, b),
    "transpose": lambda a: sx.transpose(a),
    "solve": _solve,
    "sum": _sum,
    "mean": _mean,
    "broadcast_to": _broadcast_to,
    # dropout is A ⊙ K, K = M/(1 − p): matrix algebra the simplifier works on
    "dropout": lambda a, mask, p: sx.hadamard(a, _kept(mask, p, a)),
}


# Functions a rule computes from its operands' values without differentiating them (the mask of
# max_pool's window maxima): on symbols a rule names them, f(A), and a closed form evaluates
# them with the function registered here under that name.
# diag(v): the n×n matrix with the column v on its diagonal (a Jacobian of an element-wise map)
VALUE_FUNCTIONS: dict = {"max_pool_argmax": _chosen_pixels, "diag": np.diagflat}


def _stand_in(shape):
    """Numbers of `shape` every op accepts: positive, and invertible when square."""
    return np.eye(*shape) + 0.5


def _shape_by_forward(op, args, attrs):
    with np.errstate(all="ignore"):
        result = op.forward(*(_stand_in(a.shape) for a in args), **attrs)
    return result.shape


def from_op(op, args, attrs) -> sx.Sym:
    """The symbolic matrix op(args) (args are Syms)."""
    attrs = attrs or {}
    builder = BUILDERS.get(op.name)
    if builder is not None:
        return builder(*args, **attrs)
    return sx.apply(op.name, *args, attrs=attrs, out_shape=_shape_by_forward(op, args, attrs))


def numeric(name):
    """The numeric function behind a symbolic f(A): the op's forward, a value function, or
    NumPy's."""
    from ...ops import REGISTRY

    if name in REGISTRY:
        return REGISTRY[name].forward
    if name in VALUE_FUNCTIONS:
        return VALUE_FUNCTIONS[name]
    if name == "sum":
        return lambda a, axis=None: a.sum(axis=axis, keepdims=True)
    return getattr(np, name)
