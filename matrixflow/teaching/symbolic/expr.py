"""Sym: a symbolic matrix expression, the data a Node holds when it is built from symbols.

A Sym is an immutable tree: a leaf (a named matrix, a numeric constant, I, a matrix of ones)
or an operation on Syms.  Ops applied to Nodes holding Syms build Syms instead of computing
arrays (`from_op`), so the graph-building backward, run on symbolic leaves, returns each
gradient as a Sym — derived by the very rules that compute numeric gradients.  `simplify`
(simplify.py) brings it to textbook form; `evaluate` computes it on numbers.

Every Sym knows its shape.  Kinds:
  symbol(name) · const(value) · identity · ones · zeros
  add(terms…) · scale(c, x) · matmul(factors…) · hadamard(factors…) · transpose(x)
  div(a, b) · power(x, p) · apply(name, args…, attrs) — a function such as exp, inv, tr, sum
  compare(op, a, b) — an indicator [a op b] · where(cond, a, b)
"""

from __future__ import annotations

import itertools
import numbers
from itertools import pairwise

import numpy as np

_FLOAT = np.dtype(np.float64)


class Sym:
    """A symbolic matrix: `kind`, `args` (Syms), `attrs` (constants), `shape`."""

    __slots__ = ("_key", "args", "attrs", "kind", "shape")

    ndim = 2
    dtype = _FLOAT
    # NumPy hands ufuncs and functions on Syms to the methods below, never coercing them.
    __array_priority__ = 1000

    def __init__(self, kind, args=(), attrs=None, shape=(1, 1)):
        self.kind = kind
        self.args = tuple(args)
        self.attrs = attrs
        self.shape = (int(shape[0]), int(shape[1]))
        self._key = None

    # ---- identity -------------------------------------------------------------------------
    @property
    def key(self):
        """A structural key, an int: equal keys, equal expressions.

        Hash-consed: the key is the number `_KEYS` gives to (kind, attrs, shape, the operands'
        keys), so comparing and hashing it is O(1) however deep the expression, where a nested
        tuple would cost its whole size (and recurse: a chain of 1 000 ops overflowed it).
        Computed for the operands first, without recursion.
        """
        if self._key is None:
            for x in postorder(self, skip=lambda x: x._key is not None):
                entry = (x.kind, _freeze(x.attrs), x.shape, tuple(a._key for a in x.args))
                # a number drawn from a counter, not len(_KEYS): two threads (the page serves
                # several) must never give two structures one number
                x._key = _KEYS.setdefault(entry, next(_NUMBERS))
        return self._key

    def same(self, other) -> bool:
        return isinstance(other, Sym) and self.key == other.key

    __hash__ = None  # == builds an indicator; compare structure with .same() or .key

    @property
    def size(self) -> int:
        return self.shape[0] * self.shape[1]

    @property
    def is_scalar(self) -> bool:
        return self.shape == (1, 1)

    # ---- what rules do to the values of their operands ------------------------------------
    def __add__(self, other):
        return add(self, lift(other))

    def __radd__(self, other):
        return add(lift(other), self)

    def __sub__(self, other):
        return add(self, scale(-1, lift(other)))

    def __rsub__(self, other):
        return add(lift(other), scale(-1, self))

    def __mul__(self, other):
        return hadamard(self, lift(other))

    def __rmul__(self, other):
        return hadamard(lift(other), self)

    def __truediv__(self, other):
        return div(self, lift(other))

    def __rtruediv__(self, other):
        return div(lift(other), self)

    def __matmul__(self, other):
        return matmul(self, lift(other))

    def __rmatmul__(self, other):
        return matmul(lift(other), self)

    def __neg__(self):
        return scale(-1, self)

    def __pow__(self, exponent):
        return power(self, float(exponent))

    def __gt__(self, other):
        return compare(">", self, lift(other))

    def __ge__(self, other):
        return compare("≥", self, lift(other))

    def __lt__(self, other):
        return compare("<", self, lift(other))

    def __le__(self, other):
        return compare("≤", self, lift(other))

    def __eq__(self, other):  # an indicator matrix [A = B], as NumPy's == gives a mask
        return compare("=", self, lift(other))

    def __ne__(self, other):
        return compare("≠", self, lift(other))

    def __invert__(self):
        if self.kind == "compare":
            return compare(_NEGATED[self.attrs], *self.args)
        raise TypeError("~ applies to a symbolic indicator [A > 0] only")

    @property
    def T(self):  # the matrix-calculus name
        return transpose(self)

    def sum(self, axis=None, keepdims=True, **_):
        return apply("sum", self, attrs={"axis": axis})

    def astype(self, dtype=None, copy=True):
        return self

    def any(self):  # symbols hold no NaN: a rule's NaN test is False on them
        return False

    def all(self):  # no entry is known to be anything: take a rule's general branch
        return False

    def __bool__(self):
        raise TypeError("the truth value of a symbolic matrix is unknown")

    # NumPy functions a rule may call on its operands' values
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__" or kwargs.get("out") is not None:
            raise TypeError(f"np.{ufunc.__name__}.{method} is not supported on symbols")
        args = [lift(x) for x in inputs]
        if ufunc.__name__ in _UFUNCS:
            return _UFUNCS[ufunc.__name__](*args)
        return apply(ufunc.__name__, *args)

    def __array_function__(self, func, types, args, kwargs):
        if func is np.where:
            return where(*(lift(a) for a in args))
        raise TypeError(f"np.{func.__name__} is not supported on symbols")

    # ---- printing and evaluating ----------------------------------------------------------
    def __str__(self) -> str:
        """The text; for one too large to print (printing.MAX_TEXT), a note of its size —
        str() and repr() never raise, so that a REPL or notebook can always show a Sym."""
        from .printing import describe

        return describe(self)

    def __repr__(self) -> str:
        return f"Sym({self}, shape {self.shape[0]}×{self.shape[1]})"

    def latex(self) -> str:
        from .printing import to_latex

        return to_latex(self)

    def _repr_latex_(self):
        """A notebook shows the closed form typeset; one too large to print shows as text
        (None: IPython falls back to the note repr() gives)."""
        from .printing import TooLargeToPrint, to_latex

        try:
            return f"${to_latex(self)}$"
        except TooLargeToPrint:
            return None

    def simplify(self) -> Sym:
        from .simplify import simplify

        return simplify(self)

    def evaluate(self, values=None, **named):
        """The expression on numbers: values = {symbol name: array}."""
        from .evaluate import evaluate

        return evaluate(self, {**(values or {}), **named})

    def symbols(self) -> set[str]:
        """The names of the symbols the expression depends on (each shared subexpression
        visited once: the tree of a DAG can be exponentially larger)."""
        return symbols_of([self])


