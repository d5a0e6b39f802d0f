"""Layers as Modules: Linear, RNNCell, RNN, Sequential, activations, Dropout, BatchNorm1d,
the image layers Conv2d, MaxPool2d and Flatten (matrixflow.convolution), and initialisers.

Every layer is matrix algebra on a batch whose rows are samples: Linear is Y = X·W + 1·b with W
(in × out) and b (1 × out), the orientation of scikit-learn's `coefs_` (PyTorch stores Wᵀ); an
RNN cell is H' = f(X·W_ih + H·W_hh + 1·b).  A Module finds its parameters by looking at its own
attributes: a Node that requires grad is a parameter, a Module (or a list of them) a child.
Arrays it registers with `register_buffer` (BatchNorm's running statistics) are state that is
saved with the parameters but not trained.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from . import ops
from .backend import array_module, check_device, device_of, is_cupy_array, to_device
from .node import Node
from .ops.images import positive_int
from .ops.layers import as_batch, check_dropout_p, check_number, device_generator, normalise

# ---- initialisers --------------------------------------------------------------------------
# Each returns an array for a weight of shape (fan_in, fan_out), drawn from `rng`
# (a numpy Generator or RandomState, a seed, or None for fresh entropy).


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


def _parameter(data, name) -> Node:
    return Node(data, requires_grad=True, name=name)


# ---- Module ----------------------------------------------------------------------------------
class Module:
    """Base of every layer: parameters found from attributes, train/eval, state dicts."""

    def __init__(self):
        self.training = True
        self._buffer_names = []

    def __setattr__(self, name, value):
        object.__setattr__(self, name, value)
        # a child's parameters are named by their path from here (layers.0.weight), so that
        # explain, to_dot and gradcheck tell the layers apart; a layer alone keeps "weight"
        if isinstance(value, Module):
            children = [(name, value)]
        elif isinstance(value, (list, tuple)):
            children = [(f"{name}.{index}", item) for index, item in enumerate(value)
                        if isinstance(item, Module)]
        else:
            return
        for prefix, child in children:
            for path, parameter in child.named_parameters():
                parameter.name = f"{prefix}.{path}"

    def register_buffer(self, name: str, array) -> None:
        """Keep `array` as state saved in state_dict() but not trained (running statistics)."""
        if name not in self._buffer_names:
            self._buffer_names.append(name)
        setattr(self, name, array)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value
            elif isinstance(value, (list, tuple)):
                for index, item in enumerate(value):
                    if isinstance(item, Module):
                        yield f"{name}.{index}", item

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Node]]:
        """(dotted name, parameter) for every parameter, each shared one once."""
        seen = set()
        stack = [(prefix, self)]
        while stack:
            path, module = stack.pop(0)
            for name, value in vars(module).items():
                if isinstance(value, Node) and value.requires_grad and id(value) not in seen:
                    seen.add(id(value))
                    yield path + name, value
            stack[:0] = [(f"{path}{name}.", child) for name, child in module.named_children()]

    def parameters(self) -> list[Node]:
        return [p for _, p in self.named_parameters()]

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray]]:
        """(dotted name, array) for every buffer of this module and its children."""
        for name in getattr(self, "_buffer_names", ()):
            value = getattr(self, name)
            if value is not None:
                yield prefix + name, value
        for name, child in self.named_children():
            yield from child.named_buffers(f"{prefix}{name}.")

    def train(self, mode: bool = True) -> Module:
        """Training mode (True) or evaluation mode (False), here and in every child."""
        self.training = bool(mode)
        for _, child in self.named_children():
            child.train(mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = None

    def to(self, device: str) -> Module:
        """Move every parameter (and its .grad) and every buffer to `device` ('cpu', 'cuda',
        'cuda:N'), in place as PyTorch's `Module.to`: the parameter Nodes stay the same
        objects, so an optimizer made before keeps them.  Returns the module."""
        check_device(device, f"{type(self).__name__}.to({device!r})")
        for _, p in self.named_parameters():
            p.data = to_device(p.data, device)
            if p.grad is not None:
                p.grad = to_device(p.grad, device)
        modules = [self]
        while modules:
            module = modules.pop()
            for name in getattr(module, "_buffer_names", ()):
                buffer = getattr(module, name)
                if buffer is not None:
                    setattr(module, name, to_device(buffer, device))
            modules.extend(child for _, child in module.named_children())
        return self

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter's values and every buffer, by dotted name, as NumPy arrays
        (on the host, wherever the module lives)."""
        state = {name: p.numpy().copy() for name, p in self.named_parameters()}
        state.update((name, b.get() if is_cupy_array(b) else np.array(b, copy=True))
                     for name, b in self.named_buffers())
        return state

    def load_state_dict(self, state: dict, strict: bool = True) -> None:
        """Copy values into the parameters and buffers (in place: optimizers keep their
        references).  A 1-D array of C entries loads into a 1 × C row: PyTorch's shape for a
        bias and for BatchNorm's weight, bias and running statistics."""
        params = {name: p.data for name, p in self.named_parameters()}
        params.update(self.named_buffers())
        missing = sorted(set(params) - set(state))
        unexpected = sorted(set(state) - set(params))
        if strict and (missing or unexpected):
            raise KeyError(
                f"load_state_dict: missing {missing or 'nothing'}, unexpected "
                f"{unexpected or 'nothing'} (pass strict=False to load what matches)"
            )
        for name, p in params.items():
            if name not in state:
                continue
            value = state[name] if is_cupy_array(state[name]) else np.asarray(state[name])
            if value.ndim == 1 and p.shape == (1, value.size):
                value = value.reshape(1, -1)  # PyTorch's (C,) for a 1 × C row (bias, BatchNorm)
            if value.shape != p.shape:
                raise ValueError(
                    f"load_state_dict: {name} has shape {p.shape}, the state gives {value.shape}"
                )
            p[...] = to_device(value, device_of(p))  # copied onto the module's device

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        children = list(self.named_children())
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not children:
            return head + ")"
        body = "".join(f"\n  ({name}): " + repr(child).replace("\n", "\n  ")
                       for name, child in children)
        return head + body + "\n)"


