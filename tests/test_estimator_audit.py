"""Regression tests for what a second, more demanding new-user session found in the estimators:
damaged model files, wrong-shaped targets, where warnings point, lbfgs's verbose output.
MLPClassifier shares MLPRegressor's code for all of it, and is tried beside it."""

import io
import warnings
from itertools import pairwise

import numpy as np
import pytest
import torch
from matrixflow.models import MLPClassifier, MLPRegressor, RNNRegressor, datasets
from sklearn.exceptions import ConvergenceWarning

import matrixflow as mf

RNG = np.random.default_rng(0)
X_TAB, Y_TAB = RNG.standard_normal((30, 4)), RNG.standard_normal((30, 2))
X_SEQ, Y_SEQ = RNG.standard_normal((20, 5, 2)), RNG.standard_normal((20, 5, 1))
Y_CLS = np.array(["a", "b", "c"])[np.argmax(X_TAB[:, :3], axis=1)]  # three classes


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """One saved MLP (adam), one saved RNN (sgd, two layers, per-step y) and one saved
    MLPClassifier (adam, three classes): their files' entries as dicts, to damage one entry
    at a time."""
    folder = tmp_path_factory.mktemp("saved")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp = MLPRegressor(hidden_layer_sizes=(5, 3), max_iter=3, random_state=0).fit(X_TAB,
                                                                                     Y_TAB)
        rnn = RNNRegressor(hidden_size=3, num_layers=2, solver="sgd", max_iter=3,
                           random_state=0).fit(X_SEQ, Y_SEQ)
        clf = MLPClassifier(hidden_layer_sizes=(5, 3), max_iter=3, random_state=0).fit(X_TAB,
                                                                                      Y_CLS)
    entries = {}
    for name, model in (("mlp", mlp), ("rnn", rnn), ("clf", clf)):
        model.save(folder / name)
        with np.load(folder / f"{name}.npz", allow_pickle=False) as stored:
            entries[name] = dict(stored)
    return entries


def _write(tmp_path, entries, change):
    entries = dict(entries)
    change(entries)
    path = tmp_path / "damaged.npz"
    np.savez(path, **entries)
    return path


def _set(key, value):
    return lambda entries: entries.__setitem__(key, np.asarray(value))


def _drop(key):
    return lambda entries: entries.pop(key)


DAMAGED_MLP = [
    ("a weight matrix is missing", _drop("fitted/coefs_[1]"), "'fitted/coefs_[1]' is missing"),
    ("the class entry is missing", _drop("class"), "'class' is missing"),
    ("the parameters are not JSON", _set("params", "{not json"), "parameters are not valid JSON"),
    ("an unknown parameter", _set("params", '{"hidden_layer_sizes": [5, 3], "colour": 1}'),
     "unknown parameter(s) ['colour']"),
    ("a parameter out of range", _set("params", '{"hidden_layer_sizes": [5, 3], '
                                                '"activation": "softmax"}'),
     "activation must be one of"),
    ("a weight of the wrong shape", _set("fitted/coefs_[1]", np.ones((4, 3))),
     "coefs_[1] has shape (4, 3)"),
    ("an intercept of the wrong shape", _set("fitted/intercepts_[0]", np.ones(2)),
     "intercepts_[0] has shape (2,)"),
    ("weights that do not take the features", _set("fitted/n_features_in_", 7),
     "coefs_[0] has shape (4, 5)"),
    ("a text weight", _set("fitted/coefs_[0]", np.full((4, 5), "x")), "coefs_[0] holds <U1"),
    ("an unknown output activation", _set("fitted/out_activation_", "softmax"),
     "out_activation_ must be 'identity' or 'exp'"),
    ("an entry no estimator writes", _set("fitted/predict", 1.0), "unexpected entry"),
    ("a solver state of the wrong shape", _set("solver/m[0]", np.ones((2, 2))),
     "solver state 'm' for parameter 0 has shape (2, 2)"),
    ("a solver state entry is missing", lambda entries: [entries.pop(key) for key in list(entries)
                                                        if key.startswith("solver/v")],
     "'solver/v' is missing"),
]


