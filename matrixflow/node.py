"""Node: one matrix in an expression tree.

A Node holds a 2-D floating array `data`.  A node made by an op also holds the op, its operands
`left` and `right` (the children in the tree) and the op's constants `attrs`; a leaf has none.
There is no parent pointer: a node never references the nodes built from it, so dropping the
root frees the whole tree by reference counting alone.

Operators follow NumPy and PyTorch (PEP 465): `@` is the matrix product, `*` the element-wise
(Hadamard) product ⊙, `+ - /` are element-wise with broadcasting, `**` takes a scalar exponent.
They are thin: each calls the op of the same name in `matrixflow.ops`.
"""

from __future__ import annotations

import itertools

import numpy as np

from . import symbolic_hooks as _symbolic
from .backend import device_of, to_device
from .graph import DETACHED
from .matrix_data import as_matrix


def to_matrix(data, dtype=None):
    """`data` as a 2-D floating array (see `matrix_data.as_matrix`); a Node gives its data, and
    a list holding Nodes is refused (copying a Node's numbers would cut it from its tree)."""
    if isinstance(data, Node):
        return data.data
    if isinstance(data, (list, tuple)) and _holds_a_node(data):
        raise TypeError(
            "matrix data must be numbers, got a list holding Nodes: a Node is not copied "
            "into a new matrix (that would cut it from its tree); join Nodes with "
            "mf.concat([...], axis) instead"
        )
    return as_matrix(data, dtype)


def _holds_a_node(rows) -> bool:
    """Whether a nested list has a Node in its first two levels (where a matrix keeps them)."""
    return any(isinstance(row, Node) or (isinstance(row, (list, tuple))
                                         and any(isinstance(v, Node) for v in row))
               for row in rows)


