"""Symbolic matrices: closed-form gradients from the same rules that compute numeric ones."""

import numpy as np

from .expr import Sym, symbol
from .simplify import simplify

__all__ = ["Sym", "closed_form", "simplify", "symbol", "symbols"]


def symbols(names, shape=(3, 3), *, shapes=None, requires_grad=True):
    """Symbolic matrix leaves: `A, X = mf.symbols("A X", shapes={"A": (3, 3), "X": (3, 2)})`.

    `names` is a string of names separated by spaces or commas, or a list; every one gets
    `shape` unless `shapes` (a dict by name, or a list in order) says otherwise.  Returns one
    Node per name (a single Node for a single name), each holding a symbol as its data.
    """
    from ..node import Node

    if isinstance(names, str):
        names = names.replace(",", " ").split()
    names = list(names)
    if not names:
        raise ValueError("symbols: give at least one name, e.g. mf.symbols('A X')")
    if shapes is None:
        shapes = {name: shape for name in names}
    elif not isinstance(shapes, dict):
        shapes = dict(zip(names, shapes, strict=True))
    nodes = []
    for name in names:
        rows, cols = _matrix_shape(name, shapes.get(name, shape))
        nodes.append(Node(symbol(name, (rows, cols)), requires_grad=requires_grad, name=name))
    return nodes[0] if len(nodes) == 1 else tuple(nodes)


def _matrix_shape(name, shape):
    """(rows, cols) of positive ints, or a ValueError that says what a matrix shape is."""
    if isinstance(shape, (int, np.integer)) or not hasattr(shape, "__len__") or len(shape) != 2 \
            or not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n > 0
                       for n in shape):
        raise ValueError(
            f"symbols: the shape of {name!r} must be (rows, cols), two positive integers — "
            f"every value is a matrix, a column is (n, 1); got {shape!r}"
        )
    return int(shape[0]), int(shape[1])


def closed_form(output, wrt) -> Sym:
    """∂output/∂wrt as a simplified symbolic matrix (output 1×1, built from mf.symbols)."""
    from ..autograd import grad

    (gradient,) = grad(output, [wrt])
    return gradient.data
