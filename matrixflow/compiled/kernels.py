"""Kernels: the hot ops' forwards and rules written as the program's own lines.

Each is the op's own NumPy expression, call for call — `G @ B.T` as np.matmul(G, B.T), `-G` as
np.negative(G) — so it gives the rule's bits exactly; what it adds is knowledge the generic call
hides: which arguments it reads (an operand a rule never reads dies after the forward), whether
its result is fresh or one of its arguments (add's rules pass Ȳ on), and which argument may
receive the result in place (`out=`) once nothing else will read it.

Changes of call, each proved equal (and the last two checked on this NumPy at first use, so a
NumPy that computed them otherwise would get the plain calls):
- relu's rule reads Y instead of A, because Y = max(A, 0) ≤ 0 exactly where A ≤ 0 (NaN:
  neither; −0 and −∞: both), so the mask ~(Y ≤ 0) is the rule's ~(A ≤ 0) and A need not outlive
  the forward; and since Y is never below 0 (it is ≥ 0 or NaN), ~(Y ≤ 0) is Y ≠ 0, one
  comparison instead of a comparison and a negation.
- mse_loss computes D = A − B once, in its forward, and its rules read D (the eager rules compute
  the same subtraction again); the rule's factor 2·(Ȳ/k) is computed once when Ȳ is the seed.
- relu's forward max(A, 0) takes its 0 from a zero array of A's shape: the same maximum entry by
  entry (NaN kept, max(−0, 0) = +0 either way), run by NumPy's contiguous loop instead of its
  much slower array-with-scalar one.
- A product whose inner dimension is 1 (a column times a row) is `outer`: NumPy's matmul runs
  that case in its own loop, each entry 0 + a·b, which is a·b with −0 made +0 — here one
  element-wise product and one + 0.0, instead of a loop that does not vectorise.

Arguments by position: a forward's (A, B, S); a rule's (G, Y, A, B, S), G = Ȳ, S the value the
forward saved (mse_loss's D).  Kernels run on NumPy arrays only (the program falls back to the
generic calls for CuPy).
"""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

import numpy as np

from ..ops.structure import _is_basic


class Spec(NamedTuple):
    """`template` formats with the argument names ({0}, {1} …), {out} (", out=name" when
    the result goes in place, else "") and {f} (the factor); `reads` and `candidates` are
    argument positions; `result`: "fresh" (a new array), "alias" (argument 0 itself, no call
    made); `factor`: an expression of G ({0}) the program computes once when G is a constant."""

    template: str
    reads: tuple
    candidates: tuple = ()
    result: str = "fresh"
    shape: object = None  # the result's shape from the read arguments' (None: broadcasting)
    factor: str | None = None


class Kernel(NamedTuple):
    forward: Spec | None
    rules: tuple  # one Spec or None per operand
    saves: Spec | None = None  # computed before the forward, read by forward and rules as S


def _alias_of_g():
    return Spec("{0}", (0,), result="alias")


_MATMUL = Spec("np.matmul({0}, {1}{out})", (0, 1), shape=lambda a, b: (a[0], b[1]))
_OUTER = Spec("outer({0}, {1}{out})", (0, 1), shape=lambda a, b: (a[0], b[1]))
_MATMUL_A = Spec("np.matmul({0}, {3}.T{out})", (0, 3), shape=lambda g, b: (g[0], b[0]))
_OUTER_A = Spec("outer({0}, {3}.T{out})", (0, 3), shape=lambda g, b: (g[0], b[0]))
_MATMUL_B = Spec("np.matmul({2}.T, {0}{out})", (2, 0), shape=lambda a, g: (a[1], g[1]))
_OUTER_B = Spec("outer({2}.T, {0}{out})", (2, 0), shape=lambda a, g: (a[1], g[1]))

