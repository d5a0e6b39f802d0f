"""The estimators with device="cuda", on the CPU stand-in for CuPy (tests/fake_cupy.py).

Each fit runs twice, on the CPU and on the fake GPU, and must give the same weights, losses and
predictions; at every optimizer step the parameters, gradients and solver state must be on the
device, and after fit everything the estimator holds (coefs_, the solver state save() writes,
the RNN's network) must be NumPy again.  The stand-in's arithmetic is NumPy's: a GPU's rounding
and speed are checked by tests/test_gpu.py, on a machine with one.
"""

import warnings

import fake_cupy
import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from matrixflow import optim

on_device, host = fake_cupy.on_device, fake_cupy.host  # the `cp` fixture is in conftest.py


@pytest.fixture
def spy(monkeypatch):
    """One entry per optimizer step: whether parameters, gradients and every state array were
    on the device before and after it."""
    steps = []
    original = optim.Optimizer.step

    def arrays(optimizer):
        for group in optimizer.param_groups:
            for p in group["params"]:
                yield p.data
                if p.grad is not None:
                    yield p.grad
        for state in optimizer.state.values():
            yield from (v for v in state.values() if hasattr(v, "shape"))

    def step(self, closure=None):
        before = all(on_device(a) for a in arrays(self))
        result = original(self, closure)
        steps.append(before and all(on_device(a) for a in arrays(self)))
        return result

    monkeypatch.setattr(optim.Optimizer, "step", step)
    return steps


def _data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 4))
    y = X @ rng.standard_normal(4) + 0.1 * rng.standard_normal(60)
    return X, y, rng


def _fits_alike(cpu, gpu, X, attributes):
    prediction = gpu.predict(X)
    assert host(prediction)
    np.testing.assert_allclose(prediction, cpu.predict(X), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gpu.loss_curve_, cpu.loss_curve_, rtol=1e-12)
    assert gpu.n_iter_ == cpu.n_iter_
    for name in attributes:
        for expected, got in zip(getattr(cpu, name), getattr(gpu, name)):
            assert host(got), name  # fitted parameters are NumPy whatever the device
            np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)


def _fit_cpu_then_device(spy, models, X, y, **fit_params):
    """Fit each model in turn, quietly; the spy then holds what the last (device) fit did."""
    for model in models:
        spy.clear()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, y, **fit_params)
    return models


MLP_SETTINGS = [dict(), dict(solver="sgd", early_stopping=True, learning_rate="adaptive"),
                dict(loss="poisson", alpha=0.01)]


@pytest.mark.parametrize("settings", MLP_SETTINGS, ids=["adam", "sgd, early stopping",
                                                        "poisson, sample weights"])
def test_mlp_regressor_fits_on_the_device_as_on_the_cpu(cp, spy, settings):
    from matrixflow.models import MLPRegressor

    X, y, rng = _data()
    if settings.get("loss") == "poisson":
        y = np.abs(y)
    weights = rng.uniform(0.5, 1.5, len(y)) if "loss" in settings else None
    cpu, gpu = _fit_cpu_then_device(
        spy, [MLPRegressor(hidden_layer_sizes=(8,), max_iter=15, random_state=0, device=d,
                           **settings) for d in ("cpu", "cuda")], X, y, sample_weight=weights)
    _fits_alike(cpu, gpu, X, ["coefs_", "intercepts_"])
    assert spy and all(spy)  # the GPU fit's steps ran, all on the device
    state = gpu._optimizer.state_arrays()
    arrays = [a for key, values in state.items() if key != "learning_rate" for a in values
              if hasattr(a, "shape")]
    assert arrays and all(host(a) for a in arrays)  # what save() writes is NumPy
    assert all(host(p.data) for p in gpu._optimizer.params)  # no Node left over device memory
    if not settings.get("early_stopping"):  # on from the NumPy weights, on the device again
        before = [c.copy() for c in gpu.coefs_]
        gpu.partial_fit(X, y)
        assert all(host(c) for c in gpu.coefs_)
        assert not np.array_equal(before[0], gpu.coefs_[0])


