"""Activations as Modules: ReLU, Tanh, Sigmoid, Softplus, LeakyReLU, Identity."""

from __future__ import annotations

from .. import ops
from .module import Module


class _Activation(Module):
    function = None

    def forward(self, x):
        return type(self).function(x)


class ReLU(_Activation):
    """Y = max(X, 0)."""

    function = staticmethod(ops.relu)


class Tanh(_Activation):
    """Y = tanh X."""

    function = staticmethod(ops.tanh)


class Sigmoid(_Activation):
    """Y = σ(X) = 1/(1 + e^−X)."""

    function = staticmethod(ops.sigmoid)


class Softplus(_Activation):
    """Y = ln(1 + e^X)."""

    function = staticmethod(ops.softplus)


class Identity(Module):
    """Y = X."""

    def forward(self, x):
        return x


class LeakyReLU(Module):
    """Y = X where X > 0, s·X elsewhere (s = negative_slope, 0.01 by default)."""

    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, x):
        return ops.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"
