"""The cases every op is checked on, with its PyTorch twin: what `matrixflow verify` and the
tests run.

Each op in the registry has a builder here that draws its cases: inputs from the op's domain
(positive for log, well-conditioned for inv, away from the kink for relu ...), over shapes that
include 1×1, rows, columns, tall and wide matrices and every broadcasting pattern.  A case's
`twin` computes the same thing with PyTorch.  This module never imports torch: a twin receives
the torch module as its first argument, so the comparison runs only where torch is importable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import ops as mf
from . import twins
from .autograd import grad
from .backend import to_device
from .gradcheck import analytic_jacobians, gradgradcheck, numerical_jacobians
from .node import Node
from .ops.images import geometry, output_size

# gradcheck's defaults for finite differences; PyTorch agrees to rounding error
FD_EPS, FD_ATOL, FD_RTOL = 1e-6, 1e-5, 1e-3
TORCH_ATOL, TORCH_RTOL = 1e-12, 1e-10


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
    }


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
    }


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
        "logdet": _square_cases("logdet", spd, mf.logdet, lambda t, a: t.logdet(a).reshape(1, 1)),
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


def _square_cases(op, sample, run, twin):
    def build(rng):
        return [Case(op, _shape((n, n)), (sample(rng, n),), (True,), run, twin)
                for n in (1, 2, 4)]

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
    from .ops.structure import normalise_index

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
    return cases


def _reshape_cases(rng):
    return [Case("reshape", f"{_shape(s)} → {to}", (normal(rng, s),), (True,),
                 lambda a, to=to: a.reshape(*to),
                 lambda t, a, to=to: a.reshape(*to))
            for s, to in (((3, 4), (2, 6)), ((3, 4), (12, 1)), ((1, 6), (3, 2)),
                          ((4, 3), (-1, 2)), ((1, 1), (1, 1)))]


def _losses_builders():
    return {
        "softmax": _softmax_cases("softmax", mf.softmax,
                                  lambda t, a, axis: t.softmax(a, dim=axis)),
        "log_softmax": _softmax_cases("log_softmax", mf.log_softmax,
                                      lambda t, a, axis: t.log_softmax(a, dim=axis)),
        "mse_loss": _pointwise_loss_cases("mse_loss", mf.mse_loss, "mse_loss", normal),
        "l1_loss": _pointwise_loss_cases("l1_loss", mf.l1_loss, "l1_loss", away_from_zero),
        "huber_loss": _huber_cases,
        "cross_entropy": _cross_entropy_cases,
        "binary_cross_entropy_with_logits": _bce_cases,
    }


def _softmax_cases(op, run, twin):
    def build(rng):
        return [Case(op, f"{_shape(s)}, axis={axis}", (wide(rng, s),), (True,),
                     lambda a, axis=axis: run(a, axis), lambda t, a, axis=axis: twin(t, a, axis))
                for s in ((3, 4), (1, 5), (4, 1)) for axis in (1, 0)]

    return build


def _reduced(value, reduction):
    return value.reshape(-1, 1) if reduction == "none" and value.ndim == 1 else (
        value if reduction == "none" else value.reshape(1, 1))


def _pointwise_loss_cases(op, run, torch_name, difference, suffix="", **kwargs):
    def build(rng):
        cases = []
        for reduction in ("mean", "sum", "none"):
            for s in ((3, 4), (1, 1)):
                target = normal(rng, s)
                prediction = target + difference(rng, s)
                cases.append(Case(
                    op, f"{_shape(s)}, {reduction}{suffix}", (prediction, target), (True, True),
                    lambda a, b, r=reduction: run(a, b, r, **kwargs),
                    lambda t, a, b, r=reduction: _reduced(
                        getattr(t.nn.functional, torch_name)(a, b, reduction=r, **kwargs), r)))
        return cases

    return build


def _huber_cases(rng):
    cases = []
    for delta in (1.0, 0.5):  # differences up to ±4: both the quadratic and the linear part
        cases += _pointwise_loss_cases("huber_loss", mf.huber_loss, "huber_loss",
                                       lambda rng, s: 2.0 * away_from_zero(rng, s),
                                       suffix=f", δ={delta}", delta=delta)(rng)
    return cases


def _cross_entropy_cases(rng):
    cases = []
    for n, classes in ((5, 3), (1, 4)):
        labels = rng.integers(0, classes, n)
        for reduction in ("mean", "sum", "none"):
            cases.append(Case(
                "cross_entropy", f"{_shape((n, classes))} logits, labels, {reduction}",
                (wide(rng, (n, classes)),), (True,),
                lambda a, y=labels, r=reduction: mf.cross_entropy(a, y, r),
                lambda t, a, y=labels, r=reduction: _reduced(
                    t.nn.functional.cross_entropy(a, t.as_tensor(y, device=a.device), reduction=r),
                    r)))
        if classes > 1:  # a masked class (logit −inf) in every row but never the label's
            masked = wide(rng, (n, classes))
            masked[np.arange(n), (labels + 1) % classes] = -np.inf
            cases.append(Case(
                "cross_entropy", f"{_shape((n, classes))} logits with −inf, labels",
                (masked,), (True,),
                lambda a, y=labels: mf.cross_entropy(a, y, "none"),
                lambda t, a, y=labels: _reduced(
                    t.nn.functional.cross_entropy(a, t.as_tensor(y, device=a.device),
                                                  reduction="none"),
                    "none")))
        probabilities = np.exp(wide(rng, (n, classes)))
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        cases.append(Case(
            "cross_entropy", f"{_shape((n, classes))} logits, probabilities",
            (wide(rng, (n, classes)), probabilities), (True, True),
            lambda a, p: mf.cross_entropy(a, p),
            lambda t, a, p: t.nn.functional.cross_entropy(a, p).reshape(1, 1)))
    return cases


def _bce_cases(rng):
    cases = []
    for reduction in ("mean", "sum", "none"):
        for s in ((3, 4), (1, 1)):
            cases.append(Case(
                "binary_cross_entropy_with_logits", f"{_shape(s)}, {reduction}",
                (wide(rng, s), rng.uniform(0, 1, s)), (True, True),
                lambda a, b, r=reduction: mf.binary_cross_entropy_with_logits(a, b, r),
                lambda t, a, b, r=reduction: _reduced(
                    t.nn.functional.binary_cross_entropy_with_logits(a, b, reduction=r), r)))
    return cases


def _dropout_cases(rng):
    cases = []
    for s, p in (((3, 4), 0.5), ((1, 1), 0.2), ((4, 2), 0.0), ((2, 3), 1.0), ((1, 5), 0.7)):
        mask = rng.random(s) < 1.0 - p
        cases.append(Case("dropout", f"{_shape(s)}, p={p}", (normal(rng, s),), (True,),
                          lambda a, m=mask, p=p: mf.dropout(a, p, mask=m),
                          lambda t, a, m=mask, p=p: twins.TORCH_OPS["dropout"](t, a, m, p)))
    return cases


def _batch_norm_cases(rng):
    cases = [Case("batch_norm", f"{_shape(s)}, batch statistics, ε={eps}", (wide(rng, s),),
                  (True,), lambda a, eps=eps: mf.batch_norm(a, training=True, eps=eps),
                  lambda t, a, eps=eps: twins.TORCH_OPS["batch_norm"](t, a, eps, None))
             for s, eps in (((4, 3), 1e-5), ((2, 5), 1e-5), ((5, 1), 1e-3), ((3, 2), 0.1))]
    mean, var = normal(rng, (1, 4)), positive(rng, (1, 4))
    cases.append(Case("batch_norm", "3×4, running statistics", (normal(rng, (3, 4)),), (True,),
                      lambda a: mf.batch_norm(a, mean, var),
                      lambda t, a: twins.TORCH_OPS["batch_norm"](t, a, 1e-5, (mean, var))))
    return cases


def distinct(rng, shape):
    """Entries at least 0.06 apart, so that no ε-step changes which entry is a maximum."""
    size = shape[0] * shape[1]
    values = (rng.permutation(size) - size / 2) * 0.1 + rng.uniform(-0.02, 0.02, size)
    return values.reshape(shape)


# (images N, image_shape, kernel_size, stride, padding): overlapping and strided windows,
# rectangular kernels, padding, one channel and several
_IMAGE_GEOMETRIES = (
    (2, (1, 4, 4), 3, 1, 0),
    (2, (2, 5, 5), (3, 2), 2, 1),
    (1, (1, 3, 3), 3, 1, 1),
    (3, (3, 4, 3), 2, (1, 2), (0, 1)),
)
_POOL_GEOMETRIES = (
    (2, (2, 4, 4), 2, None, 0),
    (2, (1, 5, 5), 3, 2, 1),
    (1, (3, 4, 4), 3, 1, 0),
    (2, (2, 3, 4), (2, 3), 1, 0),
)


def _image_label(shape, n, image_shape, kernel, stride, padding):
    channels, height, width = image_shape
    stride = "k" if stride is None else stride
    return (f"{_shape(shape)}: {n} image(s) {channels}×{height}×{width}, k={kernel}, "
            f"s={stride}, p={padding}")


def _image_cases(op, geometries, sample, input_shape):
    run = getattr(mf, op)

    def build(rng):
        cases = []
        for n, image_shape, kernel, stride, padding in geometries:
            attrs = geometry(op, image_shape, kernel, kernel if stride is None else stride,
                             padding)
            shape = input_shape(n, attrs)
            cases.append(Case(
                op, _image_label(shape, n, image_shape, kernel, stride, padding),
                (sample(rng, shape),), (True,),
                lambda a, g=(image_shape, kernel, stride, padding): run(a, *g),
                lambda t, a, attrs=attrs: twins.TORCH_OPS[op](t, a, **attrs)))
        return cases

    return build


def _images_in(n, attrs):
    channels, height, width = attrs["image_shape"]
    return (n, channels * height * width)


def _patches_of(n, attrs):
    rows, cols = output_size(**attrs)
    kh, kw = attrs["kernel"]
    return (rows * cols * n, attrs["image_shape"][0] * kh * kw)


def _images_builders():
    return {
        "im2col": _image_cases("im2col", _IMAGE_GEOMETRIES, normal, _images_in),
        "col2im": _image_cases("col2im", _IMAGE_GEOMETRIES, normal, _patches_of),
        "max_pool": _image_cases("max_pool", _POOL_GEOMETRIES, distinct, _images_in),
    }


BUILDERS: dict[str, Callable] = {
    **_elementwise_builders(),
    **_arithmetic_builders(),
    **_matrix_builders(),
    **_reduce_builders(),
    **_structure_builders(),
    **_losses_builders(),
    "dropout": _dropout_cases,
    "batch_norm": _batch_norm_cases,
    **_images_builders(),
}


def cases_for(op: str, seed: int = 0) -> list[Case]:
    """The cases of one op, drawn reproducibly from `seed` (and the op's name)."""
    if op not in BUILDERS:
        raise KeyError(f"op {op!r} has no checks in matrixflow.opcheck: add a builder for it")
    name_key = sum(op.encode())  # different ops draw different numbers from the same seed
    return BUILDERS[op](np.random.default_rng([seed, name_key]))


# ---- running the checks -------------------------------------------------------------------
def leaves(case: Case, device: str = "cpu") -> list[Node]:
    """Fresh leaves for the case's inputs (copies: checks never share data), on `device`."""
    return [Node(to_device(np.array(x, dtype=np.float64), device), requires_grad=d)
            for x, d in zip(case.inputs, case.differentiable)]


def _errors(actual, expected, atol):
    """Max absolute error, and max relative error over entries with |expected| > atol."""
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    difference = np.abs(actual - expected)
    both_nan = np.isnan(actual) & np.isnan(expected)
    difference = np.where(both_nan, 0.0, difference)
    max_abs = float(np.max(difference, initial=0.0))
    large = np.abs(expected) > atol
    max_rel = float(np.max(difference[large] / np.abs(expected[large]), initial=0.0))
    return max_abs, max_rel


def _close(actual, expected, atol, rtol):
    return bool(np.allclose(actual, expected, atol=atol, rtol=rtol, equal_nan=True))


@dataclass
class Outcome:
    """What checking one case found."""

    case: Case
    fd_abs: float
    fd_rel: float
    fd_ok: bool
    second_order_ok: bool
    torch_abs: float | None = None
    torch_rel: float | None = None
    torch_ok: bool | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.fd_ok and self.second_order_ok and self.torch_ok is not False


def check_finite_differences(case: Case):
    """(max abs, max rel, ok) of backward's Jacobian against central differences."""
    nodes = leaves(case)
    _, analytic = analytic_jacobians(case.run, nodes)
    numeric = numerical_jacobians(case.run, nodes, FD_EPS)
    fd_abs = fd_rel = 0.0
    ok = True
    for a, n in zip(analytic, numeric):
        if a is None:
            continue
        max_abs, max_rel = _errors(a, n, FD_ATOL)
        fd_abs, fd_rel = max(fd_abs, max_abs), max(fd_rel, max_rel)
        ok &= _close(a, n, FD_ATOL, FD_RTOL)
    return fd_abs, fd_rel, ok


def check_second_order(case: Case) -> bool:
    """Whether the rules run as a graph (create_graph=True) give the same first derivatives as
    on arrays, and their own derivatives agree with finite differences (gradgradcheck)."""
    nodes = leaves(case)
    output = case.run(*nodes)
    seed_gradient = np.random.default_rng(2).standard_normal(output.shape)
    wrt = [x for x in nodes if x.requires_grad]
    plain = grad(output, wrt, gradient=seed_gradient)
    as_graph = grad(output, wrt, gradient=seed_gradient, create_graph=True)
    if not all(_close(g.numpy(), h.numpy(), 1e-13, 1e-12) for g, h in zip(plain, as_graph)):
        return False
    return gradgradcheck(case.run, leaves(case), atol=FD_ATOL, rtol=FD_RTOL,
                         raise_exception=False)


def torch_results(case: Case, torch, seed_gradient: np.ndarray):
    """Value and gradients of the twin, as float64 arrays (None where not differentiated)."""
    tensors = [torch.tensor(np.array(x), dtype=torch.float64, requires_grad=d)
               for x, d in zip(case.inputs, case.differentiable)]
    value = case.twin(torch, *tensors)
    value.backward(torch.from_numpy(seed_gradient))
    grads = [t.grad.numpy() if d else None for t, d in zip(tensors, case.differentiable)]
    return value.detach().numpy(), grads


def matrixflow_results(case: Case, seed_gradient: np.ndarray):
    """Value and gradients from matrixflow, with the same seed Ȳ."""
    nodes = leaves(case)
    value = case.run(*nodes)
    wrt = [x for x in nodes if x.requires_grad]
    grads = iter(grad(value, wrt, gradient=seed_gradient))
    return value, [next(grads).numpy() if x.requires_grad else None for x in nodes]


def check_against_torch(case: Case, torch):
    """(max abs, max rel, ok, problem) of values and gradients against the PyTorch twin."""
    nodes = leaves(case)
    output = case.run(*nodes)
    seed_gradient = np.random.default_rng(1).standard_normal(output.shape)
    value, grads = matrixflow_results(case, seed_gradient)
    torch_value, torch_grads = torch_results(case, torch, seed_gradient)
    if torch_value.shape != value.shape:
        return np.inf, np.inf, False, f"shape {value.shape} vs PyTorch's {torch_value.shape}"
    pairs = [(value.numpy(), torch_value)] + [
        (g, tg) for g, tg in zip(grads, torch_grads) if g is not None]
    worst_abs = worst_rel = 0.0
    ok = True
    for mine, theirs in pairs:
        max_abs, max_rel = _errors(mine, theirs, TORCH_ATOL)
        worst_abs, worst_rel = max(worst_abs, max_abs), max(worst_rel, max_rel)
        ok &= _close(mine, theirs, TORCH_ATOL, TORCH_RTOL)
    return worst_abs, worst_rel, ok, ""


def check_case(case: Case, torch=None) -> Outcome:
    """Every check of one case; `torch` is the torch module or None to skip the twin."""
    nodes = leaves(case)
    output = case.run(*nodes)
    if output.op is None or output.op.name != case.op:
        found = output.op.name if output.op is not None else "a leaf"
        return Outcome(case, np.inf, np.inf, False, False,
                       problem=f"the case builds {found}, not {case.op}")
    fd_abs, fd_rel, fd_ok = check_finite_differences(case)
    outcome = Outcome(case, fd_abs, fd_rel, fd_ok, check_second_order(case))
    if torch is not None:
        (outcome.torch_abs, outcome.torch_rel, outcome.torch_ok,
         outcome.problem) = check_against_torch(case, torch)
    return outcome
