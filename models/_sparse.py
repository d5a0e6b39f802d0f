"""Sparse X for the MLPs: the first layer's product X·W₁ on a SciPy sparse matrix, as
scikit-learn computes it, without densifying X.

matrixflow's `Node` holds dense arrays only, so X does not become a Node: it is a constant
stored on the node of one op outside the op table, Y = X·W with the single operand W,

    dY = X·dW,   tr(Ȳᵀ X dW) = tr((Xᵀ Ȳ)ᵀ dW),   W̄ = Xᵀ·Ȳ,

where X·W and Xᵀ·Ȳ are SciPy's sparse-times-dense products (scikit-learn's `safe_sparse_dot`
in `_forward_pass` and `_compute_loss_grad`), so their rounding is scikit-learn's.  The rule
is the op itself applied with the constant Xᵀ, so it runs on arrays in a plain backward and
builds a differentiable node under create_graph=True, as every matrixflow rule does.  SciPy is
imported here, in `models/`, never in `matrixflow/`.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse

from matrixflow.ops.base import Rule, apply1, defop

# the formats scikit-learn's MLPs take as they are; validate_data converts any other (COO,
# DOK, LIL, BSR, DIA) to the first of them, which copies the non-zeros, never a dense matrix
ACCEPT_SPARSE = ["csr", "csc"]


def issparse(X) -> bool:
    return scipy.sparse.issparse(X)


def _forward(W, X):
    # SciPy's sparse @ dense is a dense ndarray; asarray also turns a np.matrix (which a
    # sparse *matrix* could give) into a plain 2-D array
    return np.asarray(X @ W)


def _check(W, X):
    if X.shape[1] != W.shape[0]:
        raise ValueError(f"sparse_matmul: {X.shape} @ {W.shape}: inner dimensions "
                         f"{X.shape[1]} and {W.shape[0]} differ")


sparse_matmul_op = defop(
    "sparse_matmul",
    family="matrix",
    summary="Y = X·W, X a sparse constant (SciPy), W the operand",
    forward=_forward,
    differential="dY = X·dW",
    rules=[Rule("W", "tr(Ȳᵀ X·dW) ={cyclic} tr((Xᵀ·Ȳ)ᵀ dW)", "W̄ = Xᵀ·Ȳ",
                lambda G, Y, W, X: sparse_matmul(X.T, G))],
    shapes="X: m×n (sparse, constant), W: n×p → Y: m×p",
    check=_check,
    notes="outside the op table: its constant is a SciPy sparse matrix, which only the "
          "estimators in models/ take",
    register=False,
)


def sparse_matmul(X, W):
    """X·W for a SciPy sparse X: a dense array for an array W, a Node for a Node W."""
    return apply1(sparse_matmul_op, W, {"X": X})


def first_product(X, W):
    """X·W₁, the first layer's product: SciPy's for a sparse X, the `@` of Node and array
    otherwise."""
    return sparse_matmul(X, W) if issparse(X) else X @ W


def refuse_on_device(X, device, what):
    """Sparse X is computed on the host only: a clear error for any other device."""
    if issparse(X) and device != "cpu":
        raise TypeError(f"{what}: sparse X is supported with device='cpu' only (SciPy's sparse "
                        f"products run on the host), got device={device!r}; use device='cpu', "
                        "or pass a dense X (X.toarray()) to compute on the GPU")
