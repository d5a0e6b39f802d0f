"""Recurrent layers, each a composition of the op table's ops (a gate is a matmul, a sigmoid
and a Hadamard product), run over a sequence given as a list of matrices (one batch × features
matrix per step).  Weights are stored as in Linear, X·W (PyTorch stores Wᵀ), gates side by side
as column blocks in PyTorch's order:

- Elman, `RNNCell`:  H' = f(X·W_ih + H·W_hh + 1·b), f = tanh or relu;
- `LSTMCell`, blocks i, f, g, o of P = X·W_ih + H·W_hh + 1·(b_ih + b_hh):
  I = σ(P_i), F = σ(P_f), G = tanh(P_g), O = σ(P_o);  C' = F ⊙ C + I ⊙ G,  H' = O ⊙ tanh(C');
- `GRUCell`, blocks r, z, n of A = X·W_ih + 1·b_ih and B = H·W_hh + 1·b_hh:
  R = σ(A_r + B_r), Z = σ(A_z + B_z), N = tanh(A_n + R ⊙ B_n);  H' = (1 − Z) ⊙ N + Z ⊙ H.

The LSTM and GRU cells keep PyTorch's two biases b_ih and b_hh (the GRU needs both, since b_hn
sits inside R ⊙ (…); for the LSTM they only appear summed, but an optimizer steps each on its
own, so keeping both trains as PyTorch does).  The Elman cell, older, has one b = b_ih + b_hh.
"""

from __future__ import annotations

import math

import numpy as np

from .. import ops
from ..backend import array_module
from ..node import Node
from ..ops.images import positive_int
from .init import _generator
from .module import Module, _parameter

_NONLINEARITIES = {"tanh": ops.tanh, "relu": ops.relu}


class _Cell(Module):
    """What the three cells share: sizes, PyTorch's draws U(−1/√hidden, 1/√hidden), the zero
    state."""

    gates = 1  # column blocks of W_ih and W_hh

    def __init__(self, input_size, hidden_size):
        super().__init__()
        kind = type(self).__name__
        self.input_size = positive_int(kind, "input_size", input_size)
        self.hidden_size = positive_int(kind, "hidden_size", hidden_size)

    def _draw(self, rng, dtype, shape, name):
        """A parameter drawn as PyTorch does, from U(−1/√hidden, 1/√hidden)."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        return _parameter(rng.uniform(-bound, bound, shape).astype(dtype), name)

    def _weights(self, rng, dtype):
        width = self.gates * self.hidden_size
        self.weight_ih = self._draw(rng, dtype, (self.input_size, width), "weight_ih")
        self.weight_hh = self._draw(rng, dtype, (self.hidden_size, width), "weight_hh")

    def _biases(self, rng, dtype, bias):
        """PyTorch's two biases b_ih and b_hh (1 × gates·hidden), or none."""
        width = self.gates * self.hidden_size
        self.bias_ih = self._draw(rng, dtype, (1, width), "bias_ih") if bias else None
        self.bias_hh = self._draw(rng, dtype, (1, width), "bias_hh") if bias else None

    def _block(self, P, k, blocks=1):
        """Gate k's columns of P (batch × gates·hidden), or `blocks` gates from k on."""
        H = self.hidden_size
        return P[:, k * H:(k + blocks) * H]

    def shared(self):
        """What every step of a sequence computes alike, computed once by the stack (and so
        once in the backward walk too); None for a cell with nothing to share."""
        return None

    def forward(self, x, state):
        return self.step(x, state, self.shared())

    def zero_state(self, batch, like):
        """The state before the first step: zeros of `like`'s kind and precision."""
        return Node(array_module(like).zeros((batch, self.hidden_size), like.dtype))

    def detach_state(self, state):
        return state.detach()

    def output(self, state):
        """H, the part of the state the layer above and the prediction read."""
        return state

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}"