def test_mlp_regressor_lbfgs_on_the_device(cp, monkeypatch):
    from matrixflow.models import MLPRegressor

    X, y, _ = _data()
    seen = []
    original = MLPRegressor._tree  # the function each evaluation's tree is built by

    def tree_of(self, parameters):
        tree = original(self, parameters)

        def spied(X_batch, *rest):
            seen.append(all(on_device(p.data) for p in parameters)
                        and on_device(getattr(X_batch, "data", X_batch)))
            return tree(X_batch, *rest)

        return spied

    monkeypatch.setattr(MLPRegressor, "_tree", tree_of)
    cpu, gpu = (MLPRegressor(hidden_layer_sizes=(6,), solver="lbfgs", max_iter=30,
                             random_state=0, device=d) for d in ("cpu", "cuda"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        cpu.fit(X, y)
        seen.clear()
        gpu.fit(X, y)
    assert seen and all(seen)
    np.testing.assert_allclose(gpu.predict(X), cpu.predict(X), rtol=1e-9, atol=1e-12)
    assert all(host(c) for c in gpu.coefs_ + gpu.intercepts_)


@pytest.mark.parametrize("binary", [False, True], ids=["softmax", "logistic, early stopping"])
def test_mlp_classifier_fits_on_the_device_as_on_the_cpu(cp, spy, binary):
    from matrixflow.models import MLPClassifier

    X, _, _ = _data()
    y = (X[:, 0] > 0).astype(int) + (0 if binary else (X[:, 1] > 0))
    cpu, gpu = _fit_cpu_then_device(
        spy, [MLPClassifier(hidden_layer_sizes=(8,), max_iter=15, random_state=0,
                            early_stopping=binary, device=d) for d in ("cpu", "cuda")], X, y)
    assert spy and all(spy)
    _fits_alike(cpu, gpu, X, ["coefs_", "intercepts_"])
    probabilities = gpu.predict_proba(X)
    assert host(probabilities)
    np.testing.assert_allclose(probabilities, cpu.predict_proba(X), rtol=1e-12)


@pytest.mark.parametrize("settings", [
    dict(clip_norm=1.0, h0=np.full(6, 0.1)),
    dict(num_layers=2, early_stopping=True, solver="sgd", bptt_truncate=2, alpha=0.01),
], ids=["many-to-one, clipped, h0", "many-to-many, two layers, early stopping"])
def test_rnn_regressor_fits_on_the_device_as_on_the_cpu(cp, spy, settings, tmp_path):
    from matrixflow.models import RNNRegressor

    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 5, 2))
    y = X[:, :, :1].cumsum(axis=1) if settings.get("num_layers") else X.sum(axis=(1, 2))
    cpu, gpu = _fit_cpu_then_device(
        spy, [RNNRegressor(6, max_iter=8, random_state=0, device=d, **settings)
              for d in ("cpu", "cuda")], X, y)
    assert spy and all(spy)
    _fits_alike(cpu, gpu, X, [])
    np.testing.assert_allclose(gpu.grad_norm_curve_, cpu.grad_norm_curve_, rtol=1e-12)
    for p, q in zip(cpu._network_parameters(), gpu._network_parameters()):
        assert host(q.data)  # the network is held as NumPy between calls
        np.testing.assert_allclose(q.data, p.data, rtol=1e-12)
    gpu.save(tmp_path / "rnn.npz")
    loaded = RNNRegressor.load(tmp_path / "rnn.npz")
    assert loaded.device == "cuda"
    np.testing.assert_allclose(loaded.predict(X), gpu.predict(X), rtol=1e-12)


@pytest.mark.parametrize("name", ["MLPRegressor", "MLPClassifier", "RNNRegressor"])
def test_device_is_a_checked_constructor_parameter(name, monkeypatch):
    import sys

    import matrixflow.models as models

    estimator_class = getattr(models, name)
    X = np.zeros((4, 3, 2)) if name == "RNNRegressor" else np.zeros((4, 2))
    y = np.array([0.0, 1.0, 0.0, 1.0])
    assert estimator_class().device == "cpu" and "device" in estimator_class().get_params()
    with pytest.raises(ValueError, match="device must be 'cpu', 'cuda' or 'cuda:N', got 'gpu'"):
        estimator_class(device="gpu").fit(X, y)
    monkeypatch.setitem(sys.modules, "cupy", None)  # as on a machine without CuPy
    with pytest.raises(RuntimeError, match=r'needs CuPy, which is not installed: pip install '
                                           r'"matrixflow\[gpu\]"'):
        estimator_class(device="cuda").fit(X, y)
