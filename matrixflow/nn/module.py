"""Module, the base of every layer, and Sequential.

A Module finds its parameters by looking at its own attributes: a Node that requires grad is a
parameter, a Module (or a list of them) a child.  Arrays it registers with `register_buffer`
(BatchNorm's running statistics) are state that is saved with the parameters but not trained.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import numpy as np

from ..backend import check_device, device_of, is_cupy_array, to_device
from ..node import Node


def _parameter(data, name) -> Node:
    return Node(data, requires_grad=True, name=name)


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
        references); nothing is copied unless every entry fits.

        The state is in matrixflow's layout, W (in × out) and biases 1 × out.  One in PyTorch's
        layout — torch tensors, PyTorch's names (`weight_ih_l0`, `0.weight`), a 1-D bias, a
        transposed or 4-D weight — is refused with the converter to call,
        `nn.load_torch_state_dict(model, state)`: loaded as it is, a square weight would go in
        transposed.  A 1-D array of C entries does load into BatchNorm1d's 1 × C rows (weight,
        bias, running statistics), which hold the same numbers in both layouts."""
        params = {name: p.data for name, p in self.named_parameters()}
        params.update(self.named_buffers())
        _refuse_pytorch_names(state, params)
        missing = sorted(set(params) - set(state))
        unexpected = sorted(set(state) - set(params))
        if strict and (missing or unexpected):
            raise KeyError(
                f"load_state_dict: missing {missing or 'nothing'}, unexpected "
                f"{unexpected or 'nothing'} (pass strict=False to load what matches)"
            )
        modules = dict(self.named_modules())
        values = {}
        for name, p in params.items():
            if name not in state:
                continue
            value = state[name] if is_cupy_array(state[name]) else np.asarray(state[name])
            path, _, entry = name.rpartition(".")
            if value.ndim == 1 and p.shape == (1, value.size):
                if entry not in getattr(modules.get(path), "_rows_from_1d", ()):
                    raise ValueError(
                        f"load_state_dict: {name} is 1-D {value.shape}, PyTorch's layout for "
                        f"a bias; matrixflow's is a 1 × {value.size} row. {_CONVERT}")
                value = value.reshape(1, -1)  # BatchNorm1d: PyTorch's (C,) is the same row
            if value.shape != p.shape:
                hint = ""
                if value.ndim == 4 or (value.ndim == 2 and value.shape == p.shape[::-1]):
                    hint = (f" — {'its transpose' if value.ndim == 2 else 'a 4-D weight'}, "
                            f"PyTorch's layout. {_CONVERT}")
                raise ValueError(f"load_state_dict: {name} has shape {p.shape}, the state "
                                 f"gives {value.shape}{hint}")
            values[name] = value
        for name, value in values.items():
            params[name][...] = to_device(value, device_of(params[name]))  # onto its device

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """(dotted path, module) for this module (path '') and every module below it, each
        shared one once, in named_parameters' order (PyTorch's names and order)."""
        seen = set()
        stack = [(prefix, self)]
        while stack:
            path, module = stack.pop(0)
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield path, module
            stack[:0] = [(f"{path}.{name}" if path else name, child)
                         for name, child in module.named_children()]

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


_CONVERT = ("To load a PyTorch state dict, convert it: nn.load_torch_state_dict(model, "
            "state) (matrixflow.nn.pytorch_weights)")
# names only PyTorch gives: its RNN's per-layer weights and biases, an RNNCell's two biases,
# and a Sequential's bare indices (matrixflow's are layers.0, …)
_PYTORCH_NAMES = re.compile(r"^\d+\.|(^|\.)(weight|bias)_(ih|hh|hr)_l\d+(_reverse)?$|"
                            r"(^|\.)bias_(ih|hh)$")


def _refuse_pytorch_names(state, params) -> None:
    """A state dict in PyTorch's layout is refused, whatever `strict` says, when its values are
    torch tensors or it has names that only PyTorch gives."""
    tensors = sorted(name for name, value in state.items()
                     if type(value).__module__.split(".")[0] == "torch")
    if tensors:
        raise TypeError(f"load_state_dict: {tensors[:3]}{' …' if len(tensors) > 3 else ''} "
                        f"are torch tensors: a PyTorch state dict, whose weights are the "
                        f"transposes of matrixflow's. {_CONVERT}")
    named = sorted(name for name in set(state) - set(params) if _PYTORCH_NAMES.search(name))
    if named:
        raise ValueError(f"load_state_dict: {named[:3]}{' …' if len(named) > 3 else ''} are "
                         f"PyTorch's names, not this module's. {_CONVERT}")


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
