"""Operands: a number, a list or an array beside a Node, as the constant leaf an op takes.

A training loop multiplies by the same few numbers again and again (`x * 0.9`, `1 - x`), so a
Python number's constant leaf is made once per number, precision and device, and shared.
"""

from __future__ import annotations

import math

import numpy as np

from ..backend import array_module, device_of, is_cupy_array, to_device
from ..node import Node, _leaf, to_matrix

_SCALARS: dict = {}  # (value, dtype char[, sign]) → (read-only 1×1 leaf, its 0-d view)


def _scalar_constant(value, dtype):
    """The constant leaf for a Python number beside a Node (`x * 0.9`) and a 0-d view of it,
    made once per number and precision: a training loop multiplies by the same numbers again
    and again.  The element-wise ops compute with the 0-d view, because NumPy broadcasts a 0-d
    operand about three times faster than a 1×1 one on small matrices."""
    key = (value, dtype.char) if value else (value, dtype.char, math.copysign(1.0, value))
    constant = _SCALARS.get(key)  # (0.0 and −0.0 are equal keys, not equal constants)
    if constant is None:
        if len(_SCALARS) > 4096:  # many different numbers: start afresh rather than grow
            _SCALARS.clear()
        data = np.full((1, 1), value, dtype=dtype)
        data.flags.writeable = False  # shared between graphs: nobody may change it
        constant = _SCALARS[key] = (_leaf(data), data.reshape(()))
    return constant


def as_operand(value, like: Node | None = None) -> Node:
    """`value` as a Node operand; a constant that is not a float array takes `like`'s dtype,
    so `x32 * 2` and `x32 * mask` stay float32, as in NumPy.  Beside a Node on a GPU, data
    without a device of its own (a number, a list) is made on that GPU; an array keeps its
    device, and the op refuses a pair from two devices."""
    if isinstance(value, Node):
        return value
    if like is not None and type(value) in (float, int) and type(like.data) is np.ndarray:
        return _scalar_constant(value, like.data.dtype)[0]
    dtype = None
    if like is not None and not (
        getattr(getattr(value, "dtype", None), "kind", None) == "f"
    ):
        dtype = like.data.dtype
    if like is not None and is_cupy_array(like.data) and _deviceless(value):
        if type(value) in (float, int):
            return _device_constant(value, like.data)
        return _leaf(to_device(to_matrix(value, dtype), device_of(like.data)))
    return _leaf(to_matrix(value, dtype))


def _deviceless(value) -> bool:
    """Data that lives on no device: numbers and nested lists (not NumPy or CuPy arrays)."""
    return not isinstance(value, np.ndarray) and not is_cupy_array(value)


_DEVICE_SCALARS: dict = {}  # (value, dtype char, sign, array type, device) → a 1×1 leaf there


def _device_constant(value, like):
    """The 1×1 constant leaf for a Python number beside GPU data `like`, made once per number,
    precision and device: filling a new device array each time costs a kernel launch."""
    key = (value, like.dtype.char, math.copysign(1.0, value), type(like), like.device.id)
    constant = _DEVICE_SCALARS.get(key)
    if constant is None:
        if len(_DEVICE_SCALARS) > 4096:
            _DEVICE_SCALARS.clear()
        cupy = array_module(like)
        with cupy.cuda.Device(like.device.id):
            # shared between graphs; the walk never writes into an array others hold (it adds
            # in place only into arrays no one else references)
            constant = _DEVICE_SCALARS[key] = _leaf(cupy.full((1, 1), value, dtype=like.dtype))
    return constant
