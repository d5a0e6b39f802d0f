"""Weights to and from PyTorch: state dicts converted between the two layouts, explicitly.

matrixflow keeps the samples of a batch in rows and multiplies from the right, Y = X·W + 1·b,
so a weight is (in × out) and a bias a 1 × out row; PyTorch computes Y = X·Wᵀ + b with its W
(out × in) and b of shape (out,).  The same numbers, in the other layout:

    Linear        W = W_ptᵀ,                     b = b_ptᵀ (1 × out)
    Conv2d        W = reshape(W_pt, O, C·kh·kw)ᵀ  (rows over channel, kernel row, kernel column)
    RNN           W_ih = W_ih,ptᵀ, W_hh = W_hh,ptᵀ, b = (b_ih + b_hh)ᵀ  (one bias: they only add)
    LSTM, GRU     W_ih = W_ih,ptᵀ, W_hh = W_hh,ptᵀ, b_ih = b_ih,ptᵀ, b_hh = b_hh,ptᵀ (both kept)
    BatchNorm1d   the same numbers: (C,) there, 1 × C here; num_batches_tracked as it is

A transposed stack of row blocks is the row of the transposed blocks, [A; B]ᵀ = [Aᵀ Bᵀ], so
gate j stays block j and PyTorch's gate order (i, f, g, o; r, z, n) is matrixflow's.  Toward
PyTorch the one bias of an Elman RNN goes to `bias_ih` and `bias_hh` is zeros: PyTorch's
cell adds them, so it computes the same.

Containers map their prefixes: matrixflow's `Sequential` keeps `layers.0.weight` where
PyTorch's keeps `0.weight`; any other Module's children (attributes, lists of modules) have
the same names in both.  The functions read anything NumPy can read (`__array__`: NumPy
arrays, CPU torch tensors) and never load PyTorch.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping

import numpy as np

from ..node import Node
from .module import Module, Sequential


def to_torch_state_dict(module: Module) -> dict[str, np.ndarray]:
    """The state of `module` in PyTorch's layout and names, as NumPy arrays:
    `torch_twin.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})` gives
    the PyTorch twin (same layers, sizes and bias=) matrixflow's weights."""
    _check_module(module, "to_torch_state_dict")
    state = {}
    for _, torch_prefix, layer, kind in _layers(module):
        state.update((torch_prefix + key, np.array(value, order="C"))  # 0-d stays 0-d
                     for key, value in kind.to_torch(layer, layer.state_dict()).items())
    return state


def from_torch_state_dict(module: Module, torch_state: Mapping) -> dict[str, np.ndarray]:
    """A PyTorch state dict of a twin of `module` (`torch_twin.state_dict()`, its tensors or
    their `.numpy()`) in matrixflow's layout: `module.load_state_dict(result)` loads it.  Every
    key PyTorch's twin has must be there with PyTorch's shape, and no other."""
    _check_module(module, "from_torch_state_dict")
    if not isinstance(torch_state, Mapping):
        raise TypeError(f"from_torch_state_dict: give the PyTorch module's state_dict() (a "
                        f"mapping of names to tensors), not a {type(torch_state).__name__}")
    given, used, missing, converted = dict(torch_state), set(), [], {}
    for mf_prefix, torch_prefix, layer, kind in _layers(module):
        local, wanted = {}, kind.to_torch(layer, layer.state_dict())
        for key, expected in wanted.items():
            name = torch_prefix + key
            if name not in given:
                missing.append(name)
                continue
            used.add(name)
            local[key] = value = _as_array(name, given[name])
            if value.shape != expected.shape:
                raise ValueError(
                    f"from_torch_state_dict: {name!r} has shape {value.shape}, but PyTorch's "
                    f"twin of {_where(layer, mf_prefix)} has {expected.shape}"
                    f"{_shape_hint(kind, value.shape, expected.shape)}")
        if len(local) == len(wanted):
            converted.update((mf_prefix + key, np.array(value, order="C"))
                             for key, value in kind.from_torch(layer, local).items())
    unexpected = sorted(set(given) - used)
    if missing or unexpected:
        raise KeyError(
            f"from_torch_state_dict: for this {type(module).__name__} PyTorch's state dict "
            f"lacks {missing or 'nothing'} and has {unexpected or 'nothing'} besides"
            f"{_keys_hint(module, given, missing, unexpected)}")
    return converted


