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
import math
import numbers

import numpy as np

from .backend import array_module, device_of, is_cupy_array, to_device
from .symbolic.expr import Sym

_KEPT_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def to_matrix(data, dtype=None):
    """Return `data` as a 2-D floating array, or raise an error that says how to fix it.

    A scalar becomes 1×1; ints and bools become float64 (or `dtype` when given, which is how an
    op operand takes its partner's precision); float32 and float64 are kept.  NumPy arrays are
    not copied when they already fit, as with `np.asarray`.
    """
    if isinstance(data, Node):
        return data.data
    if type(data) is Sym:
        return data
    if isinstance(data, (numbers.Number, np.number, np.bool_)):
        if isinstance(data, (complex, np.complexfloating)):
            raise TypeError(
                f"matrixflow works on real matrices; got the complex scalar {data!r}: "
                "pass its real part (x.real) and imaginary part (x.imag) as separate real values"
            )
        if isinstance(data, np.floating) and data.dtype in _KEPT_FLOATS and dtype is None:
            return np.full((1, 1), data, dtype=data.dtype)
        return np.full((1, 1), data, dtype=dtype or np.float64)
    if is_cupy_array(data):
        array = data
    else:
        if isinstance(data, str):
            raise TypeError(
                f"matrix data must be numbers, got the string {data!r}: "
                "convert it first, e.g. float(text) or np.loadtxt(...)"
            )
        if type(data).__module__ == "torch":
            raise TypeError("matrixflow does not take torch tensors; use t.detach().numpy() "
                            "(the tensor's own graph stays in PyTorch)")
        if isinstance(data, (list, tuple)) and _holds_a_node(data):
            raise TypeError(
                "matrix data must be numbers, got a list holding Nodes: a Node is not copied "
                "into a new matrix (that would cut it from its tree); join Nodes with "
                "mf.concat([...], axis) instead"
            )
        try:
            array = np.asarray(data)
        except ValueError as exc:  # ragged nested lists
            raise ValueError(
                f"matrix data must be rectangular: every row the same length ({exc}); "
                "pad the rows or build the matrix with np.array first"
            ) from exc
    kind = array.dtype.kind
    if kind == "c":
        raise TypeError(
            f"matrixflow works on real matrices; got complex data of dtype {array.dtype}: "
            "pass x.real and x.imag as separate real matrices"
        )
    if kind not in "fiub":
        raise TypeError(
            f"matrix data must be numbers (int, float or bool); got dtype {array.dtype} "
            f"from {type(data).__name__}: convert it with np.asarray(x, dtype=float)"
        )
    if array.ndim != 2:
        if array.ndim == 0:
            array = array.reshape(1, 1)
        elif array.ndim == 1:
            raise ValueError(
                f"matrix data must be 2-D; got a 1-D array of shape {array.shape}: "
                f"use x.reshape(-1, 1) for a {array.shape[0]}×1 column or x.reshape(1, -1) "
                "for a row (a scalar is [[a]])"
            )
        else:
            raise ValueError(
                f"matrix data must be 2-D; got {array.ndim}-D shape {array.shape}: "
                "matrixflow keeps every value a matrix, so reshape it, e.g. "
                "x.reshape(x.shape[0], -1) for a batch of flattened samples"
            )
    if kind != "f":
        return array.astype(dtype or np.float64)
    if dtype is None and array.dtype not in _KEPT_FLOATS:
        return array.astype(np.float64)  # float16 and longdouble: kept types only
    return array


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
        self.op = None
        self.left = None
        self.right = None
        self.attrs = None
        self.name = name
        self._retains_grad = False
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
    def backward(self, gradient=None) -> None:
        """Accumulate ∂self/∂leaf into every leaf's `.grad` (see `matrixflow.autograd`)."""
        _autograd.backward(self, gradient)

    def zero_grad(self) -> None:
        """Reset this node's `.grad` to None (the next backward starts from zero)."""
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
        """A new leaf sharing this node's data, outside any graph."""
        return _leaf(self.data)

    # ---- conversion -------------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (copied from the GPU when it lives there)."""
        if type(self.data) is Sym:
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
        if type(self.data) is Sym:
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