KERNELS = {
    "matmul": Kernel(_MATMUL, (_MATMUL_A, _MATMUL_B)),  # Ā = Ȳ·Bᵀ, B̄ = Aᵀ·Ȳ
    "add": Kernel(Spec("np.add({0}, {1}{out})", (0, 1), (0, 1)),
                  (_alias_of_g(), _alias_of_g())),
    "sub": Kernel(Spec("np.subtract({0}, {1}{out})", (0, 1), (0, 1)),
                  (_alias_of_g(), Spec("np.negative({0}{out})", (0,), (0,)))),
    "neg": Kernel(Spec("np.negative({0}{out})", (0,), (0,)),
                  (Spec("np.negative({0}{out})", (0,), (0,)),)),
    "mul": Kernel(Spec("np.multiply({0}, {1}{out})", (0, 1), (0, 1)),
                  (Spec("np.multiply({0}, {3}{out})", (0, 3), (0,)),    # Ā = Ȳ ⊙ B
                   Spec("np.multiply({0}, {2}{out})", (0, 2), (0,)))),  # B̄ = Ȳ ⊙ A
    "tanh": Kernel(Spec("np.tanh({0}{out})", (0,), (0,)),  # Ā = Ȳ ⊙ (1 − Y ⊙ Y)
                   (Spec("np.multiply({0}, np.subtract(1.0, np.multiply({1}, {1})){out})",
                         (0, 1), (0,)),)),
    "relu": Kernel(Spec("np.maximum({0}, 0{out})", (0,), (0,)),  # Ā = Ȳ ⊙ [Y > 0]
                   (Spec("np.multiply({0}, np.not_equal({1}, 0){out})", (0, 1), (0,)),)),
    "exp": Kernel(Spec("np.exp({0}{out})", (0,), (0,)),  # Ā = Ȳ ⊙ Y
                  (Spec("np.multiply({0}, {1}{out})", (0, 1), (0,)),)),
    "sigmoid": Kernel(None,  # Ā = Ȳ ⊙ (Y ⊙ (1 − Y)); the forward is the op's stable one
                      (Spec("np.multiply({0}, np.multiply({1}, np.subtract(1.0, {1})){out})",
                            (0, 1), (0,)),)),
}

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def kernel_for(node, names):
    """The kernel of `node` for its shapes and attributes, or None (its op's generic calls).
    `names` names the constants a kernel reads: `.constant(value, label)`, and
    `.zeros(shape, dtype)` for a zero array kept with the program."""
    name = node.op.name
    if name == "mse_loss":
        return _mse(node.attrs["reduction"], node.left.data.size)
    if name == "getitem" and _is_basic(node.attrs["index"]):
        # Ā = S*(Ȳ) for two slices: scatter_add's own forward, without the op's dispatch
        shape = tuple(node.left.data.shape)
        index = names.constant(node.attrs["index"], "index")
        return Kernel(None, (Spec(f"scatter_into_zeros({{0}}, {index}, {shape})", (0,),
                                  shape=lambda g: shape),))
    if node.attrs:
        return None
    kernel = KERNELS.get(name)
    if name == "matmul":
        return _matmul(node, kernel)
    if name == "relu" and node.data.dtype in _FLOATS and maximum_with_zeros_is_exact():
        zeros = names.zeros(node.data.shape, node.data.dtype)
        forward = Spec(f"np.maximum({{0}}, {zeros}{{out}})", (0,), (0,))
        return kernel._replace(forward=forward)
    return kernel


def _matmul(node, kernel):
    """matmul's kernel, each product whose inner dimension is 1 written as `outer` (A: m×n,
    B: n×p; the inner dimension is n for Y, p for Ā = Ȳ·Bᵀ, m for B̄ = Aᵀ·Ȳ).  A 1×1 result
    is left to matmul: NumPy computes it as a dot product, not in the column-times-row loop."""
    (m, n), p = node.left.data.shape, node.right.data.shape[1]
    if (0 in (m, n, p) or node.left.data.dtype not in _FLOATS
            or node.right.data.dtype not in _FLOATS or not outer_is_exact()):
        return kernel
    forward = _OUTER if n == 1 and (m, p) != (1, 1) else _MATMUL
    rule_a = _OUTER_A if p == 1 and (m, n) != (1, 1) else _MATMUL_A
    rule_b = _OUTER_B if m == 1 and (n, p) != (1, 1) else _MATMUL_B
    return Kernel(forward, (rule_a, rule_b))


