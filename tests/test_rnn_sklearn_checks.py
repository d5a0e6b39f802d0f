"""RNNRegressor among scikit-learn's tools: a 2-D X (n_samples, seq_len) is univariate sequences,
so check_estimator runs its whole battery, and a StandardScaler, cross_val_score and GridSearchCV
work around it as around any regressor."""

import warnings
from functools import partial

import numpy as np
import pandas as pd
import pytest
from matrixflow.models import MLPRegressor, RNNRegressor, datasets
from sklearn.compose import TransformedTargetRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import estimator_checks_generator, parametrize_with_checks

# small enough for the battery to run in seconds, large enough for check_regressors_train's
# R² > 0.5 on its 200 × 10 regression data
BATTERY = [
    RNNRegressor(hidden_size=16, max_iter=30, learning_rate_init=0.03, random_state=0),
    RNNRegressor(hidden_size=16, num_layers=2, nonlinearity="relu", clip_norm=1.0, max_iter=30,
                 learning_rate_init=0.01, random_state=0),
]


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@parametrize_with_checks(BATTERY)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def _check_names(estimator):
    return sorted((check.func if isinstance(check, partial) else check).__name__
                  for _, check in estimator_checks_generator(estimator, mark="skip"))


def test_the_battery_is_the_one_mlp_regressor_passes():
    """Not one clone check, as while the tags said 3-D only: every check MLPRegressor gets, none
    skipped or expected to fail."""
    names = _check_names(BATTERY[0])
    # less what MLPRegressor's sparse tag adds: a sequence batch has no sparse form
    assert names == [name for name in _check_names(MLPRegressor())
                     if name != "check_sample_weight_equivalence_on_sparse_data"]
    assert len(names) >= 50 and "check_regressors_train" in names
    assert "check_n_features_in_after_fitting" in names


# ---- 2-D X is X[:, :, None] ----------------------------------------------------------------
RNG = np.random.default_rng(0)
X_2D = RNG.standard_normal((40, 6))
Y_1D = np.sin(X_2D.sum(axis=1))


def test_a_2d_x_trains_and_predicts_as_the_same_x_with_one_feature_per_step():
    settings = dict(hidden_size=4, max_iter=5, random_state=0)
    flat = RNNRegressor(**settings).fit(X_2D, Y_1D)
    steps = RNNRegressor(**settings).fit(X_2D[:, :, None], Y_1D)
    np.testing.assert_array_equal(flat.predict(X_2D), steps.predict(X_2D[:, :, None]))
    assert flat.loss_curve_ == steps.loss_curve_
    assert flat.score(X_2D, Y_1D) == steps.score(X_2D[:, :, None], Y_1D)
    # scikit-learn's meaning for a 2-D X: the columns; for a 3-D X: the features per step
    assert (flat.n_features_in_, flat.seq_len_) == (6, 6)
    assert (steps.n_features_in_, steps.seq_len_) == (1, 6)
    per_step = RNNRegressor(**settings).fit(X_2D, np.sin(X_2D)[:, :, None])  # one y per step
    assert per_step.predict(X_2D).shape == (40, 6, 1)


def test_a_model_predicts_from_x_of_the_dimensionality_it_was_fitted_on():
    flat = RNNRegressor(hidden_size=2, max_iter=1).fit(X_2D, Y_1D)
    with pytest.raises(ValueError, match=r"fitted on a 2-D X \(n_samples, seq_len\) of 6 steps"
                                         r".*pass X\[:, :, 0\]"):
        flat.predict(X_2D[:, :, None])
    with pytest.raises(ValueError, match="X has 5 features, but RNNRegressor is expecting 6 "
                                         "features as input: the columns of a 2-D X are the "
                                         "steps"):
        flat.predict(X_2D[:, :5])
    steps = RNNRegressor(hidden_size=2, max_iter=1).fit(X_2D[:, :, None], Y_1D)
    with pytest.raises(ValueError, match=r"X must be 3-D .*as the model was fitted on, got "
                                         r"shape \(40, 6\); .*X\[:, :, None\]"):
        steps.predict(X_2D)
    assert steps.predict(X_2D[:, :4, None]).shape == (40,)  # a 3-D fit takes any length