def load_torch_state_dict(module: Module, torch_state: Mapping) -> None:
    """Load a PyTorch state dict into `module`, converting the layout:
    `module.load_state_dict(from_torch_state_dict(module, torch_state))`."""
    converted = from_torch_state_dict(module, torch_state)  # checks `module` first
    module.load_state_dict(converted)


# ---- the layers, one pair of conversions each ----------------------------------------------
class _Kind:
    """How one kind of layer's local state converts: to_torch(layer, mf_state) and
    from_torch(layer, torch_state), both on the layer's own keys; `gates` for the hints."""

    def __init__(self, to_torch, from_torch, gates=None):
        self.to_torch, self.from_torch, self.gates = to_torch, from_torch, gates


def _row(value):
    return np.asarray(value).reshape(1, -1)


def _linear_to_torch(layer, state):
    out = {"weight": state["weight"].T}
    if "bias" in state:
        out["bias"] = state["bias"].ravel()
    return out


def _linear_from_torch(layer, torch_state):
    out = {"weight": torch_state["weight"].T}
    if "bias" in torch_state:
        out["bias"] = _row(torch_state["bias"])
    return out


def _conv_to_torch(layer, state):
    out = _linear_to_torch(layer, state)
    out["weight"] = out["weight"].reshape(layer.out_channels, layer.in_channels,
                                          *layer.kernel_size)
    return out


def _conv_from_torch(layer, torch_state):
    flat = {**torch_state, "weight": torch_state["weight"].reshape(layer.out_channels, -1)}
    return _linear_from_torch(layer, flat)


_NORM_ROWS = ("weight", "bias", "running_mean", "running_var")


def _norm_to_torch(layer, state):
    return {key: np.array(value, dtype=np.int64) if key == "num_batches_tracked"
            else value.ravel() for key, value in state.items()}


def _norm_from_torch(layer, torch_state):
    return {key: _row(value) if key in _NORM_ROWS else np.array(value, dtype=np.int64)
            for key, value in torch_state.items()}


def _cells(layer):
    """(matrixflow prefix, PyTorch suffix) of each cell: `cells.k.` and `_lk` for a stack,
    nothing for a cell on its own."""
    if hasattr(layer, "cells"):
        return [(f"cells.{k}.", f"_l{k}") for k in range(len(layer.cells))]
    return [("", "")]


def _recurrent(gates, two_biases):
    def to_torch(layer, state):
        out = {}
        for mf, pt in _cells(layer):
            out[f"weight_ih{pt}"] = state[f"{mf}weight_ih"].T
            out[f"weight_hh{pt}"] = state[f"{mf}weight_hh"].T
            if two_biases and f"{mf}bias_ih" in state:
                out[f"bias_ih{pt}"] = state[f"{mf}bias_ih"].ravel()
                out[f"bias_hh{pt}"] = state[f"{mf}bias_hh"].ravel()
            elif not two_biases and f"{mf}bias" in state:
                out[f"bias_ih{pt}"] = state[f"{mf}bias"].ravel()
                out[f"bias_hh{pt}"] = np.zeros_like(out[f"bias_ih{pt}"])
        return out

    def from_torch(layer, torch_state):
        out = {}
        for mf, pt in _cells(layer):
            out[f"{mf}weight_ih"] = torch_state[f"weight_ih{pt}"].T
            out[f"{mf}weight_hh"] = torch_state[f"weight_hh{pt}"].T
            if f"bias_ih{pt}" not in torch_state:
                continue
            b_ih, b_hh = torch_state[f"bias_ih{pt}"], torch_state[f"bias_hh{pt}"]
            if two_biases:
                out[f"{mf}bias_ih"], out[f"{mf}bias_hh"] = _row(b_ih), _row(b_hh)
            else:
                out[f"{mf}bias"] = _row(b_ih + b_hh)
        return out

    return _Kind(to_torch, from_torch, gates)


_LINEAR = _Kind(_linear_to_torch, _linear_from_torch)
# the kinds by the name of their class in matrixflow.nn, looked up when called
_KINDS = {
    "Linear": _LINEAR,
    "Conv2d": _Kind(_conv_to_torch, _conv_from_torch),
    "BatchNorm1d": _Kind(_norm_to_torch, _norm_from_torch),
    "RNNCell": _recurrent(1, False), "RNN": _recurrent(1, False),
    "LSTMCell": _recurrent(4, True), "LSTM": _recurrent(4, True),
    "GRUCell": _recurrent(3, True), "GRU": _recurrent(3, True),
}
_GATED_NAMES = {1: "RNN", 3: "GRU", 4: "LSTM"}


