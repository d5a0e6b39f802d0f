"""Closed forms of second derivatives and Jacobians, from the same rules as first derivatives.

A closed form is a Sym; `as_node` rebuilds it as a tree of ops on the user's symbol Nodes, so
it can be differentiated again like any expression.  Then, in the README's notation:

- the Jacobian of y (m×1) by x (n×1), J = ∂y/∂x (m×n, Jᵢⱼ = ∂yᵢ/∂xⱼ): backward run with a
  symbolic seed U (m×1) gives x̄ = Jᵀ·U, linear in U; every rule acts on its seed column by
  column (products from the left, ⊙ with columns, sums), so putting U = I (m×m) gives Jᵀ
  itself, and v ⊙ I is read as diag(v).  Each Jacobian is checked against central
  differences of y before it is returned, so a rule that mixed columns would be refused, not
  printed;
- the Hessian of f (1×1) by x (n×1), H = ∂²f/∂x² = the Jacobian of ∇f;
- for a matrix X, the Hessian applied to V, H[V] = d/dt ∇f(X + tV) at t = 0, is the gradient
  of tr(∇f(X)ᵀ V) by X (the Hessian is symmetric), so it is one more closed form.
"""

from __future__ import annotations

import numpy as np

from ..autograd import grad
from ..graph import all_nodes
from ..node import Node
from ..ops import REGISTRY
from ..ops.base import apply1, apply2
from .seed_columns import SEED, read_diagonals, seed_untransposed, substitute, transposed
from .symbolic import Sym, closed_form, simplify
from .symbolic import expr as sx


def as_node(expression: Sym, leaves: dict) -> Node:
    """The Sym `expression` rebuilt as ops on Nodes: a symbol named in `leaves` becomes that
    Node (so it can be differentiated by), any other leaf a constant holding its symbol."""
    built = {}
    for x in sx.postorder(expression):  # operands before results, without recursion
        built[id(x)] = _build(x, [built[id(a)] for a in x.args], leaves)
    return built[id(expression)]


def _build(x: Sym, args, leaves):
    kind = x.kind
    if kind == "symbol" and x.attrs in leaves:
        return leaves[x.attrs]
    if not x.args or kind == "compare":  # a leaf, or an indicator: constant (its derivative
        return Node(x)  # is 0 wherever it is defined)
    if kind == "add":
        total = args[0]
        for term in args[1:]:
            total = total + term
        return total
    if kind == "scale":
        return x.attrs * args[0]
    if kind in ("matmul", "hadamard"):
        product = args[0]
        for factor in args[1:]:
            product = product @ factor if kind == "matmul" else product * factor
        return product
    if kind == "transpose":
        return args[0].T
    if kind == "div":
        return args[0] / args[1]
    if kind == "power":
        return args[0] ** x.attrs
    if kind == "where":  # [c]⊙a + (1 − [c])⊙b: the same values and derivatives
        return args[0] * args[1] + (1.0 - args[0]) * args[2]
    name, attrs = x.attrs
    if name == "sum":
        from ..ops import sum as total

        return total(args[0], attrs.get("axis"))
    if name == "sign":  # a step: derivative 0 where it is defined
        return Node(x)
    op = REGISTRY.get(name)
    if op is None or len(args) != op.arity:
        raise NotImplementedError(
            f"this closed form holds {name}(…), which matrixflow cannot differentiate again; "
            "differentiate the original expression instead (mf.grad with create_graph=True)")
    return apply1(op, args[0], attrs) if op.arity == 1 else apply2(op, args[0], args[1], attrs)


def _leaves_of(*nodes) -> dict:
    """{symbol name: Node} for the symbol leaves under `nodes`."""
    leaves = {}
    for node in nodes:
        for x in all_nodes(node):
            if x.op is None and type(x.data) is Sym and x.data.kind == "symbol":
                leaves.setdefault(x.data.attrs, x)
    return leaves


def _as_expression_node(y, wrt: Node) -> Node:
    """`y` as a differentiable Node: as is when it is one, rebuilt when it is a closed form."""
    if isinstance(y, Node):
        return y
    if isinstance(y, Sym):
        return as_node(y, {wrt.data.attrs: wrt})
    raise TypeError(f"give an expression built from mf.symbols (a Node) or a closed form (a "
                    f"Sym), got {type(y).__name__}")


