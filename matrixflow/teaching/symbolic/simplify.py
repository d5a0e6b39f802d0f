"""Bringing a symbolic gradient to the form a textbook prints.

The rules backward applies leave expressions such as tr-seeds times identities, double
transposes and the same term reached along two paths.  `simplify` rewrites, bottom up, until
nothing changes:

  x·1 = x, I·X = X, 1 ⊙ X = X (a matrix of ones), 0 terms and factors
  c·(d·X) = (cd)·X, numeric factors pulled out of products, c(−a − b) = −c(a + b)
  (Xᵀ)ᵀ = X, (AB)ᵀ = BᵀAᵀ, (A ⊙ B)ᵀ = Aᵀ ⊙ Bᵀ, sᵀ = s for 1×1 s, (Aᵀ)⁻¹ = A⁻ᵀ
  tr(s) = s for a 1×1 s
  (A⁻¹)⁻¹ = A, and A⁻¹A = AA⁻¹ = I side by side in a product (also transposed)
  a 1×1 factor inside a product moves to the front: A(s·B)C = s·(ABC)
  x / x = 1, a / (c·b) = (1/c)·(a / b), and (a / d) ⊙ d = a (the same subexpression cancels)
  c·T + d·T = (c + d)·T  (equal terms collected)
  P·X + Q·X = (P + Q)·X, X·P + X·Q = X·(P + Q)  (a common factor taken out)
"""

from __future__ import annotations

import threading

from .expr import (
    Sym,
    add,
    const,
    hadamard,
    identity,
    matmul,
    ones,
    postorder,
    scale,
    transpose,
    zeros,
)
from .hadamard import cancel_divisions, merge_powers
from .order import sort_key


def simplify(x: Sym) -> Sym:
    """The simplest equal expression these rules reach."""
    state = _STATE.__dict__
    if outermost := state.get("memo") is None:  # the rules' own simplify calls share it
        state.update(memo={}, order={}, printers={})
    try:
        for _ in range(50):
            y = _simplify(x)
            if y.same(x):
                return y
            x = y
        return x
    finally:
        if outermost:
            state.update(memo=None, order=None, printers=None)


# For one simplify call, per thread (the page serves several users at once):
# memo: key → its simplified form.  A pass's rewrite of a subexpression depends on its structure
#   alone, so one met again — shared by two parents, or unchanged since the last pass — is looked
#   up: a pass costs what changed, and a DAG is never walked as the tree it spells;
# order: key → _term_order's text, each term printed once;
# printers: the printers _term_order shares (printing.sort_key).
_STATE = threading.local()


def _simplify(x: Sym) -> Sym:
    """One bottom-up pass of the rules over x, operands first, in a loop (no recursion)."""
    memo = getattr(_STATE, "memo", None)
    memo = memo if memo is not None else {}
    for node in postorder(x, skip=lambda n: n.key in memo):
        if node.key in memo or not node.args:  # (a twin already met; a leaf)
            memo.setdefault(node.key, node)
            continue
        args = [memo[a.key] for a in node.args]
        rewrite = _RULES.get(node.kind)
        if rewrite is None:
            memo[node.key] = node if all(a is b for a, b in zip(args, node.args)) else Sym(
                node.kind, args, node.attrs, node.shape)
        else:
            memo[node.key] = rewrite(node, args)
    return memo[x.key]


def _is_const(x: Sym, value=None) -> bool:
    return x.kind == "const" and (value is None or x.attrs == value)


def _numeric_factor(x: Sym):
    """(c, rest) with x = c·rest, c a number (1 when there is none)."""
    if x.kind == "scale":
        return x.attrs, x.args[0]
    if x.kind == "const":
        return x.attrs, None
    return 1.0, x


def _with_factor(c: float, x: Sym | None, shape) -> Sym:
    if x is None:
        return const(c) if shape == (1, 1) else scale(c, ones(shape))
    if c == 0:
        return zeros(shape)
    if c == 1:
        return x
    return scale(c, x)