_SCALARS: dict = {}  # (value, dtype char[, sign]) → (read-only 1×1 leaf, its 0-d view)


def _scalar_constant(value, dtype):
    """The constant leaf for a Python number beside a Node (`x * 0.9`) and a 0-d view of it,
    made once per number and precision: a training loop multiplies by the same numbers again
    and again.  The element-wise ops compute with the 0-d view, because NumPy broadcasts a 0-d
    operand about three times faster than a 1×1 one on small matrices."""
    key = (value, dtype.char) if value else (value, dtype.char, math.copysign(1.0, value))
    constant = _SCALARS.get(key)  # (0.0 and −0.0 are equal keys, not equal constants)
    if constant is None:
        if len(_SCALARS) > 4096:  # many different numbers: start afresh rather than grow
            _SCALARS.clear()
        data = np.full((1, 1), value, dtype=dtype)
        data.flags.writeable = False  # shared between graphs: nobody may change it
        constant = _SCALARS[key] = (_leaf(data), data.reshape(()))
    return constant


def as_operand(value, like: Node | None = None) -> Node:
    """`value` as a Node operand; a constant that is not a float array takes `like`'s dtype,
    so `x32 * 2` and `x32 * mask` stay float32, as in NumPy.  Beside a Node on a GPU, data
    without a device of its own (a number, a list) is made on that GPU; an array keeps its
    device, and the op refuses a pair from two devices."""
    if isinstance(value, Node):
        return value
    if like is not None and type(value) in (float, int) and type(like.data) is np.ndarray:
        return _scalar_constant(value, like.data.dtype)[0]
    dtype = None
    if like is not None and not (
        getattr(getattr(value, "dtype", None), "kind", None) == "f"
    ):
        dtype = like.data.dtype
    if like is not None and is_cupy_array(like.data) and _deviceless(value):
        if type(value) in (float, int):
            return _device_constant(value, like.data)
        return _leaf(to_device(to_matrix(value, dtype), device_of(like.data)))
    return _leaf(to_matrix(value, dtype))


def _deviceless(value) -> bool:
    """Data that lives on no device: numbers and nested lists (not NumPy or CuPy arrays)."""
    return not isinstance(value, np.ndarray) and not is_cupy_array(value)


_DEVICE_SCALARS: dict = {}  # (value, dtype char, sign, array type, device) → a 1×1 leaf there


def _device_constant(value, like):
    """The 1×1 constant leaf for a Python number beside GPU data `like`, made once per number,
    precision and device: filling a new device array each time costs a kernel launch."""
    key = (value, like.dtype.char, math.copysign(1.0, value), type(like), like.device.id)
    constant = _DEVICE_SCALARS.get(key)
    if constant is None:
        if len(_DEVICE_SCALARS) > 4096:
            _DEVICE_SCALARS.clear()
        cupy = array_module(like)
        with cupy.cuda.Device(like.device.id):
            # shared between graphs; the walk never writes into an array others hold (it adds
            # in place only into arrays no one else references)
            constant = _DEVICE_SCALARS[key] = _leaf(cupy.full((1, 1), value, dtype=like.dtype))
    return constant


# Imported last: the ops and the walk need the Node class defined above.
from . import autograd as _autograd  # noqa: E402
from . import ops as _ops  # noqa: E402


def _bind_operators(apply1, apply2, table):
    """Give the operators their ops (called by matrixflow.ops once every op is defined): an
    operator calls apply2(ADD, …) directly, one call fewer on the hottest path."""
    global _apply1, _apply2, _ADD, _SUB, _MUL, _DIV, _MATMUL, _NEG
    _apply1, _apply2 = apply1, apply2
    _ADD, _SUB, _MUL, _DIV = table["add"], table["sub"], table["mul"], table["div"]
    _MATMUL, _NEG = table["matmul"], table["neg"]
