"""matrixflow.models.RNNRegressor: gradients against PyTorch's nn.RNN, shapes, data, persistence."""

import math
import sys
import warnings

import numpy as np
import pytest
import torch
from matrixflow.models import RNNRegressor, datasets
from sklearn.exceptions import ConvergenceWarning


def _quiet_fit(model, X, y, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y, **kwargs)


def _torch_twin(model):
    rnn = model._rnn
    twin = torch.nn.RNN(model.n_features_in_, model.hidden_size, model.num_layers,
                        model.nonlinearity, batch_first=True).double()
    with torch.no_grad():
        for layer, cell in enumerate(rnn.cells):
            getattr(twin, f"weight_ih_l{layer}").copy_(torch.from_numpy(cell.weight_ih.data.T))
            getattr(twin, f"weight_hh_l{layer}").copy_(torch.from_numpy(cell.weight_hh.data.T))
            getattr(twin, f"bias_ih_l{layer}").copy_(torch.from_numpy(cell.bias.data.ravel()))
            getattr(twin, f"bias_hh_l{layer}").zero_()
    out_w = torch.tensor(model._out_weight.data, requires_grad=True)
    out_b = torch.tensor(model._out_bias.data, requires_grad=True)
    return twin, out_w, out_b


@pytest.mark.parametrize("num_layers, nonlinearity, per_step, alpha", [
    (1, "tanh", False, 0.0), (2, "tanh", False, 0.01), (2, "relu", True, 0.1), (3, "tanh", True, 0),
])
def test_objective_and_gradients_match_torch_nn_rnn(num_layers, nonlinearity, per_step, alpha):
    rng = np.random.default_rng(0)
    n, steps, features, outputs = 6, 9, 3, 2
    X = rng.standard_normal((n, steps, features))
    y = rng.standard_normal((n, steps, outputs) if per_step else (n, outputs))
    model = RNNRegressor(hidden_size=5, num_layers=num_layers, nonlinearity=nonlinearity,
                         alpha=alpha, max_iter=1, random_state=0)
    _quiet_fit(model, X, y)
    objective = model._objective(X, y, None)
    objective.backward()

    twin, out_w, out_b = _torch_twin(model)
    states, _ = twin(torch.from_numpy(X))
    if per_step:
        prediction, target = states @ out_w + out_b, torch.from_numpy(y)
    else:
        prediction, target = states[:, -1, :] @ out_w + out_b, torch.from_numpy(y)
    loss = 0.5 * ((prediction - target) ** 2).mean()
    weights = [p for name, p in twin.named_parameters() if "weight" in name] + [out_w]
    loss = loss + 0.5 * alpha / n * sum((w**2).sum() for w in weights)
    loss.backward()

    np.testing.assert_allclose(objective.item(), loss.item(), rtol=1e-12)
    for layer, cell in enumerate(model._rnn.cells):
        np.testing.assert_allclose(cell.weight_ih.grad,
                                   getattr(twin, f"weight_ih_l{layer}").grad.numpy().T, rtol=1e-9)
        np.testing.assert_allclose(cell.weight_hh.grad,
                                   getattr(twin, f"weight_hh_l{layer}").grad.numpy().T, rtol=1e-9)
        np.testing.assert_allclose(cell.bias.grad.ravel(),
                                   getattr(twin, f"bias_ih_l{layer}").grad.numpy(), rtol=1e-9)
    np.testing.assert_allclose(model._out_weight.grad, out_w.grad.numpy(), rtol=1e-9)
    np.testing.assert_allclose(model._out_bias.grad, out_b.grad.numpy(), rtol=1e-9)


def test_prediction_shapes_follow_y():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((20, 4, 2))
    for y, shape in ((rng.standard_normal(20), (20,)), (rng.standard_normal((20, 3)), (20, 3)),
                     (rng.standard_normal((20, 4, 1)), (20, 4, 1))):
        model = _quiet_fit(RNNRegressor(hidden_size=4, max_iter=2, random_state=0), X, y)
        assert model.predict(X).shape == shape
        assert np.isfinite(model.score(X, y))
        assert model.n_features_in_ == 2 and model.many_to_many_ == (y.ndim == 3)


def test_batches_are_many_sequences_never_one_at_a_time(monkeypatch):
    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((100, 5, 1)), rng.standard_normal(100)
    model = RNNRegressor(hidden_size=3, batch_size=32, max_iter=2, random_state=0)
    sizes = []
    module = sys.modules[RNNRegressor.__module__]
    original = module.batch_inputs  # what each batch's step is fed
    monkeypatch.setattr(module, "batch_inputs",
                        lambda self, X, y, w: sizes.append(len(X)) or original(self, X, y, w))
    _quiet_fit(model, X, y)
    assert sizes == [32, 32, 32, 4] * 2
    first = model._network_parameters()[0]
    assert model._optimizer.state[first]["step"] == 8


def test_same_random_state_gives_the_same_model():
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((30, 6, 2)), rng.standard_normal(30)
    a = _quiet_fit(RNNRegressor(hidden_size=4, max_iter=5, random_state=7), X, y)
    b = _quiet_fit(RNNRegressor(hidden_size=4, max_iter=5, random_state=7), X, y)
    c = _quiet_fit(RNNRegressor(hidden_size=4, max_iter=5, random_state=8), X, y)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    assert not np.allclose(a.predict(X), c.predict(X))


