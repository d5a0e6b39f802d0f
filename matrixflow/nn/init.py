"""Initialisers: each returns an array for a weight of shape (fan_in, fan_out), drawn from `rng`
(a numpy Generator or RandomState, a seed, or None for fresh entropy)."""

from __future__ import annotations

import math

import numpy as np


def _generator(rng):
    if isinstance(rng, (np.random.Generator, np.random.RandomState)):
        return rng  # both draw with .uniform and .standard_normal
    return np.random.default_rng(rng)


def xavier_uniform(shape, gain=1.0, rng=None, dtype=np.float64):
    """U(−a, a), a = gain·√(6 / (fan_in + fan_out)) (Glorot & Bengio 2010)."""
    bound = gain * math.sqrt(6.0 / (shape[0] + shape[1]))
    return _generator(rng).uniform(-bound, bound, shape).astype(dtype, copy=False)


def xavier_normal(shape, gain=1.0, rng=None, dtype=np.float64):
    """N(0, σ²), σ = gain·√(2 / (fan_in + fan_out))."""
    std = gain * math.sqrt(2.0 / (shape[0] + shape[1]))
    return (std * _generator(rng).standard_normal(shape)).astype(dtype, copy=False)


RELU_GAIN = math.sqrt(2.0)  # the gain that keeps a ReLU layer's output variance


def he_uniform(shape, gain=RELU_GAIN, rng=None, dtype=np.float64):
    """U(−a, a), a = gain·√(3 / fan_in) (He et al. 2015; PyTorch's kaiming_uniform_)."""
    bound = gain * math.sqrt(3.0 / shape[0])
    return _generator(rng).uniform(-bound, bound, shape).astype(dtype, copy=False)


def he_normal(shape, gain=RELU_GAIN, rng=None, dtype=np.float64):
    """N(0, σ²), σ = gain / √fan_in (PyTorch's kaiming_normal_)."""
    std = gain / math.sqrt(shape[0])
    return (std * _generator(rng).standard_normal(shape)).astype(dtype, copy=False)


INITIALISERS = {
    "xavier_uniform": xavier_uniform,
    "xavier_normal": xavier_normal,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
}
