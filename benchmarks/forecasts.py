"""Recurrent regressors on the shipped series, beside PyTorch's same networks:
`python -m benchmarks.forecasts` (a few minutes on one core).

For each series the last windows (sunspots: the years from 1950; CO₂: the last 20 % of the
months) are held out.  Every model sees the same inputs: for sunspots the last ten yearly
numbers divided by the training windows' standard deviation; for CO₂, whose level climbs out
of the range it was trained on, the last twelve months minus the latest (the shape of the
year), the target being the next month's change from the latest, scaled alike — scores are of
the level, in ppm.  Baselines: persistence (next = latest) and least squares on the same
window (AR).  For each cell, matrixflow's RNNRegressor(hidden_size=32, cell=…) at its defaults
(Adam 1e-3, batch 32, its stopping rule), then PyTorch's nn.RNN / nn.LSTM / nn.GRU + nn.Linear
trained the same way: float64, the same objective ½·mean squared error + α/(2n)·Σ‖W‖² with
α = 1e-4, Adam 1e-3, batches of 32 reshuffled each epoch, for as many epochs as matrixflow's
fit ran (its own draws: the two start from different weights).
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from sklearn.linear_model import LinearRegression

CELLS = ("rnn", "lstm", "gru")
TORCH_LAYERS = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


def sunspots():
    from matrixflow.models import datasets

    data = datasets.load_sunspots(window=10, sequences=True)
    train = data.target_times.astype(int) < 1950
    scale = data.X[train].std()
    return dict(name="sunspots, next year from the last 10 (test 1950–2008)", X=data.X / scale,
                y=data.y / scale, train=train, level=lambda X, out: out * scale,
                truth=data.y, latest=data.X[:, -1, 0], unit="")


def co2():
    from matrixflow.models import datasets

    data = datasets.load_co2(window=12, sequences=True)
    train = np.arange(len(data.y)) < int(0.8 * len(data.y))
    latest = data.X[:, -1, 0]
    shape = data.X - latest[:, None, None]
    change = data.y - latest
    scale = shape[train].std()
    return dict(name="CO₂ monthly, next month from the last 12 (test: the last 20 %)",
                X=shape / scale, y=change / scale, train=train,
                level=lambda X, out: latest[~train] + out * scale, truth=data.y, latest=latest,
                unit=" ppm")


def scores(truth, prediction):
    residual = truth - prediction
    r2 = 1.0 - np.sum(residual**2) / np.sum((truth - truth.mean()) ** 2)
    return r2, float(np.sqrt(np.mean(residual**2)))


def torch_fit(cell, X, y, epochs, alpha=1e-4, hidden=32, batch=32, seed=0):
    """PyTorch's layer + nn.Linear trained as RNNRegressor trains; returns predict(X)."""
    import torch

    torch.manual_seed(seed)
    torch.set_num_threads(1)
    layer = getattr(torch.nn, TORCH_LAYERS[cell])(X.shape[2], hidden, batch_first=True).double()
    head = torch.nn.Linear(hidden, 1).double()
    params = [*layer.parameters(), *head.parameters()]
    weights = [p for name, p in layer.named_parameters() if "weight" in name] + [head.weight]
    optimizer = torch.optim.Adam(params, lr=1e-3)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y[:, None])
    for _ in range(epochs):
        order = torch.randperm(len(X))
        for start in range(0, len(X), batch):
            index = order[start:start + batch]
            states, _ = layer(Xt[index])
            loss = 0.5 * ((head(states[:, -1]) - yt[index]) ** 2).mean()
            loss = loss + 0.5 * alpha / len(index) * sum((w**2).sum() for w in weights)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    def predict(X_new):
        with torch.no_grad():
            states, _ = layer(torch.from_numpy(X_new))
            return head(states[:, -1]).numpy().ravel()

    return predict


def main():
    from matrixflow.models import RNNRegressor
    from sklearn.exceptions import ConvergenceWarning

    for series in (sunspots(), co2()):
        X, y, train = series["X"], series["y"], series["train"]
        truth = series["truth"][~train]
        unit = series["unit"]
        print(f"\n{series['name']}: {int(train.sum())} windows to train on, "
              f"{int((~train).sum())} held out")
        print(f"{'model':<44} {'test R²':>8} {'RMSE' + unit:>10} {'epochs':>7} {'fit':>8}")
        rows = [("persistence (next = latest)", scores(truth, series["latest"][~train]), "—",
                 "—")]
        linear = LinearRegression().fit(X[train, :, 0], y[train])
        rows.append(("linear regression on the window (AR)",
                     scores(truth, series["level"](X, linear.predict(X[~train, :, 0]))), "—",
                     "—"))
        for name, result, epochs, seconds in rows:
            print(f"{name:<44} {result[0]:8.3f} {result[1]:10.2f} {epochs:>7} {seconds:>8}")
        for cell in CELLS:
            started = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model = RNNRegressor(hidden_size=32, cell=cell, max_iter=500,
                                     random_state=0).fit(X[train], y[train])
            seconds = time.perf_counter() - started
            result = scores(truth, series["level"](X, model.predict(X[~train])))
            label = f"matrixflow RNNRegressor(cell={cell!r})"
            print(f"{label:<44} {result[0]:8.3f} {result[1]:10.2f} {model.n_iter_:>7} "
                  f"{seconds:7.1f}s", flush=True)
            started = time.perf_counter()
            predict = torch_fit(cell, X[train], y[train], model.n_iter_)
            seconds = time.perf_counter() - started
            result = scores(truth, series["level"](X, predict(X[~train])))
            label = f"PyTorch nn.{TORCH_LAYERS[cell]} + nn.Linear, same training"
            print(f"{label:<44} {result[0]:8.3f} {result[1]:10.2f} {model.n_iter_:>7} "
                  f"{seconds:7.1f}s", flush=True)


if __name__ == "__main__":
    main()
