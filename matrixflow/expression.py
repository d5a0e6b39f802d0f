"""A small expression language for `matrixflow explain`: Python syntax over matrices.

    trace(X.T @ A @ X)      a.T @ inv(X) @ b      logdet(X)      sum(exp(X @ w) * y)

Names are matrices; `@` is the matrix product, `*` and `/` element-wise, `+ -` with
broadcasting, `**` a constant power, `.T` the transpose, and the functions below.  The text is
parsed with Python's `ast` and only these forms are accepted: nothing else is evaluated.
"""

from __future__ import annotations

import ast
import operator

from . import ops

FUNCTIONS = {
    name: getattr(ops, name)
    for name in ("trace", "inv", "det", "logdet", "exp", "log", "sqrt", "abs", "sin", "cos",
                 "tanh", "sigmoid", "relu", "softplus", "sum", "mean", "max", "transpose",
                 "solve", "softmax", "log_softmax", "leaky_relu", "mse_loss")
}
FUNCTIONS["tr"] = ops.trace

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: operator.truediv, ast.MatMult: operator.matmul, ast.Pow: operator.pow}


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


def _check(node, text):
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        _check(node.left, text)
        _check(node.right, text)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        _check(node.operand, text)
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            called = ast.unparse(node.func)
            raise ExpressionError(f"unknown function {called!r} in {text!r}; the functions are "
                                  f"{', '.join(sorted(FUNCTIONS))}")
        if node.keywords:
            raise ExpressionError(f"{node.func.id}(): give its arguments by position")
        for argument in node.args:
            _check(argument, text)
    elif isinstance(node, ast.Attribute):
        if node.attr != "T":
            raise ExpressionError(f"only .T is allowed after a matrix, got .{node.attr}")
        _check(node.value, text)
    elif isinstance(node, ast.Name):
        if node.id in FUNCTIONS:
            raise ExpressionError(f"{node.id} is a function: call it, {node.id}(...)")
    elif isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not \
            isinstance(node.value, bool):
        pass
    else:
        raise ExpressionError(f"{ast.unparse(node)!r} is not allowed in an expression: use "
                              "names, numbers, + - * / @ **, .T and the functions")


def evaluate(text: str, values: dict):
    """The expression with each name bound to values[name] (Nodes, symbols or numbers)."""
    tree = parse(text)
    missing = [name for name in names(text) if name not in values]
    if missing:
        raise ExpressionError(f"no value for {', '.join(missing)}")
    return _evaluate(tree.body, values)


def _evaluate(node, values):
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](_evaluate(node.left, values), _evaluate(node.right, values))
    if isinstance(node, ast.UnaryOp):
        operand = _evaluate(node.operand, values)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.Call):
        return FUNCTIONS[node.func.id](*(_evaluate(a, values) for a in node.args))
    if isinstance(node, ast.Attribute):
        return _evaluate(node.value, values).T
    if isinstance(node, ast.Name):
        return values[node.id]
    return node.value
