"""Evaluating a symbolic matrix on numbers, to check a closed form against numeric gradients."""

from __future__ import annotations

import numpy as np

from .expr import Sym, postorder


def evaluate(x: Sym, values: dict):
    """The value of `x` with each symbol replaced by values[name] (2-D arrays).

    Each distinct subexpression is computed once, operands first, in a loop rather than by
    recursion: a closed form of a deep chain is a DAG of thousands of levels whose tree would
    be exponentially large.
    """
    missing = x.symbols() - set(values)
    if missing:
        raise KeyError(f"evaluate: give a value for {', '.join(sorted(missing))}")
    cache = {}  # id → value; the expression keeps every node alive, so ids stay unique
    for node in postorder(x):
        args = [cache[id(a)] for a in node.args]
        result = np.asarray(_KINDS[node.kind](node, args, values), dtype=np.float64)
        if result.shape != node.shape:
            result = np.broadcast_to(result, node.shape)
        cache[id(node)] = result
    return cache[id(x)]


def _symbol(x, args, values):
    value = np.asarray(values[x.attrs], dtype=np.float64)
    if value.shape != x.shape:
        raise ValueError(f"evaluate: {x.attrs} has shape {x.shape}, the value given "
                         f"{value.shape}")
    return value


def _apply(x, args, values):
    from . import functions

    name, attrs = x.attrs
    return functions.numeric(name)(*args, **attrs)


_COMPARE = {">": np.greater, "≥": np.greater_equal, "<": np.less, "≤": np.less_equal,
            "=": np.equal, "≠": np.not_equal}

_KINDS = {
    "symbol": _symbol,
    "const": lambda x, args, values: np.full((1, 1), x.attrs),
    "identity": lambda x, args, values: np.eye(x.shape[0]),
    "ones": lambda x, args, values: np.ones(x.shape),
    "zeros": lambda x, args, values: np.zeros(x.shape),
    "matrix": lambda x, args, values: x.attrs[1],
    "add": lambda x, args, values: sum(args[1:], args[0]),
    "scale": lambda x, args, values: x.attrs * args[0],
    "matmul": lambda x, args, values: np.linalg.multi_dot(args) if len(args) > 2
    else args[0] @ args[1],
    "hadamard": lambda x, args, values: np.prod(np.broadcast_arrays(*args), axis=0),
    "transpose": lambda x, args, values: args[0].T,
    "div": lambda x, args, values: args[0] / args[1],
    "power": lambda x, args, values: args[0] ** x.attrs,
    "compare": lambda x, args, values: _COMPARE[x.attrs](args[0], args[1]).astype(float),
    "where": lambda x, args, values: np.where(args[0] != 0, args[1], args[2]),
    "apply": _apply,
}