class RNNCell(_Cell):
    """H' = f(X·W_ih + H·W_hh + 1·b), f = tanh or relu.

    W_ih (input × hidden), W_hh (hidden × hidden), b (1 × hidden), all drawn from
    U(−1/√hidden, 1/√hidden) as PyTorch's RNNCell (whose two biases b_ih + b_hh are one b here).
    """

    def __init__(self, input_size, hidden_size, nonlinearity="tanh", bias=True, *, rng=None,
                 dtype=np.float64):
        if nonlinearity not in _NONLINEARITIES:
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got "
                             f"{nonlinearity!r}")
        super().__init__(input_size, hidden_size)
        self.nonlinearity = nonlinearity
        rng = _generator(rng)
        self._weights(rng, dtype)
        self.bias = self._draw(rng, dtype, (1, self.hidden_size), "bias") if bias else None

    def step(self, x, h, shared=None):
        pre = x @ self.weight_ih + h @ self.weight_hh
        if self.bias is not None:
            pre = pre + self.bias
        return _NONLINEARITIES[self.nonlinearity](pre)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, nonlinearity={self.nonlinearity!r}"


class _GatedCell(_Cell):
    """An LSTM or GRU cell: `gates` blocks side by side in W_ih, W_hh and PyTorch's two biases."""

    def __init__(self, input_size, hidden_size, bias=True, *, rng=None, dtype=np.float64):
        super().__init__(input_size, hidden_size)
        rng = _generator(rng)
        self._weights(rng, dtype)
        self._biases(rng, dtype, bias)


class LSTMCell(_GatedCell):
    """The LSTM cell, PyTorch's equations, gate order i, f, g, o and parameters.

    forward(x, (h, c)) → (h', c').  W_ih (input × 4·hidden), W_hh (hidden × 4·hidden), b_ih and
    b_hh (1 × 4·hidden each), all drawn from U(±1/√hidden) as PyTorch's LSTMCell.  The two
    biases only ever appear summed, but both are kept, as PyTorch keeps them: an optimizer
    such as Adam steps each on its own, so one merged bias would train differently.
    """

    gates = 4

    def shared(self):
        """b_ih + b_hh, added to every step's P."""
        return None if self.bias_ih is None else self.bias_ih + self.bias_hh

    def step(self, x, state, bias=None):
        h, c = state
        P = x @ self.weight_ih + h @ self.weight_hh
        if bias is not None:
            P = P + bias
        # σ over all of P in one op, then the i, f, o blocks of it: fewer, larger ops than a
        # σ per gate (the g block's σ is computed and not used; its gradient is zero)
        S = ops.sigmoid(P)
        i, f, o = self._block(S, 0), self._block(S, 1), self._block(S, 3)
        g = ops.tanh(self._block(P, 2))
        c = f * c + i * g
        return o * ops.tanh(c), c

    def zero_state(self, batch, like):
        return super().zero_state(batch, like), super().zero_state(batch, like)

    def detach_state(self, state):
        return state[0].detach(), state[1].detach()

    def output(self, state):
        return state[0]


class GRUCell(_GatedCell):
    """The GRU cell, PyTorch's equations and gate order r, z, n.

    forward(x, h) → h'.  W_ih (input × 3·hidden), W_hh (hidden × 3·hidden), b_ih and b_hh
    (1 × 3·hidden each), all drawn from U(±1/√hidden) as PyTorch's GRUCell.
    """

    gates = 3

    def step(self, x, h, shared=None):
        A, B = x @ self.weight_ih, h @ self.weight_hh
        if self.bias_ih is not None:
            A, B = A + self.bias_ih, B + self.bias_hh
        RZ = ops.sigmoid(self._block(A, 0, 2) + self._block(B, 0, 2))  # r and z in one σ
        r, z = self._block(RZ, 0), self._block(RZ, 1)
        n = ops.tanh(self._block(A, 2) + r * self._block(B, 2))
        return n + z * (h - n)  # (1 − Z) ⊙ N + Z ⊙ H, one product fewer


