"""The verifier verifies itself: hand-written backwards of a dozen layers pass, and each classic
slip planted in them is caught and named (check_backward, the VJP convention of
torch.autograd.Function: backward(Ȳ, *inputs) → one gradient per input).

The first five layers are tinynn's, written as tinynn writes them (NumPy; our own copy)."""

import json

import numpy as np
import pytest

import matrixflow as mf
from matrixflow.testing import assert_backward
from matrixflow.verification.handwritten import check_backward

rng = np.random.default_rng(7)


# ---- tinynn's layers (tinynn/core/layer.py and loss.py, as VJPs) ---------------------------
def dense_forward(X, w, b):
    return X @ w + b


def dense_backward(grad, X, w, b):
    return grad @ w.T, X.T @ grad, np.sum(grad, axis=0)


def relu_forward(x):
    return np.maximum(x, 0.0)


def relu_backward(grad, x):
    return (grad * (x > 0),)


def tanh_forward(x):
    return np.tanh(x)


def tanh_backward(grad, x):
    return ((1.0 - np.tanh(x) ** 2) * grad,)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def sigmoid_forward(x):
    return _sigmoid(x)


def sigmoid_backward(grad, x):
    return (_sigmoid(x) * (1.0 - _sigmoid(x)) * grad,)


TARGETS = np.eye(4)[[0, 2, 1, 3, 2]]  # one-hot labels of a batch of 5


def softmax_ce_forward(logits):
    exps = np.exp(logits - logits.max(axis=1, keepdims=True))
    p = exps / exps.sum(axis=1, keepdims=True)
    return -np.sum(TARGETS * np.log(p)) / logits.shape[0]


def softmax_ce_backward(grad, logits):
    exps = np.exp(logits - logits.max(axis=1, keepdims=True))
    p = exps / exps.sum(axis=1, keepdims=True)
    return (grad * (p - TARGETS) / logits.shape[0],)


# ---- more layers ----------------------------------------------------------------------------
def rnn_forward(x, h, Wx, Wh):  # a tanh RNN step: h' = tanh(x·Wx + h·Wh)
    return np.tanh(x @ Wx + h @ Wh)


def rnn_backward(grad, x, h, Wx, Wh):
    g = grad * (1.0 - rnn_forward(x, h, Wx, Wh) ** 2)
    return g @ Wx.T, g @ Wh.T, x.T @ g, h.T @ g


def quadratic_forward(x, A):  # xᵀAx
    return (x.T @ A @ x).item()


def quadratic_backward(grad, x, A):
    return grad * (A + A.T) @ x, grad * x @ x.T


def quadratic_mf(x, A):
    return x.T @ A @ x


def gaussian_forward(S, d):  # −½ ln det S − ½ dᵀS⁻¹d
    return (-0.5 * np.linalg.slogdet(S)[1] - 0.5 * d.T @ np.linalg.solve(S, d)).item()


def gaussian_backward(grad, S, d):
    Si = np.linalg.inv(S)
    return (grad * (-0.5 * Si.T + 0.5 * Si.T @ d @ d.T @ Si.T),
            grad * (-0.5 * (Si + Si.T) @ d))


def mse_forward(p, y):
    return np.mean((p - y) ** 2)


def mse_backward(grad, p, y):
    return grad * 2 * (p - y) / p.size, grad * -2 * (p - y) / p.size


def batchnorm_forward(X):  # training-mode normalisation over the batch, no affine
    mu = X.mean(axis=0, keepdims=True)
    var = ((X - mu) ** 2).mean(axis=0, keepdims=True)
    return (X - mu) / np.sqrt(var + 1e-5)


def batchnorm_backward(grad, X):
    mu = X.mean(axis=0, keepdims=True)
    var = ((X - mu) ** 2).mean(axis=0, keepdims=True)
    xhat = (X - mu) / np.sqrt(var + 1e-5)
    return ((grad - grad.mean(axis=0) - xhat * (grad * xhat).mean(axis=0))
            / np.sqrt(var + 1e-5),)


def batchnorm_mf(X):
    mu = mf.mean(X, 0)
    d = X - mu
    return d / mf.sqrt(mf.mean(d * d, 0) + 1e-5)