DAMAGED_CLASSIFIER = [
    ("the classes are missing", _drop("fitted/classes_"), "'fitted/classes_' is missing"),
    ("the label type is missing", _drop("fitted/_label_type"), "'fitted/_label_type' is missing"),
    ("an unknown label type", _set("fitted/_label_type", "continuous"),
     "_label_type must be one of"),
    ("classes that are not a list", _set("fitted/classes_", "a"), "classes_ must be a 1-D array"),
    ("fewer classes than outputs", _set("fitted/classes_", ["a", "b"]),
     "n_outputs_=3 does not fit 2 classes_ of a multiclass target"),
    ("a regressor's output", _set("fitted/out_activation_", "identity"),
     "out_activation_ must be 'softmax' for a multiclass target"),
    ("two-class labels on three outputs", _set("fitted/_label_type", "binary"),
     "n_outputs_=3 does not fit 3 classes_ of a binary target"),
    ("a weight of the wrong shape", _set("fitted/coefs_[2]", np.ones((3, 2))),
     "coefs_[2] has shape (3, 2), expected (3, 3)"),
    ("a regressor's parameter", _set("params", '{"loss": "poisson"}'),
     "unknown parameter(s) ['loss']"),
    ("a solver state of the wrong shape", _set("solver/v[1]", np.ones(2)),
     "solver state 'v' for parameter 1 has shape (2,)"),
]


@pytest.mark.parametrize("name, cls, change, words",
                         [("mlp", MLPRegressor, *case[1:]) for case in DAMAGED_MLP]
                         + [("clf", MLPClassifier, *case[1:]) for case in DAMAGED_CLASSIFIER],
                         ids=[case[0] for case in DAMAGED_MLP]
                         + [f"classifier: {case[0]}" for case in DAMAGED_CLASSIFIER])
def test_a_damaged_mlp_file_is_refused_naming_what_is_wrong(saved, tmp_path, name, cls, change,
                                                            words):
    path = _write(tmp_path, saved[name], change)
    with pytest.raises(ValueError) as caught:
        cls.load(path)
    message = str(caught.value)
    assert words in message
    assert str(path) in message  # which file


DAMAGED_RNN = [
    ("the architecture is garbled", _set("fitted/architecture_", ["x"]),
     "architecture_ must be [hidden_size, num_layers, nonlinearity, cell]"),
    ("an unknown nonlinearity", _set("fitted/architecture_", ["3", "2", "sigmoid"]),
     "architecture_ must be [hidden_size, num_layers, nonlinearity, cell]"),
    ("the weights are missing", lambda entries: [entries.pop(key) for key in list(entries)
                                                if key.startswith("fitted/_state")],
     "'fitted/_state' is missing"),
    ("a recurrent weight of the wrong shape", _set("fitted/_state[1]", np.ones((3, 4))),
     "parameter 1 (cells.0.weight_hh) has shape (3, 4), the architecture needs (3, 3)"),
    ("too few weights", _set("fitted/_state#len", 4), "holds 4 weight arrays"),
    ("a per-step flag that is not a flag", _set("fitted/many_to_many_", "maybe"),
     "many_to_many_ must be True or False"),
    ("the solver's velocity is missing", _drop("solver/velocity#len"),
     "'solver/velocity' is missing"),
]


@pytest.mark.parametrize("change, words", [case[1:] for case in DAMAGED_RNN],
                         ids=[case[0] for case in DAMAGED_RNN])
def test_a_damaged_rnn_file_is_refused_naming_what_is_wrong(saved, tmp_path, change, words):
    path = _write(tmp_path, saved["rnn"], change)
    with pytest.raises(ValueError) as caught:
        RNNRegressor.load(path)
    assert words in str(caught.value)




def test_a_file_from_another_format_version_says_which(saved, tmp_path):
    path = _write(tmp_path, saved["mlp"], _set("format", "matrixflow-estimator/2"))
    with pytest.raises(ValueError, match=r"format 'matrixflow-estimator/2'.*reads "
                                         r"'matrixflow-estimator/1'"):
        MLPRegressor.load(path)


