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

import matrixflow as mf
from matrixflow.backend import to_device

from .workloads import LR, mlp_data, mlp_params, rnn_setup

MLP_SIZES, MLP_BATCH = (1024, 4096, 4096, 1), 8192
RNN_BATCH, RNN_STEPS, RNN_FEATURES, RNN_HIDDEN = 1024, 100, 64, 1024


def mlp_matrixflow(sizes=MLP_SIZES, batch=MLP_BATCH, device="cuda", dtype=np.float32):
    weights, biases = mlp_params(sizes, dtype)
    X, y = (to_device(a, device) for a in mlp_data(sizes, batch, dtype))
    params = [mf.Node(p, requires_grad=True).to(device) for p in weights + biases]
    W, b = params[:len(weights)], params[len(weights):]
    last = len(W) - 1

    def step():
        h = X
        for i in range(len(W)):
            h = h @ W[i] + b[i]
            if i != last:
                h = mf.relu(h)
        mf.mse_loss(h, y).backward()
        for p in params:
            p.data -= LR * p.grad
            p.grad = None

    return step


def mlp_torch(torch, sizes=MLP_SIZES, batch=MLP_BATCH, device="cuda", dtype=np.float32):
    weights, biases = mlp_params(sizes, dtype)
    X, y = (torch.from_numpy(a).to(device) for a in mlp_data(sizes, batch, dtype))
    params = [torch.tensor(p, requires_grad=True, device=device) for p in weights + biases]
    W, b = params[:len(weights)], params[len(weights):]
    last = len(W) - 1

    def step():
        h = X
        for i in range(len(W)):
            h = h @ W[i] + b[i]
            if i != last:
                h = torch.relu(h)
        torch.nn.functional.mse_loss(h, y).backward()
        with torch.no_grad():
            for p in params:
                p -= LR * p.grad
                p.grad = None

    return step


def rnn_matrixflow(batch=RNN_BATCH, steps=RNN_STEPS, features=RNN_FEATURES, hidden=RNN_HIDDEN,
                   device="cuda", dtype=np.float32):
    arrays, xs, y = rnn_setup(batch, steps, features, hidden, dtype)
    Wx, Wh, b, Wo = params = [mf.Node(p, requires_grad=True).to(device) for p in arrays]
    xs, y = [to_device(x, device) for x in xs], to_device(y, device)
    h0 = to_device(np.zeros((batch, hidden), dtype), device)

    def step():
        h = h0
        for x in xs:
            h = mf.tanh(x @ Wx + h @ Wh + b)
        mf.mse_loss(h @ Wo, y).backward()
        for p in params:
            p.data -= LR * p.grad
            p.grad = None

    return step


def rnn_torch(torch, batch=RNN_BATCH, steps=RNN_STEPS, features=RNN_FEATURES, hidden=RNN_HIDDEN,
              device="cuda", dtype=np.float32):
    arrays, xs, y = rnn_setup(batch, steps, features, hidden, dtype)
    Wx, Wh, b, Wo = params = [torch.tensor(p, requires_grad=True, device=device)
                              for p in arrays]
    xs, y = [torch.from_numpy(x).to(device) for x in xs], torch.from_numpy(y).to(device)
    h0 = torch.zeros(batch, hidden, dtype=xs[0].dtype, device=device)

    def step():
        h = h0
        for x in xs:
            h = torch.tanh(x @ Wx + h @ Wh + b)
        torch.nn.functional.mse_loss(h @ Wo, y).backward()
        with torch.no_grad():
            for p in params:
                p -= LR * p.grad
                p.grad = None

    return step


def rnn_torch_cudnn(torch, batch=RNN_BATCH, steps=RNN_STEPS, features=RNN_FEATURES,
                    hidden=RNN_HIDDEN, device="cuda"):
    """The same step with nn.RNN (cuDNN's fused kernels on CUDA): what PyTorch users would run."""
    _, xs, y = rnn_setup(batch, steps, features, hidden, np.float32)
    rnn = torch.nn.RNN(features, hidden).to(device)
    head = torch.nn.Linear(hidden, 1, bias=False).to(device)
    X, y = torch.from_numpy(np.stack(xs)).to(device), torch.from_numpy(y).to(device)
    params = [*rnn.parameters(), *head.parameters()]

    def step():
        states, _ = rnn(X)
        torch.nn.functional.mse_loss(head(states[-1]), y).backward()
        with torch.no_grad():
            for p in params:
                p -= LR * p.grad
                p.grad = None

    return step


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