def _im2col(image):  # a 4×4 image, 2×2 windows, stride 1: 9 rows of 4
    return np.stack([image[i:i + 2, j:j + 2].ravel() for i in range(3) for j in range(3)])


def _col2im(cols):
    image = np.zeros((4, 4))
    for row, (i, j) in enumerate((i, j) for i in range(3) for j in range(3)):
        image[i:i + 2, j:j + 2] += cols[row].reshape(2, 2)
    return image


def conv_forward(image, kernel):  # a convolution as im2col: the 9 windows times the kernel
    return _im2col(image) @ kernel


def conv_backward(grad, image, kernel):
    return _col2im(grad @ kernel.T), _im2col(image).T @ grad


def logdet_forward(S):
    return np.linalg.slogdet(S)[1]


def logdet_backward(grad, S):
    return (grad * np.linalg.inv(S).T,)


def _spd(n):
    m = rng.standard_normal((n, n))
    return m @ m.T + n * np.eye(n)


LAYERS = {  # name: (forward, backward, inputs, matrixflow forward or None)
    "dense": (dense_forward, dense_backward, {"X": rng.standard_normal((5, 3)),
              "w": rng.standard_normal((3, 4)), "b": rng.standard_normal(4)}, None),
    "relu": (relu_forward, relu_backward, {"x": rng.standard_normal((5, 4))}, None),
    "tanh": (tanh_forward, tanh_backward, {"x": rng.standard_normal((5, 4))}, None),
    "sigmoid": (sigmoid_forward, sigmoid_backward, {"x": rng.standard_normal((5, 4))}, None),
    "softmax cross-entropy": (softmax_ce_forward, softmax_ce_backward,
                              {"logits": rng.standard_normal((5, 4))}, None),
    "tanh RNN step": (rnn_forward, rnn_backward, {
        "x": rng.standard_normal((2, 3)), "h": rng.standard_normal((2, 4)),
        "Wx": rng.standard_normal((3, 4)), "Wh": rng.standard_normal((4, 4))}, None),
    "quadratic form": (quadratic_forward, quadratic_backward, {
        "x": rng.standard_normal((3, 1)), "A": rng.standard_normal((3, 3))}, quadratic_mf),
    "Gaussian log-likelihood": (gaussian_forward, gaussian_backward,
                                {"S": _spd(3), "d": rng.standard_normal((3, 1))}, None),
    "mean squared error": (mse_forward, mse_backward, {"p": rng.standard_normal((4, 2)),
                           "y": rng.standard_normal((4, 2))}, None),
    "batch norm": (batchnorm_forward, batchnorm_backward, {"X": rng.standard_normal((6, 3))},
                   batchnorm_mf),
    "convolution as im2col": (conv_forward, conv_backward, {
        "image": rng.standard_normal((4, 4)), "kernel": rng.standard_normal((4, 2))}, None),
    "log det": (logdet_forward, logdet_backward, {"S": _spd(3)}, None),
}


def _run(name, backward):
    forward, _, inputs, mf_forward = LAYERS[name]
    return check_backward(forward, backward, inputs, matrixflow_forward=mf_forward)


@pytest.mark.parametrize("name", LAYERS)
def test_every_correct_backward_passes(name):
    forward, backward, inputs, mf_forward = LAYERS[name]
    report = assert_backward(forward, backward, inputs, matrixflow_forward=mf_forward)
    assert report.ok and all(check.max_abs_error < 1e-6 for check in report.inputs)


def _slip(backward, position, change):
    """`backward` with its gradient number `position` changed by `change`."""
    def planted(*args):
        grads = list(backward(*args))
        grads[position] = change(grads[position], *args)
        return tuple(grads)
    return planted