def test_a_single_array_npy_file_is_refused_clearly(tmp_path):
    np.save(tmp_path / "weights.npy", np.ones(3))
    with pytest.raises(ValueError, match=r"a single array \(\.npy\), not a saved estimator"):
        MLPRegressor.load(tmp_path / "weights.npy")


@pytest.mark.parametrize("make, X, y", [
    (lambda: MLPRegressor(hidden_layer_sizes=(4,), max_iter=2, random_state=0), X_TAB, Y_TAB),
    (lambda: RNNRegressor(hidden_size=3, max_iter=2, random_state=0), X_SEQ, Y_SEQ),
    (lambda: MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0), X_TAB, Y_CLS),
])
def test_a_model_saved_to_a_file_object_loads_from_one(make, X, y):
    model = make().fit(X, y)
    buffer = io.BytesIO()
    model.save(buffer)
    buffer.seek(0)
    loaded = type(model).load(buffer)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_intact_files_still_load(saved, tmp_path):
    """The damage above is caught by checks that pass every file `save` writes."""
    for name, cls, X in (("mlp", MLPRegressor, X_TAB), ("rnn", RNNRegressor, X_SEQ)):
        model = cls.load(_write(tmp_path, saved[name], lambda entries: None))
        assert np.isfinite(model.predict(X)).all()
    classifier = MLPClassifier.load(_write(tmp_path, saved["clf"], lambda entries: None))
    assert set(classifier.predict(X_TAB)) <= {"a", "b", "c"}


