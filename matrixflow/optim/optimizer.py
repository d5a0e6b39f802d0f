"""Optimizer, the base of every update rule: parameter groups, per-parameter state, `zero_grad`,
`step` and state dicts, with PyTorch's conventions.

An optimizer holds `param_groups` (dicts with "params", a list of leaf Nodes, and every
hyper-parameter, so a schedule can change `group["lr"]`) and `state` (a dict per parameter Node).
`step()` reads each parameter's `.grad` g and updates its `.data` θ in place, in θ's dtype.
"""

from __future__ import annotations

import numbers

from ..backend import device_of, to_device
from ..node import Node


class Optimizer:
    """Base class: parameter groups, per-parameter state, `zero_grad` and `step`.

    `params` is an iterable of Nodes (one group) or of dicts {"params": [...], "lr": ...} (one
    group each; a key left out takes its value from `defaults`).  A subclass implements
    `_update(theta, grad, state, group)` for one parameter and `_check(group)` for its
    hyper-parameters.
    """

    def __init__(self, params, defaults):
        if isinstance(params, Node):  # a Node is iterable (its rows): refuse it, as torch does
            raise TypeError(f"{self._name}: params must be an iterable of Nodes or of dicts, "
                            "got a single Node: wrap it in a list, [node]")
        self.defaults = dict(defaults)
        self.state = {}
        self.param_groups = []
        groups = self._ordered(params)
        if not groups:
            raise ValueError(f"{self._name}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    @property
    def _name(self) -> str:
        return type(self).__name__

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own hyper-parameters (missing ones from defaults)."""
        if not isinstance(param_group, dict) or "params" not in param_group:
            raise TypeError(f"{self._name}: a parameter group must be a dict with a 'params' "
                            f"entry, got {param_group!r}")
        params = param_group["params"]
        params = [params] if isinstance(params, Node) else self._ordered(params)
        seen = {id(p) for group in self.param_groups for p in group["params"]}
        for position, param in enumerate(params):
            where = f"parameter {position}" + (f" ({param.name!r})" if getattr(
                param, "name", None) else "")
            if not isinstance(param, Node):
                raise TypeError(f"{self._name}: {where} is a {type(param).__name__}, "
                                "not a matrixflow Node")
            if not param.requires_grad:
                raise ValueError(f"{self._name}: {where} does not require grad, so no gradient "
                                 "reaches it: create it with requires_grad=True")
            if not param.is_leaf:
                raise ValueError(f"{self._name}: {where} is the result of op "
                                 f"{param.op.name!r}, not a leaf: only leaves can be optimized")
            if id(param) in seen:
                raise ValueError(f"{self._name}: {where} appears twice (in this group or in an "
                                 "earlier one); each Node may be given once")
            seen.add(id(param))
        group = {**self.defaults, **param_group, "params": params}
        self._check(group)
        self.param_groups.append(group)

    def _ordered(self, params) -> list:
        if isinstance(params, (set, frozenset)):  # the order of a set changes between runs
            raise TypeError(f"{self._name}: parameters must be in an ordered collection "
                            "(a list or tuple), not a set: state_dict() matches them by position")
        return list(params)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's `.grad`: to None (the default), or to zeros in place."""
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue
                if set_to_none:
                    param.grad = None
                else:
                    param.grad[...] = 0

    def step(self, closure=None):
        """Update every parameter that has a `.grad` (the others are skipped, state and all).

        `closure`, when given, re-evaluates the loss (calling backward) and its value is returned.
        """
        loss = closure() if closure is not None else None
        todo = [(param, group) for group in self.param_groups for param in group["params"]
                if param.grad is not None]
        for param, _ in todo:  # check every gradient before changing any parameter
            if param.grad.shape != param.data.shape:
                raise ValueError(f"{self._name}: a parameter of shape {param.data.shape} "
                                 f"has a .grad of shape {param.grad.shape}")
        for param, group in todo:
            # compute in the parameter's precision: a float32 model stays float32
            grad = param.grad.astype(param.data.dtype, copy=False)
            self._update(param.data, grad, self.state.setdefault(param, {}), group)
        return loss

    def _update(self, theta, grad, state, group) -> None:
        raise NotImplementedError

    def _check(self, group) -> None:
        """Raise for a bad hyper-parameter of `group` (subclasses name theirs)."""

    def _nonnegative(self, group, *names) -> None:
        for name in names:
            value = group[name]
            if not isinstance(value, numbers.Real) or isinstance(value, bool):
                raise TypeError(f"{self._name}: {name} must be a real number, got {value!r}")
            if not 0.0 <= value:  # written so that NaN fails too
                raise ValueError(f"{self._name}: invalid {name}={value!r}; it must be ≥ 0")

    # ---- checkpoints ------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """{"state": {index: {...}}, "param_groups": [{..., "params": [index, ...]}]}, as torch:
        parameters are numbered in group order, and state arrays are copies."""
        index = {id(p): i for i, p in enumerate(p for g in self.param_groups for p in g["params"])}
        groups = [{**group, "params": [index[id(p)] for p in group["params"]]}
                  for group in self.param_groups]
        state = {index[id(p)]: {key: _copy(value) for key, value in s.items()}
                 for p, s in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Take hyper-parameters and state from `state_dict` (copied, in each parameter's dtype)."""
        saved_groups = state_dict["param_groups"]
        sizes = [len(g["params"]) for g in saved_groups]
        if sizes != [len(g["params"]) for g in self.param_groups]:
            raise ValueError(f"{self._name}: the saved parameter groups have sizes {sizes}, this "
                             f"optimizer's {[len(g['params']) for g in self.param_groups]}")
        params = [p for g in self.param_groups for p in g["params"]]
        state = {params[i]: {key: _copy(value, params[i].data) for key, value in saved.items()}
                 for i, saved in state_dict["state"].items()}  # built first: all or nothing
        self.param_groups = [{**group, "params": current["params"]}
                             for group, current in zip(saved_groups, self.param_groups)]
        self.state = state


def _copy(value, like=None):
    """A copy of a state array (in `like`'s dtype and on its device when given, as torch's
    load_state_dict); other values as they are."""
    if not hasattr(value, "shape"):
        return value
    if like is None:
        return value.astype(value.dtype, copy=True)
    if value.shape != like.shape:
        raise ValueError(f"load_state_dict: a state array of shape {value.shape} for a parameter "
                         f"of shape {like.shape}")
    if device_of(value) != device_of(like):
        return to_device(value, device_of(like)).astype(like.dtype, copy=False)  # copied there
    return value.astype(like.dtype, copy=True)
