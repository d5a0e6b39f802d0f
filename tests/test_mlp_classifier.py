"""matrixflow.models.MLPClassifier: a drop-in for scikit-learn's, checked weight for weight."""

import warnings

import numpy as np
import pytest
from matrixflow.models import MLPClassifier
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SklearnMLP
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

X_IRIS, Y_IRIS = load_iris(return_X_y=True)
X_IRIS = StandardScaler().fit_transform(X_IRIS)
X_CANCER, Y_CANCER = load_breast_cancer(return_X_y=True)
X_CANCER = StandardScaler().fit_transform(X_CANCER)
Y_LABELS = np.column_stack([Y_IRIS == 0, Y_IRIS == 1, X_IRIS[:, 0] > 0]).astype(int)
NAMES = np.array(["setosa", "versicolor", "virginica"])[Y_IRIS]


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _assert_same_model(mine, theirs, X, rtol=1e-9):
    assert mine.n_iter_ == theirs.n_iter_
    assert mine.out_activation_ == theirs.out_activation_
    np.testing.assert_array_equal(mine.classes_, theirs.classes_)
    for a, b in zip(mine.coefs_ + mine.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(mine.loss_, theirs.loss_, rtol=rtol)
    for name in ("loss_curve_", "validation_scores_"):
        if getattr(theirs, name, None) is not None:
            np.testing.assert_allclose(getattr(mine, name), getattr(theirs, name), rtol=rtol)
    for name in ("t_", "n_layers_", "n_outputs_", "n_features_in_"):
        assert getattr(mine, name) == getattr(theirs, name), name
    np.testing.assert_array_equal(mine.predict(X), theirs.predict(X))
    np.testing.assert_allclose(mine.predict_proba(X), theirs.predict_proba(X), rtol=1e-7,
                               atol=1e-12)


PARITY = [  # (data, settings): softmax, logistic (two classes), several labels
    ("iris", dict(hidden_layer_sizes=(16,), max_iter=50, random_state=0)),
    ("iris", dict(hidden_layer_sizes=(16, 8), activation="tanh", solver="sgd", max_iter=40,
                  random_state=1)),
    ("iris", dict(hidden_layer_sizes=(12,), activation="logistic", solver="sgd",
                  learning_rate="adaptive", tol=0.05, n_iter_no_change=2, max_iter=60,
                  random_state=7)),
    ("iris", dict(hidden_layer_sizes=(16,), early_stopping=True, max_iter=80, random_state=1)),
    ("iris", dict(hidden_layer_sizes=(10,), solver="lbfgs", max_iter=40, random_state=0)),
    ("cancer", dict(hidden_layer_sizes=(16,), alpha=0.1, batch_size=50, max_iter=30,
                    random_state=0)),
    ("cancer", dict(hidden_layer_sizes=(16,), early_stopping=True, max_iter=60,
                    random_state=2)),
    ("labels", dict(hidden_layer_sizes=(8,), max_iter=30, random_state=0)),
    ("names", dict(hidden_layer_sizes=(16,), max_iter=20, shuffle=False, random_state=0)),
]
DATA = {"iris": (X_IRIS, Y_IRIS), "cancer": (X_CANCER, Y_CANCER), "labels": (X_IRIS, Y_LABELS),
        "names": (X_IRIS, NAMES)}


@pytest.mark.parametrize("data, params", PARITY,
                         ids=lambda p: p if isinstance(p, str) else ", ".join(
                             f"{k}={v}" for k, v in p.items()))
def test_same_data_and_settings_give_scikit_learns_model(data, params):
    X, y = DATA[data]
    mine, theirs = MLPClassifier(**params).fit(X, y), SklearnMLP(**params).fit(X, y)
    _assert_same_model(mine, theirs, X, rtol=1e-7 if params.get("solver") == "lbfgs" else 1e-9)


def test_sample_weights_match_scikit_learn():
    weights = np.random.default_rng(0).uniform(0.2, 2.0, len(Y_IRIS))
    params = dict(hidden_layer_sizes=(16,), max_iter=30, random_state=0)
    mine = MLPClassifier(**params).fit(X_IRIS, Y_IRIS, sample_weight=weights)
    theirs = SklearnMLP(**params).fit(X_IRIS, Y_IRIS, sample_weight=weights)
    _assert_same_model(mine, theirs, X_IRIS)


def test_outputs_follow_the_kind_of_target():
    three = MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0).fit(X_IRIS, NAMES)
    assert three.out_activation_ == "softmax" and three.n_outputs_ == 3
    assert set(three.predict(X_IRIS)) <= set(NAMES)
    probabilities = three.predict_proba(X_IRIS)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    np.testing.assert_allclose(three.predict_log_proba(X_IRIS), np.log(probabilities))
    np.testing.assert_array_equal(three.predict(X_IRIS),
                                  three.classes_[probabilities.argmax(axis=1)])
    two = MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0).fit(
        X_CANCER, Y_CANCER)
    assert two.out_activation_ == "logistic" and two.n_outputs_ == 1
    assert two.predict_proba(X_CANCER).shape == (len(Y_CANCER), 2)
    assert 0.0 <= two.score(X_CANCER, Y_CANCER) <= 1.0
    several = MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0).fit(
        X_IRIS, Y_LABELS)
    assert several.out_activation_ == "logistic" and several.predict(X_IRIS).shape == (150, 3)