# ---- layers ----------------------------------------------------------------------------------
class Linear(Module):
    """Y = X·W + 1·b: X (batch × in), W (in × out), b (1 × out).

    W is drawn by `init` (a name from INITIALISERS; Xavier uniform by default) and b starts at
    zero.  `rng` seeds the draw (a Generator or an int).
    """

    def __init__(self, in_features, out_features, bias=True, *, init="xavier_uniform",
                 rng=None, dtype=np.float64):
        super().__init__()
        if init not in INITIALISERS:
            raise ValueError(f"Linear: init must be one of {sorted(INITIALISERS)}, got {init!r}")
        self.in_features = positive_int("Linear", "in_features", in_features)
        self.out_features = positive_int("Linear", "out_features", out_features)
        shape = (self.in_features, self.out_features)
        self.weight = _parameter(INITIALISERS[init](shape, rng=rng, dtype=dtype), "weight")
        self.bias = _parameter(np.zeros((1, self.out_features), dtype), "bias") if bias else None

    def forward(self, x):
        y = x @ self.weight
        return y if self.bias is None else y + self.bias

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


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


class Sequential(Module):
    """Modules applied in order: Sequential(Linear(4, 8), Tanh(), Linear(8, 1))."""

    def __init__(self, *modules):
        super().__init__()
        for module in modules:
            if not isinstance(module, Module):
                raise TypeError(f"Sequential takes Modules, got {type(module).__name__}")
        self.layers = list(modules)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def __getitem__(self, index):
        """One module, or for a slice the Sequential of those modules (as torch), so that
        `model[:-1](x)` runs the first layers."""
        if isinstance(index, slice):
            part = Sequential()
            # set without __setattr__: the slice's paths (layers.0 for what is layers.2 here)
            # must not rename the parameters this model shares with it
            object.__setattr__(part, "layers", list(self.layers[index]))
            return part
        return self.layers[index]

    def __iter__(self):
        return iter(self.layers)

    def __len__(self) -> int:
        return len(self.layers)


class _Activation(Module):
    function = None

    def forward(self, x):
        return type(self).function(x)