# ---- scale ---------------------------------------------------------------------------------
def _scale(x, args):
    (inner,) = args
    c = x.attrs
    if c == 1:
        return inner
    if c == 0 or inner.kind == "zeros":
        return zeros(x.shape)
    if inner.kind == "scale":
        return _with_factor(c * inner.attrs, inner.args[0], x.shape)
    if inner.kind == "const":
        return const(c * inner.attrs)
    if c == -1 and inner.kind == "add":  # −(a + b) = −a − b
        return add(*[scale(-1, t) for t in inner.args])
    if inner.kind == "add" and all(_numeric_factor(t)[0] < 0 for t in inner.args):
        return scale(-c, add(*[scale(-1, t) for t in inner.args]))  # c(−a − b) = −c(a + b)
    return scale(c, inner)


# ---- add: collect equal terms, then take out common factors -------------------------------
def _add(x, args):
    terms = []
    for a in args:
        terms.extend(a.args if a.kind == "add" and a.shape == x.shape else [a])
    collected = {}
    order = []
    for term in terms:
        if term.kind == "zeros":
            continue
        c, rest = _numeric_factor(term)
        key = rest.key if rest is not None else ("number",)
        if key not in collected:
            collected[key] = [0.0, rest, term.shape]
            order.append(key)
        collected[key][0] += c
    parts = [_with_factor(c, rest, shape) for c, rest, shape in
             (collected[k] for k in order) if c != 0]
    parts = [p for p in parts if p.kind != "zeros"]
    if not parts:
        return zeros(x.shape)
    if len(parts) == 1 and parts[0].shape == x.shape:
        return parts[0]
    common = _common_number(parts)
    if common is not None:  # 2Xw − 2y = 2(Xw − y)
        return scale(common, add(*[_with_factor(_numeric_factor(p)[0] / common,
                                                _numeric_factor(p)[1], p.shape)
                                   for p in parts]))
    factored = _take_out_common_factor(parts)
    if factored is not None:
        return factored
    return add(*sorted(parts, key=_term_order))


def _common_number(parts):
    """c when every term is ±c times something (c ≠ 1), else None."""
    numbers = [abs(_numeric_factor(p)[0]) for p in parts]
    if numbers[0] != 1 and all(n == numbers[0] for n in numbers) and all(
            _numeric_factor(p)[1] is not None for p in parts):
        return numbers[0]
    return None


def _term_order(term):
    """Positive terms first; among them A before Aᵀ, as a text writes A + Aᵀ."""
    cache = getattr(_STATE, "order", None)
    cache = cache if cache is not None else {}
    printers = getattr(_STATE, "printers", None)
    if (found := cache.get(term.key)) is None:
        found = cache[term.key] = (_numeric_factor(term)[0] < 0, *sort_key(
            term, printers if printers is not None else {}))
    return found


def _factors(term):
    c, rest = _numeric_factor(term)
    if rest is None:
        return c, []
    return c, list(rest.args) if rest.kind == "matmul" else [rest]


def _take_out_common_factor(parts):
    """P·X + Q·X → (P + Q)·X, or X·P + X·Q → X·(P + Q), when every term shares it."""
    split = []
    for p in parts:  # stops at the first term with one factor: a long sum rarely has one
        split.append(_factors(p))
        if len(split[-1][1]) < 2:
            return None
    for side in (-1, 0):
        first = split[0][1][side]
        if all(fs[side].same(first) for _, fs in split[1:]):
            rests = []
            for c, fs in split:
                remaining = fs[:-1] if side == -1 else fs[1:]
                rest = remaining[0] if len(remaining) == 1 else matmul(*remaining)
                rests.append(_with_factor(c, rest, rest.shape))
            inner = add(*rests)
            return matmul(inner, first) if side == -1 else matmul(first, inner)
    return None


