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
from collections import Counter

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
    """`path`, or `path` + ".npz" when that is what np.savez wrote for it; a file object as is."""
    if hasattr(path, "read"):
        return path
    path = os.fspath(path)
    if not os.path.exists(path) and os.path.exists(path + ".npz"):
        return path + ".npz"
    return path


class DamagedFileError(ValueError):
    """A file that is not, or is no longer, what `save` wrote; the message says which entry."""


def _read(path):
    """The entries of the .npz file at `path` as a dict of arrays (no pickle ever).  A file
    that is no archive says so; an entry that cannot be read is named."""
    try:
        loaded = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        # NumPy's own message for bytes it cannot place suggests allow_pickle=True, the one
        # thing never to do with a file of unknown origin: it would run code from the file
        raise DamagedFileError(f"load: {_label(path)} is not a saved matrixflow estimator: it "
                               "is not an .npz archive (a zip file of arrays, what `save` "
                               f"writes){_reason(exc)}") from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise DamagedFileError(f"load: {_label(path)} holds a single array (.npy), not a saved "
                               "estimator; `save` writes an .npz file")
    entries = {}
    with loaded:
        for name in loaded.files:
            try:
                entries[name] = loaded[name]
            except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
                what = ("holds Python objects (pickled data), which matrixflow never loads"
                        if "pickle" in str(exc) else f"cannot be read{_reason(exc)}")
                raise DamagedFileError(f"load: {_label(path)} is damaged: its entry {name!r} "
                                       f"{what}") from None
    return entries


def _reason(exc):
    """NumPy's or zipfile's words for a failure, unless they mention pickling."""
    text = str(exc)
    return "" if not text or "pickle" in text else f" ({text})"


def _label(path):
    return getattr(path, "name", "the file object") if hasattr(path, "read") else str(path)


def load_estimator(cls, path, fitted=None):
    """(estimator, solver state) from a file written by save_estimator for class `cls`.

    Only the fitted attributes named in `fitted` are taken (any, when it is None); anything
    else in the file, an entry missing, parameters that are not JSON or not `cls`'s, raise
    DamagedFileError naming it.
    """
    path = _resolve(path)
    label = _label(path)
    stored = _read(path)

    def damaged(what):
        return DamagedFileError(f"load: {label} is damaged or was not written by "
                                f"{cls.__name__}.save: {what}")

    fmt = str(stored.get("format", ""))
    if fmt != FORMAT:
        if fmt.startswith(FORMAT.split("/")[0] + "/"):
            raise DamagedFileError(f"load: {label} was written in format {fmt!r}; this version "
                                   f"of matrixflow reads {FORMAT!r}")
        raise DamagedFileError(f"load: {label} is not a saved matrixflow estimator")
    try:
        if str(stored["class"]) != cls.__name__:
            raise DamagedFileError(f"load: {label} holds a {stored['class']}, not a "
                                   f"{cls.__name__}; use {stored['class']}.load")
        try:
            params = json.loads(str(stored["params"]))
        except json.JSONDecodeError as exc:
            raise damaged(f"its parameters are not valid JSON ({exc})") from exc
        if not isinstance(params, dict):
            raise damaged("its parameters are not a JSON object")
        for name in stored.get("tuple_params", np.array([], dtype=str)).tolist():
            if name in params:
                params[name] = tuple(params[name])
        for name in _names(stored, "param_array"):
            params[name] = stored[f"param_array/{name}"]
        valid = cls().get_params(deep=False)
        unknown = sorted(set(params) - set(valid))
        if unknown:
            raise damaged(f"unknown parameter(s) {unknown} for {cls.__name__}")
        estimator = cls(**params)
        for name in _names(stored, "fitted"):
            if fitted is not None and name not in fitted:
                raise damaged(f"unexpected entry 'fitted/{name}'")
            setattr(estimator, name, _unflatten(f"fitted/{name}", stored))
        solver = {name: _unflatten(f"solver/{name}", stored) for name in _names(stored, "solver")}
    except KeyError as exc:
        raise damaged(f"the entry {exc} is missing") from exc
    return estimator, solver


