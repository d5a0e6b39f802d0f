"""Saving a fitted estimator as an .npz file, and loading it back — never with pickle.

The file holds the constructor parameters (as JSON, arrays as arrays), every fitted attribute
(arrays, lists of arrays, numbers, strings, None) and the solver's state, so a loaded model
predicts the same and `partial_fit` continues where it stopped.  np.load runs with
allow_pickle=False: loading a file runs no code from it.
"""

from __future__ import annotations

import json
import os
import zipfile

import numpy as np

FORMAT = "matrixflow-estimator/1"
_NONE = "__none__"


def _flatten(prefix, value, arrays):
    """Store `value` under `prefix` in `arrays`, lists as prefix[i] and a length."""
    if isinstance(value, (list, tuple)) and (not value or isinstance(value[0], np.ndarray)):
        arrays[f"{prefix}#len"] = np.array(len(value))
        arrays[f"{prefix}#kind"] = np.array("tuple" if isinstance(value, tuple) else "list")
        for index, item in enumerate(value):
            arrays[f"{prefix}[{index}]"] = np.asarray(item)
    elif value is None:
        arrays[prefix] = np.array(_NONE)
    else:
        array = np.asarray(value)
        if array.dtype.kind == "O":  # e.g. feature names from a DataFrame: stored as text,
            array = array.astype(str)  # since an object array could only be pickled
        arrays[prefix] = array


def _unflatten(prefix, stored):
    if f"{prefix}#len" in stored:
        items = [stored[f"{prefix}[{i}]"] for i in range(int(stored[f"{prefix}#len"]))]
        return tuple(items) if str(stored[f"{prefix}#kind"]) == "tuple" else items
    value = stored[prefix]
    if value.dtype.kind == "U" and value.shape == () and str(value) == _NONE:
        return None
    if value.shape == ():
        return value.item()
    return value


def _names(stored, section):
    names = set()
    for key in stored:
        if key.startswith(section + "/"):
            names.add(key[len(section) + 1:].split("#")[0].split("[")[0])
    return sorted(names)


def _plain(value):
    """A parameter as JSON can hold it: NumPy scalars as Python numbers (a grid search hands
    out np.int64 and np.float64), tuples as lists."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def save_estimator(estimator, path, fitted, solver_state):
    """Write `estimator` to `path`: parameters, the fitted attributes named, the solver state."""
    arrays = {"format": np.array(FORMAT), "class": np.array(type(estimator).__name__)}
    plain, tuples = {}, []
    for name, value in estimator.get_params(deep=False).items():
        if isinstance(value, np.ndarray):
            arrays[f"param_array/{name}"] = value
        elif isinstance(value, (np.random.RandomState, np.random.Generator)):
            raise ValueError(f"save: random_state={value!r} cannot be saved; use an int or None")
        else:
            plain[name] = _plain(value)
            if isinstance(value, tuple):
                tuples.append(name)
    try:
        arrays["params"] = np.array(json.dumps(plain))
    except TypeError as exc:
        raise ValueError(f"save: a parameter cannot be written to the file ({exc})") from exc
    arrays["tuple_params"] = np.array(tuples, dtype=str)
    for name in fitted:
        if hasattr(estimator, name):
            _flatten(f"fitted/{name}", getattr(estimator, name), arrays)
    for name, value in solver_state.items():
        _flatten(f"solver/{name}", value, arrays)
    np.savez(path, **arrays)


def _resolve(path):
    """`path`, or `path` + ".npz" when that is what np.savez wrote for it."""
    path = os.fspath(path)
    if not os.path.exists(path) and os.path.exists(path + ".npz"):
        return path + ".npz"
    return path


def load_estimator(cls, path):
    """(estimator, solver state) from a file written by save_estimator for class `cls`."""
    path = _resolve(path)
    try:
        with np.load(path, allow_pickle=False) as stored:
            stored = dict(stored)
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"load: {path} is not a saved matrixflow estimator ({exc})") from exc
    if not isinstance(stored, dict) or str(stored.get("format", "")) != FORMAT:
        raise ValueError(f"load: {path} is not a saved matrixflow estimator")
    if str(stored["class"]) != cls.__name__:
        raise ValueError(f"load: {path} holds a {stored['class']}, not a {cls.__name__}; "
                         f"use {stored['class']}.load")
    params = json.loads(str(stored["params"]))
    for name in stored.get("tuple_params", np.array([], dtype=str)).tolist():
        params[name] = tuple(params[name])
    for name in _names(stored, "param_array"):
        params[name] = stored[f"param_array/{name}"]
    estimator = cls(**params)
    for name in _names(stored, "fitted"):
        setattr(estimator, name, _unflatten(f"fitted/{name}", stored))
    solver = {name: _unflatten(f"solver/{name}", stored) for name in _names(stored, "solver")}
    return estimator, solver
