"""replay=True (each batch's step through one mf.replay) fits exactly the model replay=False
fits: the same weights, loss curve and epoch count, bit for bit — and the replay really ran
(a Replay made per fit, traced, then replayed), so a silent fall-back to eager cannot pass."""

import warnings

import numpy as np
import pytest
from matrixflow.models import MLPClassifier, MLPRegressor, RNNRegressor
from sklearn.datasets import load_diabetes, make_classification
from sklearn.preprocessing import StandardScaler

import matrixflow as mf


@pytest.fixture
def replays(monkeypatch):
    """The Replay objects the estimators make (mf.replay, wrapped to keep them)."""
    made = []
    original = mf.replay

    def keep(fn, **kwargs):
        made.append(original(fn, **kwargs))
        return made[-1]

    monkeypatch.setattr(mf, "replay", keep)
    return made


def _diabetes():
    X, y = load_diabetes(return_X_y=True)
    return StandardScaler().fit_transform(X), (y - y.mean()) / y.std()


def _fit(model, method, X, y, sample_weight=None, times=1):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(times):
            getattr(model, method)(X, y, sample_weight=sample_weight)
    return model


def _both(cls, replays, X, y, sample_weight=None, method="fit", times=1, **params):
    """(replayed, eager) models fitted alike; asserts the replay ran on every batch but the
    first of each shape."""
    replayed = _fit(cls(replay=True, **params), method, X, y, sample_weight, times)
    assert len(replays) == times, "a replayed fit makes one Replay per fit call"
    for step in replays:
        assert step.traces >= 1 and step.calls >= 1, repr(step)  # traced, then replayed
    count = len(replays)
    eager = _fit(cls(replay=False, **params), method, X, y, sample_weight, times)
    assert len(replays) == count, "replay=False must not make a Replay"
    return replayed, eager


def _same_history(a, b):
    assert a.n_iter_ == b.n_iter_
    assert np.array_equal(a.loss_curve_, b.loss_curve_)
    for name in ("validation_scores_", "grad_norm_curve_"):
        if getattr(a, name, None) is not None:
            assert np.array_equal(getattr(a, name), getattr(b, name)), name


def _same_mlp(a, b):
    _same_history(a, b)
    for x, y in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True):
        assert x.dtype == y.dtype and np.array_equal(x, y)


MLP_CASES = {
    "adam": {},
    "sgd": {"solver": "sgd", "momentum": 0.8},
    "alpha": {"alpha": 0.05},
    "early_stopping": {"early_stopping": True},
    "nesterov_invscaling": {"solver": "sgd", "learning_rate": "invscaling", "alpha": 0.01},
}


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sample_weight"])
@pytest.mark.parametrize("case", MLP_CASES)
def test_mlp_regressor_replay_is_eager_bit_for_bit(replays, case, weighted):
    X, y = _diabetes()
    weights = np.random.default_rng(0).uniform(0.1, 2.0, len(y)) if weighted else None
    a, b = _both(MLPRegressor, replays, X, y, weights, hidden_layer_sizes=(16, 8),
                 batch_size=64, max_iter=12, random_state=0, **MLP_CASES[case])
    _same_mlp(a, b)


def test_mlp_regressor_float32_poisson_and_partial_fit_twice(replays):
    X, y = _diabetes()
    X32, weights = X.astype(np.float32), np.random.default_rng(1).uniform(0.1, 2, len(y))
    a, b = _both(MLPRegressor, replays, X32, np.exp(y).astype(np.float32), weights,
                 loss="poisson", hidden_layer_sizes=(8,), max_iter=8, random_state=0)
    _same_mlp(a, b)
    replays.clear()
    a, b = _both(MLPRegressor, replays, X, y, weights, method="partial_fit", times=2,
                 hidden_layer_sizes=(8,), batch_size=100, random_state=0, alpha=0.01)
    _same_mlp(a, b)


@pytest.mark.parametrize("classes", [2, 3])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sample_weight"])
def test_mlp_classifier_replay_is_eager_bit_for_bit(replays, classes, weighted):
    X, y = make_classification(300, 8, n_informative=5, n_classes=classes, random_state=0)
    weights = np.random.default_rng(2).uniform(0.1, 2.0, len(y)) if weighted else None
    a, b = _both(MLPClassifier, replays, X, y, weights, hidden_layer_sizes=(12,),
                 batch_size=64, max_iter=10, random_state=0, alpha=0.01)
    _same_mlp(a, b)


