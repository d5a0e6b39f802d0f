"""Which array module holds a value (NumPy, or CuPy on a GPU), and moving values between devices.

Ops never name NumPy for arrays they create: they ask `array_module(x)` for the module of their
operands, so the same rule runs on a GPU when the data are CuPy arrays.  CuPy is imported only when
a value already is a CuPy array or a move to "cuda" is asked for.
"""

from __future__ import annotations

import numpy as np


def is_cupy_array(x) -> bool:
    """True for a CuPy ndarray, told apart without importing CuPy."""
    return type(x).__module__.startswith("cupy")


def array_module(x):
    """The module (numpy or cupy) whose functions apply to array `x`."""
    if is_cupy_array(x):
        import cupy

        return cupy
    return np


def device_of(x) -> str:
    """'cpu' for NumPy data, 'cuda:N' for CuPy data; takes a Node or an array."""
    data = x if is_cupy_array(x) or isinstance(x, np.ndarray) else x.data
    if is_cupy_array(data):
        return f"cuda:{data.device.id}"
    return "cpu"


def to_device(data, device: str):
    """Return `data` on `device` ('cpu', 'cuda' or 'cuda:N'); the same object when already there."""
    if device == "cpu":
        return data.get() if is_cupy_array(data) else data
    if device == "cuda" or device.startswith("cuda:"):
        try:
            import cupy
        except ImportError as exc:
            raise RuntimeError(
                f"to({device!r}) needs CuPy, which is not installed: "
                'pip install "matrixflow[gpu]" (cupy-cuda12x) on a machine with an NVIDIA GPU'
            ) from exc
        index = int(device.split(":")[1]) if ":" in device else cupy.cuda.Device().id
        if is_cupy_array(data) and data.device.id == index:
            return data
        with cupy.cuda.Device(index):
            return cupy.asarray(data)
    raise ValueError(f"unknown device {device!r}: use 'cpu', 'cuda' or 'cuda:N'")
