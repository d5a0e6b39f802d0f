"""softmax, log_softmax and the losses, each one fused op with PyTorch's defaults.

A loss is E = ℓ(A, B) entry by entry (or row by row for cross-entropy), then reduced:
reduction="mean" (the default, as PyTorch) gives Y = (1/k)·Σ E (1×1), "sum" gives Σ E, "none"
gives E.  With Ȳ the seed, the rules scale it back first: s = Ȳ/k, Ȳ, or Ȳ entry by entry.
Fusing keeps them numerically stable: log-softmax by log-sum-exp, binary cross-entropy as
max(x,0) − x·t + ln(1 + e^−|x|), finite for any logit.
"""

from __future__ import annotations

import numpy as np

from ..backend import array_module, device_of, is_cupy_array, to_device
from ..graph import OUTSIDE_THE_TREE
from ..node import Node, to_matrix
from .base import Rule, apply1, apply2, check_axis, defop, value
from .elementwise import exp, sigmoid
from .reduce import sum as sum_

REDUCTIONS = ("mean", "sum", "none")
_LOSS_SHAPES = "A: m×n, B: m×n → Y: 1×1 (m×n for reduction none)"
_REDUCTION_NOTE = (
    "E is the loss entry by entry and Y = (1/k)·1ᵀE·1 for the mean of its k entries; "
    "s = (Ȳ/k)·1·1ᵀ for the mean, Ȳ·1·1ᵀ for the sum, Ȳ for none."
)


def _reduce(E, reduction):
    if reduction == "none":
        return E
    total = E.sum(keepdims=True)
    return total / E.size if reduction == "mean" else total


def _scale(G, reduction, count):
    """s: the seed Ȳ carried back through the reduction (Ȳ/k for the mean)."""
    return G / count if reduction == "mean" else G


