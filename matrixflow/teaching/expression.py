"""A small expression language for `matrixflow explain`: Python syntax over matrices.

    trace(X.T @ A @ X)      a.T @ inv(X) @ b      logdet(X)      sum(exp(X @ w) * y)
    mse_loss(X @ w, y)      sum(concat([A, B], 1))      sum(X[0:2, 1])      reshape(X, 1, -1)
    sum(max_pool(X, (1, 4, 4), 2))      sum(im2col(X, (1, 4, 4), 3, 1, 1) @ W)
    sum(dropout(X, 0.5, 0) ** 2)        sum(batch_norm(X) * A)

Names are matrices; `@` is the matrix product, `*` and `/` element-wise, `+ -` with
broadcasting, `**` a constant power, `.T` the transpose, `X[i, j:k]` indexing with integers and
slices, and the functions below.  The text is parsed with Python's `ast` and only these forms
are accepted: nothing else is evaluated.  Each function's arguments are checked before anything
runs: their number, and the constants (an axis, a slope, a reduction, a size) that must be
written as literals.  The layer ops take what makes them one function of their input:
im2col, col2im and max_pool an image_shape (C, H, W), a kernel size and optionally stride and
padding (ints or pairs); dropout a probability p (0.5) and a seed (0) that fix its mask;
batch_norm normalises with the batch's statistics (PyTorch's training mode), eps optional.
"""

from __future__ import annotations

import ast
import math
import operator
from typing import NamedTuple

from .. import ops


class Param(NamedTuple):
    name: str
    kind: str  # matrix, axis, number, reduction, size, matrices, image, window, padding,
    # probability, seed
    optional: bool = False


def _params(text):
    """"x, axis?" → (Param("x", "matrix"), Param("axis", "axis", optional=True))."""
    kinds = {"x": "matrix", "a": "matrix", "b": "matrix", "input": "matrix",
             "target": "matrix", "axis": "axis", "negative_slope": "number",
             "delta": "number", "reduction": "reduction", "rows": "size", "cols": "size",
             "nodes": "matrices", "image_shape": "image", "kernel_size": "window",
             "stride": "window", "padding": "padding", "p": "probability", "seed": "seed",
             "eps": "number"}
    result = []
    for word in text.split(", "):
        name = word.rstrip("?")
        result.append(Param(name, kinds[name], word.endswith("?")))
    return tuple(result)


_ONE = "x"
SIGNATURES = {
    **{name: _params(_ONE) for name in (
        "trace", "tr", "inv", "det", "logdet", "exp", "log", "sqrt", "abs", "sin", "cos",
        "tanh", "sigmoid", "relu", "softplus", "transpose")},
    **{name: _params("x, axis?") for name in ("sum", "mean", "max", "softmax", "log_softmax")},
    "leaky_relu": _params("x, negative_slope?"),
    "solve": _params("a, b"),
    **{name: _params("input, target, reduction?") for name in (
        "mse_loss", "l1_loss", "cross_entropy", "binary_cross_entropy_with_logits")},
    "huber_loss": _params("input, target, reduction?, delta?"),
    "concat": _params("nodes, axis?"),
    "reshape": _params("x, rows, cols"),
    **{name: _params("x, image_shape, kernel_size, stride?, padding?")
       for name in ("im2col", "col2im", "max_pool")},
    "dropout": _params("x, p?, seed?"),
    "batch_norm": _params("x, eps?"),
}
FUNCTIONS = {name: getattr(ops, "trace" if name == "tr" else name) for name in SIGNATURES}
# the two layer ops as functions of their input alone: a mask fixed by a seed, batch statistics
FUNCTIONS["dropout"] = lambda x, p=0.5, seed=0: ops.dropout(x, p, rng=seed)
FUNCTIONS["batch_norm"] = lambda x, eps=1e-5: ops.batch_norm(x, training=True, eps=eps)

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: operator.truediv, ast.MatMult: operator.matmul, ast.Pow: operator.pow}
_REDUCTIONS = ("mean", "sum", "none")


class ExpressionError(ValueError):
    """The text is not an expression of the language; the message says what is not allowed."""


def parse(text: str) -> ast.Expression:
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"cannot parse {text!r}: {exc.msg}") from exc
    _check(tree.body, text)
    return tree


