"""The GPU workloads: one float32 training step, matrixflow on CuPy against PyTorch CUDA eager.

G1  MLP 1024→4096→4096→1 (ReLU, mean squared error), batch 8192
G2  Elman RNN, 64 features → hidden 1024 (tanh), batch 1024, 100 steps, BPTT, loss on the last
    state (and, for reference, the same step with cuDNN's fused nn.RNN)

Each job is a zero-argument callable that runs one step (forward, backward, SGD update) on the
data it made and keeps its own state, as in workloads.py; the harness synchronises the device
before and after each timed sample (`sync`), so a time is the GPU's work, not the launch's.
The same functions take device="cpu" and small sizes, so tests/test_benchmark_workloads.py
checks on any machine that both implementations compute the same step.
"""

from __future__ import annotations

import numpy as np

from . import workloads

MLP_SIZES, MLP_BATCH = (1024, 4096, 4096, 1), 8192
RNN_BATCH, RNN_STEPS, RNN_FEATURES, RNN_HIDDEN = 1024, 100, 64, 1024


def mlp_matrixflow(sizes=MLP_SIZES, batch=MLP_BATCH, device="cuda", dtype=np.float32):
    return workloads.mlp_matrixflow(sizes, batch, dtype, device)


def mlp_torch(torch, sizes=MLP_SIZES, batch=MLP_BATCH, device="cuda", dtype=np.float32):
    return workloads.mlp_torch(torch, sizes, batch, dtype, device)


def rnn_matrixflow(batch=RNN_BATCH, steps=RNN_STEPS, features=RNN_FEATURES, hidden=RNN_HIDDEN,
                   device="cuda", dtype=np.float32):
    return workloads.rnn_matrixflow(batch, steps, features, hidden, dtype, device)


def rnn_torch(torch, batch=RNN_BATCH, steps=RNN_STEPS, features=RNN_FEATURES, hidden=RNN_HIDDEN,
              device="cuda", dtype=np.float32):
    return workloads.rnn_torch(torch, batch, steps, features, hidden, dtype, device)


def rnn_torch_cudnn(torch, batch=RNN_BATCH, steps=RNN_STEPS, features=RNN_FEATURES,
                    hidden=RNN_HIDDEN, device="cuda"):
    return workloads.rnn_torch_module(torch, batch, steps, features, hidden, np.float32, device)


def why_not_here(torch=None) -> str | None:
    """Why the GPU suite cannot run here (None when it can)."""
    try:
        import cupy
    except ImportError:
        return 'CuPy not installed (pip install "matrixflow[gpu]")'
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CuPy without a driver or a GPU
        return f"no CUDA device ({type(exc).__name__}: {exc})"
    if count == 0:
        return "no CUDA device"
    return None


def synchronizer(torch):
    """A function that waits for all queued GPU work of CuPy and of PyTorch."""
    import cupy

    device = cupy.cuda.Device()

    def sync():
        device.synchronize()
        if torch is not None:
            torch.cuda.synchronize()

    return sync