def test_lbfgs_and_sparse_x_run_eagerly_and_fit_as_before(replays):
    import scipy.sparse

    X, y = _diabetes()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = MLPRegressor(solver="lbfgs", max_iter=5, random_state=0).fit(X, y)
        b = MLPRegressor(solver="lbfgs", max_iter=5, random_state=0, replay=False).fit(X, y)
        sparse = MLPRegressor(max_iter=3, random_state=0).fit(scipy.sparse.csr_matrix(X), y)
    assert not replays  # neither makes a Replay
    assert a.loss_ == b.loss_ and all(np.array_equal(p, q) for p, q in zip(a.coefs_, b.coefs_))
    assert np.isfinite(sparse.loss_)


def _sequences(many_to_many=False):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((90, 6, 3))
    y = np.cumsum(X[:, :, :1], axis=1) * 0.3 if many_to_many else X.sum(axis=1)[:, :2] * 0.3
    return X, y


RNN_CASES = {
    "rnn": {"cell": "rnn"},
    "lstm": {"cell": "lstm"},
    "gru": {"cell": "gru"},
    "relu_two_layers_sgd": {"nonlinearity": "relu", "num_layers": 2, "solver": "sgd"},
    "h0_early_stopping": {"h0": np.full(8, 0.1), "early_stopping": True},
}


@pytest.mark.parametrize("many_to_many", [False, True], ids=["many_to_one", "many_to_many"])
@pytest.mark.parametrize("case", RNN_CASES)
def test_rnn_regressor_replay_is_eager_bit_for_bit(replays, case, many_to_many):
    X, y = _sequences(many_to_many)
    a, b = _both(RNNRegressor, replays, X, y, hidden_size=8, batch_size=20, max_iter=5,
                 random_state=0, **RNN_CASES[case])
    _same_history(a, b)
    for p, q in zip(a._network_parameters(), b._network_parameters(), strict=True):
        assert np.array_equal(p.data, q.data)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_rnn_truncation_clipping_and_sample_weight(replays, cell):
    X, y = _sequences(many_to_many=True)
    weights = np.random.default_rng(4).uniform(0.1, 2.0, len(X))
    a, b = _both(RNNRegressor, replays, X.astype(np.float32), y.astype(np.float32),
                 weights.astype(np.float32), cell=cell, hidden_size=8, batch_size=20,
                 max_iter=5, random_state=0, bptt_truncate=3, clip_norm=0.5, alpha=0.01)
    _same_history(a, b)
    for p, q in zip(a._network_parameters(), b._network_parameters(), strict=True):
        assert np.array_equal(p.data, q.data)
    replays.clear()
    a, b = _both(RNNRegressor, replays, X, y, weights, method="partial_fit", times=2,
                 cell=cell, hidden_size=8, batch_size=32, random_state=0)
    _same_history(a, b)


@pytest.mark.parametrize("cls", [MLPRegressor, MLPClassifier, RNNRegressor])
def test_replay_is_a_checked_parameter(cls):
    assert cls().get_params()["replay"] is True
    X, y = (_sequences()[0], np.arange(90.0)) if cls is RNNRegressor else (_diabetes()[0],
                                                                           np.arange(442) % 2)
    with pytest.raises(ValueError, match="replay must be True or False"):
        cls(replay="yes").fit(X, y)


def test_saved_models_keep_replay_and_old_files_without_it_load(tmp_path):
    X, y = _diabetes()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = MLPRegressor(hidden_layer_sizes=(4,), max_iter=2, random_state=0,
                             replay=False).fit(X, y)
    model.save(tmp_path / "m.npz")
    assert MLPRegressor.load(tmp_path / "m.npz").replay is False
    stored = dict(np.load(tmp_path / "m.npz", allow_pickle=False))
    import json

    params = json.loads(str(stored["params"]))
    del params["replay"]  # a file written before the parameter existed
    stored["params"] = np.array(json.dumps(params))
    np.savez(tmp_path / "old.npz", **stored)
    old = MLPRegressor.load(tmp_path / "old.npz")
    assert old.replay is True
    assert np.array_equal(old.predict(X), model.predict(X))


def test_many_to_one_truncation_replays_the_cut_off_steps(replays):
    """Its cut-off states are below no output: the replay computes them again from each
    batch (a detached leaf remembers its source), and the fit is the eager one."""
    X, y = _sequences()
    models = [_fit(RNNRegressor(hidden_size=4, bptt_truncate=2, max_iter=3, batch_size=16,
                                random_state=0, replay=r), "fit", X, y) for r in (True, False)]
    assert len(replays) == 1 and replays[0].calls > 0
    _same_history(*models)
