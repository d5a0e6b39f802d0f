"""MLPRegressor and MLPClassifier: scikit-learn's multi-layer perceptrons, their gradients by
matrixflow (the shared network and training are in _mlp_base.py).

The regressor descends ½·‖Z − Y‖²_F/n (identity output) or the Poisson deviance Σ(e^Z − Y ⊙ Z)/n
(exp output); the classifier the log-loss of its softmax (several classes) or logistic (two
classes, or several labels) output, taken on Z by mf.cross_entropy and
mf.binary_cross_entropy_with_logits, whose gradients are scikit-learn's deltas P − Y.  With the
same data, settings and random_state each reproduces scikit-learn's fitted weights (to
rounding; tests/test_mlp_regressor.py, tests/test_mlp_classifier.py).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, xlogy
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import column_or_1d
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted, validate_data

import matrixflow as mf
from matrixflow.backend import is_cupy_array

from ._mlp_base import FITTED, BaseMLP
from ._persistence import require
from ._sparse import ACCEPT_SPARSE, issparse


class MLPRegressor(RegressorMixin, BaseMLP):
    """Multi-layer perceptron regressor with scikit-learn's parameters and behaviour.

    See sklearn.neural_network.MLPRegressor for each parameter; all of them mean the same here.
    Losses "squared_error" (default) and "poisson" (exp output); solvers "adam" (default),
    "sgd" and "lbfgs".  `device` ("cpu", "cuda", "cuda:N") is where fit and predict compute;
    coefs_ and intercepts_ are NumPy arrays wherever.  `replay` (default True): adam's and
    sgd's batches run as one `mf.replay` of the step, bit for bit what replay=False (the tree
    built eagerly on each batch) fits; lbfgs and sparse X run eagerly.  Besides scikit-learn's
    methods: `save(path)` writes an .npz file and `MLPRegressor.load(path)` reads it back.
    """

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *,
                 solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 device="cpu", replay=True):
        super().__init__(
            hidden_layer_sizes, activation, solver=solver, alpha=alpha, batch_size=batch_size,
            learning_rate=learning_rate, learning_rate_init=learning_rate_init,
            power_t=power_t, max_iter=max_iter, shuffle=shuffle, random_state=random_state,
            tol=tol, verbose=verbose, warm_start=warm_start, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun, device=device,
            replay=replay)
        self.loss = loss

    def predict(self, X):
        """Predictions: (n_samples,) for one output, (n_samples, n_outputs) otherwise."""
        check_is_fitted(self)
        return self._predict(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.input_tags.sparse = True  # SciPy sparse X (models/_sparse.py)
        return tags

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(self, X, y, accept_sparse=ACCEPT_SPARSE, multi_output=True,
                             y_numeric=True, dtype=(np.float64, np.float32), reset=reset)
        if issparse(y):  # validate_data lets it through; scikit-learn's fit then fails in NumPy
            raise TypeError("MLPRegressor: y must be dense (the targets are dense outputs); "
                            "pass y.toarray()")
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, y

    def _output_activation(self):
        return "exp" if self.loss == "poisson" else "identity"

    def _check_outputs(self):
        if self.out_activation_ not in ("identity", "exp"):
            raise ValueError(f"out_activation_ must be 'identity' or 'exp', got "
                             f"{self.out_activation_!r}")

    def _predict(self, X, check_input=True):
        prediction = self._forward_fast(X, check_input)
        return prediction.ravel() if prediction.shape[1] == 1 else prediction

    def _score(self, X, y, sample_weight=None):
        return self._score_with(r2_score, X, y, sample_weight)

    def _numerator(self):
        return 1.0 if self.out_activation_ == "exp" else 0.5

    def _loss(self, Z, y, weights):
        """(the data term, a tree on Z, weights a column or None; the nodes `_reported` reads)"""
        if self.out_activation_ == "exp":
            # half Poisson deviance up to a constant: Σ(e^Z − Y ⊙ Z), whose gradient in Z is
            # e^Z − Y, scikit-learn's delta for its exp output
            prediction = mf.exp(Z)
            per_entry = prediction - y * Z
            return mf.sum(per_entry if weights is None else weights * per_entry), (prediction,)
        if weights is None:
            return mf.mse_loss(Z, y, reduction="sum"), (Z,)
        return mf.sum(weights * (Z - y) ** 2), (Z,)

    def _reported(self, values, y, weights):
        if self.out_activation_ == "exp":
            predicted = values[0]
            return np.average(_xlogy(y, y / predicted) - y + predicted, weights=weights,
                              axis=0).sum()
        squares = (y - values[0]) ** 2
        if weights is None:  # np.average's own path without weights, without its checks
            return 0.5 * squares.mean(axis=0).mean()
        return 0.5 * np.average(squares, weights=weights, axis=0).mean()


# the output scikit-learn gives each kind of target (LabelBinarizer's y_type_)
_OUTPUT_OF_LABELS = {"binary": "logistic", "multiclass": "softmax",
                     "multilabel-indicator": "logistic"}


def _xlogy(x, y):
    """x·ln y, 0 where x = 0: SciPy's xlogy on the host; on a GPU the same by where (CuPy does
    not take SciPy's ufuncs)."""
    if not is_cupy_array(x):
        return xlogy(x, y)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x == 0, 0.0, x * np.log(y))


def _expit(z):
    """σ(z): SciPy's expit on the host, matrixflow's stable sigmoid on a GPU."""
    return mf.sigmoid(z) if is_cupy_array(z) else expit(z)


def _clipped(probabilities):
    eps = np.finfo(probabilities.dtype).eps
    return np.clip(probabilities, eps, 1 - eps)


