"""What RNNRegressor accepts as X and y, and what it says when they do not fit.

X is 3-D, (n_samples, seq_len, n_features): n_samples sequences of seq_len steps.  A 2-D X,
(n_samples, seq_len), is read as univariate sequences, X[:, :, None]: each row is one sequence
and each column one step, so scikit-learn's tabular tools (StandardScaler in a Pipeline,
cross_val_score, GridSearchCV, check_estimator) see the columns they expect.  For a 2-D X
`n_features_in_` (and `feature_names_in_`, from a DataFrame) are scikit-learn's: the columns,
here the steps, so predict takes X with those columns, as every scikit-learn estimator does.
For a 3-D X `n_features_in_` is the features of one step and predict takes any seq_len.
A model fitted on one dimensionality predicts on the same: the other would mean other
columns (or other steps) than those it learnt from.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.utils import check_array
from sklearn.utils.validation import validate_data

FAR_FROM_UNIT_SCALE = 10.0  # a root mean square above this: the data wants standardizing


def check_sequences(estimator, X, reset):
    """X as a 3-D float array (a 2-D X as X[:, :, None]); with `reset` (a first fit) it records
    `n_features_in_`, `seq_len_`, `_input_ndim` and `feature_names_in_` (2-D only), else it
    checks X against them."""
    if isinstance(X, (list, tuple)):
        check_equal_lengths(X)
    fitted_ndim = None if reset else getattr(estimator, "_input_ndim", 3)
    ndim = _ndim(X)
    if ndim is not None and ndim > 3:
        raise ValueError(f"RNNRegressor: X must be 2-D (n_samples, seq_len) or 3-D (n_samples, "
                         f"seq_len, n_features), got shape {np.shape(X)}")
    if ndim == 3:
        if fitted_ndim == 2:
            raise ValueError(
                f"RNNRegressor: the model was fitted on a 2-D X (n_samples, seq_len) of "
                f"{estimator.n_features_in_} steps, and predicts from the same; got a 3-D X of "
                f"shape {np.shape(X)} (for one feature per step pass X[:, :, 0])")
        return _check_3d(estimator, X, reset)
    if fitted_ndim == 3:
        raise ValueError(
            f"RNNRegressor: X must be 3-D (n_samples, seq_len, n_features), as the model was "
            f"fitted on, got shape {np.shape(X)}; for one feature per step use X[:, :, None]")
    if ndim == 2 and not reset and np.shape(X)[1] != estimator.n_features_in_:
        raise ValueError(
            f"X has {np.shape(X)[1]} features, but RNNRegressor is expecting "
            f"{estimator.n_features_in_} features as input: the columns of a 2-D X are the "
            "steps of univariate sequences, as many as at fit. For sequences of other lengths "
            "fit on a 3-D X (n_samples, seq_len, 1), which predicts from any seq_len.")
    # 1-D, 2-D or something else: scikit-learn's own checks and words (n_features_in_,
    # feature names, "Reshape your data", sparse, complex, empty)
    X = validate_data(estimator, X, reset=reset, dtype=(np.float64, np.float32))
    if reset:
        estimator.seq_len_ = X.shape[1]
        estimator._input_ndim = 2
    return X[:, :, None]


def _ndim(X):
    ndim = getattr(X, "ndim", None)
    if ndim is None and isinstance(X, (list, tuple)):
        try:
            ndim = np.ndim(X)
        except ValueError:  # ragged: check_array says so
            ndim = None
    return ndim


def _check_3d(estimator, X, reset):
    X = check_array(X, allow_nd=True, dtype=(np.float64, np.float32), input_name="X")
    if X.shape[1] == 0 or X.shape[2] == 0:
        raise ValueError(f"RNNRegressor: X of shape {X.shape} has no steps or no features; "
                         "each sequence needs at least one step of at least one feature")
    if reset:
        estimator.n_features_in_ = X.shape[2]
        estimator.seq_len_ = X.shape[1]
        estimator._input_ndim = 3
        if hasattr(estimator, "feature_names_in_"):  # from an earlier fit on a DataFrame
            del estimator.feature_names_in_
    elif X.shape[2] != estimator.n_features_in_:
        raise ValueError(f"X has {X.shape[2]} features, but RNNRegressor is expecting "
                         f"{estimator.n_features_in_} features as input.")
    return X


def check_loaded_input(estimator):
    """A loaded model's record of its X: 2-D or 3-D (files from before 2-D X hold none: 3-D)."""
    ndim = getattr(estimator, "_input_ndim", 3)
    if ndim not in (2, 3):
        raise ValueError(f"_input_ndim must be 2 or 3, got {ndim!r}")


