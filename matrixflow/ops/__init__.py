"""The op table: one module per family, each op defined once (forward, differential, rules).

`REGISTRY` maps each op's name to its `Op`; `matrixflow verify` and the tests walk it, so an op
added here without its checks and PyTorch twin makes the suite fail.
"""

import sys

from ..autograd import _bind_sum_to
from ..node import _bind_operators
from .arithmetic import add, div, mul, neg, pow, rpow, sub, where
from .base import REGISTRY, Op, Rule, apply1, apply2
from .elementwise import (
    abs,
    clamp,
    cos,
    exp,
    leaky_relu,
    log,
    relu,
    sigmoid,
    sin,
    softplus,
    sqrt,
    tanh,
)
from .images import col2im, im2col, max_pool
from .layers import batch_norm, dropout
from .losses import (
    binary_cross_entropy_with_logits,
    cross_entropy,
    huber_loss,
    l1_loss,
    log_softmax,
    mse_loss,
    softmax,
)
from .matrix import det, inv, logdet, matmul, solve, trace, transpose
from .reduce import broadcast_to, max, mean, norm, sum, sum_to
from .structure import clone, concat, getitem, reshape, scatter_add

_bind_operators(apply1, apply2, REGISTRY, sys.modules[__name__])
_bind_sum_to(sum_to)

__all__ = [
    "REGISTRY",
    "Op",
    "Rule",
    "abs",
    "add",
    "batch_norm",
    "binary_cross_entropy_with_logits",
    "broadcast_to",
    "clamp",
    "clone",
    "col2im",
    "concat",
    "cos",
    "cross_entropy",
    "det",
    "div",
    "dropout",
    "exp",
    "getitem",
    "huber_loss",
    "im2col",
    "inv",
    "l1_loss",
    "leaky_relu",
    "log",
    "log_softmax",
    "logdet",
    "matmul",
    "max",
    "max_pool",
    "mean",
    "mse_loss",
    "mul",
    "neg",
    "norm",
    "pow",
    "relu",
    "reshape",
    "rpow",
    "scatter_add",
    "sigmoid",
    "sin",
    "softmax",
    "softplus",
    "solve",
    "sqrt",
    "sub",
    "sum",
    "sum_to",
    "tanh",
    "trace",
    "transpose",
    "where",
]
