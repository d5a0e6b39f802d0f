"""Estimator fits: matrixflow's against scikit-learn's MLPRegressor and PyTorch's nn.RNN, nn.LSTM.

Both sides train the same network on the same data for the same number of epochs (the
stopping rule is switched off with n_iter_no_change=inf), so a ratio compares the cost of the
same work.  matrixflow's rows time replay=True (the default: each batch's step replayed) and
replay=False (the tree built eagerly on each batch).  scikit-learn's MLP backprop is
hand-written NumPy: for this job on one CPU it is the limit.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning


def _quietly(fit):
    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return fit()

    return run


def mlp_data(n_samples, n_features, seed=0):
    """Standardised diabetes data when it fits the size asked for, else a smooth random target."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features))
    w = rng.standard_normal((n_features, 1)) / np.sqrt(n_features)
    y = np.tanh(X @ w).ravel() + 0.1 * np.sin(3 * X[:, 0]) + 0.05 * rng.standard_normal(n_samples)
    return X, y


def diabetes():
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    return (X - X.mean(0)) / X.std(0), (y - y.mean()) / y.std()


def mlp_jobs(X, y, **params):
    from matrixflow.models import MLPRegressor
    from sklearn.neural_network import MLPRegressor as SklearnMLP

    params = {"random_state": 0, "n_iter_no_change": np.inf, **params}
    return {
        "scikit-learn MLPRegressor.fit": _quietly(lambda: SklearnMLP(**params).fit(X, y)),
        "matrixflow MLPRegressor.fit (replay)": _quietly(
            lambda: MLPRegressor(**params).fit(X, y)),
        "matrixflow MLPRegressor.fit (replay=False)": _quietly(
            lambda: MLPRegressor(replay=False, **params).fit(X, y)),
    }


def sequences(n, steps, seed=0):
    """Noisy sines of random frequency and phase; the target is the next value."""
    rng = np.random.default_rng(seed)
    t = np.arange(steps + 1)
    freq, phase = rng.uniform(0.1, 0.5, (n, 1)), rng.uniform(0, 2 * np.pi, (n, 1))
    series = np.sin(freq * t + phase) + 0.05 * rng.standard_normal((n, steps + 1))
    return series[:, :steps, None], series[:, steps]


TORCH_LAYERS = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


def torch_label(cell):
    return f"PyTorch nn.{TORCH_LAYERS[cell]} + Adam (float64)"


def rnn_jobs(X, y, hidden, batch, epochs, cell="rnn"):
    """RNNRegressor(cell=…).fit beside PyTorch's same layer + nn.Linear trained the same way."""
    import torch
    from matrixflow.models import RNNRegressor

    n, _, features = X.shape
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y[:, None])

    def matrixflow_fit(replay=True):
        return RNNRegressor(hidden_size=hidden, batch_size=batch, max_iter=epochs, alpha=0.0,
                            n_iter_no_change=np.inf, random_state=0, cell=cell,
                            replay=replay).fit(X, y)

    def torch_fit():
        torch.manual_seed(0)
        rnn = getattr(torch.nn, TORCH_LAYERS[cell])(features, hidden, batch_first=True).double()
        out = torch.nn.Linear(hidden, 1).double()
        optimizer = torch.optim.Adam([*rnn.parameters(), *out.parameters()], lr=1e-3)
        for _ in range(epochs):
            order = torch.randperm(n)
            for start in range(0, n, batch):
                index = order[start:start + batch]
                optimizer.zero_grad()
                states, _ = rnn(Xt[index])
                loss = 0.5 * ((out(states[:, -1]) - yt[index]) ** 2).mean()
                loss.backward()
                optimizer.step()

    return {torch_label(cell): torch_fit,
            f"matrixflow RNNRegressor(cell={cell!r}).fit (replay)": _quietly(matrixflow_fit),
            f"matrixflow RNNRegressor(cell={cell!r}).fit (replay=False)": _quietly(
                lambda: matrixflow_fit(replay=False))}
