"""The speed workloads: one training step (forward + backward + SGD update) written three ways.

Hand-written NumPy (forward, the backward by hand, the update) is the limit for this design on
a CPU; matrixflow builds the graph and walks it back; PyTorch eager is what users would pick
instead.  Every job is a zero-argument callable that runs one step and keeps its own state, so
the harness can interleave them.

W1  MLP 16→64→64→1, batch 256          W2  MLP 256→512→512→1, batch 1024
W3  RNN, batch 32, 50 steps, hidden 64, BPTT      W4  a chain of 2000 small ops, backward
W5  60 levels of y = y·a + y·b (2⁶⁰ paths)
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np

import matrixflow as mf
from matrixflow.backend import to_device

LR = 1e-3


# ---- W1, W2: a three-layer MLP with ReLU and mean squared error ------------------------------
def mlp_params(sizes, dtype, seed=0):
    rng = np.random.default_rng(seed)
    weights = [(rng.standard_normal((a, b)) / np.sqrt(a)).astype(dtype)
               for a, b in pairwise(sizes)]
    biases = [np.zeros((1, b), dtype) for b in sizes[1:]]
    return weights, biases


def mlp_data(sizes, batch, dtype, seed=1):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((batch, sizes[0])).astype(dtype),
            rng.standard_normal((batch, sizes[-1])).astype(dtype))


def mlp_numpy(sizes, batch, dtype=np.float64):
    weights, biases = mlp_params(sizes, dtype)
    X, y = mlp_data(sizes, batch, dtype)
    last = len(weights) - 1

    def step():
        activations = [X]
        h = X
        for i, (W, b) in enumerate(zip(weights, biases)):
            h = h @ W
            h += b
            if i != last:
                np.maximum(h, 0, out=h)
            activations.append(h)
        grad = activations[-1] - y
        grad *= 2.0 / grad.size
        for i in range(last, -1, -1):
            grad_W = activations[i].T @ grad
            grad_b = grad.sum(axis=0, keepdims=True)
            if i:
                grad = grad @ weights[i].T
                grad *= activations[i] > 0
            weights[i] -= LR * grad_W
            biases[i] -= LR * grad_b

    return step


def _on(device, arrays):
    """The arrays on `device` (as they are for None: the CPU workloads move nothing)."""
    return list(arrays) if device is None else [to_device(a, device) for a in arrays]


def _runner(loss, replay):
    """How a step runs its loss: traced once and replayed (mf.replay, which runs the backward
    itself), or built and walked back eagerly each time — the same function either way."""
    if replay:
        return mf.replay(loss)
    return lambda *inputs: loss(*inputs).backward()


def mlp_matrixflow(sizes, batch, dtype=np.float64, device=None, replay=False):
    weights, biases = mlp_params(sizes, dtype)
    X, y = _on(device, mlp_data(sizes, batch, dtype))
    params = [mf.Node(p, requires_grad=True) for p in _on(device, weights + biases)]
    W, b = params[:len(weights)], params[len(weights):]
    last = len(W) - 1

    def loss(X, y):
        h = X
        for i in range(len(W)):
            h = h @ W[i] + b[i]
            if i != last:
                h = mf.relu(h)
        return mf.mse_loss(h, y)

    run = _runner(loss, replay)

    def step():
        run(X, y)
        for p in params:
            p.data -= LR * p.grad
            p.grad = None

    return step


def mlp_replay(sizes, batch, dtype=np.float64, device=None):
    """W1, W2 with the step traced once and replayed (mf.replay): the same tree, no nodes."""
    return mlp_matrixflow(sizes, batch, dtype, device, replay=True)


def mlp_torch(torch, sizes, batch, dtype=np.float64, device=None):
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


# ---- W3: an Elman RNN over 50 steps, loss on the last state ----------------------------------
def rnn_setup(batch, steps, features, hidden, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    bound = 1 / np.sqrt(hidden)
    params = [rng.uniform(-bound, bound, shape).astype(dtype)
              for shape in ((features, hidden), (hidden, hidden), (1, hidden), (hidden, 1))]
    xs = [rng.standard_normal((batch, features)).astype(dtype) for _ in range(steps)]
    y = rng.standard_normal((batch, 1)).astype(dtype)
    return params, xs, y


def rnn_numpy(batch=32, steps=50, features=8, hidden=64):
    (Wx, Wh, b, Wo), xs, y = rnn_setup(batch, steps, features, hidden)

    def step():
        h = np.zeros((batch, hidden))
        states = [h]
        for x in xs:
            h = x @ Wx
            h += states[-1] @ Wh
            h += b
            np.tanh(h, out=h)
            states.append(h)
        out = h @ Wo
        grad_out = (out - y) * (2.0 / out.size)
        grad_Wo = h.T @ grad_out
        grad_h = grad_out @ Wo.T
        grad_Wx, grad_Wh, grad_b = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
        for t in range(steps, 0, -1):
            grad_pre = grad_h * (1.0 - states[t] * states[t])
            grad_Wx += xs[t - 1].T @ grad_pre
            grad_Wh += states[t - 1].T @ grad_pre
            grad_b += grad_pre.sum(axis=0, keepdims=True)
            grad_h = grad_pre @ Wh.T
        for p, g in ((Wx, grad_Wx), (Wh, grad_Wh), (b, grad_b), (Wo, grad_Wo)):
            p -= LR * g

    return step


def rnn_matrixflow(batch=32, steps=50, features=8, hidden=64, dtype=np.float64, device=None,
                   replay=False):
    arrays, xs, y = rnn_setup(batch, steps, features, hidden, dtype)
    Wx, Wh, b, Wo = params = [mf.Node(p, requires_grad=True) for p in _on(device, arrays)]
    xs, (y, h0) = _on(device, xs), _on(device, (y, np.zeros((batch, hidden), dtype)))

    def loss(y, h, *xs):
        for x in xs:
            h = mf.tanh(x @ Wx + h @ Wh + b)
        return mf.mse_loss(h @ Wo, y)

    run = _runner(loss, replay)

    def step():
        run(y, h0, *xs)
        for p in params:
            p.data -= LR * p.grad
            p.grad = None

    return step


def rnn_replay(batch=32, steps=50, features=8, hidden=64, dtype=np.float64, device=None):
    return rnn_matrixflow(batch, steps, features, hidden, dtype, device, replay=True)


def rnn_torch(torch, batch=32, steps=50, features=8, hidden=64, dtype=np.float64, device=None):
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


def rnn_torch_module(torch, batch=32, steps=50, features=8, hidden=64, dtype=np.float64,
                     device=None):
    """The same step with nn.RNN (on CUDA, cuDNN's fused kernels): what PyTorch users run."""
    _, xs, y = rnn_setup(batch, steps, features, hidden, dtype)
    X, y = torch.from_numpy(np.stack(xs)).to(device), torch.from_numpy(y).to(device)
    rnn = torch.nn.RNN(features, hidden, batch_first=False).to(device, X.dtype)
    head = torch.nn.Linear(hidden, 1, bias=False).to(device, X.dtype)
    params = [*rnn.parameters(), *head.parameters()]

    def step():
        states, _ = rnn(X)
        torch.nn.functional.mse_loss(head(states[-1]), y).backward()
        with torch.no_grad():
            for p in params:
                p -= LR * p.grad
                p.grad = None

    return step


# ---- W4: a chain of 2000 small element-wise ops ----------------------------------------------
CHAIN_OPS = 2000  # (tanh, ·0.9, +0.1) repeated: three ops a round


def chain_numpy(size=4):
    x = np.random.default_rng(0).standard_normal((size, size))

    def step():
        values = [x]
        h = x
        for _ in range(CHAIN_OPS // 3):
            h = np.tanh(h)
            values.append(h)
            h = h * 0.9 + 0.1
        grad = np.ones_like(h)
        for t in range(len(values) - 1, 0, -1):
            grad = grad * 0.9
            grad = grad * (1.0 - values[t] * values[t])
        x[...] -= LR * grad

    return step


def chain_matrixflow(size=4, replay=False):
    x = mf.Node(np.random.default_rng(0).standard_normal((size, size)), requires_grad=True)

    def loss():
        h = x
        for _ in range(CHAIN_OPS // 3):
            h = mf.tanh(h) * 0.9 + 0.1
        return mf.sum(h)

    run = _runner(loss, replay)

    def step():
        run()
        x.data -= LR * x.grad
        x.grad = None

    return step


def chain_replay(size=4):
    return chain_matrixflow(size, replay=True)


def chain_torch(torch, size=4):
    x = torch.tensor(np.random.default_rng(0).standard_normal((size, size)), requires_grad=True)

    def step():
        h = x
        for _ in range(CHAIN_OPS // 3):
            h = torch.tanh(h) * 0.9 + 0.1
        h.sum().backward()
        with torch.no_grad():
            x.sub_(LR * x.grad)
            x.grad = None

    return step


# ---- W5: shared sub-expressions: 60 levels of y = y·a + y·b ----------------------------------
def shared_matrixflow(levels=60):
    x, a, b = (mf.Node([[v]], requires_grad=True) for v in (1.0, 0.5, 0.25))

    def step():
        y = x
        for _ in range(levels):
            y = y * a + y * b
        y.backward()
        for p in (x, a, b):
            p.grad = None

    return step


def shared_torch(torch, levels=60):
    x, a, b = (torch.tensor([[v]], dtype=torch.float64, requires_grad=True)
               for v in (1.0, 0.5, 0.25))

    def step():
        y = x
        for _ in range(levels):
            y = y * a + y * b
        y.sum().backward()
        for p in (x, a, b):
            p.grad = None

    return step