# ---- RNNRegressor: targets and inputs that do not fit say how -----------------------------
@pytest.fixture(scope="module")
def rnns():
    """A many-to-one RNN with two outputs and a many-to-many one with one output per step."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        many_to_one = RNNRegressor(hidden_size=3, max_iter=2, random_state=0).fit(
            X_SEQ, Y_SEQ[:, -2:, 0])
        many_to_many = RNNRegressor(hidden_size=3, max_iter=2, random_state=0).fit(X_SEQ, Y_SEQ)
    return many_to_one, many_to_many


@pytest.mark.parametrize("which, y, words", [
    (1, Y_SEQ[:, -1, :], "predicts one value per step"),
    (1, Y_SEQ[:, :, 0], "predicts one value per step"),
    (0, Y_SEQ, "predicts one value per sequence"),
    (0, Y_SEQ[:, -1, 0], "y has 1 output(s), but the model was fitted with 2"),
    (1, np.concatenate([Y_SEQ, Y_SEQ], axis=2), "y has 2 output(s), but the model was fitted "
                                                "with 1"),
])
def test_scoring_an_rnn_on_a_target_of_the_wrong_shape_says_what_it_expects(rnns, which, y,
                                                                            words):
    with pytest.raises(ValueError) as caught:
        rnns[which].score(X_SEQ, y)
    assert words in str(caught.value)
    assert "reshape" not in str(caught.value)  # not NumPy's words about its own reshape


def test_a_warm_start_on_a_target_of_another_shape_says_which(rnns):
    model = RNNRegressor(hidden_size=3, max_iter=2, warm_start=True, random_state=0).fit(
        X_SEQ, Y_SEQ)
    with pytest.raises(ValueError, match="predicts one value per step"):
        model.fit(X_SEQ, Y_SEQ[:, -1, :])


@pytest.mark.parametrize("where", ["X", "y"])
def test_nan_in_rnn_data_names_the_input(where):
    X, y = X_SEQ.copy(), Y_SEQ[:, -1, 0].copy()
    (X if where == "X" else y).flat[3] = np.nan
    with pytest.raises(ValueError, match=f"Input {where} contains NaN"):
        RNNRegressor(max_iter=1).fit(X, y)


@pytest.mark.parametrize("h0, words", [
    ("abc", "h0 must be numbers"),
    ([np.nan, 0.0, 0.0], "h0 must be finite"),
])
def test_a_bad_h0_names_h0(h0, words):
    with pytest.raises(ValueError, match=words):
        RNNRegressor(hidden_size=3, h0=h0, max_iter=1).fit(X_SEQ, Y_SEQ[:, -1, 0])


# ---- warnings point at the line of the user's code that called fit ---------------------------
@pytest.mark.parametrize("fit", [
    lambda: MLPRegressor(hidden_layer_sizes=(3,), max_iter=2).fit(X_TAB, Y_TAB),
    lambda: MLPRegressor(hidden_layer_sizes=(3,), solver="lbfgs", max_iter=2).fit(X_TAB, Y_TAB),
    lambda: MLPRegressor(hidden_layer_sizes=(3,), batch_size=500, max_iter=2).fit(X_TAB, Y_TAB),
    lambda: MLPRegressor(hidden_layer_sizes=(3,), batch_size=500).partial_fit(X_TAB, Y_TAB),
    lambda: RNNRegressor(hidden_size=2, max_iter=2).fit(X_SEQ, Y_SEQ),
    lambda: RNNRegressor(hidden_size=2, batch_size=500).partial_fit(X_SEQ, Y_SEQ),
    lambda: RNNRegressor(hidden_size=2, max_iter=1).fit(X_SEQ, Y_SEQ[:, :, 0]),
    lambda: MLPClassifier(hidden_layer_sizes=(3,), max_iter=2).fit(X_TAB, Y_CLS),
    lambda: MLPClassifier(hidden_layer_sizes=(3,), solver="lbfgs", max_iter=2).fit(X_TAB, Y_CLS),
    lambda: MLPClassifier(hidden_layer_sizes=(3,), batch_size=500).partial_fit(
        X_TAB, Y_CLS, classes=["a", "b", "c"]),
], ids=["max_iter", "lbfgs", "batch_size", "partial_fit batch_size", "rnn max_iter",
        "rnn partial_fit batch_size", "rnn per-step trap", "classifier max_iter",
        "classifier lbfgs", "classifier partial_fit batch_size"])
def test_warnings_point_at_the_callers_line(fit):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit()
    assert caught
    assert [w.filename for w in caught] == [__file__] * len(caught), [
        (w.filename, str(w.message)[:40]) for w in caught]


# ---- verbose lbfgs ---------------------------------------------------------------------------
@pytest.mark.parametrize("cls, y", [(MLPRegressor, Y_TAB), (MLPClassifier, Y_CLS)],
                         ids=["regressor", "classifier"])
def test_verbose_lbfgs_prints_one_line_per_iteration_ending_at_loss_(capsys, cls, y):
    model = cls(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=6, verbose=True,
                random_state=0).fit(X_TAB, y)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == model.n_iter_ == 6
    for number, line in enumerate(lines, start=1):
        assert line.startswith(f"Iteration {number}, loss = ") and line.endswith(" s")
        assert ", time = " in line
    losses = [float(line.split("loss = ")[1].split(",")[0]) for line in lines]
    assert losses == sorted(losses, reverse=True)  # L-BFGS-B never accepts a worse point
    assert losses[-1] == pytest.approx(model.loss_, abs=1e-8)
    quiet = cls(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=6, random_state=0)
    quiet.fit(X_TAB, y)
    assert capsys.readouterr().out == ""
    np.testing.assert_array_equal(quiet.coefs_[0], model.coefs_[0])  # printing changes nothing


# ---- a diverging fit says so -----------------------------------------------------------------
X_LINE = RNG.standard_normal((40, 3))
Y_LINE = X_LINE @ np.array([1.0, 2.0, 3.0])
Y_SIGN = (Y_LINE > 0).astype(int)  # the same line as two classes


@pytest.mark.parametrize("make, X, y", [
    (lambda: RNNRegressor(solver="sgd", learning_rate_init=0.5, max_iter=50, random_state=0),
     X_LINE[:, :, None], Y_LINE),
    (lambda: MLPRegressor(hidden_layer_sizes=(16,), solver="sgd", learning_rate_init=0.2,
                          max_iter=50, random_state=0), X_LINE, Y_LINE),
    (lambda: MLPClassifier(hidden_layer_sizes=(16,), solver="sgd", learning_rate_init=20.0,
                           max_iter=50, random_state=0), X_LINE, Y_SIGN),
], ids=["rnn", "mlp", "classifier"])
def test_a_fit_that_diverges_warns_with_what_to_change(make, X, y):
    with pytest.warns(ConvergenceWarning, match=r"Training diverged: the training loss rose "
                                                r"from .* Lower learning_rate_init") as caught:
        model = make().fit(X, y)
    assert model.loss_curve_[-1] > 10 * min(model.loss_curve_)
    diverged = [w for w in caught if "diverged" in str(w.message)]
    assert ("clip_norm" in str(diverged[0].message)) == isinstance(model, RNNRegressor)
    # labels are not scaled: the classifier's advice names X alone
    assert ("scale X and y" in str(diverged[0].message)) != isinstance(model, MLPClassifier)
    assert diverged[0].filename == __file__


@pytest.mark.parametrize("make, X", [
    (lambda: RNNRegressor(learning_rate_init=0.01, max_iter=100, random_state=0),
     X_LINE[:, :, None]),
    (lambda: MLPRegressor(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=100,
                          random_state=0), X_LINE),
    (lambda: MLPRegressor(hidden_layer_sizes=(16,), solver="sgd", learning_rate_init=0.2,
                          max_iter=50, early_stopping=True, random_state=0), X_LINE),
], ids=["rnn", "mlp", "early stopping keeps the best model"])
def test_a_fit_that_does_not_diverge_does_not_say_so(make, X):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        make().fit(X, Y_LINE)
    assert not [w for w in caught if "diverged" in str(w.message)]


# ---- RNNRegressor trained as PyTorch trains nn.RNN ------------------------------------------
def _torch_training(model, X, y, epochs, batch_size, lr):
    """nn.RNN + nn.Linear from `model`'s initial weights, trained by plain torch.optim.SGD on
    the same objective and batches; truncated BPTT as chunks counted back from the last step.
    bias_hh is frozen at zero: matrixflow's one bias is torch's b_ih + b_hh, and training both
    would move their sum at twice the rate."""
    hidden, layers, nonlinearity, _ = model.architecture_
    rnn = torch.nn.RNN(model.n_features_in_, hidden, layers, nonlinearity,
                       batch_first=True).double()
    head = torch.nn.Linear(hidden, model.n_outputs_).double()
    with torch.no_grad():
        for layer, cell in enumerate(model._rnn.cells):
            getattr(rnn, f"weight_ih_l{layer}").copy_(torch.from_numpy(cell.weight_ih.data.T))
            getattr(rnn, f"weight_hh_l{layer}").copy_(torch.from_numpy(cell.weight_hh.data.T))
            getattr(rnn, f"bias_ih_l{layer}").copy_(torch.from_numpy(cell.bias.data.ravel()))
            getattr(rnn, f"bias_hh_l{layer}").zero_().requires_grad_(False)
        head.weight.copy_(torch.from_numpy(model._out_weight.data.T))
        head.bias.copy_(torch.from_numpy(model._out_bias.data.ravel()))
    params = [p for p in rnn.parameters() if p.requires_grad] + list(head.parameters())
    weights = [p for name, p in rnn.named_parameters() if "weight" in name] + [head.weight]
    optimizer = torch.optim.SGD(params, lr=lr)
    h0 = None if model.h0 is None else torch.from_numpy(
        np.broadcast_to(np.asarray(model.h0, float), (layers, hidden)).copy())
    steps, k = X.shape[1], model.bptt_truncate or X.shape[1]
    edges = sorted({0, steps, *range(steps - k, 0, -k)})
    for _ in range(epochs):
        for start in range(0, len(X), batch_size):
            xb = torch.from_numpy(X[start:start + batch_size])
            yb = torch.from_numpy(y[start:start + batch_size])
            state = None if h0 is None else h0[:, None, :].expand(layers, len(xb), hidden)
            for a, b in pairwise(edges):
                out, state = rnn(xb[:, a:b], state if a == 0 or state is None
                                 else state.detach())
            loss = 0.5 * ((head(out[:, -1]) - yb) ** 2).mean()
            loss = loss + 0.5 * model.alpha / len(xb) * sum((w**2).sum() for w in weights)
            optimizer.zero_grad()
            loss.backward()
            if model.clip_norm:
                torch.nn.utils.clip_grad_norm_(params, model.clip_norm)
            optimizer.step()
    return rnn, head


@pytest.mark.parametrize("params", [
    dict(),
    dict(num_layers=2, nonlinearity="relu", clip_norm=0.05, alpha=0.01),
    dict(bptt_truncate=2, h0=np.full(4, 0.2)),
], ids=["tanh", "two relu layers, clip_norm, alpha", "bptt_truncate, h0"])
def test_rnn_training_follows_torch_sgd_step_for_step(params):
    """Not only the gradients: ten epochs of mini-batch SGD end at torch's weights."""
    X = RNG.standard_normal((50, 6, 2))
    y = np.sin(X.sum(axis=1))
    settings = dict(hidden_size=4, solver="sgd", momentum=0.0, learning_rate_init=0.05,
                    shuffle=False, batch_size=16, random_state=0, tol=0.0,
                    n_iter_no_change=1000, **params)
    start = RNNRegressor(**settings, max_iter=1)
    start._random_state = np.random.RandomState(0)  # what fit draws the first weights from
    start.n_features_in_, start.n_outputs_ = 2, 2
    start._build(np.float64, 4, params.get("num_layers", 1), params.get("nonlinearity", "tanh"),
                 "rnn")
    rnn, head = _torch_training(start, X, y, epochs=10, batch_size=16, lr=0.05)
    model = RNNRegressor(**settings, max_iter=10).fit(X, y)
    if model.clip_norm:  # the clipping was exercised
        assert min(model.grad_norm_curve_) > model.clip_norm
    for layer, cell in enumerate(model._rnn.cells):
        for name in ("weight_ih", "weight_hh"):
            np.testing.assert_allclose(getattr(cell, name).data,
                                       getattr(rnn, f"{name}_l{layer}").detach().numpy().T,
                                       rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(cell.bias.data.ravel(),
                                   getattr(rnn, f"bias_ih_l{layer}").detach().numpy(),
                                   rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model._out_weight.data, head.weight.detach().numpy().T,
                               rtol=1e-10, atol=1e-12)


# ---- RNNRegressor on raw, unscaled data says to scale it -------------------------------------
def test_an_rnn_fitted_on_raw_unscaled_series_says_to_standardize():
    data = datasets.load_sunspots(window=10, sequences=True)  # numbers 0 … 190, RMS ≈ 70
    with pytest.warns(UserWarning, match=r"X is far from unit scale") as caught:
        RNNRegressor(hidden_size=4, max_iter=1).fit(data.X, data.y / data.y.std())
    assert caught[0].filename == __file__
    with pytest.warns(UserWarning, match=r"y is far from unit scale .*scale the predictions "
                                         r"back"):
        RNNRegressor(hidden_size=4, max_iter=1).fit(data.X / data.X.std(), data.y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # scaled data: no such warning
        warnings.simplefilter("ignore", ConvergenceWarning)
        RNNRegressor(hidden_size=4, max_iter=1).fit(data.X / data.X.std(),
                                                    data.y / data.y.std())


@pytest.mark.parametrize("cls, y", [(MLPRegressor, Y_TAB), (MLPClassifier, Y_CLS)],
                         ids=["regressor", "classifier"])
def test_a_model_saved_after_switching_solver_continues_with_the_solver_it_had(tmp_path, cls,
                                                                               y):
    """set_params(solver=...) after fit does not replace the solver partial_fit goes on with;
    the saved file is that solver's, and the loaded model goes on the same way."""
    model = cls(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(X_TAB, y)
    model.set_params(solver="sgd")
    model.save(tmp_path / "switched")
    loaded = cls.load(tmp_path / "switched")
    model.partial_fit(X_TAB, y)
    loaded.partial_fit(X_TAB, y)
    np.testing.assert_array_equal(loaded.predict(X_TAB), model.predict(X_TAB))


def test_sequences_of_different_lengths_say_so():
    ragged = [np.ones((3, 1)), np.ones((4, 1)), np.ones((3, 1))]
    with pytest.raises(ValueError, match=r"sequences in X differ in shape: \(3, 1\), \(4, 1\); "
                                         r"every sequence needs the same"):
        RNNRegressor(max_iter=1).fit(ragged, [1.0, 2.0, 3.0])
    model = RNNRegressor(hidden_size=2, max_iter=1).fit(np.ones((3, 3, 1)), [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="sequences in X differ in shape"):
        model.predict([[[1.0], [2.0]], [[1.0]]])
    assert model.predict([np.ones((5, 1))] * 2).shape == (2,)  # one length, any length


@pytest.mark.parametrize("make, X, y", [
    (lambda: MLPRegressor(hidden_layer_sizes=(3,), max_iter=3, random_state=0), X_TAB, Y_TAB),
    (lambda: RNNRegressor(hidden_size=3, max_iter=3, random_state=0), X_SEQ, Y_SEQ),
    (lambda: MLPClassifier(hidden_layer_sizes=(3,), max_iter=3, random_state=0), X_TAB, Y_CLS),
], ids=["mlp", "rnn", "classifier"])
def test_fitting_inside_no_grad_trains_as_outside(make, X, y):
    """A user evaluating inside `mf.no_grad()` (or after mf.set_grad_enabled(False)) can still
    fit: the estimator turns graph building on for its own training, and back off after."""
    outside = make().fit(X, y)
    with mf.no_grad():
        inside = make().fit(X, y)
        inside.partial_fit(X, y)
        assert not mf.is_grad_enabled()
    outside.partial_fit(X, y)
    np.testing.assert_array_equal(inside.predict(X), outside.predict(X))


# ---- RNNRegressor: scikit-learn's invariants on 3-D X (check_estimator tries only 2-D X) -------
@pytest.mark.parametrize("params", [dict(), dict(h0=[0.1, 0.2, 0.3], num_layers=2),
                                    dict(early_stopping=True, validation_fraction=0.2)],
                         ids=["plain", "h0 list, two layers", "early stopping"])
def test_rnn_keeps_scikit_learns_estimator_invariants(params):
    """check_estimator (tests/test_rnn_sklearn_checks.py) tries only 2-D X, which takes its own
    path in; these are the invariants of its checks on 3-D X: fit returns self and is
    idempotent, leaves its parameters and inputs alone, adds no public attribute without a
    trailing underscore, and predicts each sample independently of the others and of their
    order."""
    X, y = X_SEQ.copy(), Y_SEQ[:, -1, 0].copy()
    model = RNNRegressor(hidden_size=3, max_iter=4, random_state=0, **params)
    before = {k: (v.copy() if isinstance(v, list) else v) for k, v in model.get_params().items()}
    assert model.fit(X, y) is model
    first = model.predict(X)
    assert model.get_params() == before
    np.testing.assert_array_equal(X, X_SEQ)
    np.testing.assert_array_equal(y, Y_SEQ[:, -1, 0])
    assert not [k for k in vars(model) if not k.startswith("_") and not k.endswith("_")
                and k not in before]
    np.testing.assert_array_equal(model.fit(X, y).predict(X), first)  # idempotent
    order = RNG.permutation(len(X))
    np.testing.assert_allclose(model.predict(X[order]), first[order], rtol=1e-12)
    parts = np.concatenate([model.predict(X[i:i + 7]) for i in range(0, len(X), 7)])
    np.testing.assert_allclose(parts, first, rtol=1e-12)
