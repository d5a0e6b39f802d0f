"""Symbolic matrices: closed-form gradients from the same rules that compute numeric ones."""

import numpy as np

from ... import symbolic_hooks
from . import expr as sx
from .expr import Sym, symbol
from .functions import from_op
from .simplify import simplify

__all__ = ["Sym", "closed_form", "simplify", "symbol", "symbols"]


def symbols(names, shape=(3, 3), *, shapes=None, requires_grad=True):
    """Symbolic matrix leaves: `A, X = mf.symbols("A X", shapes={"A": (3, 3), "X": (3, 2)})`.

    `names` is a string of names separated by spaces or commas, or a list; every one gets
    `shape` unless `shapes` (a dict by name, or a list in order) says otherwise.  Returns one
    Node per name (a single Node for a single name), each holding a symbol as its data.
    """
    from ...node import Node

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
        if name in _RESERVED:  # I, 1, 0: the identity, ones and zeros in every closed form
            raise ValueError(f"symbols: the name {name!r} is how closed forms print the "
                             "identity (I), a matrix of ones (1) or zeros (0); call the symbol "
                             "something else (e.g. J)")
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
    """∂output/∂wrt as a simplified symbolic matrix (output 1×1, built from mf.symbols, or a
    closed form itself — a Sym — which is rebuilt as ops and differentiated again).

    Constant matrices in the expression keep their names (`mf.Node(M, name="M")` prints as M)
    and their structure: the rules transpose and multiply them as symbols, so the gradient of
    tr(A·M) reads Mᵀ and that of tr(M·A·N) reads MᵀNᵀ.  An unnamed array is C (C₁, C₂, … for
    several); a Python number stays a number.
    """
    from ...autograd import grad

    if isinstance(output, Sym):  # a closed form differentiated again: rebuilt as ops first
        from ...node import Node
        from ..second_order import as_node

        if not isinstance(wrt, Node) or type(wrt.data) is not Sym:
            raise TypeError("closed_form: differentiate by a symbol from mf.symbols")
        output = as_node(output, {wrt.data.attrs: wrt})
    if getattr(output, "shape", (1, 1)) != (1, 1):
        rows, cols = output.shape
        raise ValueError(f"closed_form: the expression is {rows}×{cols}; a gradient is of a "
                         "1×1 expression — reduce it (mf.sum, mf.trace), or take "
                         "mf.jacobian(y, x) of a column, mf.hessian(f, x) of a gradient's f")
    (gradient,) = grad(output, [wrt])  # on symbols, grad names the constants (symbolic_twin)
    return gradient.data


_RESERVED = {"I", "1", "0"}  # what the printer writes for the identity, ones and zeros
_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def symbolic_twin(roots):
    """The trees under `roots` with every constant matrix as a named symbolic constant and every
    node computed from one holding its symbolic expression, so that the rules transpose and
    multiply the constants as symbols (otherwise the closed form would hold one anonymous
    matrix).  Nodes that need no change are shared; the user's nodes are never changed.

    Returns (twin roots, {id(original): twin}, {id(twin): original}).
    """
    from ...graph import all_nodes
    from ...node import Node, _result
    from .expr import constant_matrix
    from .functions import from_op

    nodes, seen = [], set()
    for root in roots:  # each list has operands before results; so has their union
        for node in all_nodes(root):
            if id(node) not in seen:
                seen.add(id(node))
                nodes.append(node)
    taken = sx.symbols_of([n.data for n in nodes if type(n.data) is Sym])  # one walk for all
    taken |= {n.name for n in nodes if n.name}
    anonymous = [n for n in nodes if n.op is None and type(n.data) is not Sym and
                 n.shape != (1, 1) and (n.name is None or n.name in _RESERVED) and
                 constant_matrix(n.data).kind == "matrix"]
    generic = {}
    for index, node in enumerate(anonymous, start=1):
        name = "C" if len(anonymous) == 1 and "C" not in taken else \
            "C" + str(index).translate(_SUBSCRIPTS)
        generic[id(node)] = name

    def as_symbol(node):
        return node.data if type(node.data) is Sym else constant_matrix(
            node.data, generic.get(id(node), node.name))

    twin = {}
    for node in nodes:  # operands before results
        copy = node
        if node.op is None:
            if type(node.data) is not Sym and not (node.shape == (1, 1) and node.name is None):
                # (an unnamed 1×1 is a number: it becomes a numeric constant where it meets a
                # symbol)
                data = (Sym("matrix", (), (node.name, np.array(node.data, np.float64)), (1, 1))
                        if node.shape == (1, 1) else as_symbol(node))
                copy = Node(data, requires_grad=node.requires_grad, name=node.name)
        else:
            operands = [twin[id(x)] for x in (node.left, node.right) if x is not None]
            changed = any(t is not x for t, x in zip(operands, (node.left, node.right)))
            # rebuilt when an operand changed, even if its own data is symbolic already: then
            # the forward baked the constant in as numbers
            if changed and any(type(x.data) is Sym for x in operands):
                copy = _result(from_op(node.op, [as_symbol(x) for x in operands], node.attrs),
                               node.op, operands[0], operands[1] if len(operands) > 1 else None,
                               node.attrs, node.requires_grad)
                copy.name, copy._retains_grad = node.name, node._retains_grad
        twin[id(node)] = copy
    originals = {id(copy): node for node in nodes if (copy := twin[id(node)]) is not node}
    return [twin[id(root)] for root in roots], twin, originals


# The engine handles symbolic data only through these (see matrixflow.symbolic_hooks).
symbolic_hooks.register(
    Sym,
    constant=sx.constant_matrix,
    from_op=from_op,
    twin=symbolic_twin,
    function=lambda name, arg, attrs, out_shape: sx.apply(name, arg, attrs=attrs,
                                                          out_shape=out_shape),
    zeros=sx.zeros,
    scale=sx.scale,
)
