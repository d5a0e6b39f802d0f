"""RNNRegressor(cell="lstm" | "gru"): trained as PyTorch trains nn.LSTM / nn.GRU + nn.Linear,
saved and loaded, refused where a parameter does not apply; and the warning when a fit ends no
better than predicting the mean."""

import itertools
import warnings

import numpy as np
import pytest
import torch
from matrixflow.models import RNNRegressor
from sklearn.exceptions import ConvergenceWarning

RNG = np.random.default_rng(0)
X = RNG.uniform(-1, 1, (24, 5, 3))
Y = np.tanh(X[:, :, 0].sum(axis=1) * X[:, -1, 1])

TORCH_LAYERS = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}


def torch_training(model, X, y, epochs, batch_size, lr):
    """PyTorch's layer + nn.Linear from `model`'s initial weights, trained by torch.optim.SGD on
    the same objective (½·mean squared error + α/(2n)·Σ‖W‖²) and the same batches."""
    hidden, layers, _, cell = model.architecture_
    rnn = TORCH_LAYERS[cell](model.n_features_in_, hidden, layers, batch_first=True).double()
    head = torch.nn.Linear(hidden, model.n_outputs_).double()
    with torch.no_grad():
        for k, mine in enumerate(model._rnn.cells):
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(rnn, f"{name}_l{k}").copy_(torch.from_numpy(
                    getattr(mine, name).data.T.reshape(getattr(rnn, f"{name}_l{k}").shape)))
        head.weight.copy_(torch.from_numpy(model._out_weight.data.T))
        head.bias.copy_(torch.from_numpy(model._out_bias.data.ravel()))
    params = list(rnn.parameters()) + list(head.parameters())
    weights = [p for name, p in rnn.named_parameters() if "weight" in name] + [head.weight]
    optimizer = torch.optim.SGD(params, lr=lr)
    y = torch.from_numpy(y.reshape(len(y), -1))
    for _ in range(epochs):
        for start in range(0, len(X), batch_size):
            xb, yb = torch.from_numpy(X[start:start + batch_size]), y[start:start + batch_size]
            out, _ = rnn(xb)
            loss = 0.5 * ((head(out[:, -1]) - yb) ** 2).mean()
            loss = loss + 0.5 * model.alpha / len(xb) * sum((w**2).sum() for w in weights)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return rnn, head


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("num_layers, alpha", [(1, 0.0), (2, 0.01)])
def test_training_leaves_the_weights_pytorch_leaves(cell, num_layers, alpha):
    params = dict(hidden_size=4, num_layers=num_layers, cell=cell, alpha=alpha, solver="sgd",
                  momentum=0.0, learning_rate_init=0.1, batch_size=8, shuffle=False,
                  n_iter_no_change=np.inf, random_state=0)
    # the initial weights: built from the same seed as fit builds them, before any step
    fresh = RNNRegressor(**params, max_iter=1)
    fresh.n_features_in_, fresh.n_outputs_ = 3, 1
    fresh._random_state = np.random.RandomState(0)
    fresh._build(np.dtype(np.float64), 4, num_layers, "tanh", cell)
    rnn, head = torch_training(fresh, X, Y, epochs=3, batch_size=8, lr=0.1)
    trained = RNNRegressor(**{**params, "max_iter": 3})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        trained.fit(X, Y)
    for k, mine in enumerate(trained._rnn.cells):
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            theirs = getattr(rnn, f"{name}_l{k}").detach().numpy()
            np.testing.assert_allclose(getattr(mine, name).data, np.atleast_2d(theirs.T)
                                       if theirs.ndim == 2 else theirs[None, :], rtol=1e-9,
                                       atol=1e-11)
    np.testing.assert_allclose(trained._out_weight.data, head.weight.detach().numpy().T,
                               rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_a_saved_model_loads_and_predicts_the_same(cell, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = RNNRegressor(hidden_size=5, cell=cell, max_iter=3, random_state=1).fit(X, Y)
    model.save(tmp_path / "model.npz")
    loaded = RNNRegressor.load(tmp_path / "model.npz")
    assert loaded.architecture_ == [5, 1, "tanh", cell]
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    loaded.partial_fit(X, Y)  # continues from the saved weights and solver state


def test_nonlinearity_applies_to_the_elman_cell_only():
    with pytest.raises(ValueError, match="nonlinearity='relu' applies to the Elman cell"):
        RNNRegressor(cell="lstm", nonlinearity="relu").fit(X, Y)
    with pytest.raises(ValueError, match="'rnn', 'lstm' or 'gru'"):
        RNNRegressor(cell="transformer").fit(X, Y)


def test_a_warm_start_with_another_cell_is_refused():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = RNNRegressor(hidden_size=3, max_iter=2, warm_start=True, random_state=0)
        model.fit(X, Y)
    model.set_params(cell="gru")
    with pytest.raises(ValueError, match="fit afresh"):
        model.fit(X, Y)


def test_a_fit_no_better_than_the_mean_says_why_and_what_to_try():
    noise = np.random.default_rng(3).standard_normal(len(X))  # nothing to learn
    with pytest.warns(ConvergenceWarning, match=r"no better than predicting the mean.*"
                      r"training R² = .*Try a larger max_iter or n_iter_no_change"):
        RNNRegressor(hidden_size=3, max_iter=2, random_state=0).fit(X, noise)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model = RNNRegressor(hidden_size=8, max_iter=100, learning_rate_init=0.01,
                             random_state=0).fit(X, Y)
    assert model.score(X, Y) > 0.5  # a model that learned: no word of the mean
    assert not [w for w in caught if "predicting the mean" in str(w.message)]


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("num_layers, per_step, truncate, h0", [
    (1, True, None, None), (2, False, 3, None), (2, True, 2, 0.3), (3, False, None, 0.1),
])
def test_objective_and_gradients_match_torch(cell, num_layers, per_step, truncate, h0):
    """Many-to-one and many-to-many, truncated BPTT (chunks counted back from the last step,
    the state detached between them) and h0, against PyTorch's layer run the same way."""
    rng = np.random.default_rng(0)
    n, steps, features, outputs, hidden = 6, 8, 3, 2, 5
    X = rng.standard_normal((n, steps, features))
    y = rng.standard_normal((n, steps, outputs) if per_step else (n, outputs))
    model = RNNRegressor(hidden_size=hidden, num_layers=num_layers, cell=cell, alpha=0.01,
                         bptt_truncate=truncate, h0=None if h0 is None else np.full(hidden, h0),
                         max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    model._objective(X, y, None).backward()

    rnn, _ = torch_training(model, X, y, epochs=0, batch_size=1, lr=0.0)  # a copy, untrained
    out_w = torch.tensor(model._out_weight.data, requires_grad=True)
    out_b = torch.tensor(model._out_bias.data, requires_grad=True)
    state = None
    if h0 is not None:
        h = torch.full((num_layers, n, hidden), h0, dtype=torch.float64)
        state = (h, torch.zeros_like(h)) if cell == "lstm" else h
    k = truncate or steps
    edges = sorted({0, steps, *range(steps - k, 0, -k)})
    pieces = []
    for a, b in itertools.pairwise(edges):
        if state is not None and a > 0:
            state = tuple(s.detach() for s in state) if cell == "lstm" else state.detach()
        out, state = rnn(torch.from_numpy(X[:, a:b]), state)
        pieces.append(out)
    states = torch.cat(pieces, dim=1)
    prediction = states @ out_w + out_b if per_step else states[:, -1, :] @ out_w + out_b
    loss = 0.5 * ((prediction - torch.from_numpy(y)) ** 2).mean()
    weights = [p for name, p in rnn.named_parameters() if "weight" in name] + [out_w]
    (loss + 0.5 * 0.01 / n * sum((w**2).sum() for w in weights)).backward()

    for k, mine in enumerate(model._rnn.cells):
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            theirs = getattr(rnn, f"{name}_l{k}").grad.numpy()
            np.testing.assert_allclose(getattr(mine, name).grad,
                                       theirs.T if theirs.ndim == 2 else theirs[None, :],
                                       rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(model._out_weight.grad, out_w.grad.numpy(), rtol=1e-9)