def test_a_dataframes_columns_are_kept_and_checked_and_a_3d_refit_forgets_them():
    frame = pd.DataFrame(X_2D, columns=[f"t-{6 - i}" for i in range(6)])
    model = RNNRegressor(hidden_size=2, max_iter=2, random_state=0).fit(frame, Y_1D)
    assert list(model.feature_names_in_) == list(frame.columns)
    with pytest.warns(UserWarning, match="fitted with feature names"):
        np.testing.assert_array_equal(model.predict(X_2D), model.predict(frame))
    with pytest.raises(ValueError, match="The feature names should match"):
        model.predict(frame[frame.columns[::-1]])
    model.fit(X_2D[:, :, None], Y_1D)
    assert not hasattr(model, "feature_names_in_")


def test_a_model_fitted_on_2d_x_saves_and_loads(tmp_path):
    frame = pd.DataFrame(X_2D, columns=list("abcdef"))
    model = RNNRegressor(hidden_size=3, num_layers=2, max_iter=3, random_state=0).fit(frame, Y_1D)
    model.save(tmp_path / "flat")
    loaded = RNNRegressor.load(tmp_path / "flat")
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))
    assert list(loaded.feature_names_in_) == list("abcdef")
    with pytest.raises(ValueError, match="fitted on a 2-D X"):
        loaded.predict(X_2D[:, :, None])


def test_raw_2d_x_is_told_of_the_scaler_that_fixes_it():
    with pytest.warns(UserWarning, match="for a 2-D X a StandardScaler before the model in a "
                                         "Pipeline does it"):
        RNNRegressor(hidden_size=2, max_iter=1).fit(100 * X_2D, Y_1D)
    with pytest.warns(UserWarning, match="X is far from unit scale") as caught:
        RNNRegressor(hidden_size=2, max_iter=1).fit(100 * X_2D[:, :, None], Y_1D)
    assert "StandardScaler" not in str(caught[0].message)  # not for a 3-D X: it cannot


# ---- in a Pipeline, cross-validated and searched --------------------------------------------
SUNSPOTS = datasets.load_sunspots(window=10)  # X (299, 10): raw yearly numbers, RMS ≈ 65


def _scaled_rnn(**params):
    """StandardScaler → RNNRegressor, its target standardized and scaled back."""
    rnn = RNNRegressor(**{**dict(hidden_size=32, max_iter=100, learning_rate_init=0.01,
                                 random_state=0), **params})
    return TransformedTargetRegressor(make_pipeline(StandardScaler(), rnn),
                                      transformer=StandardScaler())


def test_a_scaled_pipeline_forecasts_raw_sunspots_in_every_fold():
    """Real data, raw: four forward-chaining folds (train on the years before, score on the
    years after); the network, behind the scalers, beats persistence (next year = this year)
    in each."""
    X, y = SUNSPOTS.X, SUNSPOTS.y
    folds = TimeSeriesSplit(n_splits=4)
    scores = cross_val_score(_scaled_rnn(), X, y, cv=folds)
    persistence = np.array([1 - np.mean((X[test, -1] - y[test]) ** 2) / np.var(y[test])
                            for _, test in folds.split(X)])
    assert (scores > 0.7).all() and (scores > persistence + 0.05).all(), (scores, persistence)
    assert scores.mean() > 0.8


def test_the_pipeline_predicts_as_the_rnn_fitted_on_the_scaled_3d_sequences():
    X, y = SUNSPOTS.X[:200], SUNSPOTS.y[:200] / 50.0
    pipeline = make_pipeline(StandardScaler(), RNNRegressor(hidden_size=8, max_iter=10,
                                                            random_state=0)).fit(X, y)
    scaler = StandardScaler().fit(X)
    alone = RNNRegressor(hidden_size=8, max_iter=10, random_state=0).fit(
        scaler.transform(X)[:, :, None], y)
    np.testing.assert_array_equal(pipeline.predict(SUNSPOTS.X[200:]),
                                  alone.predict(scaler.transform(SUNSPOTS.X[200:])[:, :, None]))


def test_grid_search_picks_the_learning_rate_that_learns():
    """GridSearchCV clones the pipeline and sets the RNN's parameters through it: of a rate too
    small to move in 30 epochs and one that learns, it picks the second."""
    search = GridSearchCV(_scaled_rnn(max_iter=30),
                          {"regressor__rnnregressor__learning_rate_init": [1e-5, 0.01]},
                          cv=TimeSeriesSplit(n_splits=2))
    search.fit(SUNSPOTS.X, SUNSPOTS.y)
    assert search.best_params_ == {"regressor__rnnregressor__learning_rate_init": 0.01}
    low, high = search.cv_results_["mean_test_score"]
    assert high > 0.6 and low < high - 0.3, (low, high)