# ---- matmul ------------------------------------------------------------------------------
def _matmul(x, args):
    factors = []
    for a in args:
        factors.extend(a.args if a.kind == "matmul" else [a])
    c = 1.0
    kept = []
    for f in factors:
        fc, rest = _numeric_factor(f)
        c *= fc
        if rest is None:  # a 1×1 number in a chain: only a factor
            continue
        if rest.kind == "zeros":
            return zeros(x.shape)
        if rest.kind == "identity":
            continue
        kept.append(rest)
    kept = _cancel_inverses(kept)
    merged = []
    for f in kept:  # ones(m×k)·ones(k×n) = k·ones(m×n): 1·1ᵀ is the matrix of ones
        if merged and f.kind == "ones" and merged[-1].kind == "ones":
            c *= f.shape[0]
            merged[-1] = ones((merged[-1].shape[0], f.shape[1]))
        else:
            merged.append(f)
    kept = merged
    if not kept:
        return _with_factor(c, identity(x.shape[0]) if x.shape[0] == x.shape[1] and
                            x.shape != (1, 1) else None, x.shape)
    scalars, kept = _scalar_factors(kept)
    if not kept:  # a product of 1×1 factors is their element-wise product
        return _with_factor(c, hadamard(*scalars) if len(scalars) > 1 else scalars[0],
                            x.shape)
    product = kept[0] if len(kept) == 1 else matmul(*kept)
    if product.shape != x.shape:  # only numbers and identities went: keep the shape
        return Sym("matmul", args, None, x.shape)
    if scalars:  # A(s·B)C = s·(ABC): the scalar written first, as a text does
        product = hadamard(*scalars, product)
    return _with_factor(c, product, x.shape)


def _inverse_of(x):
    """M when x is M⁻¹, Mᵀ when x is M⁻ᵀ; else None."""
    if x.kind == "apply" and x.attrs[0] == "inv":
        return x.args[0]
    if x.kind == "transpose" and x.args[0].kind == "apply" and x.args[0].attrs[0] == "inv":
        return transpose(x.args[0].args[0])
    return None


def _cancel_inverses(factors):
    """Drop M⁻¹·M and M·M⁻¹ (and their transposes) where they stand side by side."""
    result = []
    for f in factors:
        if result:
            previous = result[-1]
            inverse_before, inverse_here = _inverse_of(previous), _inverse_of(f)
            if (inverse_before is not None and _simplify(inverse_before).same(f)) or (
                    inverse_here is not None and _simplify(inverse_here).same(previous)):
                result.pop()
                continue
        result.append(f)
    return result


def _scalar_factors(factors):
    """(the 1×1 factors, the rest) of a product, a factor s ⊙ M counting as s and M."""
    if len(factors) < 2:
        return [], factors
    scalars, rest = [], []
    for f in factors:
        if f.shape == (1, 1):
            scalars.append(f)
        elif f.kind == "hadamard" and any(a.shape == (1, 1) for a in f.args):
            scalars += [a for a in f.args if a.shape == (1, 1)]
            matrices = [a for a in f.args if a.shape != (1, 1)]
            rest.append(matrices[0] if len(matrices) == 1 else hadamard(*matrices))
        else:
            rest.append(f)
    if rest and any(m.shape != f.shape for m, f in zip(rest, (f for f in factors
                                                              if f.shape != (1, 1)))):
        return [], factors  # s ⊙ M spread s over a row or column: not a scalar multiple
    return scalars, rest


# ---- hadamard ----------------------------------------------------------------------------
def _hadamard(x, args):
    factors = []
    for a in args:
        factors.extend(a.args if a.kind == "hadamard" else [a])
    c = 1.0
    kept = []
    for f in factors:
        fc, rest = _numeric_factor(f)
        c *= fc
        if rest is None:
            continue
        if rest.kind == "zeros":
            return zeros(x.shape)
        if rest.kind == "ones" or (rest.kind == "identity" and rest.shape == (1, 1)):
            continue
        kept.append(rest)
    if not kept:
        return _with_factor(c, None, x.shape)
    if len(kept) == 1 and kept[0].shape != x.shape:
        # a scalar or a row spread by ones: c·s·1 keeps the shape
        spread = kept[0]
        if spread.shape == (1, 1):
            return _with_factor(c, hadamard(spread, ones(x.shape)), x.shape)
        kept.append(ones(x.shape))
    kept = cancel_divisions(kept)
    if not kept:
        return _with_factor(c, None, x.shape)
    kept = merge_powers(kept)
    kept.sort(key=lambda f: f.kind == "compare")  # indicators last: Ȳ ⊙ [A > 0]
    product = kept[0] if len(kept) == 1 else hadamard(*kept)
    return _with_factor(c, product, x.shape)


