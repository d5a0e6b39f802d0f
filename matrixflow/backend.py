"""Which array module holds a value (NumPy, or CuPy on a GPU), and moving values between devices.

Ops never name NumPy for arrays they create: they ask `array_module(x)` for the module of their
operands, so the same rule runs on a GPU when the data are CuPy arrays.  CuPy is imported only when
a value already is a CuPy array or a move to "cuda" is asked for.

Devices are named as in PyTorch: "cpu", "cuda" (the current CUDA device) and "cuda:N".  Nothing
moves between devices behind the user's back: an op whose operands live on two devices raises
`DeviceMismatchError`, naming the op and both devices.  What has no device of its own (a Python
number, a nested list, an op's constants such as an index or integer labels) is made on the
device of the data it meets.
"""

from __future__ import annotations

import re

import numpy as np

INSTALL_HINT = ('pip install "matrixflow[gpu]" (CuPy for CUDA 12; for CUDA 13, pip install '
                "cupy-cuda13x) on a machine with an NVIDIA GPU")


class DeviceMismatchError(RuntimeError):
    """Operands (or an operand and a seed) on different devices; the message names both."""


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
    data = x if is_cupy_array(x) or isinstance(x, np.ndarray) else getattr(x, "data", x)
    if is_cupy_array(data):
        return f"cuda:{data.device.id}"
    return "cpu"


_DEVICE = re.compile(r"cpu|cuda(?::(\d+))?")


def parse_device(device) -> tuple[str, int | None]:
    """('cpu', None), ('cuda', None) for the current CUDA device, or ('cuda', N); ValueError
    for anything else."""
    match = _DEVICE.fullmatch(device) if isinstance(device, str) else None
    if match is None:
        raise ValueError(f"unknown device {device!r}: use 'cpu', 'cuda' or 'cuda:N'")
    if device == "cpu":
        return "cpu", None
    return "cuda", None if match.group(1) is None else int(match.group(1))


def cupy_module(why: str = "the 'cuda' device"):
    """CuPy, imported now; RuntimeError saying how to install it when it is not there."""
    try:
        import cupy
    except ImportError as exc:
        raise RuntimeError(f"{why} needs CuPy, which is not installed: {INSTALL_HINT}") from exc
    return cupy


def cuda_device_count() -> int:
    """How many CUDA devices CuPy sees: 0 without CuPy, a driver or a GPU (never raises)."""
    try:
        import cupy

        return int(cupy.cuda.runtime.getDeviceCount())
    except Exception:  # ImportError, or CUDARuntimeError without a driver or device
        return 0


def cuda_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device."""
    return cuda_device_count() > 0


def check_device(device, why: str | None = None) -> str:
    """`device` checked as a device this machine has, returned as given; ValueError for a bad
    name, RuntimeError (saying what to install or which devices exist) for one not here."""
    kind, index = parse_device(device)
    if kind == "cpu":
        return device
    why = why or f"device {device!r}"
    cupy = cupy_module(why)
    try:
        count = int(cupy.cuda.runtime.getDeviceCount())
    except Exception as exc:  # CuPy is there, the driver or the GPU is not
        raise RuntimeError(f"{why}: CuPy is installed but finds no CUDA device ({exc}); use "
                           "device='cpu' on this machine") from exc
    if count == 0:
        raise RuntimeError(f"{why}: CuPy finds no CUDA device; use device='cpu' on this machine")
    if index is not None and not 0 <= index < count:
        raise ValueError(f"{why}: there is no CUDA device {index}; this machine has {count} "
                         f"(cuda:0 … cuda:{count - 1})")
    return device


def to_device(data, device: str):
    """Return `data` on `device` ('cpu', 'cuda' or 'cuda:N'); the same object when already there.

    To the CPU a CuPy array is copied with `.get()`; to a GPU an array is copied with
    `cupy.asarray` inside that device's context (between two GPUs by way of the host, which
    needs no peer access).
    """
    kind, index = parse_device(device)
    if kind == "cpu":
        return data.get() if is_cupy_array(data) else data
    check_device(device, f"to({device!r})")
    import cupy

    if index is None:
        index = cupy.cuda.Device().id
    if is_cupy_array(data):
        if data.device.id == index:
            return data
        data = data.get()
    with cupy.cuda.Device(index):
        return cupy.asarray(data)


def mismatch(what: str, a, b) -> DeviceMismatchError | None:
    """The error for `a` and `b` (arrays or Nodes) on different devices, or None."""
    first, second = device_of(a), device_of(b)
    if first == second:
        return None
    return DeviceMismatchError(
        f"{what}: operands on different devices, {first} and {second}; matrixflow never copies "
        f"between devices behind your back: move one first, x.to({second!r}) or "
        f"x.to({first!r})")
