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
from .symbolic import Sym, closed_form, simplify
from .symbolic import expr as sx

_SEED = "U\u0305"  # the symbolic seed's name: no user's symbol is called U̅


def as_node(expression: Sym, leaves: dict) -> Node:
    """The Sym `expression` rebuilt as ops on Nodes: a symbol named in `leaves` becomes that
    Node (so it can be differentiated by), any other leaf a constant holding its symbol."""
    built = {}
    stack = [(expression, False)]
    while stack:  # operands before results, without recursion
        x, ready = stack.pop()
        if id(x) in built:
            continue
        if not ready:
            stack.append((x, True))
            stack.extend((a, False) for a in x.args if id(a) not in built)
            continue
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
    seed = Node(sx.symbol(_SEED, (m, 1)))
    (transposed,) = grad(y, [x], gradient=seed)  # x̄ = Jᵀ·U, linear in U
    try:
        columns = _substitute(_seed_untransposed(transposed.data), _SEED, sx.identity(m))
    except ValueError as exc:
        raise ValueError("jacobian: this expression's adjoint mixes the columns of its seed, so "
                         "U = I does not give the Jacobian in closed form") from exc
    result = simplify(_read_diagonals(simplify(_transposed(simplify(columns)))))
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


def _post_order(expression: Sym) -> list:
    """Every subexpression once, each after its arguments (no recursion)."""
    order, seen, stack = [], set(), [(expression, False)]
    while stack:
        x, ready = stack.pop()
        if ready:
            order.append(x)
            continue
        if id(x) in seen:
            continue
        seen.add(id(x))
        stack.append((x, True))
        stack.extend((a, False) for a in x.args if id(a) not in seen)
    return order


def _holds_seed_transposed(x: Sym) -> bool:
    return any(y.kind == "transpose" and y.args[0].kind == "symbol" and
               y.args[0].attrs == _SEED for y in _post_order(x))


def _seed_untransposed(expression: Sym) -> Sym:
    """`expression` with each 1×1 part that holds Uᵀ written as its own transpose (sᵀ = s),
    the transposes pushed down to the leaves: (Uᵀ ⊙ r)·1 becomes 1ᵀ·(U ⊙ rᵀ), which acts on
    U column by column, as U = I needs."""
    done = {}
    for x in _post_order(expression):
        args = [done[id(a)] for a in x.args]
        if x.kind == "matmul":
            rebuilt = _scalars_to_front(_scalar_runs_untransposed(args))
        else:
            rebuilt = x if all(a is b for a, b in zip(args, x.args)) else _rebuilt(x, args)
        if rebuilt.shape == (1, 1) and rebuilt.kind != "transpose" and \
                _holds_seed_transposed(rebuilt):
            rebuilt = _transposed(rebuilt)
        done[id(x)] = rebuilt
    return done[id(expression)]


def _scalar_runs_untransposed(factors: list) -> list:
    """In a product F₁…Fₖ, each shortest run Fᵢ…Fⱼ that is 1×1 and holds Uᵀ, transposed."""
    factors = list(factors)
    position = 0
    while position < len(factors):
        if not _holds_seed_transposed(factors[position]):
            position += 1
            continue
        starts = [i for i in range(position, -1, -1) if factors[i].shape[0] == 1]
        ends = [j for j in range(position, len(factors)) if factors[j].shape[1] == 1]
        if not starts or not ends or (starts[0], ends[0]) == (0, len(factors) - 1):
            position += 1  # no 1×1 run inside, or the whole product (its own node handles it)
            continue
        i, j = starts[0], ends[0]
        run = factors[i] if i == j else sx.matmul(*factors[i:j + 1])
        factors[i:j + 1] = [_transposed(run)]
        position = i + 1
    return factors


def _holds_seed(x: Sym) -> bool:
    return any(y.kind == "symbol" and y.attrs == _SEED for y in _post_order(x))


def _scalars_to_front(factors: list) -> Sym:
    """The product F₁…Fₖ with each 1×1 run that follows a factor holding U taken out as a
    scalar factor in front, s ⊙ (…U…): U·s is s·U, which U = I keeps a valid product."""
    factors, scalars, position = list(factors), [], 0
    while position < len(factors) - 1:
        if _holds_seed(factors[position]) and factors[position + 1].shape[0] == 1:
            ends = [j for j in range(position + 1, len(factors)) if factors[j].shape[1] == 1]
            if ends:
                run = factors[position + 1:ends[0] + 1]
                scalars.append(run[0] if len(run) == 1 else sx.matmul(*run))
                del factors[position + 1:ends[0] + 1]
                continue
        position += 1
    product = factors[0] if len(factors) == 1 else sx.matmul(*factors)
    return sx.hadamard(*scalars, product) if scalars else product


def _transposed(expression: Sym) -> Sym:
    """expressionᵀ with the transposes pushed down: (AB)ᵀ = BᵀAᵀ, (A ⊙ B)ᵀ = Aᵀ ⊙ Bᵀ,
    (A + B)ᵀ = Aᵀ + Bᵀ, (Aᵀ)ᵀ = A, and a leaf or a function kept as Mᵀ."""
    flipped = {}
    for x in _post_order(expression):
        kind, args = x.kind, [flipped[id(a)] for a in x.args]
        if kind == "matmul":
            flipped[id(x)] = sx.matmul(*reversed(args))
        elif kind in ("hadamard", "add", "div", "where") or (kind == "compare"):
            flipped[id(x)] = _rebuilt(x, args)
        elif kind in ("scale", "power"):
            flipped[id(x)] = _rebuilt(x, args)
        elif kind == "transpose":
            flipped[id(x)] = x.args[0]
        elif kind in ("const", "identity") or (not x.args and x.shape[0] == x.shape[1] == 1):
            flipped[id(x)] = x
        elif kind in ("ones", "zeros"):
            flipped[id(x)] = Sym(kind, (), None, (x.shape[1], x.shape[0]))
        else:
            flipped[id(x)] = sx.transpose(x)
    return flipped[id(expression)]