def test_clip_norm_limits_the_step_and_grad_norm_curve_records_the_raw_norm():
    rng = np.random.default_rng(4)
    X, y = 5 * rng.standard_normal((40, 8, 1)), 10 * rng.standard_normal(40)
    model = RNNRegressor(hidden_size=6, solver="sgd", learning_rate_init=0.1, momentum=0.0,
                         clip_norm=0.01, batch_size=40, max_iter=1, random_state=0)
    before = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.partial_fit(X, y)  # initialises, then one full-batch SGD step
        before = [p.data.copy() for p in model._network_parameters()]
        model.partial_fit(X, y)
    after = [p.data for p in model._network_parameters()]
    step = math.sqrt(sum(np.sum((a - b) ** 2) for a, b in zip(after, before)))
    assert step <= 0.1 * 0.01 * (1 + 1e-9)
    assert len(model.grad_norm_curve_) == 2 and model.grad_norm_curve_[1] > 0.01


def test_bptt_truncation_changes_gradients_only_when_shorter_than_the_sequence():
    rng = np.random.default_rng(5)
    X, y = rng.standard_normal((16, 10, 1)), rng.standard_normal(16)

    def gradient(truncate):
        model = _quiet_fit(RNNRegressor(hidden_size=4, max_iter=1, random_state=0,
                                        bptt_truncate=truncate), X, y)
        model._objective(X, y[:, None], None).backward()
        return model._rnn.cells[0].weight_hh.grad

    full = gradient(None)
    np.testing.assert_allclose(gradient(10), full, rtol=1e-12)
    assert not np.allclose(gradient(3), full)


def test_h0_is_used_for_every_sequence():
    rng = np.random.default_rng(6)
    X, y = rng.standard_normal((10, 3, 1)), rng.standard_normal(10)
    zero = _quiet_fit(RNNRegressor(hidden_size=2, max_iter=1, random_state=0), X, y)
    shifted = _quiet_fit(RNNRegressor(hidden_size=2, h0=[3.0, -3.0], max_iter=1,
                                      random_state=0), X, y)
    assert not np.allclose(zero.predict(X), shifted.predict(X))
    with pytest.raises(ValueError, match=r"h0 must have shape \(2,\)"):
        RNNRegressor(hidden_size=2, h0=np.ones(3), max_iter=1).fit(X, y)


def test_sunspots_forecast_beats_persistence_by_a_wide_margin():
    """Real data: the next year's sunspot number from the last ten; trained on 1700–1949,
    tested on 1950–2008."""
    data = datasets.load_sunspots(window=10, sequences=True)
    split = 240
    scale = data.X[:split].std()
    X, y = data.X / scale, data.y / scale
    model = _quiet_fit(RNNRegressor(hidden_size=32, learning_rate_init=0.01, max_iter=300,
                                    random_state=0), X[:split], y[:split])
    r2 = model.score(X[split:], y[split:])
    persistence = 1 - np.mean((X[split:, -1, 0] - y[split:]) ** 2) / np.var(y[split:])
    assert r2 > 0.8 and r2 > persistence + 0.15


def test_save_and_load_round_trip(tmp_path):
    rng = np.random.default_rng(7)
    X, y = rng.standard_normal((20, 4, 2)), rng.standard_normal((20, 4, 1))
    model = _quiet_fit(RNNRegressor(hidden_size=3, num_layers=2, h0=np.ones(3), max_iter=3,
                                    random_state=0), X, y)
    model.save(tmp_path / "rnn.npz")
    loaded = RNNRegressor.load(tmp_path / "rnn.npz")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_array_equal(loaded.h0, model.h0)
    assert loaded.grad_norm_curve_ == model.grad_norm_curve_
    model.partial_fit(X, y)
    loaded.partial_fit(X, y)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_early_stopping_keeps_the_best_validation_model():
    rng = np.random.default_rng(8)
    X = rng.standard_normal((80, 5, 1))
    y = X[:, -1, 0] + 0.1 * rng.standard_normal(80)
    model = _quiet_fit(RNNRegressor(hidden_size=4, early_stopping=True, max_iter=40,
                                    random_state=0), X, y)
    assert len(model.validation_scores_) == model.n_iter_
    assert model.best_validation_score_ == max(model.validation_scores_)


@pytest.mark.parametrize("X, y, words", [
    (np.ones((5, 3, 1, 1)), np.ones(5), "X must be 2-D (n_samples, seq_len) or 3-D (n_samples, "
                                        "seq_len, n_features), got shape (5, 3, 1, 1)"),
    (np.ones(5), np.ones(5), "Expected 2D array, got 1D array"),
    (np.ones((5, 3, 1)), np.ones(4), "X has 5 samples but y has 4"),
    (np.ones((5, 3, 1)), np.ones((5, 2, 1)), "a per-step y must have shape (n_samples, 3"),
])
def test_bad_shapes_say_what_is_expected(X, y, words):
    with pytest.raises(ValueError) as caught:
        RNNRegressor(max_iter=1).fit(X, y)
    assert words in str(caught.value)


def test_bad_parameters_are_refused():
    X, y = np.ones((5, 3, 1)), np.ones(5)
    for params, words in ((dict(nonlinearity="sigmoid"), "nonlinearity must be 'tanh' or 'relu'"),
                          (dict(clip_norm=0), "clip_norm must be None or a positive number"),
                          (dict(solver="lbfgs"), "solver must be 'sgd' or 'adam'"),
                          (dict(hidden_size=0), "hidden_size must be an integer ≥ 1")):
        with pytest.raises(ValueError, match=words):
            RNNRegressor(**params).fit(X, y)


def test_predicting_with_other_features_is_refused():
    model = _quiet_fit(RNNRegressor(hidden_size=2, max_iter=1), np.ones((5, 3, 2)), np.ones(5))
    with pytest.raises(ValueError, match="X has 1 features, but RNNRegressor is expecting 2"):
        model.predict(np.ones((5, 3, 1)))