# (layer, input position, the slip planted, the kind it must be named)
PLANTED = [
    ("dense", 1, lambda g, G, X, w, b: (G.T @ X), "transposed"),  # G.T @ X for X.T @ G
    ("dense", 0, lambda g, G, X, w, b: -g, "sign"),
    ("dense", 2, lambda g, G, X, w, b: g / X.shape[0], "constant factor"),  # a mean, not a sum
    ("relu", 0, lambda g, G, x: -g, "sign"),
    ("tanh", 0, lambda g, G, x: 2 * g, "constant factor"),
    ("sigmoid", 0, lambda g, G, x: -g, "sign"),
    ("softmax cross-entropy", 0, lambda g, G, z: g * z.shape[0], "constant factor"),  # no /N
    ("tanh RNN step", 3, lambda g, G, x, h, Wx, Wh: g.T, "transposed"),
    ("tanh RNN step", 2, lambda g, G, x, h, Wx, Wh: 0.5 * g, "constant factor"),
    ("quadratic form", 0, lambda g, G, x, A: G * A @ x, "missing term"),  # Ax for (A + Aᵀ)x
    ("quadratic form", 0, lambda g, G, x, A: 2 * G * A @ x, "symmetric only"),
    ("Gaussian log-likelihood", 0,  # S⁻¹ for S⁻ᵀ: the transpose of the gradient
     lambda g, G, S, d: G * (-0.5 * np.linalg.inv(S) + 0.5 * np.linalg.inv(S) @ d @ d.T
                             @ np.linalg.inv(S)), "transposed"),
    ("Gaussian log-likelihood", 1,  # −S⁻¹d for −½(S⁻¹ + S⁻ᵀ)d
     lambda g, G, S, d: G * -np.linalg.solve(S, d), "symmetric only"),
    ("Gaussian log-likelihood", 1, lambda g, G, S, d: -g, "sign"),
    ("mean squared error", 0, lambda g, G, p, y: g * p.size / 2, "constant factor"),
    ("batch norm", 0,  # −mean(Ȳ)/σ forgotten: the path through the mean μ
     lambda g, G, X: g + G.mean(0) / np.sqrt(X.var(0) + 1e-5), "missing term"),
    ("convolution as im2col", 1, lambda g, G, image, kernel: 3 * g, "constant factor"),
    ("log det", 0, lambda g, G, S: G * np.linalg.inv(S), "transposed"),  # S⁻¹ for S⁻ᵀ
]


@pytest.mark.parametrize("layer, position, change, kind", PLANTED,
                         ids=[f"{p[0]}-{p[3]}-{i}" for i, p in enumerate(PLANTED)])
def test_each_planted_slip_is_caught_and_named(layer, position, change, kind):
    _, backward, inputs, _ = LAYERS[layer]
    report = _run(layer, _slip(backward, position, change))
    assert not report.ok
    wrong = report.wrong()
    names = list(inputs)
    assert [check.name for check in wrong] == [names[position]], str(report)
    assert wrong[0].diagnosis.kind == kind, str(report)
    text = str(report)
    assert f"your backward is wrong for {names[position]}" in text and kind in text


def test_the_report_names_the_worst_entry_and_serialises():
    report = _run("tanh", _slip(tanh_backward, 0, lambda g, G, x: 2 * g))
    (check,) = report.wrong()
    _, yours, reference = check.worst
    assert yours == pytest.approx(2 * reference)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["ok"] is False and data["inputs"][0]["slip"] == "constant factor"
    assert "<table>" in report._repr_html_()


def test_the_assertion_carries_the_report():
    with pytest.raises(AssertionError, match=r"w: transposed") as caught:
        assert_backward(dense_forward, _slip(dense_backward, 1, lambda g, G, X, w, b: G.T @ X),
                        LAYERS["dense"][2])
    assert "your backward is wrong for w" in str(caught.value)


def test_a_backward_that_returns_the_wrong_number_of_gradients_is_told_so():
    with pytest.raises(ValueError, match="returned 2 gradients for 3 inputs"):
        check_backward(dense_forward, lambda G, X, w, b: (G @ w.T, X.T @ G), LAYERS["dense"][2])


def test_domains_draw_inputs_where_the_forward_needs_them():
    """log det's S⁻¹ for S⁻ᵀ is right on symmetric matrices only: drawn SPD it passes, drawn
    general it is caught; a name that is not an input is refused."""
    S = {"S": _spd(3)}
    plain = _slip(logdet_backward, 0, lambda g, G, S: G * np.linalg.inv(S))
    assert check_backward(logdet_forward, plain, S, domains={"S": "spd"}).ok
    assert check_backward(logdet_forward, plain, S).wrong()[0].diagnosis.kind == "transposed"
    with pytest.raises(ValueError, match="domains= names T"):
        check_backward(logdet_forward, logdet_backward, S, domains={"T": "spd"})
