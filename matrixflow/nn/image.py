"""The image layers of matrixflow.nn: Conv2d, MaxPool2d and Flatten, all over matrices.

A batch of N images is the N × (C·H·W) matrix of PyTorch's `x.reshape(N, -1)`: row n is
image n in (channel, row, column) order.  A convolution with O output channels is then

    Y = im2col(X)·W + 1·b,   W: (C·kh·kw) × O,  b: 1 × O,

one matrix product over every patch of every image, followed by reshapes and one transpose
that bring it to the same layout, N × (O·H'·W').  W's rows run over (channel, kernel row,
kernel column), so `weight.T.reshape(O, C, kh, kw)` is PyTorch's Conv2d weight.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .. import ops
from ..ops.base import apply1
from ..ops.images import (
    IM2COL,
    MAX_POOL,
    as_matrix,
    check_images,
    geometry,
    image_shape_of,
    output_size,
    pool_geometry,
    positive_int,
    window,
)
from .init import INITIALISERS
from .module import Module, _parameter


def _square_image(layer, channels, columns):
    """(C, H, W) of square images with `columns` entries, or an error saying what to pass."""
    side = math.isqrt(columns // channels) if columns >= channels else 0
    if side == 0 or channels * side * side != columns:
        raise ValueError(
            f"{layer}: a row of {columns} entries is not {channels} square image channel(s); "
            "pass image_shape=(channels, height, width)")
    return (channels, side, side)


class _ImageLayer(Module):
    """What Conv2d and MaxPool2d share: the image shape of their input rows, and their output's."""

    def _input_shape(self, x):
        if self.image_shape is not None:
            return self.image_shape
        return _square_image(type(self).__name__, self.in_channels, x.shape[1])

    def _images(self, x):
        """x checked as this layer's input, N × (C·H·W), with its (C, H, W); an error names the
        layer, not the op it calls."""
        x = as_matrix(type(self).__name__, x)
        image_shape = self._input_shape(x)
        check_images(type(self).__name__, x.shape, image_shape)
        return x, image_shape

    @property
    def output_shape(self) -> tuple[int, int, int]:
        """(C', H', W') of the images in the output rows (needs image_shape)."""
        if self.image_shape is None:
            raise ValueError(f"{type(self).__name__}: give image_shape=(C, H, W) to know the "
                             "output's shape before a forward")
        return self._output_shape(self.image_shape)

    def _output_shape(self, image_shape):
        attrs = geometry(type(self).__name__, image_shape, self.kernel_size, self.stride,
                         self.padding)
        return (self.out_channels, *output_size(**attrs))


class Conv2d(_ImageLayer):
    """2-D convolution (cross-correlation, as PyTorch) of images stored as matrix rows.

    Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True,
    image_shape=(C, H, W)): X is N × (C·H·W), Y is N × (O·H'·W'), both in (channel, row,
    column) order.  `weight` is (C·kh·kw) × O and `bias` 1 × O; the weight is drawn by `init`
    (Xavier uniform by default, as Linear, with fan-in C·kh·kw) and the bias starts at zero.
    Without image_shape the images are taken to be square.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True,
                 *, image_shape=None, init="xavier_uniform", rng=None, dtype=np.float64):
        super().__init__()
        if init not in INITIALISERS:
            raise ValueError(f"Conv2d: init must be one of {sorted(INITIALISERS)}, got {init!r}")
        self.in_channels = positive_int("Conv2d", "in_channels", in_channels)
        self.out_channels = positive_int("Conv2d", "out_channels", out_channels)
        if image_shape is not None:
            image_shape = image_shape_of("Conv2d", image_shape)
            if image_shape[0] != self.in_channels:
                raise ValueError(f"Conv2d: image_shape {image_shape} must be (channels, height, "
                                 f"width) with {self.in_channels} channels (in_channels)")
        self.image_shape = image_shape
        self.kernel_size, self.stride, self.padding = window("Conv2d", kernel_size, stride,
                                                             padding)
        if image_shape is not None:
            self._output_shape(image_shape)  # a kernel larger than the image fails here
        kh, kw = self.kernel_size
        shape = (self.in_channels * kh * kw, self.out_channels)
        self.weight = _parameter(INITIALISERS[init](shape, rng=rng, dtype=dtype), "weight")
        self.bias = _parameter(np.zeros((1, self.out_channels), dtype), "bias") if bias else None

    def forward(self, x):
        x, image_shape = self._images(x)
        attrs = geometry("Conv2d", image_shape, self.kernel_size, self.stride, self.padding)
        y = apply1(IM2COL, x, attrs) @ self.weight  # (H'·W'·N) × O: rows by position, image
        if self.bias is not None:
            y = y + self.bias
        n = x.shape[0]
        positions = math.prod(output_size(**attrs))  # not y's rows / n: a batch may be empty
        # (position, image, channel) → (image, channel, position): one transpose between
        return ops.reshape(ops.reshape(y, positions, n * self.out_channels).T, n,
                           self.out_channels * positions)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, image_shape={self.image_shape}")


class MaxPool2d(_ImageLayer):
    """The largest entry of each window of each channel: N × (C·H·W) → N × (C·H'·W').

    MaxPool2d(kernel_size, stride=None (= kernel_size), padding=0, *, image_shape=(C, H, W)),
    PyTorch's defaults; the gradient of each window goes to the pixel PyTorch sends it to
    (its first maximum in the image, or its last NaN).
    """

    def __init__(self, kernel_size, stride=None, padding=0, *, image_shape):
        super().__init__()
        checked = pool_geometry("MaxPool2d", image_shape, kernel_size, stride, padding)
        self.image_shape = checked["image_shape"]
        self.in_channels = self.out_channels = self.image_shape[0]
        self.kernel_size, self.stride = checked["kernel"], checked["stride"]
        self.padding = checked["padding"]

    def forward(self, x):
        x, image_shape = self._images(x)
        return apply1(MAX_POOL, x, {"image_shape": image_shape, "kernel": self.kernel_size,
                                    "stride": self.stride, "padding": self.padding})

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"image_shape={self.image_shape}")


class Flatten(Module):
    """Each sample as one row: Flatten(start_dim=1, end_dim=-1), PyTorch's signature and
    defaults.  Images are already rows of a matrix, N × (C·H·W) in PyTorch's order, so a matrix
    passes unchanged; an array of more axes, such as PyTorch's N × C × H × W, becomes
    x.reshape(N, -1).  It lets a PyTorch model's layer list be written unchanged.  Other
    start_dim / end_dim would flatten the batch too or keep axes, which a matrix cannot hold."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        if not (_is_int(start_dim, 1) and _is_int(end_dim, -1)):
            raise ValueError(
                f"Flatten: only start_dim=1, end_dim=-1 (PyTorch's defaults: each sample one "
                f"row) fit matrices, whose rows are the samples; got start_dim={start_dim!r}, "
                f"end_dim={end_dim!r}")
        self.start_dim, self.end_dim = 1, -1

    def forward(self, x):
        if getattr(x, "ndim", 2) > 2:
            return x.reshape(x.shape[0], -1)
        return x

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


def _is_int(value, expected) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and \
        value == expected
