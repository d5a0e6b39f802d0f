"""Random values inside an expression's domain: for `matrixflow explain`'s check of a closed form
and for `check_gradient`'s comparison of a claimed gradient with the true one.

A name that appears inside log, sqrt, a divisor or a fractional power needs entries > 0; one
inside inv, det, logdet or solve (its first argument) needs det > 0 and a well-conditioned
value.  `domains` reads that from the text of an expression, `sym_domains` from a symbolic
matrix (a Sym), so an expression built in Python with `mf.symbols` gets the same draws.
"""

from __future__ import annotations

import ast

import numpy as np

from . import expression

_POSITIVE = ("log", "sqrt")
_INVERTIBLE = ("inv", "det", "logdet", "solve")


def domains(text):
    """{name: set of reasons} for names that need positive entries, and for names that need
    invertible values, from where each name appears in the expression."""
    positive, invertible = {}, {}

    def mark(node, table, reason):
        for inner in ast.walk(node):
            if isinstance(inner, ast.Name) and inner.id not in expression.FUNCTIONS:
                table.setdefault(inner.id, set()).add(reason)

    for node in ast.walk(expression.parse(text).body):
        if isinstance(node, ast.Call):
            name = node.func.id
            if name in _POSITIVE:
                mark(node.args[0], positive, name)
            if name in _INVERTIBLE:
                mark(node.args[0], invertible, name)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            mark(node.right, positive, "a division")
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            exponent = expression._literal(node.right)
            if exponent is None or not float(exponent).is_integer() or exponent < 0:
                mark(node.left, positive, "a power")
    return positive, invertible


def numbers_for(shapes, rng, positive=(), invertible=()):
    """Random values inside the expression's domains.  Square matrices are never symmetric,
    so a closed form with A where Aᵀ belongs (or X⁻¹ for X⁻ᵀ) disagrees on them:

    - names inside inv, det, logdet or solve: 2I + R/√n with R standard normal (its
      eigenvalues lie within about 1 of 2: det > 0, condition number ≲ 3);
    - names inside log, sqrt, a divisor or a fractional power: entries in [0.5, 2] (with a
      dominant diagonal when they must be invertible too);
    - the rest: standard normal."""
    values = {}
    for name, (rows, cols) in shapes.items():
        square = rows == cols
        if name in invertible and square and name in positive:
            values[name] = rng.uniform(0.1, 1.0, (rows, rows)) + rows * np.eye(rows)
        elif name in positive or (name in invertible and rows == cols == 1):
            values[name] = rng.uniform(0.5, 2.0, (rows, cols))
        elif name in invertible and square:
            values[name] = 2.0 * np.eye(rows) + rng.standard_normal((rows, rows)) / np.sqrt(rows)
        else:
            values[name] = rng.standard_normal((rows, cols))
    return values


def describe_draws(shapes, positive, invertible):
    """What was asked of the check values: "x: entries > 0 (log); X: det > 0 (inv)"."""
    parts = []
    for name, (rows, cols) in shapes.items():
        needs = []
        if name in positive:
            needs.append(f"entries > 0 ({', '.join(sorted(positive[name]))})")
        if name in invertible and rows == cols:
            needs.append(f"det > 0, well-conditioned ({', '.join(sorted(invertible[name]))})")
        if needs:
            parts.append(f"{name}: {', '.join(needs)}")
    if any(r == c > 1 for r, c in shapes.values()):
        parts.append("square matrices not symmetric")
    return "; ".join(parts)


def sym_domains(sym):
    """({name: reasons} needing entries > 0, {name: reasons} needing invertible values) from
    where each symbol appears in the symbolic matrix `sym`, as `domains` reads them from text."""
    positive, invertible = {}, {}

    def mark(inner, table, reason):
        for name in inner.symbols():
            table.setdefault(name, set()).add(reason)

    stack, seen = [sym], set()
    while stack:  # a walk without recursion: closed forms can be deep
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.extend(node.args)
        if node.kind == "apply" and node.attrs[0] in _POSITIVE:
            mark(node.args[0], positive, node.attrs[0])
        elif node.kind == "apply" and node.attrs[0] in _INVERTIBLE:
            mark(node.args[0], invertible, node.attrs[0])
        elif node.kind == "div":
            mark(node.args[1], positive, "a division")
        elif node.kind == "power" and (not float(node.attrs).is_integer() or node.attrs < 0):
            mark(node.args[0], positive, "a power")
    return positive, invertible


def small_numbers_for(shapes, rng, positive=(), invertible=()):
    """Values with small integer entries inside the same domains, for a counterexample that can
    be checked by hand: entries in −3…3; 1…3 where they must be > 0; an invertible matrix has
    a dominant diagonal (n + 1 plus entries in −1…1, or 2n plus 1…2 when also > 0), so its
    det is > 0.  Square matrices are redrawn until they are not symmetric."""
    values = {}
    for name, (rows, cols) in shapes.items():
        square = rows == cols
        for _ in range(20):
            if name in invertible and square and name in positive:
                value = rng.integers(1, 3, (rows, rows)) + 2 * rows * np.eye(rows)
            elif name in positive or (name in invertible and rows == cols == 1):
                value = rng.integers(1, 4, (rows, cols))
            elif name in invertible and square:
                value = rng.integers(-1, 2, (rows, rows)) + (rows + 1) * np.eye(rows)
            else:
                value = rng.integers(-3, 4, (rows, cols))
            if not square or rows == 1 or not np.array_equal(value, value.T):
                break
        values[name] = np.asarray(value, dtype=np.float64)
    return values