def _log_softmax(A, axis):
    shifted = A - A.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _softmax(A, axis):
    e = np.exp(A - A.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


SOFTMAX = defop(
    "softmax",
    family="losses",
    summary="Y = e^A / Σ e^A along an axis (1: each row, the default)",
    forward=_softmax,
    differential="dY = Y ⊙ dA − Y ⊙ (c·1ᵀ), c = (Y ⊙ dA)·1 (axis 1: each row)",
    rules=(Rule("A", "tr(Ȳᵀ(Y ⊙ dA)) − tr(Ȳᵀ(Y ⊙ c·1ᵀ)), c = (Y ⊙ dA)·1 ={hadamard} "
                     "tr((Ȳ ⊙ Y)ᵀ dA) − tr((Ȳ ⊙ Y)ᵀ c·1ᵀ) ={cyclic} "
                     "tr((Ȳ ⊙ Y)ᵀ dA) − tr(sᵀ c), s = (Ȳ ⊙ Y)·1 ={cyclic} "
                     "tr((Ȳ ⊙ Y)ᵀ dA) − tr((s·1ᵀ)ᵀ(Y ⊙ dA)) ={hadamard} "
                     "tr((Y ⊙ (Ȳ − s·1ᵀ))ᵀ dA)",
                "Ā = Y ⊙ (Ȳ − s·1ᵀ), s = (Ȳ ⊙ Y)·1 the sums along the axis",
                lambda G, Y, A, axis: Y * (G - sum_(G * Y, axis))),),
    notes="Written for axis 1 (each row sums to 1); for axis 0 transpose every step.",
)

LOG_SOFTMAX = defop(
    "log_softmax",
    family="losses",
    summary="Y = A − ln Σ e^A along an axis (1: each row), by log-sum-exp",
    forward=_log_softmax,
    differential="dY = dA − c·1ᵀ, c = (P ⊙ dA)·1, P = softmax(A) = e^Y (axis 1: each row)",
    rules=(Rule("A", "tr(Ȳᵀ dA) − tr(Ȳᵀ c·1ᵀ) ={cyclic} tr(Ȳᵀ dA) − tr((Ȳ·1)ᵀ(P ⊙ dA)·1) "
                     "={cyclic} tr(Ȳᵀ dA) − tr((Ȳ·1·1ᵀ)ᵀ(P ⊙ dA)) ={hadamard} "
                     "tr((Ȳ − P ⊙ (Ȳ·1·1ᵀ))ᵀ dA)",
                "Ā = Ȳ − e^Y ⊙ (Ȳ·1·1ᵀ), the sums of Ȳ along the axis copied back",
                lambda G, Y, A, axis: G - exp(Y) * sum_(G, axis)),),
    notes="Written for axis 1; for axis 0 transpose every step.",
)


def _check_same_shape(name):
    def check(A, B, **attrs):
        if A.shape != B.shape:
            raise ValueError(
                f"{name}: input shape {A.shape} and target shape {B.shape} differ; a loss "
                f"compares entry by entry and never broadcasts (reshape the target to {A.shape})"
            )

    return check


MSE_LOSS = defop(
    "mse_loss",
    family="losses",
    summary="Y = mean((A − B)²) (reduction mean | sum | none)",
    forward=lambda A, B, reduction: _reduce((A - B) ** 2, reduction),
    differential="dY = (2/k)·tr((A − B)ᵀ (dA − dB)) (mean)",
    rules=(
        Rule("A", "tr(Ȳᵀ·(1/k)·1ᵀ(2(A − B) ⊙ dA)·1) ={ones} tr(sᵀ(2(A − B) ⊙ dA)) "
                  "={hadamard} tr((2·s ⊙ (A − B))ᵀ dA)", "Ā = 2·s ⊙ (A − B)",
             lambda G, Y, A, B, reduction: 2.0 * _scale(G, reduction, A.size) * (A - B)),
        Rule("B", "tr(Ȳᵀ·(1/k)·1ᵀ(−2(A − B) ⊙ dB)·1) ={ones} tr(sᵀ(−2(A − B) ⊙ dB)) "
                  "={hadamard} tr((−2·s ⊙ (A − B))ᵀ dB)", "B̄ = −2·s ⊙ (A − B)",
             lambda G, Y, A, B, reduction: -2.0 * _scale(G, reduction, A.size) * (A - B)),
    ),
    shapes=_LOSS_SHAPES,
    notes=_REDUCTION_NOTE,
    check=_check_same_shape("mse_loss"),
)

L1_LOSS = defop(
    "l1_loss",
    family="losses",
    summary="Y = mean(|A − B|) (reduction mean | sum | none)",
    forward=lambda A, B, reduction: _reduce(np.abs(A - B), reduction),
    differential="dY = (1/k)·tr(sign(A − B)ᵀ (dA − dB)) (mean)",
    rules=(
        Rule("A", "tr(Ȳᵀ·(1/k)·1ᵀ(sign(A − B) ⊙ dA)·1) ={ones} tr(sᵀ(sign(A − B) ⊙ dA)) "
                  "={hadamard} tr((s ⊙ sign(A − B))ᵀ dA)",
             "Ā = s ⊙ sign(A − B)",
             lambda G, Y, A, B, reduction: _scale(G, reduction, A.size)
             * np.sign(value(A) - value(B))),
        Rule("B", "tr(Ȳᵀ·(1/k)·1ᵀ(−sign(A − B) ⊙ dB)·1) ={ones} "
                  "tr(sᵀ(−sign(A − B) ⊙ dB)) ={hadamard} tr((−s ⊙ sign(A − B))ᵀ dB)",
             "B̄ = −s ⊙ sign(A − B)",
             lambda G, Y, A, B, reduction: -(_scale(G, reduction, A.size)
                                              * np.sign(value(A) - value(B)))),
    ),
    shapes=_LOSS_SHAPES,
    notes=_REDUCTION_NOTE,
    check=_check_same_shape("l1_loss"),
)


def _huber(A, B, reduction, delta):
    D = np.abs(A - B)
    E = np.where(D < delta, 0.5 * D * D, delta * (D - 0.5 * delta))
    return _reduce(E, reduction)


def _huber_slope(A, B, delta):
    """clip(A − B, −δ, δ), written with operations Nodes share so it can be differentiated."""
    d = value(A) - value(B)
    inside = np.abs(d) <= delta
    if inside.all():
        return A - B
    return (A - B) * inside + np.where(inside, 0.0, delta * np.sign(d)).astype(d.dtype)


HUBER_LOSS = defop(
    "huber_loss",
    family="losses",
    summary="Y = mean(½(A − B)² where |A − B| < δ, δ(|A − B| − ½δ) elsewhere), δ = 1",
    forward=_huber,
    differential="dY = (1/k)·tr(clip(A − B, −δ, δ)ᵀ (dA − dB)) (mean)",
    rules=(
        Rule("A", "tr(Ȳᵀ·(1/k)·1ᵀ(clip(A − B, −δ, δ) ⊙ dA)·1) ={ones} "
                  "tr(sᵀ(clip(A − B, −δ, δ) ⊙ dA)) ={hadamard} "
                  "tr((s ⊙ clip(A − B, −δ, δ))ᵀ dA)",
             "Ā = s ⊙ clip(A − B, −δ, δ)",
             lambda G, Y, A, B, reduction, delta: _scale(G, reduction, A.size)
             * _huber_slope(A, B, delta)),
        Rule("B", "tr(Ȳᵀ·(1/k)·1ᵀ(−clip(A − B, −δ, δ) ⊙ dB)·1) ={ones} "
                  "tr(sᵀ(−clip(A − B, −δ, δ) ⊙ dB)) ={hadamard} "
                  "tr((−s ⊙ clip(A − B, −δ, δ))ᵀ dB)",
             "B̄ = −s ⊙ clip(A − B, −δ, δ)",
             lambda G, Y, A, B, reduction, delta: -(_scale(G, reduction, A.size)
                                                     * _huber_slope(A, B, delta))),
    ),
    shapes=_LOSS_SHAPES,
    notes=_REDUCTION_NOTE,
    check=_check_same_shape("huber_loss"),
)


def _cross_entropy(A, T, reduction, one_hot):
    log_p = _log_softmax(A, 1)
    if one_hot:  # pick each row's label entry, as PyTorch: a −inf logit elsewhere (a masked
        # class) has log_p = −inf, and 0·(−inf) would make the row NaN
        E = -np.where(T != 0, log_p, 0.0).sum(axis=1, keepdims=True)
    else:  # probabilities: Σⱼ Tᵢⱼ·log_p, NaN beside a −inf logit as in PyTorch
        E = -(T * log_p).sum(axis=1, keepdims=True)  # one loss per row
    return _reduce(E, reduction)


def _cross_entropy_logits_rule(G, Y, A, T, reduction, one_hot):
    s = _scale(G, reduction, A.shape[0])
    if one_hot:  # each row of T sums to 1
        return s * (softmax(A, 1) - T)
    return s * (softmax(A, 1) * sum_(T, 1) - T)


CROSS_ENTROPY = defop(
    "cross_entropy",
    family="losses",
    summary="Y = mean over rows of −Σⱼ Tᵢⱼ·log_softmax(A)ᵢⱼ (T one-hot labels or probabilities)",
    forward=_cross_entropy,
    differential="dY = −(1/N)·tr(Tᵀ (dA − sum(P ⊙ dA)·1ᵀ)) − (1/N)·tr(log_softmax(A)ᵀ dT), "
    "P = softmax(A) (mean)",
    rules=(
        Rule("A", "tr(Ȳᵀ·(1/N)·1ᵀ(−T ⊙ (dA − sum(P ⊙ dA)·1ᵀ))·1) ={ones} "
                  "tr((s·1ᵀ)ᵀ(−T ⊙ (dA − c·1ᵀ))), s = (Ȳ/N)·1, c = (P ⊙ dA)·1 ={hadamard} "
                  "tr((−s·1ᵀ ⊙ T)ᵀ dA) + tr((s·1ᵀ ⊙ T)ᵀ c·1ᵀ) "
                  "={cyclic} tr((−s·1ᵀ ⊙ T)ᵀ dA) + tr(((s·1ᵀ ⊙ T)·1·1ᵀ)ᵀ(P ⊙ dA)) "
                  "={hadamard} tr((s·1ᵀ ⊙ (P ⊙ (T·1·1ᵀ) − T))ᵀ dA)",
             "Ā = s·1ᵀ ⊙ (P ⊙ (T·1·1ᵀ) − T), which is s·1ᵀ ⊙ (P − T) for labels (rows of T "
             "sum to 1), P = softmax(A)",
             _cross_entropy_logits_rule),
        Rule("T", "tr(Ȳᵀ·(1/N)·1ᵀ(−log_softmax(A) ⊙ dT)·1) ={ones} "
                  "tr((s·1ᵀ)ᵀ(−log_softmax(A) ⊙ dT)) "
                  "={hadamard} tr((−s·1ᵀ ⊙ log_softmax(A))ᵀ dT)",
             "T̄ = −s·1ᵀ ⊙ log_softmax(A)",
             lambda G, Y, A, T, reduction, one_hot: -(_scale(G, reduction, A.shape[0])
                                                      * log_softmax(A, 1))),
    ),
    shapes="A: N×C logits, T: N×C (one-hot labels or probabilities) → Y: 1×1 (N×1 for none)",
    notes="The mean is over the N rows (samples), as PyTorch's for labels and probabilities; "
    "E (N×1) holds each row's loss, s = (Ȳ/N)·1 for the mean, Ȳ·1 for the sum, Ȳ for none. "
    "For labels the forward picks each row's label entry of log_softmax(A), so a −inf logit "
    "elsewhere (a masked class) adds nothing rather than 0·(−inf).",
)


def _bce_with_logits(X, T, reduction):
    # ln(1 + e^x) − x·t = max(x, 0) − x·t + ln(1 + e^−|x|): no overflow at any x.
    E = np.maximum(X, 0) - X * T + np.log1p(np.exp(-np.abs(X)))
    return _reduce(E, reduction)


BCE_WITH_LOGITS = defop(
    "binary_cross_entropy_with_logits",
    family="losses",
    summary="Y = mean(ln(1 + e^X) − X ⊙ T), stable for any logit X",
    forward=_bce_with_logits,
    differential="dY = (1/k)·tr((σ(X) − T)ᵀ dX) − (1/k)·tr(Xᵀ dT) (mean)",
    rules=(
        Rule("X", "tr(Ȳᵀ·(1/k)·1ᵀ((σ(X) − T) ⊙ dX)·1) ={ones} tr(sᵀ((σ(X) − T) ⊙ dX)) "
                  "={hadamard} tr((s ⊙ (σ(X) − T))ᵀ dX)", "X̄ = s ⊙ (σ(X) − T)",
             lambda G, Y, X, T, reduction: _scale(G, reduction, X.size) * (sigmoid(X) - T)),
        Rule("T", "tr(Ȳᵀ·(1/k)·1ᵀ(−X ⊙ dT)·1) ={ones} tr(sᵀ(−X ⊙ dT)) ={hadamard} "
                  "tr((−s ⊙ X)ᵀ dT)", "T̄ = −s ⊙ X",
             lambda G, Y, X, T, reduction: -(_scale(G, reduction, X.size) * X)),
    ),
    shapes="X: m×n, T: m×n → Y: 1×1 (m×n for reduction none)",
    notes=_REDUCTION_NOTE,
    check=_check_same_shape("binary_cross_entropy_with_logits"),
)


def _check_reduction(name, reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def softmax(x, axis=1):
    """Y = e^x / Σ e^x along `axis` (1: each row sums to 1), stable for any x."""
    return apply1(SOFTMAX, x, {"axis": _softmax_axis("softmax", axis)})


def log_softmax(x, axis=1):
    """Y = x − ln Σ e^x along `axis` (1: each row), by log-sum-exp."""
    return apply1(LOG_SOFTMAX, x, {"axis": _softmax_axis("log_softmax", axis)})


def _softmax_axis(name, axis):
    axis = check_axis(name, axis)
    if axis is None:
        raise ValueError(f"{name}: axis must be 0 (down each column) or 1 (across each row)")
    return axis


def mse_loss(input, target, reduction="mean"):
    """Y = mean((input − target)²), PyTorch's default reduction; "sum" and "none" too."""
    _check_reduction("mse_loss", reduction)
    return apply2(MSE_LOSS, input, target, {"reduction": reduction})


def l1_loss(input, target, reduction="mean"):
    """Y = mean(|input − target|); "sum" and "none" too."""
    _check_reduction("l1_loss", reduction)
    return apply2(L1_LOSS, input, target, {"reduction": reduction})


def huber_loss(input, target, reduction="mean", delta=1.0):
    """Y = mean of ½d² where |d| < δ, δ(|d| − ½δ) elsewhere, d = input − target (PyTorch's)."""
    _check_reduction("huber_loss", reduction)
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    return apply2(HUBER_LOSS, input, target, {"reduction": reduction, "delta": float(delta)})


def binary_cross_entropy_with_logits(input, target, reduction="mean"):
    """Y = mean(ln(1 + e^x) − x·t) for logits x and targets t in [0, 1]; finite for any x."""
    _check_reduction("binary_cross_entropy_with_logits", reduction)
    return apply2(BCE_WITH_LOGITS, input, target, {"reduction": reduction})


def cross_entropy(input, target, reduction="mean"):
    """Y = mean over rows of −log softmax(input)[i, label i], PyTorch's cross_entropy.

    `input` holds N×C logits.  `target` is either N integer class labels (a 1-D or N×1 int
    array) or an N×C matrix of probabilities (a float array or Node, differentiable).
    """
    _check_reduction("cross_entropy", reduction)
    logits = input if isinstance(input, Node) else Node(input)
    n, classes = logits.shape
    if not isinstance(target, Node):
        labels = target if is_cupy_array(target) else np.asarray(target)
        if labels.dtype.kind == "b":
            raise ValueError(
                "cross_entropy: the target is boolean; give class labels as integers "
                "(labels.astype(int)) or probabilities as a float matrix"
            )
        if labels.dtype.kind in "iu":
            one_hot = _one_hot(labels, n, classes, logits.data)
            loss = apply2(CROSS_ENTROPY, logits, one_hot, {"reduction": reduction, "one_hot": True})
            if isinstance(loss, Node):  # the one-hot matrix is made from the labels, here
                OUTSIDE_THE_TREE[loss] = (
                    "makes its one-hot targets from integer labels outside the tree",
                    "pass the targets as a float input, one-hot: np.eye(classes)[labels]")
            return loss
        if labels.ndim != 2:
            raise ValueError(
                f"cross_entropy: the target must be {n} integer labels in [0, {classes}) or "
                f"{n}×{classes} probabilities; got a {labels.ndim}-D {labels.dtype} array of "
                f"shape {labels.shape} (labels stored as floats: labels.astype(int))"
            )
        target = Node(to_matrix(labels))
    if target.shape != logits.shape:
        raise ValueError(
            f"cross_entropy: logits have shape {logits.shape}, so the target must be {n} integer "
            f"labels in [0, {classes}) (an int array) or {n}×{classes} probabilities; got a float "
            f"target of shape {target.shape} (labels stored as floats: labels.astype(int))"
        )
    return apply2(CROSS_ENTROPY, logits, target, {"reduction": reduction, "one_hot": False})


def _one_hot(labels, n, classes, like):
    if labels.shape not in ((n,), (n, 1)):
        raise ValueError(
            f"cross_entropy: {n} rows of logits need {n} labels (shape ({n},) or ({n}, 1)), "
            f"got shape {labels.shape}"
        )
    labels = labels.reshape(-1)
    if (labels == -100).any():
        raise ValueError(
            "cross_entropy: label -100 is PyTorch's default ignore_index, which matrixflow does "
            "not support (every row counts in the mean); drop those rows first: keep = labels "
            "!= -100; mf.cross_entropy(logits[keep], labels[keep])"
        )
    bad = (labels < 0) | (labels >= classes)
    if bad.any():
        raise ValueError(
            f"cross_entropy: label {int(labels[bad][0])} is not a class index in "
            f"[0, {classes}) for logits with {classes} columns"
        )
    xp = array_module(like)  # labels are a constant of the node: made on the logits' device
    one_hot = xp.zeros((n, classes), dtype=like.dtype)
    one_hot[xp.arange(n), to_device(labels, device_of(like))] = 1.0
    return one_hot