def _mse(reduction, count):
    """mse_loss: S = A − B saved by the forward; Y = Σ S² / k (mean), Σ S² (sum) or S² (none);
    Ā = (2·s) ⊙ S and B̄ = (−2·s) ⊙ S, s = Ȳ/k for the mean, Ȳ otherwise — the op's own
    expressions (ops/losses.py), with A − B computed once."""
    forward = {"mean": f"({{2}} ** 2).sum(keepdims=True) / {count}",
               "sum": "({2} ** 2).sum(keepdims=True)", "none": "{2} ** 2"}[reduction]
    scale = f"({{0}} / {count})" if reduction == "mean" else "{0}"
    return Kernel(Spec(forward, (2,)),
                  (Spec("np.multiply({f}, {4}{out})", (0, 4), (4,), factor=f"2.0 * {scale}"),
                   Spec("np.multiply({f}, {4}{out})", (0, 4), (4,), factor=f"-2.0 * {scale}")),
                  saves=Spec("np.subtract({0}, {1}{out})", (0, 1), (0, 1)))


def outer(A, B, out=None):
    """A·B for A: m×1, B: 1×n as NumPy's matmul computes it, 0 + a·b entry by entry."""
    out = np.multiply(A, B, out=out)
    return np.add(out, 0.0, out=out)


def _specials(dtype):
    """Values where two ways of computing can part: ±0, ±∞, NaN, subnormals, products that
    underflow to ±0 or overflow, beside ordinary numbers; 37 of them (tails of SIMD loops)."""
    tiny = np.finfo(dtype).tiny
    values = [0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, tiny / 4, -tiny / 4, tiny, -tiny,
              np.sqrt(tiny) / 8, -np.sqrt(tiny) / 8, np.finfo(dtype).max, -np.finfo(dtype).max,
              1.0, -1.0, 0.5, -3.25, 7.0, 1e-3, -1e3]
    rng = np.random.default_rng(0)
    values += list(rng.standard_normal(37 - len(values)))
    return np.array(values, dtype=dtype)


@cache
def outer_is_exact() -> bool:
    """Whether `outer` gives matmul's bits on this NumPy, for every pair of _specials, in
    float32 and float64, for contiguous, transposed and strided operands."""
    with np.errstate(all="ignore"):
        for dtype in _FLOATS:
            v = _specials(dtype)
            for a, b in [(v[:, None], v[None, :]), (v[::-1, None], v[None, ::2]),
                         (np.ascontiguousarray(v[None, :]).T, np.ascontiguousarray(v[:, None]).T),
                         (v[:1, None], v[None, :]), (v[:, None], v[None, :1])]:
                if np.matmul(a, b).tobytes() != outer(a, b).tobytes():
                    return False
    return True


@cache
def maximum_with_zeros_is_exact() -> bool:
    """Whether max(A, zeros) gives max(A, 0)'s bits on this NumPy, for _specials in float32
    and float64, contiguous, transposed and strided, at lengths that end SIMD loops anywhere."""
    with np.errstate(all="ignore"):
        for dtype in _FLOATS:
            v = _specials(dtype)
            tiled = np.concatenate([np.roll(v, k) for k in range(17)])
            for a in [v[None, :], v[:, None], tiled.reshape(17, -1), tiled.reshape(-1, 17).T,
                      tiled.reshape(17, -1)[:, ::3], tiled[:-5].reshape(1, -1)]:
                if np.maximum(a, 0).tobytes() != np.maximum(a, np.zeros_like(a)).tobytes():
                    return False
                inplace = a.copy(order="K")  # the layout kept: a transpose stays one
                np.maximum(inplace, np.zeros(a.shape, dtype), out=inplace)
                if np.maximum(a, 0).tobytes() != inplace.tobytes():
                    return False
    return True
