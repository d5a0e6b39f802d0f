"""What an op is, and how one runs: on arrays, or building a node of the tree.

Notation (the README's): Y = f(A, B), L a scalar, Ȳ = ∂L/∂Y.  Every rule starts from
dL = tr(Ȳᵀ dY), substitutes the op's differential dY, and moves each term into the form
tr(Āᵀ dA) with the trace identities (linearity, tr(Mᵀ) = tr(M), tr(MN) = tr(NM),
tr(Mᵀ(N⊙P)) = tr((M⊙N)ᵀP)); what stands beside dA is Ā.

A rule is written with the operations NumPy arrays and Nodes share (`@ * + - / .T` and
matrixflow's own functions, which return arrays for arrays and Nodes for Nodes).  So the same
line computes a gradient as arrays in a plain backward and builds a differentiable graph under
`create_graph=True`: no op has two copies of its derivative.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from .. import symbolic_hooks as _symbolic
from ..backend import is_cupy_array, mismatch
from ..grad_mode import _grad_enabled
from ..node import Node, _leaf, _result
from .operands import _scalar_constant, as_operand

# The identities a derivation step may use, by the name a rule's steps give them.
IDENTITIES = {
    "linearity": "linearity: tr(M + N) = tr(M) + tr(N) and tr(cM) = c·tr(M)",
    "cyclic": "cyclic permutation: tr(MN) = tr(NM)",
    "transpose": "transpose: tr(Mᵀ) = tr(M) and (MN)ᵀ = NᵀMᵀ",
    "hadamard": "Hadamard: tr(Mᵀ(N ⊙ P)) = tr((M ⊙ N)ᵀP)",
    "scalar": "a 1×1 matrix is its own trace: s = tr(s), and a scalar factor moves freely",
    "ones": "a sum is a product with ones: column sums 1ᵀM, row sums M·1, and copies 1·b, c·1ᵀ",
    "blocks": "blocks: tr([P; Q]ᵀ[dA; dB]) = tr(Pᵀ dA) + tr(Qᵀ dB)",
    "adjoint": "adjoint: a linear map S has tr(Ȳᵀ S(dA)) = tr(S*(Ȳ)ᵀ dA), S* its adjoint",
}


class Rule:
    """How one operand's gradient is read off: the trace steps, the result, and its code.

    `trace`: the steps from this operand's term of tr(Ȳᵀ dY) to the form tr(Āᵀ dA), written
    "tr(Ȳᵀ dA·B) ={cyclic} tr(B·Ȳᵀ dA) ={transpose} tr((Ȳ·Bᵀ)ᵀ dA)": each "={name}" names the
    identity (IDENTITIES) that step uses.  `result`: the gradient, e.g. "Ā = Ȳ·Bᵀ".
    `fn(G, Y, A[, B], **attrs)`: computes it from G = Ȳ, the output Y and the operands.
    """

    __slots__ = ("fn", "operand", "result", "steps", "trace")

    def __init__(self, operand: str, trace: str, result: str, fn: Callable):
        self.operand = operand
        self.trace = trace
        self.steps = _parse_steps(trace)
        self.result = result
        self.fn = fn

    def __repr__(self) -> str:
        return f"Rule({self.operand}: {self.result})"


def _parse_steps(trace: str) -> tuple:
    """[(expression, identity name or None for the first), …] from "a ={cyclic} b …"."""
    pieces = re.split(r"\s*=\{([a-z]+)\}\s*", trace.strip())
    steps = [(pieces[0], None)]
    for name, expression in zip(pieces[1::2], pieces[2::2]):
        if name not in IDENTITIES:
            raise ValueError(f"derivation step names an unknown identity {name!r}: {trace}")
        steps.append((expression, name))
    return tuple(steps)


class Op:
    """One row of the op table: forward, differential, one Rule per operand."""

    __slots__ = (
        "_rules",
        "arity",
        "broadcasting",
        "check",
        "differential",
        "family",
        "fns",
        "forward",
        "name",
        "notes",
        "shape_error",
        "shapes",
        "summary",
    )

    def __init__(self, name, family, summary, forward, differential, rules, check, shape_error,
                 notes, shapes, broadcasting=False):
        self.name = name
        self.broadcasting = broadcasting
        self.shapes = shapes
        self.family = family
        self.summary = summary
        self.forward = forward
        self.differential = differential
        self.rules = rules
        self.check = check
        self.shape_error = shape_error
        self.notes = notes

    @property
    def rules(self) -> tuple:
        return self._rules

    @rules.setter
    def rules(self, rules):
        # The walk calls `fns` (the rules' code, padded to two) to skip two lookups per operand.
        self._rules = tuple(rules)
        self.arity = len(self._rules)
        self.fns = tuple(rule.fn for rule in self._rules) + (None,) * (2 - self.arity)

    def gradient(self, position, G, Y, *operands, **attrs):
        """The gradient of operand `position` by its rule, summed back to that operand's shape
        when the op broadcasts: what the walk computes for one operand, for callers outside it."""
        grad = self.fns[position](G, Y, *operands, **attrs)
        shape = operands[position].shape
        if self.broadcasting and grad.shape != shape:
            from .reduce import sum_to

            grad = sum_to(grad, shape)
        return grad

    def __repr__(self) -> str:
        return f"<op {self.name}: {self.summary}>"


REGISTRY: dict[str, Op] = {}


def defop(name, *, family, summary, forward, differential, rules, shapes="A: m×n → Y: m×n",
          check=None, shape_error=None, notes="", register=True, broadcasting=False):
    """Define an op once and enter it in the registry.

    `forward(A[, B], **attrs)` computes Y from arrays; `shapes` names the shapes of the
    operands and of Y for the derivation ("A: m×n, B: n×p → Y: m×p").
    `check(A[, B], **attrs)`, when given, raises a ValueError that names the op and the
    shapes before the forward runs;
    `shape_error(A, B)` words the error when NumPy rejects the shapes itself (broadcasting).
    `register=False` makes an op outside the table (an experiment, a test's planted bug).
    `broadcasting=True` marks an element-wise op with NumPy broadcasting: its rules may return
    Ȳ-shaped gradients, which the walk sums back to each operand's shape (`sum_to`, in one
    place), and its forward may take a Python number's 0-d array in place of its 1×1 leaf.
    """
    if register and name in REGISTRY:
        raise ValueError(f"op {name!r} is defined twice")
    if not 1 <= len(rules) <= 2:
        raise ValueError(f"op {name!r}: an op takes one or two operands, got {len(rules)} rules")
    op = Op(name, family, summary, forward, differential, rules, check, shape_error, notes,
            shapes, broadcasting)
    if register:
        REGISTRY[name] = op
    return op


def is_real_number(x) -> bool:
    """A Python or NumPy int or float, and not a bool (True is an int to Python)."""
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(
        x, (bool, np.bool_))


def value(x):
    """The array behind `x`: its data for a Node, `x` itself for an array."""
    return x.data if isinstance(x, Node) else x


def _is_matrix_array(x) -> bool:
    """A 2-D float array (NumPy or CuPy): what the rules compute with in a plain backward."""
    return (getattr(x, "ndim", 0) == 2 and not isinstance(x, Node)
            and getattr(x.dtype, "kind", None) == "f")  # a torch dtype has no kind


_FLOAT64, _FLOAT32 = np.dtype(np.float64), np.dtype(np.float32)
_NDARRAY = np.ndarray


def _same_device(op: Op, A, B) -> None:
    """Raise DeviceMismatchError naming the op when A and B live on different devices (a NumPy
    array and a CuPy one, or two GPUs); never reached by two NumPy arrays."""
    if is_cupy_array(A) and is_cupy_array(B) and A.device.id == B.device.id:
        return
    error = mismatch(op.name, A, B)
    if error is not None:
        raise error


def _with_number(op: Op, a, b):
    """(a, b, A, B) for one operand a Node of NumPy data and the other a Python number (x * 0.9,
    1 - x): the number as its cached constant leaf, and as the array the forward computes with
    (its 0-d view for a broadcasting op).  The hot path of training loops, without the general
    conversions; None when the operands are anything else."""
    if a.__class__ is Node:
        node, number, number_right = a, b, True
    else:
        node, number, number_right = b, a, False
    cls = number.__class__
    if (cls is not float and cls is not int) or node.data.__class__ is not np.ndarray:
        return None
    if op.check is not None:
        return None  # an op that checks its operands' shapes wants the 1×1 constant
    leaf, zero_d = _scalar_constant(number, node.data.dtype)
    constant = zero_d if op.broadcasting else leaf.data
    if number_right:
        return node, leaf, node.data, constant
    return leaf, node, constant, node.data


def _array_pair(value, like: Node) -> bool:
    """A 2-D float64/float32 NumPy array beside a Node of NumPy data (X_batch @ W): used as a
    constant leaf as it is, without the general checks."""
    return (value.__class__ is np.ndarray and like.data.__class__ is np.ndarray
            and value.ndim == 2 and value.dtype in (_FLOAT64, _FLOAT32))


def _operand(op: Op, value, like=None) -> Node:
    """`value` as an operand of `op`; a conversion error names the op."""
    try:
        return as_operand(value, like)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{op.name}: {exc}") from exc


def _on_arrays(op: Op, arrays, attrs):
    """The forward on plain arrays (the rules' own use), its errors named by op and shapes."""
    try:
        return op.forward(*arrays, **attrs) if attrs else op.forward(*arrays)
    except (ValueError, IndexError, np.linalg.LinAlgError) as exc:
        raise _failure(op, exc, arrays) from exc
    except TypeError as exc:  # CuPy refusing a NumPy array: say which devices met
        if len(arrays) == 2 and (error := mismatch(op.name, *arrays)) is not None:
            raise error from exc
        raise


def apply1(op: Op, a, attrs=None):
    """Y = op(A): an array for a float array, else a Node (recorded unless no_grad)."""
    if a.__class__ is not Node:
        if not isinstance(a, Node):
            if _is_matrix_array(a):
                return _on_arrays(op, (a,), attrs)
            a = _operand(op, a)
    data_a = a.data
    if op.check is not None:
        op.check(data_a, **attrs) if attrs else op.check(data_a)
    if data_a.__class__ is not _NDARRAY and data_a.__class__ is _symbolic.Matrix:
        return _symbolic_result(op, (a,), attrs)
    try:
        data = op.forward(data_a, **attrs) if attrs else op.forward(data_a)
    except (ValueError, IndexError, np.linalg.LinAlgError) as exc:
        raise _failure(op, exc, (data_a,)) from exc
    if not _grad_enabled.get():
        return _leaf(data)
    return _result(data, op, a, None, attrs, a.requires_grad)


def apply2(op: Op, a, b, attrs=None):
    """Y = op(A, B): an array for two float arrays, else a Node (recorded unless no_grad).

    A Python scalar or array operand beside a Node becomes a constant leaf of the Node's
    precision.
    """
    numbers = None
    if a.__class__ is not Node or b.__class__ is not Node:  # the common case skips this
        if a.__class__ is Node or b.__class__ is Node:
            numbers = _with_number(op, a, b)
        if numbers is not None:
            a, b, data_a, data_b = numbers  # (an op with a check never takes this path)
        elif a.__class__ is Node and _array_pair(b, a):
            b = _leaf(b)
        elif b.__class__ is Node and _array_pair(a, b):
            a = _leaf(a)
        else:
            a_is_node = isinstance(a, Node)
            b_is_node = isinstance(b, Node)
            if not a_is_node:
                if not b_is_node and _is_matrix_array(a) and _is_matrix_array(b):
                    return _on_arrays(op, (a, b), attrs)
                a = _operand(op, a, b if b_is_node else None)
            if not b_is_node:
                b = _operand(op, b, a)
    if numbers is None:
        data_a, data_b = a.data, b.data
        if op.check is not None:
            op.check(data_a, data_b, **attrs) if attrs else op.check(data_a, data_b)
    # Two NumPy arrays skip this with the two comparisons a symbols test alone would cost.
    if data_a.__class__ is not data_b.__class__ or data_a.__class__ is not _NDARRAY:
        if data_a.__class__ is _symbolic.Matrix or data_b.__class__ is _symbolic.Matrix:
            return _symbolic_result(op, (a, b), attrs)
        _same_device(op, data_a, data_b)
    try:
        data = op.forward(data_a, data_b, **attrs) if attrs else op.forward(data_a, data_b)
    except (ValueError, IndexError, np.linalg.LinAlgError) as exc:
        raise _failure(op, exc, (data_a, data_b)) from exc
    if not _grad_enabled.get():
        return _leaf(data)
    return _result(data, op, a, b, attrs, a.requires_grad or b.requires_grad)


def _symbolic_result(op: Op, operands, attrs):
    """op on Nodes holding symbolic matrices: a node whose data is the expression op(…)."""
    symbolic = _symbolic.Matrix
    args = [x.data if type(x.data) is symbolic else _symbolic.constant(x.data, x.name)
            for x in operands]
    data = _symbolic.from_op(op, args, attrs)
    if not _grad_enabled.get():
        return _leaf(data)
    requires_grad = any(x.requires_grad for x in operands)
    right = operands[1] if len(operands) == 2 else None
    return _result(data, op, operands[0], right, attrs, requires_grad)


def _failure(op: Op, exc: Exception, arrays) -> Exception:
    """The error to raise when NumPy rejects an op's operands: named by op and shapes."""
    shapes = " and ".join(str(x.shape) for x in arrays)
    if isinstance(exc, np.linalg.LinAlgError):
        return np.linalg.LinAlgError(f"{op.name}: {exc} (operand shapes {shapes})")
    if op.shape_error is not None and isinstance(exc, ValueError):
        return ValueError(op.shape_error(*arrays))
    return type(exc)(f"{op.name}: {exc} (operand shapes {shapes})")


def broadcast_error(symbol: str):
    """A shape_error for element-wise binary ops: NumPy's broadcasting rule, in words."""

    def describe(a, b):
        return (
            f"{symbol}: shapes {a.shape} and {b.shape} cannot be broadcast — each dimension "
            "must be equal, or 1 in one operand: (m,n) goes with (m,n), (1,n), (m,1) or (1,1)"
        )

    return describe


def check_axis(name: str, axis):
    """Normalise a reduction axis to None, 0 or 1 (matrices have two), or raise."""
    if axis is None:
        return None
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{name}: axis must be None, 0 or 1, got {axis!r}")
    if axis in (0, -2):
        return 0
    if axis in (1, -1):
        return 1
    raise ValueError(
        f"{name}: axis must be None (all entries), 0 (down the rows) or 1 (across the "
        f"columns) for a matrix; got {axis}"
    )