class ReLU(_Activation):
    """Y = max(X, 0)."""

    function = staticmethod(ops.relu)


class Tanh(_Activation):
    """Y = tanh X."""

    function = staticmethod(ops.tanh)


class Sigmoid(_Activation):
    """Y = σ(X) = 1/(1 + e^−X)."""

    function = staticmethod(ops.sigmoid)


class Softplus(_Activation):
    """Y = ln(1 + e^X)."""

    function = staticmethod(ops.softplus)


class Identity(Module):
    """Y = X."""

    def forward(self, x):
        return x


class LeakyReLU(Module):
    """Y = X where X > 0, s·X elsewhere (s = negative_slope, 0.01 by default)."""

    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, x):
        return ops.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Dropout(Module):
    """In training, zero each entry with probability p and scale the rest by 1/(1 − p)
    (inverted dropout, as PyTorch); in evaluation, the identity.

    The masks come from the module's own generator, seeded by `rng` (an int, a Generator or
    None), so a seeded network drops the same entries on every run.
    """

    def __init__(self, p=0.5, *, rng=None):
        super().__init__()
        self.p = check_dropout_p("Dropout", p)
        self.rng = np.random.default_rng(rng)
        self._device_rngs = {}  # GPU id → CuPy generator, seeded once from self.rng

    def forward(self, x):
        rng = self.rng
        data = x.data if isinstance(x, Node) else x
        if self.training and is_cupy_array(data):  # masks drawn on the GPU, not copied there
            rng = self._device_rngs.get(data.device.id)
            if rng is None:
                rng = self._device_rngs[data.device.id] = device_generator(self.rng, data)
        return ops.dropout(x, self.p, self.training, rng=rng)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class BatchNorm1d(Module):
    """Each column (feature) standardised over the batch, then scaled and shifted:
    Y = (X − 1·μ) ⊙ 1·s ⊙ 1·γ + 1·β, s = 1/√(σ² + ε) — PyTorch's BatchNorm1d on an N × C batch.

    Training uses the batch's mean and biased variance and moves the running statistics towards
    the batch's mean and unbiased variance by `momentum` (None: their cumulative average);
    evaluation uses the running statistics.  γ (`weight`, ones) and β (`bias`, zeros) are
    1 × C parameters when `affine`; `running_mean`, `running_var` (1 × C) and
    `num_batches_tracked` are buffers when `track_running_stats`.  Defaults are PyTorch's.
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, *, dtype=np.float64):
        super().__init__()
        if momentum is not None:
            check_number("BatchNorm1d", "momentum", momentum, 0, 1,
                         " or None (a cumulative average)")
        self.num_features = positive_int("BatchNorm1d", "num_features", num_features)
        self.eps, self.momentum = float(check_number("BatchNorm1d", "eps", eps, 0)), momentum
        self.affine, self.track_running_stats = bool(affine), bool(track_running_stats)
        shape = (1, self.num_features)
        self.weight = _parameter(np.ones(shape, dtype), "weight") if affine else None
        self.bias = _parameter(np.zeros(shape, dtype), "bias") if affine else None
        tracked = self.track_running_stats
        self.register_buffer("running_mean", np.zeros(shape, dtype) if tracked else None)
        self.register_buffer("running_var", np.ones(shape, dtype) if tracked else None)
        self.register_buffer("num_batches_tracked", np.array(0) if tracked else None)

    def forward(self, x):
        x = as_batch("BatchNorm1d", x)
        if x.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm1d({self.num_features}): the input has {x.shape[1]} "
                             f"columns (features), the layer normalises {self.num_features}")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked += 1
            if self.momentum is None:  # the cumulative average of the batches so far
                factor = 1.0 / float(self.num_batches_tracked)
        use_running = not self.training or self.track_running_stats
        return normalise("BatchNorm1d", x, self.running_mean if use_running else None,
                         self.running_var if use_running else None, self.weight, self.bias,
                         self.training or self.running_mean is None, factor, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


BatchNorm = BatchNorm1d  # the and DeZero's name for it

# The image layers need Module, defined above.
from .convolution import Conv2d, Flatten, MaxPool2d  # noqa: E402, F401
