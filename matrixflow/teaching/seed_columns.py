"""The seed of a Jacobian's backward, set to I: what makes JᵀU with U = I read Jᵀ.

Backward run on y (m×1) with a symbolic seed U (m×1) gives x̄ = JᵀU, linear in U.  Every rule
acts on its seed column by column — products from the left, ⊙ with a column, sums — so with
U = I (m×m) the same expression is Jᵀ.  Two shapes of rule output need rewriting first: a 1×1
part that holds Uᵀ is written as its own transpose (sᵀ = s), the transposes pushed down to the
leaves, and a scalar that follows U in a product is moved in front (U·s = s·U).  Afterwards
v ⊙ I reads diag(v), v ⊙ M reads diag(v)·M and 1ᵀdiag(v) reads vᵀ, as a text writes them.
Nothing here recurses: each pass is a post-order over the expression's DAG.
"""

from __future__ import annotations

from .symbolic import Sym, simplify
from .symbolic import expr as sx

SEED = "U\u0305"  # the symbolic seed's name: no user's symbol is called U̅


def _holds_seed_transposed(x: Sym) -> bool:
    return any(y.kind == "transpose" and y.args[0].kind == "symbol" and
               y.args[0].attrs == SEED for y in sx.postorder(x))


def seed_untransposed(expression: Sym) -> Sym:
    """`expression` with each 1×1 part that holds Uᵀ written as its own transpose (sᵀ = s),
    the transposes pushed down to the leaves: (Uᵀ ⊙ r)·1 becomes 1ᵀ·(U ⊙ rᵀ), which acts on
    U column by column, as U = I needs.  First every transpose of a part that holds U is
    pushed down to the leaves ((P·U·xᵀ)ᵀ = x·Uᵀ·Pᵀ), products flattened, so each Uᵀ stands
    in a chain whose 1×1 runs can be found."""
    expression = _transposes_down(expression)
    done = {}
    for x in sx.postorder(expression):
        args = [done[id(a)] for a in x.args]
        if x.kind == "matmul":
            rebuilt = _scalars_to_front(_scalar_runs_untransposed(args))
        else:
            rebuilt = x if all(a is b for a, b in zip(args, x.args)) else _rebuilt(x, args)
        if rebuilt.shape == (1, 1) and rebuilt.kind != "transpose" and \
                _holds_seed_transposed(rebuilt):
            rebuilt = transposed(rebuilt)
        done[id(x)] = rebuilt
    return done[id(expression)]


def _transposes_down(expression: Sym) -> Sym:
    """`expression` with each transpose of a part that holds U pushed to the leaves, and
    products of products flattened into one chain."""
    done = {}
    for x in sx.postorder(expression):
        args = [done[id(a)] for a in x.args]
        if x.kind == "matmul":
            rebuilt = _chain(args)
        else:
            rebuilt = x if all(a is b for a, b in zip(args, x.args)) else _rebuilt(x, args)
        if rebuilt.kind == "transpose" and rebuilt.args[0].kind != "symbol" and \
                _holds_seed(rebuilt.args[0]):
            rebuilt = transposed(rebuilt.args[0])
            if rebuilt.kind == "matmul":  # (its factors may be products themselves)
                rebuilt = _chain(rebuilt.args)
        done[id(x)] = rebuilt
    return done[id(expression)]


def _chain(factors) -> Sym:
    """The product of `factors` as one flat chain, a sum that holds U multiplied out:
    (P + Q)·x = P·x + Q·x, so that each term's chain shows where U stands."""
    flat = []
    for factor in factors:
        flat.extend(factor.args if factor.kind == "matmul" else [factor])
    for index, factor in enumerate(flat):
        if factor.kind == "add" and _holds_seed(factor) and \
                all(term.shape == factor.shape for term in factor.args):
            return sx.add(*[_chain([*flat[:index], term, *flat[index + 1:]])
                            for term in factor.args])
    return flat[0] if len(flat) == 1 else sx.matmul(*flat)


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
        factors[i:j + 1] = [transposed(run)]
        position = i + 1
    return factors


def _holds_seed(x: Sym) -> bool:
    return any(y.kind == "symbol" and y.attrs == SEED for y in sx.postorder(x))


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


def transposed(expression: Sym) -> Sym:
    """expressionᵀ with the transposes pushed down: (AB)ᵀ = BᵀAᵀ, (A ⊙ B)ᵀ = Aᵀ ⊙ Bᵀ,
    (A + B)ᵀ = Aᵀ + Bᵀ, (Aᵀ)ᵀ = A, and a leaf or a function kept as Mᵀ."""
    flipped = {}
    for x in sx.postorder(expression):
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


def substitute(expression: Sym, name: str, value: Sym) -> Sym:
    """`expression` with the symbol `name` replaced by `value` (shapes recomputed)."""
    done = {}
    for x in sx.postorder(expression):
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


def read_diagonals(expression: Sym) -> Sym:
    """What U = I leaves of v ⊙ U, read as a text writes it: v ⊙ I and I ⊙ vᵀ as diag(v),
    v ⊙ M (a column broadcast along M's rows) as diag(v)·M, M ⊙ vᵀ as M·diag(v)."""
    done = {}
    for x in sx.postorder(expression):
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