def symbols_of(exprs) -> set[str]:
    """The names of the symbols any of `exprs` depends on, their shared parts visited once (the
    nodes of a chain each hold the whole chain below them: one walk each would be quadratic)."""
    names, seen, stack = set(), set(), list(exprs)
    while stack:
        x = stack.pop()
        if id(x) not in seen:  # the expressions keep their nodes alive: ids stay unique
            seen.add(id(x))
            if x.kind == "symbol":
                names.add(x.attrs)
            stack.extend(x.args)
    return names


def postorder(root: Sym, skip=None) -> list[Sym]:
    """Every distinct subexpression of `root` (by identity), each after its operands, found
    with an explicit stack so that no depth meets Python's recursion limit.  `skip(x)` true
    leaves x and what lies under it out (what a memo already holds)."""
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        x, done = stack.pop()
        if done:
            order.append(x)
            continue
        if id(x) in seen or (skip is not None and skip(x)):
            continue
        seen.add(id(x))
        stack.append((x, True))
        stack.extend((a, False) for a in reversed(x.args) if id(a) not in seen)
    return order


# (kind, frozen attrs, shape, operand keys) → key.  It only grows: a key stays valid for the
# life of the process, so memos keyed on it (simplify's, the printer's) never go stale.
_KEYS: dict = {}
_NUMBERS = itertools.count()


_NEGATED = {">": "≤", "≤": ">", "<": "≥", "≥": "<", "=": "≠", "≠": "="}


def _freeze(attrs):
    if isinstance(attrs, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in attrs.items()))
    if isinstance(attrs, (list, tuple)):
        return tuple(_freeze(a) for a in attrs)
    if isinstance(attrs, np.ndarray):
        return ("array", attrs.shape, tuple(attrs.ravel().tolist()))
    if isinstance(attrs, slice):
        return ("slice", attrs.start, attrs.stop, attrs.step)
    return attrs


# ---- leaves ----------------------------------------------------------------------------------
def symbol(name: str, shape) -> Sym:
    return Sym("symbol", (), name, shape)


def const(value: float) -> Sym:
    return Sym("const", (), float(value), (1, 1))


def identity(n: int) -> Sym:
    return Sym("identity", (), None, (n, n))