def step_features(estimator):
    """The features of one step, the network's input size: n_features_in_ for a 3-D X, 1 for
    a 2-D X (whose n_features_in_ counts its steps)."""
    return 1 if getattr(estimator, "_input_ndim", 3) == 2 else estimator.n_features_in_


def check_targets(y, X):
    """y as a 2-D (one prediction per sequence) or 3-D (one per step) array that fits X."""
    if y is None:  # check_array would read None as NaN
        raise ValueError("RNNRegressor requires y to be passed, but the target y is None.")
    y = check_array(y, allow_nd=True, ensure_2d=False, dtype=X.dtype, input_name="y")
    n, steps = X.shape[:2]
    if y.shape[0] != n:
        raise ValueError(f"RNNRegressor: X has {n} samples but y has {y.shape[0]}")
    if y.ndim == 1:
        y = y[:, None]
    if y.ndim == 3 and y.shape[1] != steps:
        raise ValueError(f"RNNRegressor: a per-step y must have shape (n_samples, {steps}, "
                         f"n_outputs) to match X; got {y.shape}")
    if y.ndim not in (2, 3):
        raise ValueError(f"RNNRegressor: y must be 1-, 2- or 3-D, got shape {y.shape}")
    return y


def check_targets_fit(estimator, y):
    """y (as check_targets returns it) must be shaped like the fitted model's predictions."""
    if (y.ndim == 3) != estimator.many_to_many_:
        outputs = estimator.n_outputs_
        wanted = ("one value per step: give y the shape (n_samples, seq_len, "
                  f"{outputs})" if estimator.many_to_many_ else
                  "one value per sequence: give y the shape (n_samples,) or (n_samples, "
                  f"{outputs})")
        raise ValueError(f"RNNRegressor: y has shape {y.shape}, but the model was fitted "
                         f"on a {'3' if estimator.many_to_many_ else '1- or 2'}-D y and "
                         f"predicts {wanted}")
    if y.shape[-1] != estimator.n_outputs_:
        raise ValueError(f"RNNRegressor: y has {y.shape[-1]} output(s), but the model was "
                         f"fitted with {estimator.n_outputs_}")


def warn_if_far_from_unit_scale(X, y, univariate=False):
    """A UserWarning when X (any feature) or y (any output) has a root mean square over
    FAR_FROM_UNIT_SCALE: saturating tanh units, weights drawn at U(±1/√hidden) and the default
    learning rate make an RNN learn such data very slowly (raw yearly sunspot numbers, RMS
    ≈ 65, get held-out R² −1.2 at the defaults, 0.80 once divided by their standard
    deviation).  `univariate`: X came 2-D, so a StandardScaler in a Pipeline can scale it."""
    for name, data in (("X", X.reshape(-1, X.shape[-1])), ("y", y.reshape(-1, y.shape[-1]))):
        rms = np.sqrt(np.mean(np.square(data, dtype=np.float64), axis=0))
        if (rms > FAR_FROM_UNIT_SCALE).any():
            column = int(np.argmax(rms))
            which = f" in {'feature' if name == 'X' else 'output'} {column}" if rms.size > 1 \
                else ""
            how = {"X": ", per feature", "y": ""}[name]
            if name == "X" and univariate:
                how = "; for a 2-D X a StandardScaler before the model in a Pipeline does it"
            warnings.warn(
                f"RNNRegressor: {name} is far from unit scale (root mean square {rms[column]:.3g}"
                f"{which}); an RNN learns such data "
                f"slowly or not at all. Standardize {name} (e.g. subtract the training mean and "
                f"divide by the training standard deviation{how})"
                f"{' and scale the predictions back' if name == 'y' else ''}.",
                UserWarning, stacklevel=4)


def check_equal_lengths(sequences):
    """X given as a list of sequences: they must share one (seq_len, n_features) shape."""
    try:
        shapes = [np.shape(sequence) for sequence in sequences]
    except ValueError:  # a sequence that is ragged itself
        shapes = None
    if shapes is None or len(set(shapes)) > 1:
        seen = "" if shapes is None else f": {', '.join(map(str, sorted(set(shapes))[:4]))}"
        raise ValueError(
            f"RNNRegressor: the sequences in X differ in shape{seen}; every sequence needs the "
            "same (seq_len, n_features). Pad them to one length, or fit groups of equal length "
            "one after another with partial_fit.")
