"""Where the engine meets symbolic matrices, without importing the teaching room.

Besides NumPy and CuPy arrays, a node's data may be a symbolic matrix (the teaching room's
`Sym`): then an op builds the expression op(A, B) instead of computing numbers, and the walk runs
the rules as a graph, so a gradient comes out in closed form from the very rules that compute
numeric ones.  The engine handles such data only through the names below; the teaching room
(`matrixflow.teaching.symbolic`) registers them when it is imported, before any symbolic matrix
can exist.  So the engine never imports the rooms built on it, and without the teaching room it
simply never meets a symbol.
"""

from __future__ import annotations


class _NoSymbols:
    """Stands for the symbolic matrix type until the teaching room registers it: no data is of
    this type, so `type(x) is Matrix` is False for everything."""


Matrix: type = _NoSymbols  # the symbolic matrix type, compared by identity on the hot path


def _unregistered(*args, **kwargs):
    raise RuntimeError("symbolic matrices need matrixflow.teaching.symbolic, which registers "
                       "them; import matrixflow (the package) first")


constant = _unregistered  # constant(array, name=None): a numeric matrix as a symbolic constant
from_op = _unregistered  # from_op(op, args, attrs): the symbolic matrix op(args)
twin = _unregistered  # twin(roots): the trees with constants as named symbols (autograd.grad)
function = _unregistered  # function(name, arg, attrs, out_shape): a named function f(A)
zeros = _unregistered  # zeros(shape): the symbolic zero matrix
scale = _unregistered  # scale(c, expression): c·expression


def register(matrix_type, **functions) -> None:
    """Install the teaching room's symbolic type and the functions named above."""
    global Matrix
    unknown = set(functions) - {"constant", "from_op", "twin", "function", "zeros", "scale"}
    if unknown:
        raise TypeError(f"symbolic_hooks.register: unknown hooks {sorted(unknown)}")
    Matrix = matrix_type
    globals().update(functions)
