"""matrixflow: reverse-mode automatic differentiation over matrices.

Every value is a 2-D matrix (a scalar is [[a]]); an expression is a tree of Nodes; each op's
gradient rule is derived with the trace trick, from dL = tr(Ȳᵀ dY) to tr(Āᵀ dA).

    import matrixflow as mf
    X = mf.Node([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = mf.trace(X.T @ X)
    y.backward()          # X.grad == 2·X


The package is built in layers, each importing only the ones below it: the engine (`node`,
`autograd`, `grad_mode`, `graph`, `backend`, `matrix_data`, `symbolic_hooks`, `ops/`); above it
the verification room (`verification/`), the teaching room (`teaching/`, which also uses the
verifier's checks) and the training room (`nn/`, `optim/`, `data`, and the estimators in
`matrixflow.models`, which alone import scikit-learn and are not imported here).
"""

import os as _os

from . import data, nn, ops, optim
from .autograd import grad
from .backend import DeviceMismatchError, cuda_available, device_of
from .compiled import Replay, ReplayError, ReplayMismatch, replay
from .constructors import eye, full, ones, zeros
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .node import Node
from .ops import (
    REGISTRY,
    abs,
    add,
    batch_norm,
    binary_cross_entropy_with_logits,
    broadcast_to,
    clamp,
    clone,
    col2im,
    concat,
    cos,
    cross_entropy,
    det,
    div,
    dropout,
    exp,
    getitem,
    huber_loss,
    im2col,
    inv,
    l1_loss,
    leaky_relu,
    log,
    log_softmax,
    logdet,
    matmul,
    max,
    max_pool,
    mean,
    mse_loss,
    mul,
    neg,
    norm,
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
    where,
)
from .teaching import (
    GradientCheck,
    Sym,
    check_gradient,
    closed_form,
    derivation,
    derive,
    explain,
    hessian,
    jacobian,
    picture,
    render,
    symbols,
    to_dot,
)
from .verification import GradcheckError, gradcheck, gradgradcheck, numerical_grad, verify

__version__ = "0.1.0"

# An install maps the repository's models/ folder onto matrixflow.models.  Run from a checkout
# without installing (python -m benchmarks, python examples/digits.py), this package is the
# source folder: let it find the estimators in the same place, through its search path.
_root = _os.path.dirname(__path__[0])
if (not _os.path.isdir(_os.path.join(__path__[0], "models"))
        and _os.path.isfile(_os.path.join(_root, "models", "__init__.py"))
        and _os.path.isfile(_os.path.join(_root, "models", "_mlp_base.py"))):
    __path__.append(_root)
del _root

__all__ = [
    "REGISTRY",
    "DeviceMismatchError",
    "GradcheckError",
    "GradientCheck",
    "Node",
    "Replay",
    "ReplayError",
    "ReplayMismatch",
    "Sym",
    "abs",
    "add",
    "batch_norm",
    "binary_cross_entropy_with_logits",
    "broadcast_to",
    "check_gradient",
    "clamp",
    "clone",
    "closed_form",
    "col2im",
    "concat",
    "cos",
    "cross_entropy",
    "cuda_available",
    "data",
    "derivation",
    "derive",
    "det",
    "device_of",
    "div",
    "dropout",
    "enable_grad",
    "exp",
    "explain",
    "eye",
    "full",
    "getitem",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "hessian",
    "huber_loss",
    "im2col",
    "inv",
    "is_grad_enabled",
    "jacobian",
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
    "nn",
    "no_grad",
    "norm",
    "numerical_grad",
    "ones",
    "ops",
    "optim",
    "picture",
    "pow",
    "relu",
    "render",
    "replay",
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
    "where",
    "zeros",
]
