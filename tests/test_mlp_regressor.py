"""matrixflow.models.MLPRegressor: a drop-in for scikit-learn's, checked weight for weight."""

import warnings

import numpy as np
import pytest
from matrixflow.models import MLPRegressor
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor as SklearnMLP
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

X_DIABETES, y_raw = load_diabetes(return_X_y=True)
X_DIABETES = StandardScaler().fit_transform(X_DIABETES)
Y_DIABETES = (y_raw - y_raw.mean()) / y_raw.std()


def _fit_both(X, y, sample_weight=None, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = SklearnMLP(**params).fit(X, y, sample_weight=sample_weight)
        mine = MLPRegressor(**params).fit(X, y, sample_weight=sample_weight)
    return mine, theirs


def _assert_same_model(mine, theirs, rtol=1e-9):
    assert mine.n_iter_ == theirs.n_iter_
    for a, b in zip(mine.coefs_ + mine.intercepts_, theirs.coefs_ + theirs.intercepts_):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(mine.loss_, theirs.loss_, rtol=rtol)
    for name in ("loss_curve_", "validation_scores_"):
        if getattr(theirs, name, None) is not None:
            np.testing.assert_allclose(getattr(mine, name), getattr(theirs, name), rtol=rtol)
    for name in ("t_", "n_layers_", "n_outputs_", "out_activation_", "n_features_in_"):
        assert getattr(mine, name) == getattr(theirs, name), name


PARITY = [
    dict(hidden_layer_sizes=(32,), max_iter=60, random_state=0),
    dict(hidden_layer_sizes=(32, 16), activation="tanh", solver="sgd", max_iter=40,
         random_state=1),
    dict(hidden_layer_sizes=(20,), activation="logistic", solver="sgd", nesterovs_momentum=False,
         learning_rate="invscaling", learning_rate_init=0.05, max_iter=30, random_state=2),
    dict(hidden_layer_sizes=(20,), solver="sgd", learning_rate="adaptive", tol=0.1,
         n_iter_no_change=2, max_iter=60, random_state=7),
    dict(hidden_layer_sizes=(20,), early_stopping=True, max_iter=80, random_state=3),
    dict(hidden_layer_sizes=(16,), activation="identity", alpha=0.5, batch_size=50, shuffle=False,
         max_iter=20, random_state=5),
    dict(hidden_layer_sizes=(10,), solver="lbfgs", max_iter=60, random_state=4),
    dict(hidden_layer_sizes=(8,), tol=0.05, random_state=6),  # stops on its own
]


@pytest.mark.parametrize("params", PARITY, ids=lambda p: ", ".join(f"{k}={v}" for k, v in
                                                                  p.items()))
def test_same_data_and_settings_give_scikit_learns_model(params):
    mine, theirs = _fit_both(X_DIABETES, Y_DIABETES, **params)
    _assert_same_model(mine, theirs, rtol=1e-7 if params.get("solver") == "lbfgs" else 1e-9)
    np.testing.assert_allclose(mine.predict(X_DIABETES), theirs.predict(X_DIABETES), rtol=1e-7)


def test_multi_output_and_sample_weights_match_scikit_learn():
    rng = np.random.default_rng(0)
    Y = np.column_stack([Y_DIABETES, np.sin(X_DIABETES[:, 0])])
    weights = rng.uniform(0.2, 2.0, len(Y))
    mine, theirs = _fit_both(X_DIABETES, Y, sample_weight=weights,
                             hidden_layer_sizes=(16,), max_iter=30, random_state=0)
    _assert_same_model(mine, theirs)
    assert mine.predict(X_DIABETES).shape == (len(Y), 2)


def test_partial_fit_and_warm_start_follow_scikit_learn():
    mine, theirs = MLPRegressor(hidden_layer_sizes=(12,), random_state=0), SklearnMLP(
        hidden_layer_sizes=(12,), random_state=0)
    for start in range(0, 400, 100):
        chunk = slice(start, start + 100)
        mine.partial_fit(X_DIABETES[chunk], Y_DIABETES[chunk])
        theirs.partial_fit(X_DIABETES[chunk], Y_DIABETES[chunk])
    _assert_same_model(mine, theirs)
    params = dict(hidden_layer_sizes=(12,), warm_start=True, max_iter=5, random_state=0)
    mine, theirs = _fit_both(X_DIABETES, Y_DIABETES, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mine.fit(X_DIABETES, Y_DIABETES)
        theirs.fit(X_DIABETES, Y_DIABETES)
    _assert_same_model(mine, theirs)
    assert len(mine.loss_curve_) == 10


def test_float32_data_trains_in_float32():
    model = MLPRegressor(hidden_layer_sizes=(8,), max_iter=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_DIABETES.astype(np.float32), Y_DIABETES.astype(np.float32))
    assert all(c.dtype == np.float32 for c in model.coefs_ + model.intercepts_)
    assert model.predict(X_DIABETES.astype(np.float32)).dtype == np.float32


def test_same_random_state_same_model_and_another_differs():
    first, second = _fit_both(X_DIABETES, Y_DIABETES, hidden_layer_sizes=(8,), max_iter=5,
                              random_state=11)[0], None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        second = MLPRegressor(hidden_layer_sizes=(8,), max_iter=5, random_state=11).fit(
            X_DIABETES, Y_DIABETES)
        other = MLPRegressor(hidden_layer_sizes=(8,), max_iter=5, random_state=12).fit(
            X_DIABETES, Y_DIABETES)
    np.testing.assert_array_equal(first.coefs_[0], second.coefs_[0])
    assert not np.allclose(first.coefs_[0], other.coefs_[0])


def test_maximum_iterations_warn_and_verbose_prints_one_line_per_epoch(capsys):
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        MLPRegressor(hidden_layer_sizes=(4,), max_iter=3, verbose=True, early_stopping=True,
                     random_state=0).fit(X_DIABETES, Y_DIABETES)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Iteration")]
    assert len(lines) == 3
    assert all("loss = " in line and "validation score = " in line and " s" in line
               for line in lines)


def test_save_and_load_round_trip_continues_training_identically(tmp_path):
    model = MLPRegressor(hidden_layer_sizes=(10, 5), max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_DIABETES, Y_DIABETES)
    path = tmp_path / "mlp.npz"
    model.save(path)
    loaded = MLPRegressor.load(path)
    assert loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.predict(X_DIABETES), model.predict(X_DIABETES))
    assert loaded.loss_curve_ == model.loss_curve_ and loaded.n_iter_ == model.n_iter_
    model.partial_fit(X_DIABETES, Y_DIABETES)
    loaded.partial_fit(X_DIABETES, Y_DIABETES)
    np.testing.assert_array_equal(loaded.coefs_[0], model.coefs_[0])  # the Adam state came too
    with np.load(path, allow_pickle=False) as stored:  # nothing in the file needs pickle
        assert "fitted/coefs_[0]" in stored


def test_load_refuses_another_file(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, a=np.ones(2))
    with pytest.raises(ValueError, match="not a saved matrixflow estimator"):
        MLPRegressor.load(path)


@pytest.mark.parametrize("params, words", [
    (dict(alpha=-1.0), "alpha must be a real number in [0, ∞)"),
    (dict(activation="softmax"), "activation must be one of"),
    (dict(solver="newton"), "solver must be one of"),
    (dict(batch_size=0), "batch_size must be 'auto' or an integer ≥ 1"),
    (dict(hidden_layer_sizes=(10, 0)), "hidden_layer_sizes must be > 0"),
    (dict(momentum=1.5), "momentum must be a real number in [0, 1]"),
])
def test_bad_parameters_are_refused_at_fit(params, words):
    with pytest.raises(ValueError) as caught:
        MLPRegressor(**params).fit(X_DIABETES, Y_DIABETES)
    assert words in str(caught.value)


def test_lbfgs_has_no_partial_fit():
    model = MLPRegressor(solver="lbfgs")
    assert not hasattr(model, "partial_fit")
    with pytest.raises(AttributeError, match="has no attribute 'partial_fit'"):
        model.partial_fit(X_DIABETES, Y_DIABETES)


def test_matches_scikit_learns_held_out_r2_on_real_data():
    """Diabetes (442 × 10): the same held-out R² as scikit-learn's, well above a mean guess."""
    train, test = slice(0, 350), slice(350, None)
    params = dict(hidden_layer_sizes=(32,), alpha=1.0, max_iter=400, random_state=0)
    mine, theirs = _fit_both(X_DIABETES[train], Y_DIABETES[train], **params)
    r2_mine = mine.score(X_DIABETES[test], Y_DIABETES[test])
    r2_theirs = theirs.score(X_DIABETES[test], Y_DIABETES[test])
    np.testing.assert_allclose(r2_mine, r2_theirs, rtol=1e-6)
    assert r2_mine > 0.4


@parametrize_with_checks([MLPRegressor(hidden_layer_sizes=(32,), max_iter=1000, random_state=0),
                          MLPRegressor()])
def test_scikit_learn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)
