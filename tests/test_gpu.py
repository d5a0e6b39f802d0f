"""On a real GPU (CuPy and a CUDA device): what the CPU stand-in cannot check.

The stand-in (tests/fake_cupy.py) proves that nothing mixes host and device arrays; it computes
with NumPy.  These tests run CuPy's kernels: moves, refusals of mixed devices by real CuPy
arrays, and the estimators fitted on the GPU to the quality of their CPU fits (the GPU's
float64 sums in another order, so the weights agree to rounding, not to the bit).  Skipped
without a GPU, with the reason in the summary; scripts/gpu_check.sh runs them where one is.
"""

import warnings

import numpy as np
import pytest
from op_cases import NO_GPU
from sklearn.exceptions import ConvergenceWarning

import matrixflow as mf
from matrixflow import nn
from matrixflow.backend import DeviceMismatchError, is_cupy_array

pytestmark = pytest.mark.skipif(NO_GPU is not None, reason=str(NO_GPU))


@pytest.fixture
def cupy():
    import cupy

    assert not getattr(cupy, "FAKE", False), "the CPU stand-in is installed: not a GPU"
    return cupy


def test_nodes_and_modules_move_to_the_gpu_and_back(cupy):
    x = mf.Node(np.arange(6.0).reshape(2, 3), requires_grad=True)
    g = x.to("cuda")
    assert isinstance(g.data, cupy.ndarray) and g.device == f"cuda:{cupy.cuda.Device().id}"
    y = mf.sum(mf.tanh(g @ g.T) * 2.0 + 1)
    y.backward()
    assert isinstance(g.grad, cupy.ndarray)
    expected = mf.Node(np.arange(6.0).reshape(2, 3), requires_grad=True)
    mf.sum(mf.tanh(expected @ expected.T) * 2.0 + 1).backward()
    np.testing.assert_allclose(cupy.asnumpy(g.grad), expected.grad, rtol=1e-12)
    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.BatchNorm1d(4), nn.Dropout(0.2, rng=0))
    model.to("cuda")
    out = model(g)
    mf.sum(out).backward()
    assert all(isinstance(p.grad, cupy.ndarray) for p in model.parameters())
    assert all(isinstance(v, np.ndarray) for v in model.state_dict().values())


def test_real_cupy_refuses_mixed_devices_with_the_op_named(cupy):
    a, b = mf.Node(cupy.ones((2, 2))), mf.Node(np.ones((2, 2)))
    with pytest.raises(DeviceMismatchError, match="matmul: operands on different devices"):
        a @ b
    with pytest.raises(DeviceMismatchError, match="gradient= is on cpu"):
        (mf.Node(cupy.ones((2, 2)), requires_grad=True) * 2).backward(np.ones((2, 2)))


def _r2_on(device, estimator, X, y, X_test, y_test):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted = estimator.set_params(device=device).fit(X, y)
    prediction = fitted.predict(X_test)
    assert type(prediction) is np.ndarray and not is_cupy_array(prediction)
    return fitted, fitted.score(X_test, y_test)


def _sunspots(sequences):
    from matrixflow.models.datasets import load_series, make_windows

    _, values = load_series("sunspots")
    values = (values - values.mean()) / values.std()
    X, y = make_windows(values, 10, sequences=sequences)
    return X[:250], y[:250], X[250:], y[250:]


def _models():
    import matrixflow.models

    return matrixflow.models


@pytest.mark.parametrize("make, sequences", [
    (lambda: _models().MLPRegressor(hidden_layer_sizes=(32,), max_iter=300, random_state=0),
     False),
    (lambda: _models().RNNRegressor(16, max_iter=60, random_state=0), True),
], ids=["MLPRegressor", "RNNRegressor"])
def test_regressors_fit_on_the_gpu_to_the_quality_of_the_cpu(cupy, make, sequences):
    X, y, X_test, y_test = _sunspots(sequences)
    cpu, cpu_r2 = _r2_on("cpu", make(), X, y, X_test, y_test)
    gpu, gpu_r2 = _r2_on("cuda", make(), X, y, X_test, y_test)
    assert cpu_r2 > 0.5 and abs(gpu_r2 - cpu_r2) < 0.01, (cpu_r2, gpu_r2)
    # the first epochs agree to rounding (later, the stopping rule may see a tie differently)
    np.testing.assert_allclose(gpu.loss_curve_[:20], cpu.loss_curve_[:20], rtol=1e-6)


def test_classifier_fits_on_the_gpu_as_on_the_cpu(cupy):
    from matrixflow.models import MLPClassifier
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    scores = []
    for device in ("cpu", "cuda"):
        model = MLPClassifier(hidden_layer_sizes=(64,), max_iter=30, random_state=0,
                              device=device)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X[:1200], y[:1200])
        scores.append(model.score(X[1200:], y[1200:]))
        assert all(type(c) is np.ndarray for c in model.coefs_)
    assert scores[0] > 0.85 and abs(scores[0] - scores[1]) < 0.01, scores