def _check_variable(x, what: str, column: bool):
    if not isinstance(x, Node) or type(x.data) is not Sym or x.data.kind != "symbol":
        raise TypeError(f"{what}: the variable must be a symbol from mf.symbols, e.g. "
                        "x = mf.symbols('x', shape=(3, 1))")
    if column and x.shape[1] != 1:
        raise ValueError(f"{what}: the variable {x.name} is {x.shape[0]}×{x.shape[1]}; a "
                         f"{what} in closed form is for a column (n×1) — for a matrix X, "
                         "mf.hessian(f, X, direction=V) gives the Hessian applied to V")


def jacobian(y, x: Node) -> Sym:
    """J = ∂y/∂x (m×n) for y m×1 and x n×1, in closed form: Ax → A, exp(Ax) → diag(exp(Ax))A."""
    _check_variable(x, "jacobian", column=True)
    y = _as_expression_node(y, x)
    if type(y.data) is not Sym:
        raise TypeError("jacobian: build y from mf.symbols")
    if y.shape[1] != 1:
        raise ValueError(f"jacobian: y is {y.shape[0]}×{y.shape[1]}; give a column (m×1), "
                         "e.g. mf.reshape(Y, -1, 1) for vec(Y)")
    m = y.shape[0]
    seed = Node(sx.symbol(SEED, (m, 1)))
    (adjoint,) = grad(y, [x], gradient=seed)  # x̄ = Jᵀ·U, linear in U
    try:
        columns = substitute(seed_untransposed(adjoint.data), SEED, sx.identity(m))
    except ValueError as exc:
        raise ValueError("jacobian: this expression's adjoint mixes the columns of its seed, so "
                         "U = I does not give the Jacobian in closed form") from exc
    result = simplify(read_diagonals(simplify(transposed(simplify(columns)))))
    _check_against_differences(result, y.data, x)
    return result


def hessian(f, x: Node, direction=None) -> Sym:
    """H = ∂²f/∂x² (n×n) for f 1×1 and x n×1 (xᵀAx → A + Aᵀ); with direction=V (x's shape,
    a symbol), the Hessian applied to V, H[V] = d/dt ∇f(x + tV) — for matrix variables."""
    _check_variable(x, "hessian", column=direction is None)
    f = _as_expression_node(f, x)
    gradient = as_node(closed_form(f, x), _leaves_of(f) | {x.data.attrs: x})
    if direction is None:
        return jacobian(gradient, x)
    if not isinstance(direction, Node) or direction.shape != x.shape:
        raise ValueError(f"hessian: direction= must be a Node of {x.name}'s shape "
                         f"{x.shape[0]}×{x.shape[1]}, e.g. V = mf.symbols('V', "
                         f"shape={x.shape}, requires_grad=False)")
    from ..ops import trace

    return closed_form(trace(gradient.T @ direction), x)


def _check_against_differences(jacobian_form: Sym, y: Sym, x: Node, draws: int = 2):
    """Refuse a closed form that differs from central differences of y on random numbers."""
    rng = np.random.default_rng(0)
    shapes = _symbol_shapes(y, jacobian_form)
    names = set(shapes) - {SEED}
    n = x.shape[0]
    for _ in range(draws):
        values = {name: _draw(shapes[name], rng) for name in names}
        stated = np.asarray(jacobian_form.evaluate(values), dtype=float)
        numeric = np.empty((y.shape[0], n))
        eps = 1e-6
        for j in range(n):
            up, down = dict(values), dict(values)
            up[x.data.attrs] = values[x.data.attrs].copy()
            down[x.data.attrs] = values[x.data.attrs].copy()
            up[x.data.attrs][j] += eps
            down[x.data.attrs][j] -= eps
            numeric[:, j] = ((y.evaluate(up) - y.evaluate(down)) / (2 * eps)).ravel()
        if not np.all(np.isfinite(numeric)):
            continue  # outside the expression's domain: this draw says nothing
        if stated.shape != numeric.shape or not np.allclose(stated, numeric, rtol=1e-5,
                                                            atol=1e-6):
            raise ArithmeticError(
                f"jacobian: the closed form {jacobian_form} disagrees with central differences "
                "(a rule that mixes its seed's columns); differentiate entry by entry instead")


def _symbol_shapes(*expressions) -> dict:
    return {x.attrs: x.shape for expression in expressions for x in sx.postorder(expression)
            if x.kind == "symbol"}


def _draw(shape, rng):
    rows, cols = shape
    if rows == cols > 1:  # invertible, not symmetric
        return 2 * np.eye(rows) + rng.standard_normal((rows, rows)) / np.sqrt(rows)
    return rng.uniform(0.5, 1.5, shape)  # positive: inside log, sqrt and divisions
