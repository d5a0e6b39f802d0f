"""What the estimators share: their parameters' checks, and scikit-learn's training loop.

The loop is scikit-learn's `_fit_stochastic` (epochs of shuffled mini-batches, an optional
validation split, the no-improvement stopping rule, ConvergenceWarning), with the random draws
taken in the same order from the same `check_random_state` generator, so a given random_state
shuffles and splits as scikit-learn does.  What a batch computes is each estimator's own.
"""

from __future__ import annotations

import numbers
import time
import warnings

import numpy as np
from sklearn.base import is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

import matrixflow as mf
from matrixflow.backend import check_device, is_cupy_array, parse_device, to_device
from matrixflow.node import _leaf

from ._solvers import SklearnAdam, SklearnSGD


class InvalidParameterError(ValueError, TypeError):
    """A constructor parameter out of its range or of the wrong type (scikit-learn raises an
    error of both kinds too, so `except ValueError` and `except TypeError` both catch it)."""


def _real(low=None, high=None, closed=(True, True)):
    def check(value):
        if not isinstance(value, numbers.Real) or value != value:  # NaN is never in range
            return False
        lo_ok = low is None or (value >= low if closed[0] else value > low)
        hi_ok = value < np.inf if high is None else (value <= high if closed[1] else value < high)
        return lo_ok and hi_ok

    left = "[" if closed[0] and low is not None else "("
    right = "]" if closed[1] and high is not None else ")"
    interval = f"{left}{'−∞' if low is None else low}, {'∞' if high is None else high}{right}"
    return check, f"a real number in {interval}"


def _integer(low):
    def check(value):
        return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= low

    return check, f"an integer ≥ {low}"


def _one_of(*options):
    return (lambda value: isinstance(value, str) and value in options,
            "one of " + ", ".join(repr(o) for o in options))


_BOOLEAN = (lambda value: isinstance(value, (bool, np.bool_)), "True or False")

# scikit-learn's own constraints for these two: what check_random_state takes, and
# hidden_layer_sizes as an int or a sequence (its entries are checked at fit, as there)
_RANDOM_STATE = (lambda value: value is None or isinstance(value, np.random.RandomState) or (
    isinstance(value, numbers.Integral) and 0 <= value <= 2**32 - 1),
    "an int in [0, 4294967295], a numpy.random.RandomState or None")
_SIZES = (lambda value: (isinstance(value, numbers.Integral) and value >= 1) or (
    hasattr(value, "__len__") and not isinstance(value, str)),
    "an int ≥ 1 or a sequence of them")


def _is_device(value) -> bool:
    try:
        parse_device(value)
    except ValueError:
        return False
    return True


CONSTRAINTS = {
    "activation": _one_of("identity", "logistic", "tanh", "relu"),
    "solver": _one_of("lbfgs", "sgd", "adam"),
    "alpha": _real(0, None, (True, False)),
    "batch_size": (lambda v: v == "auto" or _integer(1)[0](v), "'auto' or an integer ≥ 1"),
    "learning_rate": _one_of("constant", "invscaling", "adaptive"),
    "learning_rate_init": _real(0, None, (False, False)),
    "power_t": _real(0, None, (True, False)),
    "max_iter": _integer(1),
    "shuffle": _BOOLEAN,
    "tol": _real(0, None, (True, False)),
    "warm_start": _BOOLEAN,
    "momentum": _real(0, 1),
    "nesterovs_momentum": _BOOLEAN,
    "early_stopping": _BOOLEAN,
    "validation_fraction": _real(0, 1, (True, False)),
    "beta_1": _real(0, 1, (True, False)),
    "beta_2": _real(0, 1, (True, False)),
    "epsilon": _real(0, None, (False, False)),
    "n_iter_no_change": (lambda v: v == np.inf or _integer(1)[0](v), "an integer ≥ 1 or np.inf"),
    "max_fun": _integer(1),
    "loss": _one_of("squared_error", "poisson"),
    "verbose": (lambda v: isinstance(v, (bool, numbers.Integral)), "a bool or an int"),
    "random_state": _RANDOM_STATE,
    "hidden_layer_sizes": _SIZES,
    "device": (_is_device, "'cpu', 'cuda' or 'cuda:N'"),
    "replay": _BOOLEAN,
}