class _Stack(Module):
    """`num_layers` cells run over a sequence given as a list of matrices.

    forward(xs, h0=None, truncate=None): xs = [X₁, …, X_T], each batch × input.  Returns the top
    layer's outputs [H₁, …, H_T] and the last state of every layer.  `h0` is one state per
    layer, zeros when None.  `truncate=k` cuts the gradient's path every k steps, counted back
    from the last (truncated BPTT): a state more than k steps before an output passes no
    gradient back to it.
    """

    def _stack(self, cells):
        self.cells = cells
        self.hidden_size = cells[0].hidden_size

    def forward(self, xs, h0=None, truncate=None):
        kind = type(self).__name__
        if getattr(xs, "ndim", 2) != 2 and not isinstance(xs, (list, tuple)):
            raise ValueError(
                f"{kind}: give the sequence as a list of matrices [X₁, …, X_T], each batch × "
                f"input; got an array of shape {xs.shape}. For x of shape (batch, steps, "
                "features) pass [x[:, t, :] for t in range(x.shape[1])]")
        steps = len(xs)
        if steps == 0:
            raise ValueError(f"{kind}: the sequence is empty")
        batch = xs[0].shape[0]
        if h0 is None:  # zeros where the weights are, in their precision
            like = self.cells[0].weight_hh.data
            states = [cell.zero_state(batch, like) for cell in self.cells]
        else:
            states = list(h0)
            if len(states) != len(self.cells):
                raise ValueError(f"{kind}: h0 needs one state per layer ({len(self.cells)}), "
                                 f"got {len(states)}")
        shared = [cell.shared() for cell in self.cells]
        outputs = []
        for t, x in enumerate(xs):
            if truncate and t > 0 and (steps - t) % truncate == 0:
                states = [cell.detach_state(state) for cell, state in zip(self.cells, states)]
            for layer, cell in enumerate(self.cells):
                states[layer] = cell.step(x, states[layer], shared[layer])
                x = cell.output(states[layer])
            outputs.append(x)
        return outputs, states

    def extra_repr(self) -> str:
        cell = self.cells[0]
        return f"{cell.input_size}, {self.hidden_size}, num_layers={len(self.cells)}"


def _layers(kind, num_layers):
    return positive_int(kind, "num_layers", num_layers)


class RNN(_Stack):
    """A stack of `num_layers` RNNCells (see `_Stack.forward`); each state is one matrix,
    h0 one batch × hidden (or 1 × hidden, shared) matrix per layer."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, *,
                 rng=None, dtype=np.float64):
        super().__init__()
        rng = _generator(rng)
        self._stack([RNNCell(input_size if layer == 0 else hidden_size, hidden_size,
                             nonlinearity, bias, rng=rng, dtype=dtype)
                     for layer in range(_layers("RNN", num_layers))])

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, nonlinearity={self.cells[0].nonlinearity!r}"


class LSTM(_Stack):
    """A stack of `num_layers` LSTMCells (see `_Stack.forward`), PyTorch's nn.LSTM; each state
    is a pair (H, C), h0 one pair per layer."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, *, rng=None,
                 dtype=np.float64):
        super().__init__()
        rng = _generator(rng)
        self._stack([LSTMCell(input_size if layer == 0 else hidden_size, hidden_size, bias,
                              rng=rng, dtype=dtype)
                     for layer in range(_layers("LSTM", num_layers))])


class GRU(_Stack):
    """A stack of `num_layers` GRUCells (see `_Stack.forward`), PyTorch's nn.GRU; each state is
    one matrix, h0 one per layer."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, *, rng=None,
                 dtype=np.float64):
        super().__init__()
        rng = _generator(rng)
        self._stack([GRUCell(input_size if layer == 0 else hidden_size, hidden_size, bias,
                             rng=rng, dtype=dtype)
                     for layer in range(_layers("GRU", num_layers))])