class MLPClassifier(ClassifierMixin, BaseMLP):
    """Multi-layer perceptron classifier with scikit-learn's parameters and behaviour.

    See sklearn.neural_network.MLPClassifier for each parameter; all of them mean the same
    here.  Several classes get a softmax output; two classes, or several labels (y an
    indicator matrix), a logistic one, as scikit-learn's.  The loss is the log-loss; `score`
    is the accuracy; `predict_proba` gives one column per class in the order of `classes_`.
    `device` ("cpu", "cuda", "cuda:N") is where fit and predict compute.  `replay` (default
    True): adam's and sgd's batches run as one `mf.replay` of the step, bit for bit what
    replay=False fits (lbfgs and sparse X run eagerly).  Besides scikit-learn's methods:
    `save(path)` and `MLPClassifier.load(path)`.
    """

    _FITTED = (*FITTED, "classes_", "_label_type")

    def predict(self, X):
        """The predicted classes: (n_samples,), or (n_samples, n_labels) for several labels."""
        check_is_fitted(self)
        return self._predict(X)

    def predict_proba(self, X):
        """The probability of each class, (n_samples, n_classes) in the order of classes_."""
        check_is_fitted(self)
        probabilities = self._forward_fast(X)
        if self.n_outputs_ == 1:
            probabilities = probabilities.ravel()
            return np.vstack([1 - probabilities, probabilities]).T
        return probabilities

    def predict_log_proba(self, X):
        """log(predict_proba(X))."""
        probabilities = self.predict_proba(X)
        return np.log(probabilities, out=probabilities)

    @available_if(BaseMLP._stochastic)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over X, y, continuing from the current weights.  The first call needs
        `classes`, every class the model will ever see (y itself for several labels)."""
        if getattr(self, "classes_", None) is None and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if classes is not None:
            if getattr(self, "classes_", None) is not None:
                if not np.array_equal(self.classes_, unique_labels(classes)):
                    raise ValueError(f"`classes={classes!r}` is not the same as on last call "
                                     f"to partial_fit, was: {self.classes_!r}")
            else:
                self.classes_ = unique_labels(classes)
                multilabel = type_of_target(y).startswith("multilabel")
                self._set_binarizer(LabelBinarizer().fit(y if multilabel else classes))
        with mf.enable_grad():  # training needs the tree, even inside mf.no_grad()
            return self._fit(X, y, sample_weight, incremental=True)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        tags.input_tags.sparse = True  # SciPy sparse X (models/_sparse.py)
        return tags

    def _set_binarizer(self, binarizer):
        self._label_binarizer = binarizer
        self._label_type = binarizer.y_type_  # saved with the model, to rebuild it on load

    def _check_outputs(self):
        """classes_ and the label type must fit the outputs: one logistic output for two
        classes, else one output per class (softmax) or per label (logistic)."""
        require(self, "classes_", "_label_type")
        label_type, classes = self._label_type, self.classes_
        if not isinstance(label_type, str) or label_type not in _OUTPUT_OF_LABELS:
            raise ValueError(f"_label_type must be one of {sorted(_OUTPUT_OF_LABELS)}, got "
                             f"{label_type!r}")
        if not isinstance(classes, np.ndarray) or classes.ndim != 1 or not len(classes):
            raise ValueError(f"classes_ must be a 1-D array of the classes, got {classes!r}")
        binary = label_type == "binary"
        if (self.n_outputs_ != 1 or len(classes) > 2) if binary else (
                self.n_outputs_ != len(classes)):
            raise ValueError(f"n_outputs_={self.n_outputs_} does not fit {len(classes)} "
                             f"classes_ of a {label_type} target")
        if self.out_activation_ != _OUTPUT_OF_LABELS[label_type]:
            raise ValueError(f"out_activation_ must be {_OUTPUT_OF_LABELS[label_type]!r} for a "
                             f"{label_type} target, got {self.out_activation_!r}")

    def _loaded(self):
        binarizer = LabelBinarizer()
        binarizer.classes_, binarizer.y_type_ = self.classes_, self._label_type
        binarizer.sparse_input_ = False
        self._label_binarizer = binarizer

    def _validate_input(self, X, y, incremental, reset):
        """scikit-learn's: the labels binarized, one column per class (one for two classes)."""
        X, y = validate_data(self, X, y, accept_sparse=ACCEPT_SPARSE, multi_output=True,
                             dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._set_binarizer(LabelBinarizer().fit(y))
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as in the "
                        f"previous call to fit. Previously got {self.classes_}, `y` has "
                        f"{classes}")
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has "
                                 f"{self.classes_}. 'y' has {classes}.")
        return X, self._label_binarizer.transform(y).astype(bool)

    def _output_activation(self):
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    def _predict(self, X, check_input=True):
        probabilities = self._forward_fast(X, check_input)
        if self.n_outputs_ == 1:
            probabilities = probabilities.ravel()
        return self._label_binarizer.inverse_transform(probabilities)

    def _score(self, X, y, sample_weight=None):
        return self._score_with(accuracy_score, X, y, sample_weight)

    def _loss(self, Z, y, weights):
        reduction = "sum" if weights is None else "none"
        if self.out_activation_ == "softmax":
            data_term = mf.cross_entropy(Z, y, reduction=reduction)
        else:
            data_term = mf.binary_cross_entropy_with_logits(Z, y, reduction=reduction)
        if weights is not None:
            data_term = mf.sum(weights * data_term)
        return data_term, (Z,)

    def _reported(self, values, y, weights):
        Z = values[0]
        if self.out_activation_ == "softmax":
            terms = _xlogy(y, _clipped(mf.softmax(Z)))
        else:
            probabilities = _clipped(_expit(Z))
            terms = _xlogy(y, probabilities) + _xlogy(1 - y, 1 - probabilities)
        return -np.average(terms, weights=weights, axis=0).sum()