def check_params(estimator, extra=None):
    """Raise ValueError naming the estimator, the parameter and what it must be."""
    constraints = {**CONSTRAINTS, **(extra or {})}
    for name, value in estimator.get_params(deep=False).items():
        if name in constraints:
            check, expected = constraints[name]
            if not check(value):
                raise InvalidParameterError(f"{type(estimator).__name__}: {name} must be "
                                            f"{expected}, got {value!r}")


def require_device(estimator) -> str:
    """The estimator's device, checked as one this machine has: RuntimeError naming
    `pip install "matrixflow[gpu]"` for "cuda" without CuPy, or saying there is no GPU."""
    return check_device(estimator.device,
                        f"{type(estimator).__name__}(device={estimator.device!r})")


def on_device(device, *arrays):
    """The arrays moved to `device` (None stays None; on "cpu" they are returned as they are)."""
    return tuple(None if a is None else to_device(a, device) for a in arrays)


def move_solver_state(optimizer, device):
    """Every array of the solver's state moved to `device` (the step counts stay numbers)."""
    for state in optimizer.state.values():
        for key, value in state.items():
            if isinstance(value, np.ndarray) or is_cupy_array(value):
                state[key] = to_device(value, device)


def make_solver(estimator, params, solver=None):
    """The estimator's solver over `params`; `solver` ("sgd" or "adam") overrides its
    parameter, for a loaded model whose saved state is another solver's."""
    if (solver or estimator.solver) == "sgd":
        return SklearnSGD(params, estimator.learning_rate_init, estimator.learning_rate,
                          estimator.momentum, estimator.nesterovs_momentum, estimator.power_t)
    return SklearnAdam(params, estimator.learning_rate_init, estimator.beta_1, estimator.beta_2,
                       estimator.epsilon)


def batch_step(estimator, tree, parameters, replay=True):
    """The step that runs a batch's forward and backward: `step(*arrays)` builds
    `tree(*inputs)` — a tuple (loss, *nodes) — adds ∂loss/∂p to each parameter's grad and
    returns the tuple (its nodes' `.data` are the values).  With the estimator's replay=True
    (and `replay`, False for what a replay cannot take, e.g. sparse X) it is one `mf.replay`
    of `tree`, traced on the first batch of each shape and replayed after; otherwise the tree
    is built eagerly on each batch.  The same function in both ways, so the same bits."""
    if estimator.replay and replay:
        return mf.replay(tree, parameters=parameters)

    def eager(*arrays):
        nodes = tree(*(a if issparse_like(a) else _leaf(a) for a in arrays))
        nodes[0].backward()
        return nodes

    return eager


def issparse_like(a) -> bool:
    """A SciPy (or CuPy) sparse matrix: it stays as it is, not a leaf (first_product takes it)."""
    return hasattr(a, "tocsr")


def weighting(weights, scales):
    """A weighted batch's inputs besides its data: the weights as a column, and each
    scale(Σweights) — the number the tree multiplies by — as a 1×1 array of that number's own
    type (it multiplies as the number did).  [] without weights: n is then the batch's shape."""
    if weights is None:
        return []
    total_weight = weights.sum()
    if total_weight == 0:  # as np.average says for scikit-learn's MLP
        raise ZeroDivisionError("Weights sum to zero, can't be normalized (a batch whose "
                                "sample_weight is all zero)")
    return [weights[:, None], *(scale(total_weight).reshape(1, 1) for scale in scales)]


def validate_sample_weight(sample_weight, n_samples, dtype):
    """Sample weights as a 1-D array of n_samples non-negative finite values (None stays None)."""
    if sample_weight is None:
        return None
    if isinstance(sample_weight, numbers.Number):
        return np.full(n_samples, sample_weight, dtype=dtype)
    weights = np.asarray(sample_weight, dtype=dtype)
    if weights.ndim != 1 or weights.shape[0] != n_samples:
        raise ValueError(f"sample_weight.shape == {weights.shape}, expected ({n_samples},)")
    if not np.isfinite(weights).all() or (weights < 0).any():
        raise ValueError("sample_weight must be finite and non-negative")
    if not weights.any():
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return weights


