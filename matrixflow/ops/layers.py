"""The ops of two layers: dropout (a Hadamard product with a mask) and batch normalisation
(a column-wise standardisation).

dropout keeps each entry with probability 1 − p and scales what it keeps by 1/(1 − p), so the
expected output is the input (inverted dropout, as PyTorch).  The mask is a constant of the
node — drawn by `dropout` from a seeded generator, or given — so the op is Y = A ⊙ M/(1 − p)
and its rule Ā = Ȳ ⊙ M/(1 − p).

batch_norm standardises each column of A (each feature, over the m rows of a batch):
Y = (A − 1·μ) ⊙ 1·s with μ = (1/m)·1ᵀA, σ² = (1/m)·1ᵀ((A − 1·μ) ⊙ (A − 1·μ)) (the biased
variance, as PyTorch normalises with) and s = 1/√(σ² + ε).  The statistics depend on A, so
every entry of Ā depends on its whole column.  With running statistics (evaluation) μ and σ²
are constants and Y is affine in A.  The scale and shift γ ⊙ Y + β are a composition: the
`batch_norm` function applies them after the op, as PyTorch's `F.batch_norm` does.
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import symbolic_hooks as _symbolic
from ..backend import DeviceMismatchError, array_module, device_of, is_cupy_array, to_device
from ..graph import OUTSIDE_THE_TREE
from ..node import Node
from .base import Rule, apply1, defop, value
from .images import as_matrix
from .reduce import mean


# ---- dropout -------------------------------------------------------------------------------
def _kept(mask, p, like):
    """K = M/(1 − p) in like's precision (zeros for p = 1, as PyTorch); on symbols the named
    mask M scaled, so that a closed form reads (1/(1 − p))·M, not the mask's entries."""
    if type(like) is _symbolic.Matrix:
        if p == 1.0:
            return _symbolic.zeros(mask.shape)
        return _symbolic.scale(1.0 / (1.0 - p), _symbolic.constant(mask, "M"))
    if p == 1.0:
        return array_module(like).zeros(mask.shape, like.dtype)
    return mask.astype(like.dtype) / (1.0 - p)  # the mask lives on like's device (dropout())


DROPOUT = defop(
    "dropout",
    family="layers",
    summary="Y = A ⊙ M/(1 − p): the entries where the mask M is 1 (each kept with probability "
    "1 − p) scaled by 1/(1 − p), the rest 0",
    forward=lambda A, mask, p: A * _kept(mask, p, A),
    differential="dY = dA ⊙ M/(1 − p)",
    rules=(Rule("A", "tr(Ȳᵀ(dA ⊙ M/(1 − p))) ={hadamard} tr((Ȳ ⊙ M/(1 − p))ᵀ dA)",
                "Ā = Ȳ ⊙ M/(1 − p)",
                lambda G, Y, A, mask, p: G * _kept(mask, p, value(A))),),
    notes="Inverted dropout, as PyTorch: E[Y] = A. In evaluation (training=False) dropout is "
    "the identity and builds no node.",
)


def dropout(x, p=0.5, training=True, *, rng=None, mask=None):
    """Zero each entry of x with probability p and scale the rest by 1/(1 − p) (PyTorch's
    F.dropout); with training=False, x itself.

    The mask is drawn from `rng` (a numpy Generator, a seed, or None for fresh entropy), or
    given as `mask`: an array of x's shape, 1 (or True) where an entry is kept.  For x on a GPU
    the mask is drawn there, by a CuPy generator seeded from `rng` (or `rng` itself when it is
    a CuPy Generator), so a seeded run repeats; a given mask is copied to x's device.
    """
    check_dropout_p("dropout", p)
    if not hasattr(x, "shape"):
        x = Node(x)
    if not training:
        return x
    data = value(x)
    if mask is None:
        if is_cupy_array(data):
            keep = device_generator(rng, data).random(x.shape, dtype=np.float32) < 1.0 - p
        else:
            keep = np.random.default_rng(rng).random(x.shape) < 1.0 - p
    else:
        keep = mask.copy() if is_cupy_array(mask) else np.array(mask)  # the node keeps a copy
        if keep.shape != tuple(x.shape):
            raise ValueError(f"dropout: the mask has shape {keep.shape}, the input {x.shape}; "
                             "give one 0/1 entry per entry of the input")
        if keep.dtype != bool:
            if not ((keep == 0) | (keep == 1)).all():
                raise ValueError("dropout: the mask must hold only 0 and 1 (or False and True)")
            keep = keep.astype(bool)
        keep = to_device(keep, device_of(data))  # a constant of the node: on x's device
    y = apply1(DROPOUT, x, {"mask": keep, "p": float(p)})
    if isinstance(y, Node):  # a replay would repeat this call's mask
        OUTSIDE_THE_TREE[y] = ("draws its mask outside the op",
                               "a replay would repeat the first draw: run it eagerly (without "
                               "mf.replay; replay=False for an estimator), or in eval mode")
    return y