# ---- transpose: pushed down to the leaves ------------------------------------------------
def _transpose(x, args):
    (inner,) = args
    if inner.shape == (1, 1):
        return inner
    kind = inner.kind
    if kind == "transpose":
        return inner.args[0]
    if kind in ("identity",):
        return inner
    if kind in ("ones", "zeros"):
        return Sym(kind, (), None, x.shape)
    if kind == "scale":
        return scale(inner.attrs, transpose(inner.args[0]))
    if kind == "matmul":
        return matmul(*[transpose(f) for f in reversed(inner.args)])
    if kind == "hadamard":
        return hadamard(*[transpose(f) for f in inner.args])
    if kind == "apply" and inner.attrs[0] == "inv" and _symmetric(inner.args[0]):
        return inner  # (S⁻¹)ᵀ = S⁻¹ for a symmetric S: (XᵀX)⁻ᵀ is (XᵀX)⁻¹
    return transpose(inner)


def _symmetric(x: Sym) -> bool:
    """Whether x = xᵀ shows in its structure (XᵀX, X·Xᵀ, A + Aᵀ, I + XᵀX, …); a symbol is not
    known to be symmetric."""
    if x.shape[0] != x.shape[1] or x.kind == "symbol":
        return False
    if x.kind in ("identity", "ones", "zeros", "const"):
        return True
    if x.kind == "add":  # A + Aᵀ: the terms' transposes are the same terms, in some order
        terms = sorted(repr(t.key) for t in x.args)
        return terms == sorted(repr(simplify(transpose(t)).key) for t in x.args)
    if x.kind == "scale":
        return _symmetric(x.args[0])
    return simplify(transpose(x)).same(x)


# ---- functions ---------------------------------------------------------------------------
def _apply(x, args):
    name = x.attrs[0]
    if name == "trace" and args[0].shape == (1, 1):
        return args[0]  # tr(s) = s
    if name == "inv" and args[0].kind == "apply" and args[0].attrs[0] == "inv":
        return args[0].args[0]  # (A⁻¹)⁻¹ = A
    if name == "inv" and args[0].kind == "transpose":  # (Aᵀ)⁻¹ = (A⁻¹)ᵀ, printed A⁻ᵀ
        return transpose(Sym("apply", args[0].args, x.attrs, x.shape))
    if name == "sum":  # sum of a 1×1 is itself; the rest is matrix algebra already
        if args[0].shape == x.shape:
            return args[0]
    return Sym("apply", args, x.attrs, x.shape)


def _power(x, args):
    (inner,) = args
    if x.attrs == 1:
        return inner
    if x.attrs == 0:
        return ones(x.shape) if x.shape != (1, 1) else const(1.0)
    if inner.kind == "const":
        return const(inner.attrs ** x.attrs)
    return Sym("power", args, x.attrs, x.shape)


def _div(x, args):
    a, b = args
    if a.same(b):  # x / x = 1 wherever it is defined
        return const(1.0) if x.shape == (1, 1) else ones(x.shape)
    if a.kind == "div":  # (p / q) / b = p / (q ⊙ b)
        return _div(x, [a.args[0], _hadamard(Sym("hadamard", (a.args[1], b), None,
                                                  x.shape if a.args[1].shape == x.shape
                                                  else b.shape), [a.args[1], b])])
    cb, rest_b = _numeric_factor(b)
    if rest_b is None and cb != 0 and a.shape == x.shape:  # divided by a number: a scale
        return _with_factor(1.0 / cb, a, x.shape)
    if rest_b is not None and cb not in (0, 1):  # a / (c·b) = (1/c)·(a / b)
        return _with_factor(1.0 / cb, _div(x, [a, rest_b]), x.shape)
    return Sym("div", args, None, x.shape)


_RULES = {
    "scale": _scale,
    "add": _add,
    "matmul": _matmul,
    "hadamard": _hadamard,
    "transpose": _transpose,
    "apply": _apply,
    "power": _power,
    "div": _div,
}