def test_partial_fit_needs_the_classes_first_and_then_follows_scikit_learn():
    mine, theirs = (MLPClassifier(hidden_layer_sizes=(12,), random_state=0),
                    SklearnMLP(hidden_layer_sizes=(12,), random_state=0))
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        mine.partial_fit(X_IRIS[:10], Y_IRIS[:10])
    order = np.random.default_rng(1).permutation(150)
    for start in range(0, 150, 50):
        chunk = order[start:start + 50]
        mine.partial_fit(X_IRIS[chunk], Y_IRIS[chunk], classes=[0, 1, 2])
        theirs.partial_fit(X_IRIS[chunk], Y_IRIS[chunk], classes=[0, 1, 2])
    _assert_same_model(mine, theirs, X_IRIS)
    with pytest.raises(ValueError, match="is not the same as on last call"):
        mine.partial_fit(X_IRIS, Y_IRIS, classes=[0, 1])
    with pytest.raises(ValueError, match="has classes not in"):
        mine.partial_fit(X_IRIS, Y_IRIS + 1)


def test_warm_start_continues_and_refuses_other_classes():
    params = dict(hidden_layer_sizes=(8,), warm_start=True, max_iter=5, random_state=0)
    mine, theirs = MLPClassifier(**params), SklearnMLP(**params)
    for _ in range(2):
        mine.fit(X_IRIS, Y_IRIS)
        theirs.fit(X_IRIS, Y_IRIS)
    _assert_same_model(mine, theirs, X_IRIS)
    with pytest.raises(ValueError, match="warm_start can only be used where `y` has the same"):
        mine.fit(X_IRIS[Y_IRIS < 2], Y_IRIS[Y_IRIS < 2])


def test_save_and_load_keep_the_classes_and_continue_training_identically(tmp_path):
    model = MLPClassifier(hidden_layer_sizes=(6,), max_iter=5, random_state=0).fit(X_IRIS, NAMES)
    model.save(tmp_path / "clf.npz")
    loaded = MLPClassifier.load(tmp_path / "clf.npz")
    assert list(loaded.classes_) == list(model.classes_)
    np.testing.assert_array_equal(loaded.predict(X_IRIS), model.predict(X_IRIS))
    np.testing.assert_array_equal(loaded.predict_proba(X_IRIS), model.predict_proba(X_IRIS))
    model.partial_fit(X_IRIS, NAMES)
    loaded.partial_fit(X_IRIS, NAMES)
    np.testing.assert_array_equal(loaded.coefs_[0], model.coefs_[0])  # the Adam state came too
    with pytest.raises(ValueError, match="holds a MLPClassifier, not a MLPRegressor"):
        __import__("matrixflow.models", fromlist=["models"]).MLPRegressor.load(tmp_path / "clf.npz")


def test_bad_parameters_are_refused_at_fit():
    with pytest.raises(ValueError, match="learning_rate_init must be a real number in"):
        MLPClassifier(learning_rate_init=0.0).fit(X_IRIS, Y_IRIS)
    with pytest.raises(ValueError, match="Unknown label type"):
        MLPClassifier(max_iter=2).fit(X_IRIS, X_IRIS[:, 0])


@parametrize_with_checks([MLPClassifier(max_iter=100),
                          MLPClassifier(hidden_layer_sizes=(16,), max_iter=200, random_state=0)])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("params, words", [
    (dict(random_state="a"), "random_state must be an int in [0, 4294967295], a "
     "numpy.random.RandomState or None, got 'a'"),
    (dict(random_state=-1), "random_state must be"),
    (dict(random_state=np.random.default_rng(0)), "random_state must be"),
    (dict(hidden_layer_sizes=0), "hidden_layer_sizes must be an int ≥ 1 or a sequence"),
    (dict(hidden_layer_sizes="a"), "hidden_layer_sizes must be an int ≥ 1 or a sequence"),
    (dict(hidden_layer_sizes=(3.0,)), "hidden_layer_sizes must be positive integers, got "
     "(3.0,)"),
    (dict(hidden_layer_sizes=(4, True)), "hidden_layer_sizes must be positive integers"),
])
def test_bad_parameters_are_refused_where_and_as_scikit_learn_refuses_them(params, words):
    """Each is a ValueError and a TypeError at once, as scikit-learn's InvalidParameterError
    (for (3.0,) scikit-learn fails later with a bare TypeError, 'float' object cannot be
    interpreted as an integer)."""
    X, y = X_IRIS[:20], Y_IRIS[:20]
    with pytest.raises(TypeError):
        SklearnMLP(max_iter=2, **params).fit(X, y)
    with pytest.raises(ValueError) as caught:
        MLPClassifier(max_iter=2, **params).fit(X, y)
    assert isinstance(caught.value, TypeError)
    assert str(caught.value).startswith("MLPClassifier: ") and words in str(caught.value)