def check_loaded(cls, path, checks):
    """Run `checks()` (the estimator's consistency checks of a loaded model), reporting a
    failure as a DamagedFileError naming the file."""
    try:
        checks()
    except KeyError as exc:
        raise DamagedFileError(f"load: {_label(_resolve(path))} is damaged or was not written "
                               f"by {cls.__name__}.save: the entry {exc} is missing") from exc
    except (ValueError, TypeError, AttributeError) as exc:
        raise DamagedFileError(f"load: {_label(_resolve(path))} is damaged or was not written "
                               f"by {cls.__name__}.save: {exc}") from exc


def require(estimator, *names):
    """KeyError naming the file entry of the first fitted attribute that is missing."""
    for name in names:
        if not hasattr(estimator, name):
            raise KeyError(f"fitted/{name}")


def check_weight(name, value, shape):
    """`value` must be a floating-point array of `shape`, every entry finite."""
    if not isinstance(value, np.ndarray) or value.dtype.kind != "f":
        kind = value.dtype.str if isinstance(value, np.ndarray) else type(value).__name__
        raise ValueError(f"{name} holds {kind} values, not floating-point numbers")
    if value.shape != tuple(shape):
        raise ValueError(f"{name} has shape {value.shape}, expected {tuple(shape)}")
    check_finite_entry(name, value)


def check_finite_entry(name, value):
    """Refused rather than loaded with a warning: a model with a NaN or ∞ weight predicts NaN
    for every sample, and fit itself never leaves one (it raises instead), so such a file
    is damaged or was edited."""
    finite = np.isfinite(value)
    if not finite.all():
        raise ValueError(f"{name} holds {int(value.size - finite.sum())} non-finite value(s) "
                         f"(NaN or ±inf), first at index {np.argwhere(~finite)[0].tolist()}; "
                         "a model with them predicts NaN: refit it and save it again")


def layer_widths(coefs, intercepts, hidden_layer_sizes):
    """The width of each hidden layer of a loaded MLP, as most of what the file says of it
    agrees: hidden layer i is named by the parameter hidden_layer_sizes[i], the columns of
    coefs_[i], the length of intercepts_[i] and the rows of coefs_[i + 1].  One damaged entry
    is then outvoted and named, not its neighbour; a tie goes to the parameter."""
    widths = []
    for i in range(len(coefs) - 1):
        votes = [hidden_layer_sizes[i] if len(hidden_layer_sizes) == len(coefs) - 1 else None,
                 np.shape(coefs[i])[1] if np.ndim(coefs[i]) == 2 else None,
                 np.shape(intercepts[i])[0] if np.ndim(intercepts[i]) == 1 else None,
                 np.shape(coefs[i + 1])[0] if np.ndim(coefs[i + 1]) == 2 else None]
        votes = [v for v in votes if isinstance(v, (int, np.integer))]
        widths.append(Counter(votes).most_common(1)[0][0] if votes else 0)
    return widths


def check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


SOLVER_STATE_KEYS = {"sgd": ("learning_rate", "velocity"),
                     "adam": ("learning_rate", "step", "m", "v")}


def solver_kind(solver_state):
    """Which solver wrote `solver_state`: Adam keeps step, m and v, SGD a velocity.  (It may
    not be the `solver` parameter: set_params after fit does not replace a solver that
    partial_fit goes on with.)"""
    return "adam" if {"step", "m", "v"} & set(solver_state) else "sgd"


def check_solver_state(solver_state, params):
    """The saved solver state must have its solver's entries, one array per parameter, each
    of the parameter's shape.  (No state at all is a model whose solver never stepped.)"""
    if not solver_state:
        return
    for key in SOLVER_STATE_KEYS[solver_kind(solver_state)]:
        if key not in solver_state:
            raise KeyError(f"solver/{key}")
    for key, values in solver_state.items():
        if key == "learning_rate":
            continue
        if isinstance(values, (list, tuple)):
            count = len(values)
        else:
            count = len(values) if isinstance(values, np.ndarray) and values.ndim else 0
        if count != len(params):
            raise ValueError(f"the solver state {key!r} holds {count} entries for "
                             f"{len(params)} parameters")
        if key == "step":  # one count per parameter, saved as one integer array
            continue
        for position, (value, param) in enumerate(zip(values, params)):
            if np.shape(value) != param.shape:
                raise ValueError(f"the solver state {key!r} for parameter {position} has shape "
                                 f"{np.shape(value)}, the parameter {param.shape}")
            if np.asarray(value).dtype.kind == "f":
                check_finite_entry(f"solver/{key}[{position}]", np.asarray(value))
