"""Sparse X for MLPRegressor and MLPClassifier (models/_sparse.py): scikit-learn's weights on
the same sparse input, the same as on dense input, never densified; the sparse product's rule
W̄ = Xᵀ·Ȳ against finite differences and PyTorch; the stratified split's labels as
scikit-learn's; model files whose errors name the real fault."""

import warnings
import zipfile

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from matrixflow.models import MLPClassifier, MLPRegressor, RNNRegressor
from matrixflow.models._sparse import sparse_matmul
from sklearn import neural_network as sk
from sklearn.exceptions import ConvergenceWarning

import matrixflow as mf

RNG = np.random.RandomState(0)
X = RNG.rand(80, 12)
X[X < 0.75] = 0.0  # three quarters zeros, as text or one-hot features
Y_REG = X @ RNG.randn(12) + 0.1 * RNG.randn(80)
Y_BIN = (Y_REG > np.median(Y_REG)).astype(int)
Y_MULTI = np.digitize(Y_REG, np.quantile(Y_REG, [0.33, 0.66]))
FORMATS = [sp.csr_matrix, sp.csr_array, sp.csc_matrix, sp.csc_array, sp.coo_matrix,
           sp.coo_array]


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _weights(model):
    return model.coefs_ + model.intercepts_


def _assert_same_weights(ours, theirs, tol=1e-9):
    for a, b in zip(_weights(ours), _weights(theirs), strict=True):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


CASES = [(solver, kind, early) for solver in ("adam", "sgd", "lbfgs")
         for kind in ("regression", "binary", "multiclass")
         for early in (False, True) if not (solver == "lbfgs" and early)]


@pytest.mark.parametrize("solver, kind, early", CASES)
def test_sparse_fits_reach_scikit_learns_weights_and_the_dense_fits(solver, kind, early):
    y = {"regression": Y_REG, "binary": Y_BIN, "multiclass": Y_MULTI}[kind]
    ours, theirs = ((MLPRegressor, sk.MLPRegressor) if kind == "regression"
                    else (MLPClassifier, sk.MLPClassifier))
    params = dict(hidden_layer_sizes=(7,), solver=solver, random_state=1, max_iter=25,
                  alpha=1e-3, early_stopping=early)
    sparse_fit = ours(**params).fit(sp.csr_matrix(X), y)
    _assert_same_weights(sparse_fit, theirs(**params).fit(sp.csr_matrix(X), y))
    _assert_same_weights(sparse_fit, ours(**params).fit(X, y))
    np.testing.assert_allclose(sparse_fit.predict(sp.csr_matrix(X)).astype(float),
                               sparse_fit.predict(X).astype(float), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.__name__)
def test_every_sparse_format_fits_predicts_and_scores_as_dense(fmt):
    params = dict(hidden_layer_sizes=(5,), random_state=0, max_iter=5)
    dense = MLPClassifier(**params).fit(X, Y_MULTI)
    sparse = MLPClassifier(**params).fit(fmt(X), Y_MULTI)
    _assert_same_weights(sparse, dense)
    np.testing.assert_allclose(sparse.predict_proba(fmt(X)), dense.predict_proba(X),
                               rtol=1e-12)
    assert sparse.score(fmt(X), Y_MULTI) == dense.score(X, Y_MULTI)
    regressor = MLPRegressor(**params).fit(fmt(X), Y_REG)
    assert regressor.score(fmt(X), Y_REG) == pytest.approx(
        MLPRegressor(**params).fit(X, Y_REG).score(X, Y_REG), rel=1e-12)


def test_partial_fit_on_sparse_chunks_follows_scikit_learn():
    ours = MLPClassifier(hidden_layer_sizes=(6,), random_state=0)
    theirs = sk.MLPClassifier(hidden_layer_sizes=(6,), random_state=0)
    for chunk in np.array_split(np.arange(80), 4):
        for model in (ours, theirs):
            model.partial_fit(sp.csr_matrix(X[chunk]), Y_BIN[chunk], classes=[0, 1])
    _assert_same_weights(ours, theirs)


def test_float32_sparse_input_stays_float32():
    model = MLPRegressor(hidden_layer_sizes=(4,), max_iter=3, random_state=0)
    model.fit(sp.csr_matrix(X.astype(np.float32)), Y_REG)
    assert all(w.dtype == np.float32 for w in _weights(model))


def test_the_sparse_input_is_never_densified(monkeypatch):
    def refuse(self, *args, **kwargs):
        raise AssertionError("X was densified")

    for name in ("toarray", "todense"):
        monkeypatch.setattr(sp.csr_matrix, name, refuse)
        monkeypatch.setattr(sp.csc_matrix, name, refuse)
    model = MLPClassifier(hidden_layer_sizes=(5,), max_iter=3, early_stopping=True,
                          random_state=0).fit(sp.csr_matrix(X), Y_BIN)
    model.predict_proba(sp.csc_matrix(X))
    MLPRegressor(hidden_layer_sizes=(5,), solver="lbfgs", max_iter=3).fit(sp.csc_matrix(X), Y_REG)


def test_the_sparse_products_rule_matches_finite_differences_and_pytorch():
    X_sparse = sp.random(6, 4, density=0.4, random_state=1, format="csr")
    W = mf.Node(RNG.randn(4, 3), requires_grad=True)
    C = RNG.randn(6, 3)

    def loss(weights):
        return mf.sum(mf.tanh(sparse_matmul(X_sparse, weights)) * C)

    assert mf.gradcheck(loss, [W])
    loss(W).backward()
    W_torch = torch.tensor(W.data, requires_grad=True)
    (torch.tanh(torch.tensor(X_sparse.toarray()) @ W_torch) * torch.tensor(C)).sum().backward()
    np.testing.assert_allclose(W.grad, W_torch.grad.numpy(), rtol=1e-12, atol=1e-14)
    assert mf.gradgradcheck(loss, [W])  # the rule is the op again: create_graph works


