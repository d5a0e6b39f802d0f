"""Regression tests for what trying the estimators as a new user turned up."""

import warnings

import numpy as np
import pytest
from matrixflow.models import MLPRegressor, RNNRegressor
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPRegressor as SklearnMLP

from matrixflow import cli, nn, optim

X_FRAME, Y_SERIES = load_diabetes(return_X_y=True, as_frame=True)
RNG = np.random.default_rng(0)
X_SEQ, Y_SEQ = RNG.standard_normal((40, 5, 2)), RNG.standard_normal(40)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def test_a_model_fitted_on_a_dataframe_saves_and_loads_with_its_feature_names(tmp_path):
    model = MLPRegressor(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(X_FRAME,
                                                                                 Y_SERIES)
    model.save(tmp_path / "frame.npz")
    loaded = MLPRegressor.load(tmp_path / "frame.npz")
    assert loaded.feature_names_in_.dtype == object
    assert list(loaded.feature_names_in_) == list(X_FRAME.columns)
    np.testing.assert_array_equal(loaded.predict(X_FRAME), model.predict(X_FRAME))


def test_numpy_scalar_parameters_from_a_grid_search_can_be_saved(tmp_path):
    search = GridSearchCV(RNNRegressor(max_iter=2, random_state=0),
                          {"hidden_size": np.arange(2, 5, 2)}, cv=2).fit(X_SEQ, Y_SEQ)
    search.best_estimator_.save(tmp_path / "best")  # no .npz: np.savez adds it
    loaded = RNNRegressor.load(tmp_path / "best")  # and load finds it
    assert isinstance(loaded.hidden_size, int)
    mlp = MLPRegressor(hidden_layer_sizes=(np.int64(3),), alpha=np.float32(0.1),
                       max_iter=np.int64(2), random_state=np.int64(0)).fit(X_FRAME, Y_SERIES)
    mlp.save(tmp_path / "mlp.npz")
    assert MLPRegressor.load(tmp_path / "mlp.npz").get_params()["hidden_layer_sizes"] == (3,)


def test_list_parameters_stay_lists(tmp_path):
    model = MLPRegressor(hidden_layer_sizes=[3, 2], max_iter=2).fit(X_FRAME, Y_SERIES)
    model.save(tmp_path / "m.npz")
    assert MLPRegressor.load(tmp_path / "m.npz").hidden_layer_sizes == [3, 2]


def test_loading_a_file_that_is_not_a_model_says_so(tmp_path):
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip file at all")
    with pytest.raises(ValueError, match="not a saved matrixflow estimator"):
        MLPRegressor.load(garbage)
    with pytest.raises(FileNotFoundError):
        MLPRegressor.load(tmp_path / "missing.npz")


def test_a_loaded_rnn_is_the_fitted_network_whatever_the_parameters_say(tmp_path):
    model = RNNRegressor(hidden_size=4, max_iter=2, random_state=0).fit(X_SEQ, Y_SEQ)
    model.set_params(nonlinearity="relu", hidden_size=3)
    before = model.predict(X_SEQ)
    model.save(tmp_path / "rnn.npz")
    loaded = RNNRegressor.load(tmp_path / "rnn.npz")
    np.testing.assert_array_equal(loaded.predict(X_SEQ), before)
    assert loaded.architecture_ == [4, 1, "tanh", "rnn"]


def test_a_warm_start_with_another_architecture_is_refused():
    model = RNNRegressor(hidden_size=4, warm_start=True, max_iter=2, random_state=0)
    model.fit(X_SEQ, Y_SEQ)
    model.set_params(nonlinearity="relu")
    with pytest.raises(ValueError, match="fit afresh"):
        model.fit(X_SEQ, Y_SEQ)
    model.set_params(warm_start=False).fit(X_SEQ, Y_SEQ)
    assert model.architecture_ == [4, 1, "relu", "rnn"]


def test_nn_rnn_refuses_a_3d_array_instead_of_misreading_it():
    with pytest.raises(ValueError, match=r"\[x\[:, t, :\] for t in range"):
        nn.RNN(3, 5, rng=0)(np.zeros((4, 6, 3)))


def test_poisson_loss_is_scikit_learns():
    X = X_FRAME.to_numpy()
    X = (X - X.mean(0)) / X.std(0)
    counts = np.random.default_rng(1).poisson(np.exp(0.5 * X[:, 2]))
    for params in (dict(solver="adam", max_iter=30), dict(solver="sgd", max_iter=20)):
        mine = MLPRegressor(loss="poisson", hidden_layer_sizes=(8,), random_state=0,
                            **params).fit(X, counts)
        theirs = SklearnMLP(loss="poisson", hidden_layer_sizes=(8,), random_state=0,
                            **params).fit(X, counts)
        assert mine.out_activation_ == "exp"
        np.testing.assert_allclose(mine.coefs_[0], theirs.coefs_[0], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(mine.loss_curve_, theirs.loss_curve_, rtol=1e-9)
        np.testing.assert_allclose(mine.predict(X), theirs.predict(X), rtol=1e-9)


def test_a_zero_weight_batch_says_so():
    weights = np.r_[np.zeros(20), np.ones(20)]
    with pytest.raises(ZeroDivisionError, match="Weights sum to zero"):
        RNNRegressor(hidden_size=2, shuffle=False, batch_size=10, max_iter=1).fit(
            X_SEQ, Y_SEQ, sample_weight=weights)


@pytest.mark.parametrize("params", [dict(alpha=np.inf), dict(tol=np.inf),
                                    dict(learning_rate_init=np.nan)])
def test_infinite_or_nan_parameters_are_refused_before_training(params):
    with pytest.raises(ValueError, match="must be a real number in") as caught:
        MLPRegressor(**params).fit(X_FRAME, Y_SERIES)
    assert isinstance(caught.value, TypeError)  # both, as scikit-learn's InvalidParameterError


def test_an_rnn_needs_features_and_warns_about_the_per_step_trap():
    with pytest.raises(ValueError, match="no steps or no features"):
        RNNRegressor(max_iter=1).fit(np.zeros((5, 3, 0)), np.zeros(5))
    with pytest.warns(UserWarning, match=r"pass y\[:, :, None\]"):
        RNNRegressor(hidden_size=2, max_iter=1).fit(X_SEQ, RNG.standard_normal((40, 5)))


def test_schedulers_save_and_resume_their_state():
    def schedule():
        from matrixflow import Node

        param = Node(np.ones((1, 1)), requires_grad=True)
        optimizer = optim.SGD([param], lr=1.0)
        return optimizer, optim.CosineAnnealingLR(optimizer, T_max=4)

    _, scheduler = schedule()
    for _ in range(3):
        scheduler.step()
    saved = scheduler.state_dict()
    assert "optimizer" not in saved
    expected = [scheduler.step() or scheduler.get_last_lr()[0] for _ in range(3)]
    optimizer2, resumed = schedule()
    resumed.load_state_dict(saved)
    optimizer2.param_groups[0]["lr"] = saved["_last_lr"][0]
    assert [resumed.step() or resumed.get_last_lr()[0] for _ in range(3)] == expected


def test_the_demo_refuses_a_missing_folder_before_training(tmp_path, capsys):
    assert cli.main(["demo", "--png", str(tmp_path / "no" / "such" / "x.png")]) == 1
    assert "does not exist" in capsys.readouterr().err