def names(text: str) -> list[str]:
    """The matrix names the expression uses, in order of appearance."""
    found = []
    named = [node for node in ast.walk(parse(text).body)
             if isinstance(node, ast.Name) and node.id not in FUNCTIONS]
    for node in sorted(named, key=lambda n: (n.lineno, n.col_offset)):
        if node.id not in found:
            found.append(node.id)
    return found


def usage(name: str) -> str:
    """How a function is called: "sum(x[, axis])"."""
    required = [p.name for p in SIGNATURES[name] if not p.optional]
    optional = [p.name for p in SIGNATURES[name] if p.optional]
    inside = ", ".join(required) + "".join(f"[, {p}" for p in optional) + "]" * len(optional)
    return f"{name}({inside})"


def _count(params) -> str:
    low = sum(not p.optional for p in params)
    high = len(params)
    if low == high:
        return f"{low} argument{'s' if low != 1 else ''}"
    return f"{low} to {high} arguments" if high - low > 1 else f"{low} or {high} arguments"


def _literal(node):
    """The number a literal stands for (-2, 0.5), or None when `node` is not one."""
    sign = 1
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        sign = -1 if isinstance(node.op, ast.USub) else 1
        node = node.operand
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not \
            isinstance(node.value, bool):
        return sign * node.value
    return None


def _check_argument(function, param, node, text):
    shown = ast.unparse(node)
    where = f"{function}(…): {param.name}"
    if param.kind == "matrix":
        _check(node, text)
    elif param.kind == "matrices":
        if not isinstance(node, (ast.List, ast.Tuple)) or not node.elts:
            raise ExpressionError(f"{where} must be a list of matrices, e.g. "
                                  f"{function}([A, B], 0); got {shown}")
        for element in node.elts:
            _check(element, text)
    elif param.kind == "reduction":
        if not (isinstance(node, ast.Constant) and node.value in _REDUCTIONS):
            raise ExpressionError(f"{where} must be 'mean', 'sum' or 'none', got {shown}")
    elif param.kind in _GEOMETRY:
        count, low, what = _GEOMETRY[param.kind]
        numbers = _literals(node)
        if numbers is None or len(numbers) not in count or not all(
                isinstance(n, int) and n >= low for n in numbers):
            raise ExpressionError(f"{where} must be {what}, written out; got {shown}")
    else:
        number = _literal(node)
        if param.kind == "axis" and (not isinstance(number, int) or number not in (0, 1, -1)):
            raise ExpressionError(f"{where} must be 0 (down the rows) or 1 (across the "
                                  f"columns), written as a number; got {shown}")
        if param.kind == "size" and (not isinstance(number, int) or not (
                number > 0 or number == -1)):
            raise ExpressionError(f"{where} must be a positive integer (or -1 for the rest), "
                                  f"written as a number; got {shown}")
        if param.kind == "number" and number is None:
            raise ExpressionError(f"{where} must be a number written out (e.g. 0.1); got "
                                  f"{shown}")
        if param.kind == "probability" and (number is None or not 0 <= number <= 1):
            raise ExpressionError(f"{where} must be a probability from 0 to 1 written out "
                                  f"(e.g. 0.5); got {shown}")
        if param.kind == "seed" and (not isinstance(number, int) or number < 0):
            raise ExpressionError(f"{where} must be an integer ≥ 0 written out (the mask's "
                                  f"seed); got {shown}")


# an image op's constants: (how many numbers, the least each may be, what to write)
_GEOMETRY = {
    "image": ((3,), 1, "(channels, height, width), three positive integers, e.g. (1, 4, 4)"),
    "window": ((1, 2), 1, "a positive integer or a pair of them, e.g. 2 or (2, 3)"),
    "padding": ((1, 2), 0, "an integer ≥ 0 or a pair of them, e.g. 1 or (1, 0)"),
}


def _literals(node):
    """The integers or numbers a literal or a tuple of literals stands for, or None."""
    parts = node.elts if isinstance(node, (ast.Tuple, ast.List)) else [node]
    numbers = [_literal(part) for part in parts]
    return None if any(n is None for n in numbers) else numbers