def device_generator(rng, like):
    """A CuPy random generator on like's GPU: `rng` itself when it is one, else one seeded by
    a number drawn from the NumPy generator `rng` (a Generator, a seed or None)."""
    if type(rng).__module__.startswith("cupy"):
        return rng
    cupy = array_module(like)
    seed = int(np.random.default_rng(rng).integers(2**63))
    with cupy.cuda.Device(like.device.id):
        return cupy.random.default_rng(seed)


# ---- batch_norm ----------------------------------------------------------------------------
def _inverse_std(variance, eps, like):
    return 1.0 / np.sqrt(array_module(like).asarray(variance).astype(like.dtype) + eps)


def _batch_norm(A, eps, running):
    if running is None:
        centred = A - A.mean(axis=0, keepdims=True)
        variance = (centred * centred).mean(axis=0, keepdims=True)  # biased, as PyTorch
        return centred * _inverse_std(variance, eps, A)
    running_mean, running_var = running
    return (A - array_module(A).asarray(running_mean).astype(A.dtype)) * _inverse_std(
        running_var, eps, A)


class _VariantRule(Rule):
    """A rule whose result reads differently by the node's constants (batch_norm's, with batch
    or with running statistics): the op table shows every variant, `explain` the one a node
    uses, `result_for(attrs)`."""

    __slots__ = ("choose", "variants")

    def __init__(self, operand, trace, variants, choose, fn):
        super().__init__(operand, trace, "; ".join(variants.values()), fn)
        self.variants, self.choose = variants, choose

    def result_for(self, attrs) -> str:
        return self.variants[self.choose(attrs)]


def _batch_norm_rule(G, Y, A, eps, running):
    if running is not None:  # constant statistics: Y is affine in A
        return G * _inverse_std(running[1], eps, value(A))
    centred = A - mean(A, 0)
    scaled = G * (mean(centred * centred, 0) + eps) ** -0.5  # Ȳ ⊙ 1·s, s from A again
    return scaled - mean(scaled, 0) - Y * mean(scaled * Y, 0)


BATCH_NORM = defop(
    "batch_norm",
    family="layers",
    summary="Y = (A − 1·μ) ⊙ 1·s, each column standardised: μ its mean, σ² its (biased) "
    "variance over the rows, s = 1/√(σ² + ε); or μ, σ² running statistics",
    forward=_batch_norm,
    differential="dY = 1·s ⊙ (dA − 1·mean(dA) − Y ⊙ 1·mean(Y ⊙ dA)), mean(M) = (1/m)·1ᵀM "
    "the column means (batch statistics); dY = 1·s ⊙ dA (running statistics)",
    shapes="A: m×n → Y: m×n (μ, σ², s: 1×n)",
    rules=(_VariantRule(
        "A",
        "tr(Ȳᵀ(1·s ⊙ (dA − 1·mean(dA) − Y ⊙ 1·mean(Y ⊙ dA)))) ={hadamard} "
        "tr(Gᵀ(dA − 1·mean(dA) − Y ⊙ 1·mean(Y ⊙ dA))), G = Ȳ ⊙ 1·s ={hadamard} "
        "tr(Gᵀ dA) − tr(Gᵀ 1·mean(dA)) − tr((G ⊙ Y)ᵀ 1·mean(Y ⊙ dA)) "
        "={ones} tr(Gᵀ dA) − tr((1·mean(G))ᵀ dA) − tr((1·mean(G ⊙ Y))ᵀ(Y ⊙ dA)) "
        "={hadamard} tr((G − 1·mean(G) − Y ⊙ 1·mean(G ⊙ Y))ᵀ dA)",
        {"batch": "Ā = G − 1·mean(G) − Y ⊙ 1·mean(G ⊙ Y), G = Ȳ ⊙ 1·s (batch statistics)",
         "running": "Ā = Ȳ ⊙ 1·s (running statistics)"},
        lambda attrs: "batch" if attrs["running"] is None else "running",
        _batch_norm_rule),),
    notes="The ones step: tr(Pᵀ 1·(1/m)·1ᵀ Q) = tr(((1/m)·1·1ᵀP)ᵀ Q) = tr((1·mean(P))ᵀ Q). "
    "PyTorch normalises with the biased variance and keeps the unbiased one, m/(m − 1)·σ², in "
    "its running variance; so does matrixflow.",
)


def _running(name, what, array, columns):
    if array is None:
        return None
    if not (isinstance(array, np.ndarray) or is_cupy_array(array)) or array.dtype.kind != "f":
        raise TypeError(f"{name}: {what} must be a float NumPy (or CuPy) array (it is updated "
                        f"in place), got {type(array).__name__}")
    if array.size != columns:
        raise ValueError(f"{name}: {what} has {array.size} entries, the input {columns} "
                         "columns; keep one statistic per column")
    return array


