"""`matrixflow demo`: the estimators on real data, beside the naive forecast they must beat.

Yearly sunspot numbers (1700–2008, public domain): predict next year's number from the last
ten, by an MLP and by recurrent nets of each cell (Elman, LSTM, GRU).  The models learn on
the years up to 1949 and are scored on 1950–2008, which they never saw, beside two
baselines: "persistence" (next year = this year) and a linear regression on the same ten
years (an AR(10) model, least squares), the simplest model a network must beat to be worth
its training.  With matplotlib installed, the loss curves and the forecasts are saved as a
PNG.
"""

from __future__ import annotations

import os
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression

from . import datasets
from .mlp import MLPRegressor
from .rnn import RNNRegressor

WINDOW = 10
FIRST_TEST_YEAR = 1950
CELLS = ("rnn", "lstm", "gru")  # each recurrent cell at RNNRegressor's defaults
MAX_ITER = 500


def _scores(truth, prediction):
    residual = truth - prediction
    r2 = 1.0 - np.sum(residual**2) / np.sum((truth - truth.mean()) ** 2)
    return r2, float(np.sqrt(np.mean(residual**2)))


DEFAULT_PNG = "matrixflow-demo.png"


def _plot_path(path):
    """The file the plot will be written to, checked before any training: a folder gets
    DEFAULT_PNG inside it, a name without an extension gets ".png" (as matplotlib would add,
    so the name printed is the one written), and an extension matplotlib cannot write, or a
    folder that does not exist, raises."""
    path = os.fspath(path)
    if os.path.isdir(path) or path.endswith((os.sep, "/")):
        path = os.path.join(path, DEFAULT_PNG)
    extension = os.path.splitext(path)[1]
    if not extension:
        path += ".png"
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):  # fail before training, not after
        raise FileNotFoundError(f"demo: the folder for {path} does not exist")
    formats = _image_formats()
    if extension and formats is not None and extension[1:].lower() not in formats:
        raise ValueError(f"demo: matplotlib cannot write {extension!r} images ({path}); use "
                         f"one of {', '.join('.' + f for f in sorted(formats))}")
    return path


def _image_formats():
    """The file extensions matplotlib can save to, or None without matplotlib."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return None
    return set(Figure().canvas.get_supported_filetypes())


def run(png_path=DEFAULT_PNG, out=None):
    """Train, score and print; return {model name: (R², RMSE)} on the held-out years."""
    out = out or sys.stdout
    png_path = _plot_path(png_path)
    data = datasets.load_sunspots(window=WINDOW, sequences=True)
    years = data.target_times.astype(int)
    train = years < FIRST_TEST_YEAR
    scale = data.X[train].std()  # one scale for inputs and targets, from the training years
    X, y = data.X / scale, data.y / scale
    X_flat = X[:, :, 0]
    models = {
        "MLPRegressor(hidden_layer_sizes=(32,))": (
            MLPRegressor(hidden_layer_sizes=(32,), learning_rate_init=0.01, max_iter=500,
                         random_state=0), X_flat),
    }
    for cell in CELLS:
        name = "RNNRegressor(hidden_size=32)" if cell == "rnn" else \
            f"RNNRegressor(hidden_size=32, cell={cell!r})"
        models[name] = (RNNRegressor(hidden_size=32, cell=cell, max_iter=MAX_ITER,
                                     random_state=0), X)
    print(f"Sunspots: next year's number from the last {WINDOW} "
          f"(train {years[train][0]}–{years[train][-1]}, "
          f"test {years[~train][0]}–{years[~train][-1]}: {int((~train).sum())} years unseen)\n",
          file=out)
    print(f"{'model':<46} {'test R²':>8} {'RMSE':>7} {'epochs':>7} {'fit':>8}", file=out)
    truth = data.y[~train]
    linear = LinearRegression().fit(data.X[train, :, 0], data.y[train])
    results = {
        "persistence (next year = this year)": _scores(truth, data.X[~train, -1, 0]),
        f"linear regression on the last {WINDOW} (AR)": _scores(
            truth, linear.predict(data.X[~train, :, 0])),
    }
    for name, (r2, rmse) in results.items():
        print(f"{name:<46} {r2:8.3f} {rmse:7.1f} {'—':>7} {'—':>8}", file=out)
    forecasts, curves = {}, {}
    for name, (model, inputs) in models.items():
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(inputs[train], y[train])
        seconds = time.perf_counter() - started
        forecasts[name] = model.predict(inputs[~train]) * scale
        curves[name] = model.loss_curve_
        results[name] = _scores(truth, forecasts[name])
        print(f"{name:<46} {results[name][0]:8.3f} {results[name][1]:7.1f} {model.n_iter_:7d} "
              f"{seconds:7.2f}s", file=out)
    _plot(png_path, years[~train], truth, forecasts, curves, out)
    return results


def _plot(path, years, truth, forecasts, curves, out):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("\n(pip install matplotlib to save the loss curves and forecasts as a PNG)",
              file=out)
        return
    figure, (losses, forecast) = plt.subplots(1, 2, figsize=(12, 4))
    for name, curve in curves.items():
        losses.plot(curve, label=name.split("(")[0])
    losses.set(yscale="log", xlabel="epoch", ylabel="training loss", title="Loss curves")
    losses.legend()
    forecast.plot(years, truth, "k-", label="observed")
    for name, values in forecasts.items():
        forecast.plot(years, values, label=name.split("(")[0])
    forecast.set(xlabel="year", ylabel="sunspot number", title="One-year-ahead forecasts")
    forecast.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    print(f"\nSaved {path}", file=out)