class Node:
    """A 2-D matrix in an expression tree, with reverse-mode gradients.

    Node(data, requires_grad=False, name=None): `data` is anything `to_matrix` takes.
    Attributes: data, requires_grad, grad (an array shaped like `data`, None until a backward
    reaches this node), op (None for a leaf), left, right, attrs (the op's constants), name.
    """

    __slots__ = (
        "__weakref__",
        "_retains_grad",
        "_seq",
        "attrs",
        "data",
        "grad",
        "left",
        "name",
        "op",
        "requires_grad",
        "right",
    )

    # NumPy defers to Node for mixed expressions: ndarray @ Node calls Node.__rmatmul__ and
    # returns a Node, instead of NumPy turning the Node into an object array.
    __array_ufunc__ = None

    def __init__(self, data, requires_grad=False, name=None):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name must be a string or None, got {type(name).__name__}")
        self.data = to_matrix(data)
        self.requires_grad = bool(requires_grad)
        self.grad = None
        self.op = self.left = self.right = self.attrs = None
        self.name = name
        self._retains_grad = False
        self._seq = _next_seq()

    def __setstate__(self, state):
        """Unpickled or copied: a sequence number of this process (the walk's heap needs them
        unique); operands are rebuilt before their results, so creation order still holds."""
        for name, value in state[1].items():
            setattr(self, name, value)
        self._seq = _next_seq()

    # ---- properties -------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        return self.data.shape

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def is_leaf(self) -> bool:
        return self.op is None

    @property
    def T(self) -> Node:
        return _ops.transpose(self)

    @property
    def device(self) -> str:
        return device_of(self.data)

    # ---- gradients --------------------------------------------------------------------------
    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate ∂self/∂leaf into every leaf's `.grad`, as PyTorch's `Tensor.backward`
        (see `matrixflow.autograd.backward`): `inputs` restricts which nodes accumulate,
        `create_graph=True` makes the gradients Nodes, differentiable again; `retain_graph` is
        accepted and changes nothing, since a matrixflow tree can always be walked again."""
        _backward(self, gradient, retain_graph, create_graph, inputs)

    def requires_grad_(self, requires_grad: bool = True) -> Node:
        """Set requires_grad in place and return this node, as PyTorch's.

        Only a leaf's flag can change.  As in PyTorch, where a tensor computed from tensors
        that need no grad is itself a leaf, such a result becomes a leaf here (its operands,
        constants all, are let go) and gathers `.grad` like any other."""
        requires_grad = bool(requires_grad)
        if self.op is not None and self.requires_grad:
            if requires_grad:
                return self
            raise RuntimeError(
                "requires_grad_: only a leaf's requires_grad can change, and this node is the "
                "result of an op on nodes that require grad; use y.detach() for a copy outside "
                "the tree that needs no grad")
        if self.op is not None:  # a constant result: a leaf, as PyTorch sees it
            self.op = self.left = self.right = self.attrs = None
        self.requires_grad = requires_grad
        return self

    def zero_grad(self) -> None:  # the next backward starts from zero
        self.grad = None

    def retain_grad(self) -> None:
        """Keep `.grad` on this intermediate node in the next backward (leaves always keep it)."""
        if not self.requires_grad:
            raise RuntimeError(
                "retain_grad: this node does not require grad, so no gradient reaches it; "
                "build it from a leaf with requires_grad=True"
            )
        if self.op is not None:
            self._retains_grad = True

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    def detach(self) -> Node:
        """A new leaf sharing this node's data, outside any graph (graph.DETACHED: its source)."""
        DETACHED[leaf := _leaf(self.data)] = self
        return leaf

    def clone(self) -> Node:
        """A copy with memory of its own that stays in the tree (gradients flow back through
        it), as PyTorch's `clone`; `detach()` is the copy outside the tree."""
        return _ops.clone(self)

    # ---- conversion -------------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (copied from the GPU when it lives there)."""
        if type(self.data) is _symbolic.Matrix:
            raise TypeError("a symbolic node holds an expression, not numbers: evaluate it "
                            "with node.data.evaluate(A=..., X=...)")
        return to_device(self.data, "cpu")

    def item(self) -> float:
        """The value of a 1×1 node as a Python float."""
        return float(self._scalar("item"))

    def to(self, device: str) -> Node:
        """This node on `device` ('cpu', 'cuda', 'cuda:N'): itself when already there, else a
        new leaf with the same requires_grad (the move is not recorded in the tree)."""
        moved = to_device(self.data, device)
        if moved is self.data:
            return self
        return Node(moved, requires_grad=self.requires_grad, name=self.name)

    def __array__(self, dtype=None, copy=None):
        array = self.numpy()
        if dtype is not None and array.dtype != dtype:
            return array.astype(dtype)
        return array.copy() if copy else array

    def __array_function__(self, func, types, args, kwargs):
        # np.dot(A, x), np.concatenate([x, y]) ... would turn the Node into an array and drop
        # its tree without a word; refuse, and say what records gradients.
        raise TypeError(
            f"np.{func.__name__} was given a matrixflow Node: NumPy functions do not record "
            "gradients. Use the operators and mf functions (x @ y, mf.sum, mf.concat, ...), "
            "or x.numpy() for the plain values"
        )

    def __len__(self) -> int:
        return self.data.shape[0]

    def __bool__(self) -> bool:
        return bool(self._scalar("bool"))

    def __float__(self) -> float:
        return float(self._scalar("float"))

    def __int__(self) -> int:
        return int(self._scalar("int"))

    def __format__(self, spec: str) -> str:
        if not spec:
            return str(self)
        return format(float(self._scalar(f"format with {spec!r}")), spec)

    def _scalar(self, what):
        if self.data.shape != (1, 1):
            raise ValueError(
                f"{what}() needs a 1×1 node; this one has shape {self.data.shape} "
                "(the truth value or number of a matrix is ambiguous): reduce it first, "
                "e.g. mf.sum(x), or index an entry, x[i, j]"
            )
        return self.data[0, 0]

    def __repr__(self) -> str:
        if type(self.data) is _symbolic.Matrix:
            rows, cols = self.data.shape
            return f"Node({self.data}, {rows}×{cols} symbolic)"
        body = np.array2string(self.numpy(), separator=", ", prefix="Node(")
        extras = []
        if self.op is not None:
            extras.append(f"op={self.op.name}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        if self.dtype != np.float64:
            extras.append(f"dtype={self.dtype}")
        if self.name is not None:
            extras.append(f"name={self.name!r}")
        return f"Node({body}{''.join(', ' + e for e in extras)})"

    # ---- operators (thin: each calls its op) --------------------------------------------------
    def __add__(self, other):
        return _apply2(_ADD, self, other)

    def __radd__(self, other):
        return _apply2(_ADD, other, self)

    def __sub__(self, other):
        return _apply2(_SUB, self, other)

    def __rsub__(self, other):
        return _apply2(_SUB, other, self)

    def __mul__(self, other):
        return _apply2(_MUL, self, other)

    def __rmul__(self, other):
        return _apply2(_MUL, other, self)

    def __truediv__(self, other):
        return _apply2(_DIV, self, other)

    def __rtruediv__(self, other):
        return _apply2(_DIV, other, self)

    def __matmul__(self, other):
        return _apply2(_MATMUL, self, other)

    def __rmatmul__(self, other):
        return _apply2(_MATMUL, other, self)

    def __pow__(self, exponent):
        return _ops.pow(self, exponent)

    def __rpow__(self, base):
        return _ops.rpow(base, self)

    def __neg__(self):
        return _apply1(_NEG, self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ops.abs(self)

    def __getitem__(self, index):
        return _ops.getitem(self, index)

    # Comparisons give boolean arrays (as torch's bool tensors), for masks and mf.where(x > 0,
    # x, 0); == and != keep identity: nodes are keys of the walk's sets.
    def __lt__(self, other):
        return self.data < _comparable(other)

    def __le__(self, other):
        return self.data <= _comparable(other)

    def __gt__(self, other):
        return self.data > _comparable(other)

    def __ge__(self, other):
        return self.data >= _comparable(other)

    # ---- methods, one per function of one matrix ---------------------------------------------
    def sum(self, axis=None):
        return _ops.sum(self, axis)

    def mean(self, axis=None):
        return _ops.mean(self, axis)

    def max(self, axis=None):
        return _ops.max(self, axis)

    def reshape(self, rows, cols=None):
        return _ops.reshape(self, rows, cols)

    def trace(self):
        return _ops.trace(self)

    def inv(self):
        return _ops.inv(self)

    def det(self):
        return _ops.det(self)

    def logdet(self):
        return _ops.logdet(self)

    def exp(self):
        return _ops.exp(self)

    def log(self):
        return _ops.log(self)

    def sqrt(self):
        return _ops.sqrt(self)

    def abs(self):
        return _ops.abs(self)

    def sin(self):
        return _ops.sin(self)

    def cos(self):
        return _ops.cos(self)

    def tanh(self):
        return _ops.tanh(self)

    def sigmoid(self):
        return _ops.sigmoid(self)

    def relu(self):
        return _ops.relu(self)

    def leaky_relu(self, negative_slope=0.01):
        return _ops.leaky_relu(self, negative_slope)

    def softplus(self):
        return _ops.softplus(self)

    def softmax(self, axis=1):
        return _ops.softmax(self, axis)

    def log_softmax(self, axis=1):
        return _ops.log_softmax(self, axis)


def _comparable(other):
    return other.data if isinstance(other, Node) else other


_next_seq = itertools.count().__next__  # creation order: operands always before results


def _leaf(data, requires_grad=False) -> Node:
    """A leaf around an array already known to be a valid matrix (no checks: internal use)."""
    return _result(data, None, None, None, None, requires_grad)


def _result(data, op, left, right, attrs, requires_grad) -> Node:
    """A node made by `op` (no checks: the op validated its operands).  Its sequence number
    orders the backward walk: a node is created after its operands, so visiting nodes in
    descending order meets every node after all of its consumers."""
    node = Node.__new__(Node)
    node.data = data
    node.requires_grad = requires_grad
    node.grad = None
    node.op = op
    node.left = left
    node.right = right
    node.attrs = attrs
    node.name = None
    node._retains_grad = False
    node._seq = _next_seq()
    return node


# The ops and the walk are built on Node, so Node cannot import them: they bind themselves here
# when they are imported (matrixflow.ops and matrixflow.autograd, both before any node is made).
def _bind_operators(apply1, apply2, table, ops):
    """Give the operators and methods their ops (called by matrixflow.ops once every op is
    defined): an operator calls apply2(ADD, …) directly, one call fewer on the hottest path."""
    global _apply1, _apply2, _ADD, _SUB, _MUL, _DIV, _MATMUL, _NEG, _ops
    _apply1, _apply2, _ops = apply1, apply2, ops
    _ADD, _SUB, _MUL, _DIV = table["add"], table["sub"], table["mul"], table["div"]
    _MATMUL, _NEG = table["matmul"], table["neg"]


def _bind_walk(backward):
    """Give Node.backward the walk (called by matrixflow.autograd when it is imported)."""
    global _backward
    _backward = backward
