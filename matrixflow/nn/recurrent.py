"""Recurrent layers: the Elman cell H' = f(X·W_ih + H·W_hh + 1·b) and a stack of them run over
a sequence given as a list of matrices (one batch × features matrix per step)."""

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


class RNNCell(Module):
    """H' = f(X·W_ih + H·W_hh + 1·b), f = tanh or relu.

    W_ih (input × hidden), W_hh (hidden × hidden), b (1 × hidden), all drawn from
    U(−1/√hidden, 1/√hidden) as PyTorch's RNNCell (whose two biases b_ih + b_hh are one b here).
    """

    def __init__(self, input_size, hidden_size, nonlinearity="tanh", bias=True, *, rng=None,
                 dtype=np.float64):
        super().__init__()
        if nonlinearity not in _NONLINEARITIES:
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got "
                             f"{nonlinearity!r}")
        self.input_size = positive_int("RNNCell", "input_size", input_size)
        self.hidden_size = positive_int("RNNCell", "hidden_size", hidden_size)
        self.nonlinearity = nonlinearity
        rng = _generator(rng)
        bound = 1.0 / math.sqrt(self.hidden_size)

        def draw(shape, name):
            return _parameter(rng.uniform(-bound, bound, shape).astype(dtype), name)

        self.weight_ih = draw((self.input_size, self.hidden_size), "weight_ih")
        self.weight_hh = draw((self.hidden_size, self.hidden_size), "weight_hh")
        self.bias = draw((1, self.hidden_size), "bias") if bias else None

    def forward(self, x, h):
        pre = x @ self.weight_ih + h @ self.weight_hh
        if self.bias is not None:
            pre = pre + self.bias
        return _NONLINEARITIES[self.nonlinearity](pre)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, nonlinearity={self.nonlinearity!r}"


class RNN(Module):
    """A stack of `num_layers` RNNCells run over a sequence given as a list of matrices.

    forward(xs, h0=None, truncate=None): xs = [X₁, …, X_T], each batch × input.  Returns the top
    layer's states [H₁, …, H_T] and the last state of every layer.  `h0` is one matrix per layer
    (batch × hidden, or 1 × hidden to share it), zeros when None.  `truncate=k` cuts the
    gradient's path every k steps, counted back from the last (truncated BPTT): a state more than
    k steps before an output passes no gradient back to it.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, *,
                 rng=None, dtype=np.float64):
        super().__init__()
        num_layers = positive_int("RNN", "num_layers", num_layers)
        rng = _generator(rng)
        self.cells = [RNNCell(input_size if layer == 0 else hidden_size, hidden_size,
                              nonlinearity, bias, rng=rng, dtype=dtype)
                      for layer in range(num_layers)]
        self.hidden_size = self.cells[0].hidden_size

    def forward(self, xs, h0=None, truncate=None):
        if getattr(xs, "ndim", 2) != 2 and not isinstance(xs, (list, tuple)):
            raise ValueError(
                f"RNN: give the sequence as a list of matrices [X₁, …, X_T], each batch × "
                f"input; got an array of shape {xs.shape}. For x of shape (batch, steps, "
                "features) pass [x[:, t, :] for t in range(x.shape[1])]")
        steps = len(xs)
        if steps == 0:
            raise ValueError("RNN: the sequence is empty")
        batch = xs[0].shape[0]
        weight = self.cells[0].weight_hh.data
        if h0 is None:  # zeros where the weights are, in their precision
            xp = array_module(weight)
            states = [Node(xp.zeros((batch, self.hidden_size), weight.dtype))
                      for _ in self.cells]
        else:
            states = list(h0)
            if len(states) != len(self.cells):
                raise ValueError(f"RNN: h0 needs one state per layer ({len(self.cells)}), "
                                 f"got {len(states)}")
        outputs = []
        for t, x in enumerate(xs):
            if truncate and t > 0 and (steps - t) % truncate == 0:
                states = [h.detach() for h in states]
            for layer, cell in enumerate(self.cells):
                states[layer] = cell(x, states[layer])
                x = states[layer]
            outputs.append(x)
        return outputs, states

    def extra_repr(self) -> str:
        cell = self.cells[0]
        return (f"{cell.input_size}, {self.hidden_size}, num_layers={len(self.cells)}, "
                f"nonlinearity={cell.nonlinearity!r}")
