"""Real series shipped with matrixflow (public domain) and the sliding windows a regressor
learns from.

A window of the last `window` values predicts the value `horizon` steps after it: from a series
s₁ … s_N, row i of X is (s_i, …, s_{i+window−1}) and y_i = s_{i+window−1+horizon}.
`sequences=True` shapes X as (n_samples, window, 1) for RNNRegressor.
"""

from __future__ import annotations

import csv
import numbers
from importlib import resources

import numpy as np
from sklearn.utils import Bunch

SERIES = {
    "sunspots": ("sunspots_yearly.csv", "yearly mean sunspot number, 1700–2008 (309 years)"),
    "co2": ("co2_monthly.csv", "Mauna Loa atmospheric CO2 in ppm, monthly, 1958-03 to 2001-12 "
                               "(526 months, gaps interpolated)"),
    "nile": ("nile_yearly.csv", "annual flow of the Nile at Aswan in 10^8 m^3, 1871–1970 "
                                "(100 years)"),
}


def load_series(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(times, values) of a shipped series: times as strings ('1700', '1958-03'), values float64."""
    if name not in SERIES:
        raise ValueError(f"unknown series {name!r}; the shipped ones are {sorted(SERIES)}")
    text = resources.files(__package__).joinpath("data", SERIES[name][0]).read_text("utf-8")
    rows = list(csv.reader(text.splitlines()))[1:]
    return np.array([r[0] for r in rows]), np.array([float(r[1]) for r in rows])


def make_windows(values, window: int, horizon: int = 1, sequences: bool = False):
    """(X, y): each row of X the `window` values before the target y, `horizon` steps ahead."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"make_windows: the series must be 1-D, got shape {values.shape}")
    for name, value in (("window", window), ("horizon", horizon)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"make_windows: {name} must be an integer ≥ 1, got {value!r}")
    n = values.size - window - horizon + 1
    if n < 1:
        raise ValueError(f"make_windows: a series of {values.size} values is too short for "
                         f"window={window}, horizon={horizon}")
    X = np.lib.stride_tricks.sliding_window_view(values, window)[:n].copy()
    y = values[window + horizon - 1:window + horizon - 1 + n].copy()
    return (X[:, :, None] if sequences else X), y


def _load(name, window, horizon, sequences):
    times, values = load_series(name)
    X, y = make_windows(values, window, horizon, sequences)
    return Bunch(
        X=X, y=y, target_times=times[window + horizon - 1:], times=times, series=values,
        window=window, horizon=horizon, name=name,
        DESCR=f"{SERIES[name][1]}. Public domain (statsmodels datasets). Each row of X holds "
              f"{window} consecutive values; y is the value {horizon} step(s) after the last.",
    )


def load_sunspots(window: int = 10, horizon: int = 1, sequences: bool = False) -> Bunch:
    """Yearly sunspot numbers as windows: X (n, window) or (n, window, 1), y (n,)."""
    return _load("sunspots", window, horizon, sequences)


def load_co2(window: int = 12, horizon: int = 1, sequences: bool = False) -> Bunch:
    """Monthly Mauna Loa CO2 (ppm) as windows."""
    return _load("co2", window, horizon, sequences)


def load_nile(window: int = 5, horizon: int = 1, sequences: bool = False) -> Bunch:
    """Yearly Nile flow at Aswan as windows."""
    return _load("nile", window, horizon, sequences)