def test_a_sparse_product_with_the_wrong_inner_dimension_names_both_shapes():
    with pytest.raises(ValueError, match=r"sparse_matmul: \(6, 4\) @ \(5, 3\)"):
        sparse_matmul(sp.csr_matrix(np.ones((6, 4))), mf.Node(np.ones((5, 3)),
                                                              requires_grad=True))


def test_sparse_input_on_a_gpu_is_refused_with_what_to_do(cp):
    model = MLPRegressor(hidden_layer_sizes=(3,), max_iter=2, device="cuda")
    with pytest.raises(TypeError, match="sparse X is supported with device='cpu' only"):
        model.fit(sp.csr_matrix(X), Y_REG)
    model.fit(X, Y_REG)
    with pytest.raises(TypeError, match=r"X\.toarray\(\)"):
        model.predict(sp.csr_matrix(X))


def test_sparse_targets_a_classifier_takes_and_a_regressor_refuses():
    labels = sp.csr_matrix((RNG.rand(80, 3) > 0.5).astype(int))
    params = dict(hidden_layer_sizes=(4,), max_iter=3, random_state=0)
    _assert_same_weights(MLPClassifier(**params).fit(X, labels),
                         sk.MLPClassifier(**params).fit(X, labels))
    with pytest.raises(TypeError, match=r"y must be dense .* y\.toarray\(\)"):
        MLPRegressor(**params).fit(X, sp.csr_matrix(Y_REG.reshape(-1, 1)))


def test_the_rnn_regressor_refuses_sparse_input():
    with pytest.raises(TypeError, match=r"[Ss]parse"):
        RNNRegressor(hidden_size=2, max_iter=1).fit(sp.csr_matrix(X), Y_REG)


def test_a_class_too_small_to_stratify_is_named_as_scikit_learn_names_it():
    X_small, y_small = [[1, 2], [2, 3], [3, 4], [4, 5]], [0, 0, 0, 1]
    messages = []
    for cls in (MLPClassifier, sk.MLPClassifier):
        with pytest.raises(ValueError) as caught:
            cls(early_stopping=True).fit(X_small, y_small)
        messages.append(str(caught.value))
    assert messages[0] == messages[1]
    assert "['True']" in messages[0]


# ---- model files ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    path = tmp_path_factory.mktemp("files") / "model.npz"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MLPClassifier(hidden_layer_sizes=(7,), max_iter=5, random_state=0)
        model.fit(X, Y_MULTI).save(path)
    with np.load(path, allow_pickle=False) as stored:
        return path, dict(stored)


def _load_error(path):
    with pytest.raises(ValueError) as caught:
        MLPClassifier.load(path)
    return str(caught.value)


def test_random_bytes_are_no_archive_and_allow_pickle_is_never_suggested(tmp_path):
    path = tmp_path / "model.npz"
    path.write_bytes(np.random.RandomState(0).bytes(1000))
    message = _load_error(path)
    assert "is not an .npz archive" in message and str(path) in message
    assert "pickle" not in message


def test_an_object_array_entry_is_named_without_suggesting_allow_pickle(saved, tmp_path):
    entries = dict(saved[1])
    entries["fitted/coefs_[0]"] = np.array([object()], dtype=object)
    path = tmp_path / "objects.npz"
    np.savez(path, **entries)  # np.savez pickles an object array into the file
    message = _load_error(path)
    assert "'fitted/coefs_[0]'" in message and "never loads" in message
    assert "allow_pickle" not in message


def test_a_mis_shaped_weight_is_blamed_not_its_neighbour(saved, tmp_path):
    entries = dict(saved[1])
    entries["fitted/coefs_[0]"] = np.zeros((12, 9))
    path = tmp_path / "shape.npz"
    np.savez(path, **entries)
    message = _load_error(path)
    assert "coefs_[0] has shape (12, 9), expected (12, 7)" in message
    assert "intercepts_" not in message


def test_a_corrupted_entry_is_named(saved, tmp_path):
    original, _ = saved
    raw = bytearray(original.read_bytes())
    with zipfile.ZipFile(original) as archive:
        info = archive.getinfo("fitted/coefs_[0].npy")
    raw[info.header_offset + 30 + len(info.filename) + 200] ^= 0xFF  # inside its data
    path = tmp_path / "bytes.npz"
    path.write_bytes(bytes(raw))
    message = _load_error(path)
    assert "its entry 'fitted/coefs_[0]' cannot be read" in message


@pytest.mark.parametrize("entry, bad, name", [
    ("fitted/coefs_[0]", np.nan, "coefs_[0]"),
    ("fitted/intercepts_[1]", np.inf, "intercepts_[1]"),
    ("solver/m[2]", -np.inf, "solver/m[2]"),
])
def test_non_finite_weights_are_refused_by_name(saved, tmp_path, entry, bad, name):
    entries = dict(saved[1])
    damaged = entries[entry].copy()
    damaged.flat[1] = bad
    entries[entry] = damaged
    path = tmp_path / "nan.npz"
    np.savez(path, **entries)
    message = _load_error(path)
    assert f"{name} holds 1 non-finite value(s)" in message and str(path) in message
    MLPClassifier.load(saved[0])  # the undamaged file loads