def _substitute(expression: Sym, name: str, value: Sym) -> Sym:
    """`expression` with the symbol `name` replaced by `value` (shapes recomputed)."""
    done = {}
    stack = [(expression, False)]
    while stack:
        x, ready = stack.pop()
        if id(x) in done:
            continue
        if not ready:
            stack.append((x, True))
            stack.extend((a, False) for a in x.args if id(a) not in done)
            continue
        if x.kind == "symbol" and x.attrs == name:
            done[id(x)] = value
            continue
        args = [done[id(a)] for a in x.args]
        if all(a is b for a, b in zip(args, x.args)):
            done[id(x)] = x
            continue
        done[id(x)] = _rebuilt(x, args)
    return done[id(expression)]


def _rebuilt(x: Sym, args) -> Sym:
    kind = x.kind
    if kind == "add":
        return sx.add(*args)
    if kind == "hadamard":
        return sx.hadamard(*args)
    if kind == "matmul":
        return sx.matmul(*args)
    if kind == "transpose":
        return sx.transpose(args[0])
    if kind == "scale":
        return sx.scale(x.attrs, args[0])
    if kind == "div":
        return sx.div(*args)
    if kind == "power":
        return sx.power(args[0], x.attrs)
    if kind == "compare":
        return sx.compare(x.attrs, *args)
    if kind == "where":
        return sx.where(*args)
    if any(a.shape != b.shape for a, b in zip(args, x.args)):
        raise ValueError(f"{x.attrs[0]} of the seed")
    return Sym(kind, args, x.attrs, x.shape)


def _read_diagonals(expression: Sym) -> Sym:
    """What U = I leaves of v ⊙ U, read as a text writes it: v ⊙ I and I ⊙ vᵀ as diag(v),
    v ⊙ M (a column broadcast along M's rows) as diag(v)·M, M ⊙ vᵀ as M·diag(v)."""
    done = {}
    stack = [(expression, False)]
    while stack:
        x, ready = stack.pop()
        if id(x) in done:
            continue
        if not ready:
            stack.append((x, True))
            stack.extend((a, False) for a in x.args if id(a) not in done)
            continue
        args = [done[id(a)] for a in x.args]
        if x.kind == "matmul":  # 1ᵀdiag(v) = vᵀ and diag(v)1 = v
            args = _ones_through_diagonals(args)
            if len(args) == 1:
                done[id(x)] = args[0]
                continue
        if x.kind == "hadamard":
            diagonal = _as_diagonal_product(args, x.shape)
            if diagonal is not None:
                done[id(x)] = diagonal
                continue
        done[id(x)] = x if all(a is b for a, b in zip(args, x.args)) else _rebuilt(x, args)
    return done[id(expression)]


def _ones_through_diagonals(factors: list) -> list:
    factors = list(factors)
    for index in range(len(factors) - 1):
        left, right = factors[index], factors[index + 1]
        if left.kind == "ones" and left.shape[0] == 1 and _is_diag(right):
            factors[index:index + 2] = [sx.transpose(right.args[0])]
            return _ones_through_diagonals(factors)
        if right.kind == "ones" and right.shape[1] == 1 and _is_diag(left):
            factors[index:index + 2] = [left.args[0]]
            return _ones_through_diagonals(factors)
    return factors


def _is_diag(x: Sym) -> bool:
    return x.kind == "apply" and x.attrs[0] == "diag"


def _diag(vector: Sym) -> Sym:
    column = vector if vector.shape[1] == 1 else simplify(sx.transpose(vector))
    n = column.shape[0]
    return sx.apply("diag", column, out_shape=(n, n))


def _as_diagonal_product(args, shape):
    """diag(v)·M or M·diag(v) for a product ⊙ of one matrix M with columns (or rows) broadcast
    over it, v the product of those columns; None for anything else."""
    rows, cols = shape
    full = [a for a in args if a.shape == shape]
    if len(full) != 1 or rows == 1 or cols == 1:
        return None
    vectors = [a for a in args if a is not full[0]]
    (matrix,) = full
    for orientation in ((rows, 1), (1, cols)):
        if vectors and all(v.shape == orientation for v in vectors):
            vector = vectors[0] if len(vectors) == 1 else sx.hadamard(*vectors)
            if matrix.kind == "identity":
                return _diag(vector)
            return (sx.matmul(_diag(vector), matrix) if orientation[1] == 1
                    else sx.matmul(matrix, _diag(vector)))
    return None


def _check_against_differences(jacobian_form: Sym, y: Sym, x: Node, draws: int = 2):
    """Refuse a closed form that differs from central differences of y on random numbers."""
    rng = np.random.default_rng(0)
    names = (y.symbols() | jacobian_form.symbols()) - {_SEED}
    shapes = _symbol_shapes(y, jacobian_form)
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
    shapes, seen, stack = {}, set(), list(expressions)
    while stack:
        x = stack.pop()
        if id(x) in seen:
            continue
        seen.add(id(x))
        if x.kind == "symbol":
            shapes[x.attrs] = x.shape
        stack.extend(x.args)
    return shapes


def _draw(shape, rng):
    rows, cols = shape
    if rows == cols > 1:  # invertible, not symmetric
        return 2 * np.eye(rows) + rng.standard_normal((rows, rows)) / np.sqrt(rows)
    return rng.uniform(0.5, 1.5, shape)  # positive: inside log, sqrt and divisions