def _check_call(node, text):
    if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
        called = ast.unparse(node.func)
        raise ExpressionError(f"unknown function {called!r} in {text!r}; the functions are "
                              f"{', '.join(sorted(FUNCTIONS))}")
    name = node.func.id
    if node.keywords:
        raise ExpressionError(f"{name}(): give its arguments by position, {usage(name)}")
    params = SIGNATURES[name]
    given = len(node.args)
    if not sum(not p.optional for p in params) <= given <= len(params):
        raise ExpressionError(f"{ast.unparse(node)}: {name} takes {_count(params)}, "
                              f"{usage(name)}; got {given}")
    for param, argument in zip(params, node.args):
        _check_argument(name, param, argument, text)


def _check_index(node, text):
    parts = node.elts if isinstance(node, ast.Tuple) else [node]
    if len(parts) > 2:
        raise ExpressionError(f"an index has at most two parts, rows and columns; got "
                              f"[{ast.unparse(node)}]")
    for part in parts:
        bounds = [part.lower, part.upper, part.step] if isinstance(part, ast.Slice) else [part]
        for bound in bounds:
            if bound is not None and not isinstance(_literal(bound), int):
                raise ExpressionError(
                    f"an index is made of integers and slices written out (X[0], X[1:3, 0], "
                    f"X[:, -1]); got [{ast.unparse(node)}]")


def _check(node, text):
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        _check(node.left, text)
        _check(node.right, text)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        _check(node.operand, text)
    elif isinstance(node, ast.Call):
        _check_call(node, text)
    elif isinstance(node, ast.Attribute):
        if node.attr != "T":
            raise ExpressionError(f"only .T is allowed after a matrix, got .{node.attr}")
        _check(node.value, text)
    elif isinstance(node, ast.Subscript):
        _check(node.value, text)
        _check_index(node.slice, text)
    elif isinstance(node, ast.Name):
        if node.id in FUNCTIONS:
            raise ExpressionError(f"{node.id} is a function: call it, {usage(node.id)}")
    elif _literal(node) is not None:
        if not math.isfinite(_literal(node)):
            written = ast.get_source_segment(text, node) or ast.unparse(node)
            raise ExpressionError(f"{written} is not a finite number (a float is at most "
                                  "about 1.8e308)")
    else:
        raise ExpressionError(f"{ast.unparse(node)!r} is not allowed in an expression: use "
                              "names, numbers, + - * / @ **, .T, X[i, j] and the functions")


def evaluate(text: str, values: dict):
    """The expression with each name bound to values[name] (Nodes, symbols or numbers)."""
    tree = parse(text)
    missing = [name for name in names(text) if name not in values]
    if missing:
        raise ExpressionError(f"no value for {', '.join(missing)}")
    return _evaluate(tree.body, values)


def _argument(param, node, values):
    if param.kind == "matrix":
        return _evaluate(node, values)
    if param.kind == "matrices":
        return [_evaluate(element, values) for element in node.elts]
    if param.kind == "reduction":
        return node.value
    if param.kind in _GEOMETRY:
        numbers = _literals(node)
        return tuple(numbers) if isinstance(node, (ast.Tuple, ast.List)) else numbers[0]
    return _literal(node)


def _index(node):
    parts = node.elts if isinstance(node, ast.Tuple) else [node]
    index = []
    for part in parts:
        if isinstance(part, ast.Slice):
            index.append(slice(*(None if b is None else _literal(b)
                                 for b in (part.lower, part.upper, part.step))))
        else:
            index.append(_literal(part))
    return tuple(index) if len(index) == 2 else index[0]


def _evaluate(node, values):
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](_evaluate(node.left, values), _evaluate(node.right, values))
    if isinstance(node, ast.UnaryOp):
        operand = _evaluate(node.operand, values)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.Call):
        name = node.func.id
        return FUNCTIONS[name](*(_argument(p, a, values)
                                 for p, a in zip(SIGNATURES[name], node.args)))
    if isinstance(node, ast.Attribute):
        return _evaluate(node.value, values).T
    if isinstance(node, ast.Subscript):
        return _evaluate(node.value, values)[_index(node.slice)]
    if isinstance(node, ast.Name):
        return values[node.id]
    number = _literal(node)
    # arithmetic on numbers is float arithmetic, so 9 ** 9 ** 9 overflows at once instead of
    # computing a Python integer with 370 million digits
    return float(number) if isinstance(number, int) and not isinstance(number, bool) else number