def start_history(estimator):
    """The fitted attributes a first fit starts from, as scikit-learn's _initialize sets them."""
    estimator.n_iter_ = 0
    estimator.t_ = 0
    estimator.loss_curve_ = []
    estimator._no_improvement_count = 0
    if estimator.early_stopping:
        estimator.validation_scores_ = []
        estimator.best_validation_score_ = -np.inf
        estimator.best_loss_ = None
    else:
        estimator.validation_scores_ = None
        estimator.best_validation_score_ = None
        estimator.best_loss_ = np.inf


# fit_stochastic ← _fit ← fit or partial_fit ← the user's line, where its warnings point
_CALLER = 4


def fit_stochastic(estimator, X, y, sample_weight, incremental, train_batch, after_epoch=None):
    """scikit-learn's epoch loop.  `train_batch(X, y, w)` runs forward, backward and one solver
    step on a batch and returns its loss; `after_epoch()` may record per-epoch extras."""
    if estimator.early_stopping and incremental:
        raise ValueError("partial_fit does not support early_stopping=True")
    if estimator.early_stopping:
        # a classifier's split keeps the classes' proportions (not for several labels), and
        # its validation score compares labels, as scikit-learn's
        classifier = is_classifier(estimator)
        stratify = y if classifier and estimator.n_outputs_ == 1 else None
        pieces = [X, y] if sample_weight is None else [X, y, sample_weight]
        split = train_test_split(*pieces, random_state=estimator._random_state,
                                 test_size=estimator.validation_fraction, stratify=stratify)
        X_train, X_val, y_train, y_val = split[:4]
        w_train, w_val = (split[4], split[5]) if sample_weight is not None else (None, None)
        if X_val.shape[0] < 2:
            raise ValueError("The validation set is too small. Increase 'validation_fraction' "
                             "or the size of your dataset.")
        if classifier:
            y_val = estimator._label_binarizer.inverse_transform(y_val)
    else:
        X_train, y_train, w_train = X, y, sample_weight
        X_val = y_val = w_val = None

    if y_train.dtype == bool:  # a classifier's labels, bool for the split: now X's precision
        y_train = y_train.astype(X_train.dtype)
    # the training split goes to the estimator's device once; the validation split stays on
    # the host, where its predictions come back for scikit-learn's metrics
    device = getattr(estimator, "device", "cpu")
    X_train, y_train, w_train = on_device(device, X_train, y_train, w_train)
    gpu = device != "cpu"
    n_samples = X_train.shape[0]
    sample_idx = np.arange(n_samples, dtype=int)
    if estimator.batch_size == "auto":  # scikit-learn's 200; a recurrent net's is smaller
        batch_size = min(getattr(estimator, "AUTO_BATCH_SIZE", 200), n_samples)
    else:
        if estimator.batch_size > n_samples:
            warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going "
                          "to be clipped", stacklevel=_CALLER)
        batch_size = int(np.clip(estimator.batch_size, 1, n_samples))

    optimizer = estimator._optimizer
    estimator.n_iter_ = 0  # as scikit-learn: each call counts its own epochs
    try:
        for _ in range(estimator.max_iter):
            started = time.perf_counter()
            if estimator.shuffle:
                sample_idx = _shuffled(sample_idx, estimator._random_state)
            accumulated_loss = 0.0
            for batch_slice in _batches(n_samples, batch_size):
                batch = sample_idx[batch_slice] if estimator.shuffle else batch_slice
                if gpu and estimator.shuffle:  # the batch's indices, copied to the device
                    batch = to_device(batch, device)
                w_batch = None if w_train is None else w_train[batch]
                loss = train_batch(X_train[batch], y_train[batch], w_batch)
                accumulated_loss += loss * (batch_slice.stop - batch_slice.start)
            estimator.n_iter_ += 1
            estimator.loss_ = accumulated_loss / n_samples
            estimator.t_ += n_samples
            estimator.loss_curve_.append(estimator.loss_)
            if after_epoch is not None:
                after_epoch()
            _update_no_improvement_count(estimator, X_val, y_val, w_val)
            if estimator.verbose:
                _print_epoch(estimator, time.perf_counter() - started)
            optimizer.iteration_ends(estimator.t_)
            if estimator._no_improvement_count > estimator.n_iter_no_change:
                what = "Validation score" if estimator.early_stopping else "Training loss"
                message = (f"{what} did not improve more than tol={estimator.tol:f} for "
                           f"{estimator.n_iter_no_change} consecutive epochs.")
                if optimizer.trigger_stopping(message, estimator.verbose):
                    break
                estimator._no_improvement_count = 0
            if incremental:
                break
            if estimator.n_iter_ == estimator.max_iter:
                warnings.warn(f"Stochastic Optimizer: Maximum iterations ({estimator.max_iter}) "
                              "reached and the optimization hasn't converged yet.",
                              ConvergenceWarning, stacklevel=_CALLER)
    except KeyboardInterrupt:
        warnings.warn("Training interrupted by user.", stacklevel=_CALLER)
    if estimator.early_stopping:
        estimator._restore(estimator._best_parameters)
    elif not incremental:  # partial_fit's chunks may differ: their losses are not comparable
        _warn_if_diverged(estimator)


