"""Every op's cases (from matrixflow.opcheck), as pytest parameters: one test per case, on each
backend.

NumPy always runs.  The CuPy cases run where `cupy` imports and sees a CUDA device, and are
skipped elsewhere with the reason in the summary (`pytest -ra`).  (The CPU stand-in for CuPy,
tests/fake_cupy.py, is not a backend here: its arithmetic is NumPy's, so comparing it with
PyTorch would only repeat the NumPy cases; tests/test_device_hygiene.py runs every case on it
for what it can check, that no host array meets device data.)
"""

import pytest

from matrixflow import REGISTRY
from matrixflow.backend import cuda_device_count
from matrixflow.verification import op_checks as opcheck

ALL_CASES = [
    pytest.param(case, id=f"{name}: {case.label}")
    for name in REGISTRY
    for case in opcheck.cases_for(name)
]


def _why_no_gpu():
    try:
        import cupy  # noqa: F401
    except ImportError:
        return "no GPU backend: CuPy is not installed (pip install \"matrixflow[gpu]\")"
    if cuda_device_count() == 0:
        return "no GPU backend: CuPy is installed but sees no CUDA device"
    return None


NO_GPU = _why_no_gpu()
BACKENDS = [
    pytest.param("cpu", id="numpy"),
    pytest.param("cuda", id="cupy", marks=pytest.mark.skipif(NO_GPU is not None,
                                                             reason=str(NO_GPU))),
]


def torch_device(torch, device):
    """Where the PyTorch twin runs: CUDA beside CuPy when this torch has it, else the CPU."""
    return "cuda" if device == "cuda" and torch.cuda.is_available() else "cpu"


def to_backend(array, device):
    """A NumPy array (a seed Ȳ) on the backend's device."""
    from matrixflow.backend import to_device

    return to_device(array, device)
