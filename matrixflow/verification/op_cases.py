"""The cases every op is checked on, with its PyTorch twin: what `matrixflow verify` and the
tests run.  This module: the arithmetic, matrix, element-wise, reduce and structure families;
`op_cases_layers` the losses, layers and images; `op_checks` gathers them by op name.

Each op in the registry has a builder that draws its cases: inputs from the op's domain
(positive for log, well-conditioned for inv, away from the kink for relu ...), over shapes that
include 1×1, rows, columns, tall and wide matrices and every broadcasting pattern.  A case's
`twin` computes the same thing with PyTorch.  This module never imports torch: a twin receives
the torch module as its first argument, so the comparison runs only where torch is importable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .. import ops as mf


@dataclass(frozen=True)
class Case:
    """One check of one op: inputs, which of them are differentiated, and both computations."""

    op: str
    label: str
    inputs: tuple
    differentiable: tuple
    run: Callable  # (*Nodes) -> Node whose op is `op`
    twin: Callable  # (torch, *tensors) -> tensor of the same shape


# ---- input domains ----------------------------------------------------------------------------
def normal(rng, shape):
    return rng.standard_normal(shape)


def wide(rng, shape):
    return 3.0 * rng.standard_normal(shape)


def positive(rng, shape):
    return rng.uniform(0.5, 2.0, shape)


def away_from_zero(rng, shape):
    """Entries with |x| ≥ 0.2, so ε-steps never cross a kink at 0."""
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.2, 2.0, shape)


def nonsingular(rng, n):
    """Q₁·diag(s)·Q₂ with s in [1, 2]: condition number ≤ 2, determinant of either sign."""
    q1, _ = np.linalg.qr(rng.standard_normal((n, n)))
    q2, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return q1 @ np.diag(rng.uniform(1.0, 2.0, n)) @ q2


def positive_determinant(rng, n):
    """A non-symmetric well-conditioned matrix with det > 0 (a row flipped if needed)."""
    a = nonsingular(rng, n)
    if np.linalg.det(a) < 0:
        a[0] = -a[0]
    return a


def spd(rng, n):
    """Q·diag(s)·Qᵀ with s in [0.5, 2]: symmetric positive definite."""
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return q @ np.diag(rng.uniform(0.5, 2.0, n)) @ q.T


def _shape(s):
    return f"{s[0]}×{s[1]}"


SHAPES = ((1, 1), (3, 3), (4, 2), (2, 5), (1, 4), (4, 1))
BROADCAST_PAIRS = (
    ((3, 4), (3, 4)), ((3, 4), (1, 4)), ((3, 4), (3, 1)), ((3, 4), (1, 1)),
    ((1, 4), (3, 1)), ((1, 1), (2, 3)), ((3, 1), (3, 4)), ((1, 1), (1, 1)),
)


def _unary(op, sample, run, twin, shapes=SHAPES):
    def build(rng):
        return [Case(op, _shape(s), (sample(rng, s),), (True,), run, twin) for s in shapes]

    return build


def _binary_broadcast(op, symbol, run, twin, sample_b=normal):
    def build(rng):
        cases = [Case(op, f"{_shape(sa)} {symbol} {_shape(sb)}",
                      (normal(rng, sa), sample_b(rng, sb)), (True, True), run, twin)
                 for sa, sb in BROADCAST_PAIRS]
        # a constant operand: only one side differentiated
        sa, sb = (2, 3), (2, 3)
        cases.append(Case(op, f"{_shape(sa)} {symbol} const", (normal(rng, sa), sample_b(rng, sb)),
                          (True, False), run, twin))
        return cases

    return build


def _torch_function(name):
    return lambda torch, *args: getattr(torch, name)(*args)


def _elementwise_builders():
    return {
        "exp": _unary("exp", normal, mf.exp, _torch_function("exp")),
        "log": _unary("log", positive, mf.log, _torch_function("log")),
        "sqrt": _unary("sqrt", positive, mf.sqrt, _torch_function("sqrt")),
        "abs": _unary("abs", away_from_zero, mf.abs, _torch_function("abs")),
        "sin": _unary("sin", normal, mf.sin, _torch_function("sin")),
        "cos": _unary("cos", normal, mf.cos, _torch_function("cos")),
        "tanh": _unary("tanh", normal, mf.tanh, _torch_function("tanh")),
        "sigmoid": _unary("sigmoid", wide, mf.sigmoid, _torch_function("sigmoid")),
        "relu": _unary("relu", away_from_zero, mf.relu, _torch_function("relu")),
        "softplus": _unary("softplus", wide, mf.softplus,
                           lambda torch, a: torch.nn.functional.softplus(a)),
        "leaky_relu": _leaky_relu_cases,
        "clamp": _clamp_cases,
    }


def _clamp_cases(rng):
    """Bounds on both sides and on one; entries kept ≥ 0.01 from a bound, where the rule
    jumps (finite differences cannot judge it there)."""
    cases = []
    for low, high in ((-0.5, 0.5), (None, 0.3), (-0.2, None)):
        for s in ((3, 3), (1, 4)):
            a = normal(rng, s)
            for bound in (low, high):
                if bound is not None:
                    near = np.abs(a - bound) < 0.01
                    a[near] = bound + 0.05
            cases.append(Case(
                "clamp", f"{_shape(s)}, [{low}, {high}]", (a,), (True,),
                lambda x, low=low, high=high: mf.clamp(x, low, high),
                lambda torch, x, low=low, high=high: torch.clamp(x, low, high)))
    return cases


def _leaky_relu_cases(rng):
    cases = []
    for slope in (0.01, 0.2):
        for s in ((3, 3), (1, 4)):
            cases.append(Case(
                "leaky_relu", f"{_shape(s)}, s={slope}", (away_from_zero(rng, s),), (True,),
                lambda a, slope=slope: mf.leaky_relu(a, slope),
                lambda torch, a, slope=slope: torch.nn.functional.leaky_relu(a, slope)))
    return cases


def _arithmetic_builders():
    return {
        "add": _binary_broadcast("add", "+", lambda a, b: a + b, lambda t, a, b: a + b),
        "sub": _binary_broadcast("sub", "−", lambda a, b: a - b, lambda t, a, b: a - b),
        "mul": _binary_broadcast("mul", "⊙", lambda a, b: a * b, lambda t, a, b: a * b),
        "div": _binary_broadcast("div", "/", lambda a, b: a / b, lambda t, a, b: a / b,
                                 sample_b=away_from_zero),
        "neg": _unary("neg", normal, lambda a: -a, lambda t, a: -a),
        "pow": _pow_cases,
        "rpow": _rpow_cases,
        "where": _where_cases,
    }


def _where_cases(rng):
    """A random condition broadcast with both operands, in every broadcasting pattern; and
    the condition itself broadcast (a column or a row of a mask)."""
    cases = []
    patterns = [(sa, sb, np.broadcast_shapes(sa, sb)) for sa, sb in BROADCAST_PAIRS]
    patterns += [((3, 4), (3, 4), (3, 1)), ((3, 4), (1, 1), (1, 4)), ((1, 4), (3, 1), (3, 4))]
    for sa, sb, sc in patterns:
        condition = rng.random(sc) < 0.5
        cases.append(Case(
            "where", f"where({_shape(sc)}, {_shape(sa)}, {_shape(sb)})",
            (normal(rng, sa), normal(rng, sb)), (True, True),
            lambda a, b, c=condition: mf.where(c, a, b),
            lambda torch, a, b, c=condition: torch.where(torch.from_numpy(c), a, b)))
    return cases


def _pow_cases(rng):
    cases = []
    for exponent, sample in ((2, normal), (3, normal), (-1, away_from_zero), (0.5, positive),
                             (1.5, positive), (-2.5, positive), (0, normal)):
        for s in ((3, 3), (1, 1)):
            cases.append(Case(
                "pow", f"{_shape(s)} ** {exponent}", (sample(rng, s),), (True,),
                lambda a, p=exponent: a**p, lambda t, a, p=exponent: a**p))
    return cases


def _rpow_cases(rng):
    return [Case("rpow", f"{base} ** {_shape(s)}", (normal(rng, s),), (True,),
                 lambda a, b=base: b**a, lambda t, a, b=base: b**a)
            for base in (2.0, 10.0, 0.5, float(np.e)) for s in ((3, 3), (1, 1))]


def _matrix_builders():
    return {
        "matmul": _matmul_cases,
        "transpose": _unary("transpose", normal, lambda a: a.T, lambda t, a: a.T),
        "trace": _unary("trace", normal, mf.trace, lambda t, a: t.trace(a).reshape(1, 1),
                        shapes=((1, 1), (3, 3), (2, 4), (4, 2))),
        "inv": _square_cases("inv", nonsingular, mf.inv, lambda t, a: t.linalg.inv(a)),
        "det": _square_cases("det", nonsingular, mf.det,
                             lambda t, a: t.linalg.det(a).reshape(1, 1)),
        # SPD and non-symmetric (det > 0): on SPD cases alone A⁻¹ = A⁻ᵀ, and a rule without
        # its transpose would pass
        "logdet": _square_cases("logdet", spd, mf.logdet, lambda t, a: t.logdet(a).reshape(1, 1),
                                also=positive_determinant),
        "solve": _solve_cases,
    }


def _matmul_cases(rng):
    pairs = (((3, 4), (4, 2)), ((1, 3), (3, 1)), ((3, 1), (1, 3)), ((1, 1), (1, 1)),
             ((2, 5), (5, 5)))
    cases = [Case("matmul", f"{_shape(sa)} @ {_shape(sb)}", (normal(rng, sa), normal(rng, sb)),
                  (True, True), lambda a, b: a @ b, lambda t, a, b: a @ b) for sa, sb in pairs]
    cases.append(Case("matmul", "3×2 @ 2×2 const", (normal(rng, (3, 2)), normal(rng, (2, 2))),
                      (False, True), lambda a, b: a @ b, lambda t, a, b: a @ b))
    return cases


def _square_cases(op, sample, run, twin, also=None):
    def build(rng):
        cases = [Case(op, _shape((n, n)), (sample(rng, n),), (True,), run, twin)
                 for n in (1, 2, 4)]
        if also is not None:
            cases += [Case(op, f"{_shape((n, n))} {also.__name__.replace('_', ' ')}",
                           (also(rng, n),), (True,), run, twin) for n in (2, 4)]
        return cases

    return build


def _solve_cases(rng):
    return [Case("solve", f"{_shape((n, n))} \\ {_shape((n, k))}",
                 (nonsingular(rng, n), normal(rng, (n, k))), (True, True), mf.solve,
                 lambda t, a, b: t.linalg.solve(a, b))
            for n, k in ((3, 2), (1, 4), (4, 1))]


def _reduce_case(op, shape, axis, run, twin, sample, rng):
    return Case(op, f"{_shape(shape)}, axis={axis}", (sample(rng, shape),), (True,),
                lambda a: run(a, axis), lambda t, a: twin(t, a, axis))


def _torch_reduce(method):
    def twin(torch, a, axis):
        if axis is None:
            return getattr(torch, method)(a, dim=(0, 1), keepdim=True)
        return getattr(torch, method)(a, dim=axis, keepdim=True)

    return twin


def _reduce_builders():
    def builder(op, run, method):
        def build(rng):
            return [_reduce_case(op, shape, axis, run, _torch_reduce(method), normal, rng)
                    for shape in ((3, 4), (1, 1), (4, 1))
                    for axis in (None, 0, 1)]

        return build

    return {
        "sum": builder("sum", mf.sum, "sum"),
        "mean": builder("mean", mf.mean, "mean"),
        "max": builder("max", mf.max, "amax"),
        "broadcast_to": _broadcast_to_cases,
    }


def _broadcast_to_cases(rng):
    return [Case("broadcast_to", f"{_shape(s)} → {_shape(to)}", (normal(rng, s),), (True,),
                 lambda a, to=to: mf.broadcast_to(a, to),
                 lambda t, a, to=to: a.broadcast_to(to))
            for s, to in (((1, 4), (3, 4)), ((3, 1), (3, 4)), ((1, 1), (2, 3)), ((1, 3), (1, 3)))]


def _structure_builders():
    return {
        "concat": _concat_cases,
        "getitem": _getitem_cases,
        "scatter_add": _scatter_add_cases,
        "reshape": _reshape_cases,
        "clone": _unary("clone", normal, mf.clone, lambda torch, a: a.clone()),
    }


def _concat_cases(rng):
    cases = [
        Case("concat", "2×3 ; 4×3 (axis 0)", (normal(rng, (2, 3)), normal(rng, (4, 3))),
             (True, True), lambda a, b: mf.concat([a, b], 0), lambda t, a, b: t.cat([a, b], 0)),
        Case("concat", "3×2 , 3×1 (axis 1)", (normal(rng, (3, 2)), normal(rng, (3, 1))),
             (True, True), lambda a, b: mf.concat([a, b], 1), lambda t, a, b: t.cat([a, b], 1)),
        Case("concat", "1×1 ; 1×1 (axis 0)", (normal(rng, (1, 1)), normal(rng, (1, 1))),
             (True, False), lambda a, b: mf.concat([a, b], 0), lambda t, a, b: t.cat([a, b], 0)),
        Case("concat", "[2×2, 2×1, 2×3] (axis 1)",
             (normal(rng, (2, 2)), normal(rng, (2, 1)), normal(rng, (2, 3))), (True, True, True),
             lambda a, b, c: mf.concat([a, b, c], 1), lambda t, a, b, c: t.cat([a, b, c], 1)),
    ]
    return cases


# (label, index, the same selection written for PyTorch, 2-D)
_INDEXES = (
    ("[1:3]", np.s_[1:3], lambda a: a[1:3]),
    ("[1]", 1, lambda a: a[1:2]),
    ("[:, 2]", np.s_[:, 2], lambda a: a[:, 2:3]),
    ("[-1, -2]", (-1, -2), lambda a: a[-1:, -2:-1]),
    ("[[0, 0, 2]]", [0, 0, 2], lambda a: a[[0, 0, 2]]),
    ("[[0, 2], [1, 1]]", ([0, 2], [1, 1]), lambda a: a[[0, 2], [1, 1]].reshape(-1, 1)),
    ("[mask]", np.array([True, False, True, True]), lambda a: a[[0, 2, 3]]),
    ("[::2, [2, 0, 2]]", (np.s_[::2], [2, 0, 2]), lambda a: a[::2][:, [2, 0, 2]]),
)


def _getitem_cases(rng):
    return [Case("getitem", f"4×3{label}", (normal(rng, (4, 3)),), (True,),
                 lambda a, index=index: a[index], lambda t, a, select=select: select(a))
            for label, index, select in _INDEXES]


def _scatter_twin(index, shape):
    """zeros(shape).index_put(index, g, accumulate=True): scatter_add written for PyTorch."""

    def twin(torch, g):
        rows, cols = (np.arange(shape[i])[part] if isinstance(part, slice) else np.asarray(part)
                      for i, part in enumerate(index))
        if isinstance(index[0], slice) or isinstance(index[1], slice):
            rows, cols = rows[:, None], cols[None, :]
            values = g
        else:
            values = g.reshape(-1)
        zeros = torch.zeros(shape, dtype=g.dtype, device=g.device)
        return zeros.index_put((torch.as_tensor(rows, device=g.device),
                                torch.as_tensor(cols, device=g.device)), values,
                               accumulate=True)

    return twin


def _scatter_add_cases(rng):
    from ..ops.structure import normalise_index

    shape = (4, 3)
    cases = []
    for label, index, _ in _INDEXES:
        index = normalise_index(index, shape)
        selected = np.zeros(shape)[index]
        g_shape = selected.shape if selected.ndim == 2 else (selected.size, 1)
        cases.append(Case("scatter_add", f"{_shape(g_shape)} into 4×3{label}",
                          (normal(rng, g_shape),), (True,),
                          lambda g, index=index: mf.scatter_add(g, index, shape),
                          _scatter_twin(index, shape)))
    # paired indices take an operand of any shape with that many entries, read row by row
    index = normalise_index(([0, 2, 3, 0], [1, 1, 0, 1]), shape)
    for g_shape in ((1, 4), (2, 2)):
        cases.append(Case("scatter_add", f"{_shape(g_shape)} into 4×3[pairs]",
                          (normal(rng, g_shape),), (True,),
                          lambda g, index=index: mf.scatter_add(g, index, shape),
                          _scatter_twin(index, shape)))
    return cases


def _reshape_cases(rng):
    return [Case("reshape", f"{_shape(s)} → {to}", (normal(rng, s),), (True,),
                 lambda a, to=to: a.reshape(*to),
                 lambda t, a, to=to: a.reshape(*to))
            for s, to in (((3, 4), (2, 6)), ((3, 4), (12, 1)), ((1, 6), (3, 2)),
                          ((4, 3), (-1, 2)), ((1, 1), (1, 1)))]