def _kind_of(module):
    package = importlib.import_module(__package__)
    names = {getattr(package, name, None): name for name in _KINDS}
    for cls in type(module).__mro__:  # the most specific: an LSTM may subclass RNN
        if cls in names:
            return _KINDS[names[cls]]
    return None


def _layers(module, mf_prefix="", torch_prefix=""):
    """(matrixflow prefix, PyTorch prefix, layer, kind) of every layer with a conversion."""
    kind = _kind_of(module)
    if kind is not None:
        yield mf_prefix, torch_prefix, module, kind
        return
    own = [name for name, value in vars(module).items()
           if isinstance(value, Node) and value.requires_grad]
    own += [name for name, _ in module.named_buffers() if "." not in name]
    if own:
        raise TypeError(
            f"no PyTorch layout is known for {type(module).__name__} "
            f"{mf_prefix.rstrip('.') or '(the model)'!r}, which holds {own}: convert its "
            f"entries yourself (layers that convert: {', '.join(_KINDS)}, and containers)")
    for name, child in module.named_children():
        torch_name = name.removeprefix("layers.") if isinstance(module, Sequential) else name
        yield from _layers(child, f"{mf_prefix}{name}.", f"{torch_prefix}{torch_name}.")


# ---- reading values and saying what is wrong -----------------------------------------------
def _check_module(module, caller):
    if not isinstance(module, Module):
        raise TypeError(f"{caller}: the first argument is the matrixflow module (it knows the "
                        f"layout to convert to), got a {type(module).__name__}")


def _as_array(name, value):
    try:
        array = np.asarray(value).copy()  # a copy: never memory shared with a tensor
    except (TypeError, RuntimeError, ValueError) as error:
        raise TypeError(f"from_torch_state_dict: {name!r} cannot be read as a NumPy array "
                        f"({error}); give host values, tensor.detach().cpu()") from error
    if array.dtype.kind not in "biuf":
        raise TypeError(f"from_torch_state_dict: {name!r} is a {type(value).__name__}, not "
                        "an array of numbers")
    return array


def _where(layer, mf_prefix):
    path = mf_prefix.rstrip(".")
    return f"the {type(layer).__name__}" + (f" at {path!r}" if path else "")


def _shape_hint(kind, given, expected):
    if len(given) == 2 and given == expected[::-1]:
        return (": its transpose, matrixflow's (in × out) layout — a matrixflow state dict "
                "loads with module.load_state_dict(state)")
    if len(given) == 2 and len(expected) == 1 and given == (1, expected[0]):
        return ": a 1 × C row is matrixflow's layout — load it with module.load_state_dict"
    if kind.gates and len(given) == len(expected) and given[0] != expected[0]:
        hidden = expected[0] // kind.gates if len(expected) else 0
        other = _GATED_NAMES.get(given[0] // hidden) if hidden and given[0] % hidden == 0 \
            else None
        if other and given[1:] == expected[1:]:
            return (f": {given[0] // hidden}·hidden rows are a PyTorch {other}'s — load it "
                    f"into a matrixflow {other}")
    return " (the twin must have the same layers, sizes and bias=)"


def _keys_hint(module, given, missing, unexpected):
    if set(given) == set(module.state_dict()):
        return ": these are matrixflow's names — load them with module.load_state_dict(state)"
    if any(re.search(r"_reverse$", key) for key in unexpected):
        return ": bidirectional recurrent layers are not in matrixflow"
    if any(re.search(r"(^|\.)weight_hr_l\d+$", key) for key in unexpected):
        return ": an LSTM with proj_size is not in matrixflow"
    if any(key.rsplit(".", 1)[-1].startswith("bias") for key in unexpected) and not missing:
        return ": PyTorch's twin has biases that this module was built without (bias=False)"
    if any(key.rsplit(".", 1)[-1].startswith("bias") for key in missing) and not unexpected:
        return ": this module has biases that PyTorch's twin was built without (bias=False)"
    return ": build the matrixflow module with the same layers, sizes and bias= as PyTorch's"
