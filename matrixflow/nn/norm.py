"""Regularising layers: Dropout (inverted, as PyTorch) and BatchNorm1d."""

from __future__ import annotations

import numpy as np

from .. import ops
from ..backend import is_cupy_array
from ..node import Node
from ..ops.images import positive_int
from ..ops.layers import as_batch, check_dropout_p, check_number, device_generator, normalise
from .module import Module, _parameter


class Dropout(Module):
    """In training, zero each entry with probability p and scale the rest by 1/(1 − p)
    (inverted dropout, as PyTorch); in evaluation, the identity.

    The masks come from the module's own generator, seeded by `rng` (an int, a Generator or
    None), so a seeded network drops the same entries on every run.
    """

    def __init__(self, p=0.5, *, rng=None):
        super().__init__()
        self.p = check_dropout_p("Dropout", p)
        self.rng = np.random.default_rng(rng)
        self._device_rngs = {}  # GPU id → CuPy generator, seeded once from self.rng

    def forward(self, x):
        rng = self.rng
        data = x.data if isinstance(x, Node) else x
        if self.training and is_cupy_array(data):  # masks drawn on the GPU, not copied there
            rng = self._device_rngs.get(data.device.id)
            if rng is None:
                rng = self._device_rngs[data.device.id] = device_generator(self.rng, data)
        return ops.dropout(x, self.p, self.training, rng=rng)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class BatchNorm1d(Module):
    """Each column (feature) standardised over the batch, then scaled and shifted:
    Y = (X − 1·μ) ⊙ 1·s ⊙ 1·γ + 1·β, s = 1/√(σ² + ε) — PyTorch's BatchNorm1d on an N × C batch.

    Training uses the batch's mean and biased variance and moves the running statistics towards
    the batch's mean and unbiased variance by `momentum` (None: their cumulative average);
    evaluation uses the running statistics.  γ (`weight`, ones) and β (`bias`, zeros) are
    1 × C parameters when `affine`; `running_mean`, `running_var` (1 × C) and
    `num_batches_tracked` are buffers when `track_running_stats`.  Defaults are PyTorch's.
    """

    # PyTorch's (C,) entries are the same numbers as these 1 × C rows: load_state_dict takes them
    _rows_from_1d = ("weight", "bias", "running_mean", "running_var")

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, *, dtype=np.float64):
        super().__init__()
        if momentum is not None:
            check_number("BatchNorm1d", "momentum", momentum, 0, 1,
                         " or None (a cumulative average)")
        self.num_features = positive_int("BatchNorm1d", "num_features", num_features)
        self.eps, self.momentum = float(check_number("BatchNorm1d", "eps", eps, 0)), momentum
        self.affine, self.track_running_stats = bool(affine), bool(track_running_stats)
        shape = (1, self.num_features)
        self.weight = _parameter(np.ones(shape, dtype), "weight") if affine else None
        self.bias = _parameter(np.zeros(shape, dtype), "bias") if affine else None
        tracked = self.track_running_stats
        self.register_buffer("running_mean", np.zeros(shape, dtype) if tracked else None)
        self.register_buffer("running_var", np.ones(shape, dtype) if tracked else None)
        self.register_buffer("num_batches_tracked", np.array(0) if tracked else None)

    def forward(self, x):
        x = as_batch("BatchNorm1d", x)
        if x.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm1d({self.num_features}): the input has {x.shape[1]} "
                             f"columns (features), the layer normalises {self.num_features}")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked += 1
            if self.momentum is None:  # the cumulative average of the batches so far
                factor = 1.0 / float(self.num_batches_tracked)
        use_running = not self.training or self.track_running_stats
        return normalise("BatchNorm1d", x, self.running_mean if use_running else None,
                         self.running_var if use_running else None, self.weight, self.bias,
                         self.training or self.running_mean is None, factor, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


BatchNorm = BatchNorm1d  # the and DeZero's name for it