def ones(shape) -> Sym:
    return Sym("ones", (), None, shape)


def zeros(shape) -> Sym:
    return Sym("zeros", (), None, shape)


def constant_matrix(array, name=None) -> Sym:
    """A numeric matrix met in an expression: I, 1, 0 or c when it is one, else named."""
    array = np.asarray(array, dtype=np.float64)
    if array.ndim == 0:
        array = array.reshape(1, 1)
    if array.size and np.all(array == array.flat[0]):
        c = float(array.flat[0])
        if array.shape == (1, 1):
            return const(c)
        base = ones(array.shape) if c != 0 else zeros(array.shape)
        return base if c in (0.0, 1.0) else scale(c, base)
    n = array.shape[0]
    if array.shape == (n, n) and np.array_equal(array, array[0, 0] * np.eye(n)):
        c = float(array[0, 0])
        return identity(n) if c == 1 else scale(c, identity(n))
    return Sym("matrix", (), (name or "C", array), array.shape)


def lift(value) -> Sym:
    """A Sym for `value`: a Sym as is, a number or array as a constant."""
    if isinstance(value, Sym):
        return value
    if isinstance(value, (numbers.Number, np.number, np.bool_)):
        return const(float(value))
    return constant_matrix(value)


# ---- operations (raw constructors: simplify.py does the algebra) ----------------------------
def _broadcast(*shapes):
    if all(shape == shapes[0] for shape in shapes):  # the common case, without NumPy's
        return shapes[0]                             # arrays: a sum may have 1 000 terms
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError as exc:
        raise ValueError(f"symbolic shapes {' and '.join(map(str, shapes))} do not "
                         "broadcast") from exc


def add(*terms) -> Sym:
    return Sym("add", terms, None, _broadcast(*(t.shape for t in terms)))


def scale(c, x) -> Sym:
    return Sym("scale", (x,), float(c), x.shape)


def matmul(*factors) -> Sym:
    for left, right in pairwise(factors):
        if left.shape[1] != right.shape[0]:
            raise ValueError(f"symbolic matmul: {left.shape} @ {right.shape}")
    return Sym("matmul", factors, None, (factors[0].shape[0], factors[-1].shape[1]))


def hadamard(*factors) -> Sym:
    return Sym("hadamard", factors, None, _broadcast(*(f.shape for f in factors)))


def transpose(x) -> Sym:
    return Sym("transpose", (x,), None, (x.shape[1], x.shape[0]))


def div(a, b) -> Sym:
    return Sym("div", (a, b), None, _broadcast(a.shape, b.shape))


def power(x, p) -> Sym:
    return Sym("power", (x,), float(p), x.shape)


def compare(op, a, b) -> Sym:
    return Sym("compare", (a, b), op, _broadcast(a.shape, b.shape))


def where(condition, a, b) -> Sym:
    return Sym("where", (condition, a, b), None,
               _broadcast(condition.shape, a.shape, b.shape))


def apply(name, *args, attrs=None, out_shape=None) -> Sym:
    """f(args…): a named function of matrices, with its constants `attrs` (a dict)."""
    attrs = dict(attrs or {})
    if out_shape is None:
        out_shape = _APPLY_SHAPES.get(name, lambda args, attrs: args[0].shape)(args, attrs)
    return Sym("apply", args, (name, attrs), out_shape)


def _reduced(args, attrs):
    rows, cols = args[0].shape
    axis = attrs.get("axis")
    return (1, 1) if axis is None else ((1, cols) if axis == 0 else (rows, 1))


_APPLY_SHAPES = {
    "sum": _reduced, "mean": _reduced, "max": _reduced,
    "trace": lambda args, attrs: (1, 1), "det": lambda args, attrs: (1, 1),
    "logdet": lambda args, attrs: (1, 1),
}

# the NumPy ufuncs rules apply to values, as symbolic functions
_UFUNCS = {
    "add": lambda a, b: add(a, b),
    "subtract": lambda a, b: add(a, scale(-1, b)),
    "multiply": lambda a, b: hadamard(a, b),
    "true_divide": lambda a, b: div(a, b),
    "divide": lambda a, b: div(a, b),
    "negative": lambda a: scale(-1, a),
    "greater": lambda a, b: compare(">", a, b),
    "greater_equal": lambda a, b: compare("≥", a, b),
    "less": lambda a, b: compare("<", a, b),
    "less_equal": lambda a, b: compare("≤", a, b),
    "equal": lambda a, b: compare("=", a, b),
    "not_equal": lambda a, b: compare("≠", a, b),
}
