"""matrixflow: reverse-mode automatic differentiation over matrices.

Every value is a 2-D matrix (a scalar is [[a]]); an expression is a tree of Nodes; each op's
gradient rule is derived with the trace trick, from dL = tr(Ȳᵀ dY) to tr(Āᵀ dA).

    import matrixflow as mf
    X = mf.Node([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = mf.trace(X.T @ X)
    y.backward()          # X.grad == 2·X
"""

from . import nn, ops, optim
from .autograd import enable_grad, grad, is_grad_enabled, no_grad, set_grad_enabled
from .backend import device_of
from .calculus import derivation, explain, render, to_dot
from .diagnose import verify
from .gradcheck import GradcheckError, gradcheck, gradgradcheck, numerical_grad
from .node import Node
from .ops import (
    REGISTRY,
    abs,
    add,
    binary_cross_entropy_with_logits,
    broadcast_to,
    concat,
    cos,
    cross_entropy,
    det,
    div,
    exp,
    getitem,
    huber_loss,
    inv,
    l1_loss,
    leaky_relu,
    log,
    log_softmax,
    logdet,
    matmul,
    max,
    mean,
    mse_loss,
    mul,
    neg,
    pow,
    relu,
    reshape,
    scatter_add,
    sigmoid,
    sin,
    softmax,
    softplus,
    solve,
    sqrt,
    sub,
    sum,
    tanh,
    trace,
    transpose,
)
from .symbolic import Sym, closed_form, symbols

__version__ = "0.1.0"

__all__ = [
    "REGISTRY",
    "GradcheckError",
    "Node",
    "Sym",
    "abs",
    "add",
    "binary_cross_entropy_with_logits",
    "broadcast_to",
    "closed_form",
    "concat",
    "cos",
    "cross_entropy",
    "derivation",
    "det",
    "device_of",
    "div",
    "enable_grad",
    "exp",
    "explain",
    "getitem",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "huber_loss",
    "inv",
    "is_grad_enabled",
    "l1_loss",
    "leaky_relu",
    "log",
    "log_softmax",
    "logdet",
    "matmul",
    "max",
    "mean",
    "mse_loss",
    "mul",
    "neg",
    "nn",
    "no_grad",
    "numerical_grad",
    "ops",
    "optim",
    "pow",
    "relu",
    "render",
    "reshape",
    "scatter_add",
    "set_grad_enabled",
    "sigmoid",
    "sin",
    "softmax",
    "softplus",
    "solve",
    "sqrt",
    "sub",
    "sum",
    "symbols",
    "tanh",
    "to_dot",
    "trace",
    "transpose",
    "verify",
]