def _row(name, what, parameter, columns):
    """A weight or bias (γ, β) as the 1 × C row it multiplies or shifts by: C entries (PyTorch's
    shape) or a 1 × C row; anything else is refused rather than broadcast."""
    if parameter is None:
        return None
    if not hasattr(parameter, "shape"):
        parameter = np.asarray(parameter, dtype=np.float64)
    shape = tuple(parameter.shape)
    if shape == (columns,):
        return parameter.reshape(1, -1)
    if shape != (1, columns):
        raise ValueError(f"{name}: {what} has shape {shape}, but the input has {columns} "
                         f"columns; give one entry per column, ({columns},) or (1, {columns})")
    return parameter


def check_dropout_p(name, p):
    """p, the probability of zeroing an entry, in [0, 1]; else a ValueError naming `name`."""
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}: p is the probability of zeroing an entry and must be in "
                         f"[0, 1], got {p!r}")
    return float(p)


def check_number(name, what, number, low, high=None, otherwise=""):
    """A real number in [low, high] (high None: no bound), else a ValueError naming `name`
    (`otherwise`: what else the argument may be, said in the message)."""
    if isinstance(number, bool) or not isinstance(number, numbers.Real) or not (
            number >= low and (high is None or number <= high)):
        bounds = f"≥ {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name}: {what} must be a number {bounds}{otherwise}, got {number!r}")
    return number


def _batch_hint(shape):
    if len(shape) == 3:
        return ("; for PyTorch's (N, C, L) input, whose statistics are over N and L, pass "
                "x.transpose(0, 2, 1).reshape(-1, C)")
    return ""


def as_batch(name, x):
    """x as an N × C batch (a list becomes a Node), or an error naming `name`."""
    return as_matrix(name, x, "batch norm takes an N × C matrix, a row per sample and a column "
                     "per feature (PyTorch's (N, C) form only)", _batch_hint)


def batch_norm(x, running_mean=None, running_var=None, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Standardise each column of x, then scale by weight and shift by bias (PyTorch's
    F.batch_norm over an N × C batch).

    training=True normalises with the batch's mean and biased variance and, when running_mean
    and running_var are given, moves them in place towards the batch's mean and unbiased
    variance: r ← (1 − momentum)·r + momentum·batch.  training=False normalises with the
    running statistics.  weight and bias (γ, β: 1 × C or C entries) are optional.
    """
    return normalise("batch_norm", x, running_mean, running_var, weight, bias, training,
                     momentum, eps)


def normalise(name, x, running_mean, running_var, weight, bias, training, momentum, eps):
    """batch_norm, its errors named `name` (BatchNorm1d calls it with its own)."""
    x = as_batch(name, x)
    rows, columns = x.shape
    check_number(name, "eps", eps, 0)
    check_number(name, "momentum", momentum, 0, 1)
    running_mean = _running(name, "running_mean", running_mean, columns)
    running_var = _running(name, "running_var", running_var, columns)
    weight, bias = _row(name, "weight", weight, columns), _row(name, "bias", bias, columns)
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"{name}: give both running_mean and running_var, or neither")
    if training:
        if rows < 2:
            raise ValueError(f"{name}: training needs more than one row per column to take "
                             f"statistics over, got a {rows}×{columns} batch (as PyTorch)")
        if running_mean is not None:
            data = value(x)
            if not (isinstance(data, np.ndarray) or is_cupy_array(data)):
                raise TypeError(f"{name}: running statistics are updated from numbers; "
                                f"this input holds {type(data).__name__}")
            for label, running in (("running_mean", running_mean),
                                   ("running_var", running_var)):
                if device_of(running) != device_of(data):
                    raise DeviceMismatchError(
                        f"{name}: {label} is on {device_of(running)}, the input on "
                        f"{device_of(data)}; running statistics are updated in place, on the "
                        "input's device: move them there (BatchNorm1d.to(device) moves the "
                        "layer's)")
            batch_mean = data.mean(axis=0, keepdims=True)
            # unbiased, as PyTorch's running variance
            batch_var = ((data - batch_mean) ** 2).sum(axis=0, keepdims=True) / (rows - 1)
            for running, batch in ((running_mean, batch_mean), (running_var, batch_var)):
                moved = momentum * batch + (1 - momentum) * running.reshape(1, -1)
                np.copyto(running, moved.reshape(running.shape))  # in place, whatever its strides
        y = apply1(BATCH_NORM, x, {"eps": float(eps), "running": None})
        if running_mean is not None and isinstance(y, Node):
            OUTSIDE_THE_TREE[y] = ("updates running_mean and running_var in place",
                                   "run it eagerly (without mf.replay), or in eval mode")
    else:
        if running_mean is None:
            raise ValueError(f"{name}: training=False normalises with the running "
                             "statistics; pass running_mean and running_var, or training=True "
                             "to use the batch's own")
        device = device_of(value(x))  # constants of the node: copied to the input's device
        statistics = tuple(to_device(r.reshape(1, -1).copy(), device)
                           for r in (running_mean, running_var))
        y = apply1(BATCH_NORM, x, {"eps": float(eps), "running": statistics})
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y