def _shuffled(sample_idx, random_state):
    """sklearn.utils.shuffle(sample_idx, random_state=…) without its parameter validation (a
    tenth of a small fit's time, once an epoch): the same permutation, drawn as resample draws
    it."""
    indices = np.arange(sample_idx.shape[0])
    random_state.shuffle(indices)
    return sample_idx[indices]


def _batches(n_samples, batch_size):
    """sklearn.utils.gen_batches(n_samples, batch_size), without its parameter validation."""
    for start in range(0, n_samples, batch_size):
        yield slice(start, min(start + batch_size, n_samples))


DIVERGED = 10.0  # a fit whose last epoch's loss is this many times its best has diverged


def _warn_if_diverged(estimator):
    """A ConvergenceWarning when this fit ended far above its best epoch: the stopping rule
    stops a diverging run after n_iter_no_change epochs and returns its last, worst, weights
    (scikit-learn does the same, silently)."""
    curve = estimator.loss_curve_[len(estimator.loss_curve_) - estimator.n_iter_:]
    finite = np.where(np.isfinite(curve), curve, np.inf)
    best = int(np.argmin(finite)) if len(curve) else 0
    if not len(curve) or not np.isfinite(finite[best]) or not curve[-1] > DIVERGED * finite[best]:
        return
    hint = ", or set clip_norm" if hasattr(estimator, "clip_norm") else ""
    data = "X" if is_classifier(estimator) else "X and y"  # labels are not scaled
    warnings.warn(f"Training diverged: the training loss rose from {curve[best]:.4g} (epoch "
                  f"{best + 1}) to {curve[-1]:.4g} (epoch {len(curve)}), and the model is the "
                  f"last epoch's. Lower learning_rate_init (now {estimator.learning_rate_init})"
                  f", scale {data} (e.g. StandardScaler){hint}.", ConvergenceWarning,
                  stacklevel=_CALLER + 1)


def _update_no_improvement_count(estimator, X_val, y_val, w_val):
    tol = estimator.tol
    if estimator.early_stopping:
        score = estimator._score(X_val, y_val, w_val)
        estimator.validation_scores_.append(score)
        if score < estimator.best_validation_score_ + tol:
            estimator._no_improvement_count += 1
        else:
            estimator._no_improvement_count = 0
        if score > estimator.best_validation_score_:
            estimator.best_validation_score_ = score
            estimator._best_parameters = estimator._snapshot()
    else:
        loss = estimator.loss_curve_[-1]
        if loss > estimator.best_loss_ - tol:
            estimator._no_improvement_count += 1
        else:
            estimator._no_improvement_count = 0
        if loss < estimator.best_loss_:
            estimator.best_loss_ = loss


def _print_epoch(estimator, seconds):
    line = f"Iteration {estimator.n_iter_}, loss = {estimator.loss_:.8f}"
    if estimator.early_stopping:
        line += f", validation score = {estimator.validation_scores_[-1]:f}"
    print(f"{line}, time = {seconds:.3f} s")


def check_finite(parameters):
    if not all(np.isfinite(p.data).all() for p in parameters):
        raise ValueError("Solver produced non-finite parameter weights. The input data may "
                         "contain large values and need to be preprocessed.")
