"""The cases of the losses, the layers (dropout, batch norm) and the image ops, with their
PyTorch twins (see `op_cases`)."""

from __future__ import annotations

import numpy as np

from .. import ops as mf
from ..ops.images import geometry, output_size
from .op_cases import Case, _shape, away_from_zero, normal, positive, wide
from .torch_twins import TORCH_OPS


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
        # soft targets whose rows do not sum to 1 (as PyTorch allows): a rule that uses
        # P − T where P·rowsum(T) − T belongs passes every case whose rows sum to 1
        cases.append(Case(
            "cross_entropy", f"{_shape((n, classes))} logits, targets not summing to 1",
            (wide(rng, (n, classes)), rng.uniform(0.1, 0.6, (n, classes))), (True, True),
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
                          lambda t, a, m=mask, p=p: TORCH_OPS["dropout"](t, a, m, p)))
    return cases


def _batch_norm_cases(rng):
    cases = [Case("batch_norm", f"{_shape(s)}, batch statistics, ε={eps}", (wide(rng, s),),
                  (True,), lambda a, eps=eps: mf.batch_norm(a, training=True, eps=eps),
                  lambda t, a, eps=eps: TORCH_OPS["batch_norm"](t, a, eps, None))
             for s, eps in (((4, 3), 1e-5), ((2, 5), 1e-5), ((5, 1), 1e-3), ((3, 2), 0.1))]
    mean, var = normal(rng, (1, 4)), positive(rng, (1, 4))
    cases.append(Case("batch_norm", "3×4, running statistics", (normal(rng, (3, 4)),), (True,),
                      lambda a: mf.batch_norm(a, mean, var),
                      lambda t, a: TORCH_OPS["batch_norm"](t, a, 1e-5, (mean, var))))
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
                lambda t, a, attrs=attrs: TORCH_OPS[op](t, a, **attrs)))
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
