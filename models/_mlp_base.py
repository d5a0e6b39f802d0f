"""What MLPRegressor and MLPClassifier share: scikit-learn's multi-layer perceptron with its
gradients by matrixflow.

The network is Z = f(…f(X·W₁ + 1·b₁)…)·W_L + 1·b_L, built as a matrixflow tree on each batch,
and its output g(Z) (identity or exp for regression, softmax or logistic for classification).
Backward gives the gradients of the objective scikit-learn descends,

    data loss(g(Z), Y) / n + (α / 2n)·Σ ‖Wᵢ‖²_F      (n the batch's samples, or its total weight),

where each data loss is taken on Z by a fused op whose gradient is scikit-learn's delta
(g(Z) − Y for the canonical pairs), and scikit-learn's own update rules step the weights.
Parameters, defaults, initialisation, shuffling, the validation split, the stopping rule and
the fitted attributes are scikit-learn's (`BaseMultilayerPerceptron`), drawn from the same
random_state in the same order.  A subclass says how y is checked and encoded
(`_validate_input`), which output it has (`_output_activation`), what its loss is (`_loss`)
and how it predicts and scores.
"""

from __future__ import annotations

from itertools import pairwise
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data

import matrixflow as mf
from matrixflow.backend import to_device

from ._lbfgs import fit_lbfgs
from ._persistence import (
    check_loaded,
    check_positive_int,
    check_solver_state,
    check_weight,
    layer_widths,
    load_estimator,
    require,
    save_estimator,
    solver_kind,
)
from ._sparse import ACCEPT_SPARSE, first_product, issparse, refuse_on_device
from ._training import (
    InvalidParameterError,
    batch_step,
    check_finite,
    check_params,
    fit_stochastic,
    make_solver,
    move_solver_state,
    on_device,
    require_device,
    start_history,
    validate_sample_weight,
    weighting,
)

ACTIVATIONS = {
    "identity": lambda h: h,
    "logistic": mf.sigmoid,
    "tanh": mf.tanh,
    "relu": mf.relu,
}
OUTPUTS = {
    "identity": lambda z: z,
    "exp": mf.exp,
    "softmax": mf.softmax,
    "logistic": mf.sigmoid,
}

FITTED = ("coefs_", "intercepts_", "n_features_in_", "feature_names_in_", "n_iter_", "n_layers_",
          "n_outputs_", "out_activation_", "loss_", "best_loss_", "loss_curve_",
          "validation_scores_", "best_validation_score_", "t_", "_no_improvement_count",
          "_best_parameters")


class BaseMLP(BaseEstimator):
    """scikit-learn's MLP parameters and training, shared by the regressor and the classifier.

    See sklearn.neural_network.MLPClassifier / MLPRegressor for each parameter; all of them
    mean the same here.  Solvers "adam" (default), "sgd" and "lbfgs".  Besides scikit-learn's
    methods: `save(path)` writes an .npz file and `Estimator.load(path)` reads it back.
    `device` ("cpu", "cuda" or "cuda:N") is where fit and predict compute (CuPy for a GPU);
    the fitted attributes are NumPy arrays wherever they were computed.  `replay` (default
    True): the stochastic solvers run each batch's forward and backward as one `mf.replay` of
    the step, traced on the first batch of each size and replayed after — the same bits as
    replay=False, which builds the tree eagerly on every batch; lbfgs and sparse X always run
    eagerly.
    """

    _FITTED = FITTED

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 device="cpu", replay=True):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.device = device
        self.replay = replay

    # ---- scikit-learn's API ----------------------------------------------------------------
    def fit(self, X, y, sample_weight=None):
        """Fit the network to X (n_samples, n_features) and y: (n_samples,), or (n_samples,
        n_outputs) for several targets (regressor) or an indicator matrix (classifier)."""
        with mf.enable_grad():  # training needs the tree, even inside mf.no_grad()
            return self._fit(X, y, sample_weight, incremental=False)

    def _stochastic(self):
        if self.solver not in ("sgd", "adam"):
            raise AttributeError(f"partial_fit is only available for stochastic optimizers. "
                                 f"{self.solver} is not stochastic.")
        return True

    @available_if(_stochastic)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over X, y, continuing from the current weights (the first call starts)."""
        with mf.enable_grad():  # training needs the tree, even inside mf.no_grad()
            return self._fit(X, y, sample_weight, incremental=True)

    def save(self, path):
        """Write the fitted model (parameters, weights, history, solver state) to an .npz file."""
        check_is_fitted(self)
        optimizer = getattr(self, "_optimizer", None)
        solver_state = optimizer.state_arrays() if optimizer is not None else {}
        save_estimator(self, path, self._FITTED, solver_state)

    @classmethod
    def load(cls, path):
        """A model written by `save`: predicts the same, and partial_fit continues from it.

        `path` is a file name (".npz" may be left off) or a file object opened for reading.
        A file that `save` did not write, or one damaged since, raises ValueError naming the
        entry that is wrong."""
        model, solver_state = load_estimator(cls, path, cls._FITTED)
        check_loaded(cls, path, lambda: model._check_loaded(solver_state))
        for name in ("loss_curve_", "validation_scores_"):
            if isinstance(getattr(model, name, None), np.ndarray):
                setattr(model, name, getattr(model, name).tolist())
        if hasattr(model, "feature_names_in_"):
            model.feature_names_in_ = np.asarray(model.feature_names_in_, dtype=object)
        model._loaded()
        if solver_state:
            model._optimizer = make_solver(model, model._parameters(),
                                           solver_kind(solver_state))
            model._optimizer.restore(solver_state)
        return model

    def _check_loaded(self, solver_state):
        """A loaded model's parameters and weights must make a network that can predict."""
        require(self, "coefs_", "intercepts_", "n_features_in_", "n_outputs_", "n_layers_",
                "out_activation_", "n_iter_")
        check_params(self)
        check_positive_int("n_features_in_", self.n_features_in_)
        check_positive_int("n_outputs_", self.n_outputs_)
        self._check_outputs()
        coefs, intercepts = list(self.coefs_), list(self.intercepts_)
        if not len(coefs) == len(intercepts) == self.n_layers_ - 1:
            raise ValueError(f"{len(coefs)} weight matrices, {len(intercepts)} intercept "
                             f"vectors and n_layers_={self.n_layers_} do not agree")
        sizes = self.hidden_layer_sizes
        sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
        widths = [self.n_features_in_, *layer_widths(coefs, intercepts, sizes),
                  self.n_outputs_]
        for layer, (coef, intercept) in enumerate(zip(coefs, intercepts)):
            check_weight(f"coefs_[{layer}]", coef, (widths[layer], widths[layer + 1]))
            check_weight(f"intercepts_[{layer}]", intercept, (widths[layer + 1],))
        check_solver_state(solver_state, self._parameters())

    def _check_outputs(self):
        """A loaded model's out_activation_ (and a subclass's own fitted attributes) must be
        ones its fit could have set: ValueError (KeyError for one missing) otherwise."""
        raise NotImplementedError

    def _loaded(self):
        """Rebuild what the file cannot hold (a subclass's hook), once it has been checked."""

    # ---- the network -------------------------------------------------------------------------
    def _parameters(self):
        """Nodes over coefs_ and intercepts_ (sharing their memory), in scikit-learn's order."""
        coefs = [mf.Node(c, requires_grad=True) for c in self.coefs_]
        intercepts = [mf.Node(b.reshape(1, -1), requires_grad=True) for b in self.intercepts_]
        return coefs + intercepts

    def _forward(self, X, weights, biases, output_activation=True):
        """The network on X: arrays in, arrays out (prediction); Nodes in, a tree out (training).
        Without output_activation it stops at Z, where the fused losses take over."""
        hidden = ACTIVATIONS[self.activation]
        last = len(weights) - 1
        for layer, (W, b) in enumerate(zip(weights, biases)):
            X = (first_product(X, W) if layer == 0 else X @ W) + b  # X may be sparse
            if layer != last:
                X = hidden(X)
        return OUTPUTS[self.out_activation_](X) if output_activation else X

    def _forward_fast(self, X, check_input=True):
        """scikit-learn's _forward_pass_fast: g(Z) on arrays, computed on the estimator's
        device and returned as a NumPy array."""
        if check_input:
            X = validate_data(self, X, accept_sparse=ACCEPT_SPARSE,
                              dtype=(np.float64, np.float32), reset=False)
        if self.device == "cpu" or issparse(X):
            refuse_on_device(X, self.device, f"{type(self).__name__}.predict")
            return self._forward(X, self.coefs_, [b.reshape(1, -1) for b in self.intercepts_])
        device = self.device
        weights = on_device(device, *self.coefs_)  # the same arrays while fit runs there
        biases = [b.reshape(1, -1) for b in on_device(device, *self.intercepts_)]
        return to_device(self._forward(to_device(X, device), weights, biases), "cpu")

    def _score_with(self, metric, X, y, sample_weight):
        """A score without input validation (the validation split); NaN for non-finite
        predictions."""
        prediction = self._predict(X, check_input=False)
        if np.issubdtype(prediction.dtype, np.floating) and not np.isfinite(prediction).all():
            return np.nan
        return metric(y, prediction, sample_weight=sample_weight)

    def _tree(self, parameters):
        """The function of a batch's inputs that builds the objective scikit-learn descends, the
        same in both ways a batch runs (eager or replayed, _training.batch_step): X, y, and for
        a weighted batch the weights' column and the data and penalty scales (1×1, from
        `_weighting`); it returns (objective, *the nodes whose values `_reported` reads)."""
        count = len(self.coefs_)
        W, b = parameters[:count], parameters[count:]
        numerator = self._numerator()

        def tree(X, y, weights=None, data_scale=None, penalty_scale=None):
            n = X.shape[0]  # a shape: a batch of another size is traced again
            Z = self._forward(X, W, b, output_activation=False)
            data_term, shown = self._loss(Z, y, weights)
            objective = data_term * (numerator / n if data_scale is None else data_scale)
            if self.alpha:
                penalty = mf.sum(W[0] * W[0])
                for w in W[1:]:
                    penalty = penalty + mf.sum(w * w)
                scale = 0.5 * self.alpha / n if penalty_scale is None else penalty_scale
                objective = objective + penalty * scale
            return (objective, *shown)

        return tree

    def _weighting(self, weights):
        """A weighted batch's inputs after X and y (_training.weighting), as `_tree` reads them."""
        numerator = self._numerator()
        scales = [lambda total: numerator / total]
        if self.alpha:
            scales.append(lambda total: 0.5 * self.alpha / total)
        return weighting(weights, scales)

    def _numerator(self):
        """c in the data term's c·loss / n (½ for the squared error)."""
        return 1.0

    def _reported_loss(self, values, y, weights, squares):
        """The loss scikit-learn reports for a batch, from the values of `_tree`'s nodes and
        Σ‖Wᵢ‖² before the step."""
        total_weight = y.shape[0] if weights is None else weights.sum()
        reported = self._reported(values, y, weights)
        reported += (0.5 * self.alpha) * squares / total_weight
        return float(reported)

    def _squares(self):
        return sum(float(np.dot(c.ravel(), c.ravel())) for c in self.coefs_)

    # ---- fitting -------------------------------------------------------------------------------
    def _fit(self, X, y, sample_weight, incremental):
        check_params(self)
        device = require_device(self)
        hidden_sizes = self.hidden_layer_sizes
        hidden_sizes = list(hidden_sizes) if hasattr(hidden_sizes, "__iter__") else [hidden_sizes]
        if not all(isinstance(h, Integral) and not isinstance(h, bool) for h in hidden_sizes):
            raise InvalidParameterError(f"{type(self).__name__}: hidden_layer_sizes must be "
                                        f"positive integers, got {self.hidden_layer_sizes!r}")
        if not all(h > 0 for h in hidden_sizes):  # scikit-learn's words
            raise ValueError(f"hidden_layer_sizes must be > 0, got {hidden_sizes}.")
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, y = self._validate_input(X, y, incremental, reset=first_pass)
        refuse_on_device(X, device, f"{type(self).__name__}.fit")
        sample_weight = validate_sample_weight(sample_weight, X.shape[0], X.dtype)
        # a classifier's indicator labels stay bool until after the validation split, which
        # stratifies on them and names a class too small to split as scikit-learn does
        # ('True', not '1.0'); the losses compute in X's precision
        y = np.asarray(y, dtype=None if y.dtype == bool else X.dtype).reshape(X.shape[0], -1)
        self._random_state = check_random_state(self.random_state)
        if first_pass:
            self._initialize(y, [X.shape[1], *hidden_sizes, y.shape[1]], X.dtype)
        elif y.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {y.shape[1]} outputs, but the model was fitted with "
                             f"{self.n_outputs_}")
        if device != "cpu":
            self._move(device)  # weights and solver state there for this fit, NumPy after
        try:  # (inline, not a method: the warnings' stacklevels count these frames)
            parameters = self._parameters()
            if self.solver == "lbfgs":
                fit_lbfgs(self, parameters, *on_device(self.device, X, y.astype(X.dtype),
                                                       sample_weight))
            else:
                if not incremental or not hasattr(self, "_optimizer"):
                    self._optimizer = make_solver(self, parameters)
                self._optimizer.params = parameters

                step = batch_step(self, self._tree(parameters), parameters, not issparse(X))

                def train_batch(X_batch, y_batch, w_batch):
                    squares = self._squares()
                    for p in parameters:
                        p.grad = None
                    _, *shown = step(X_batch, y_batch, *self._weighting(w_batch))
                    self._optimizer.step()
                    return self._reported_loss([v.data for v in shown], y_batch, w_batch,
                                               squares)

                fit_stochastic(self, X, y, sample_weight, incremental, train_batch)
            check_finite(parameters)
            for p in parameters:
                p.grad = None  # the last batch's gradients are of no use after fit
        finally:
            if device != "cpu":
                self._move("cpu")
        return self

    def _move(self, device):
        """coefs_, intercepts_, the early-stopping snapshot and the solver's state to `device`
        (back to "cpu" after a fit: what a fitted model holds is NumPy)."""
        self.coefs_ = list(on_device(device, *self.coefs_))
        self.intercepts_ = list(on_device(device, *self.intercepts_))
        if getattr(self, "_best_parameters", None) is not None:
            self._best_parameters = list(on_device(device, *self._best_parameters))
        optimizer = getattr(self, "_optimizer", None)
        if optimizer is not None:
            move_solver_state(optimizer, device)
            optimizer.params = self._parameters()  # no Node left over the other device's arrays

    def _initialize(self, y, layer_units, dtype):
        """Glorot-uniform weights and biases, scikit-learn's draws: U(±√(f/(fan_in + fan_out))),
        f = 2 for the logistic activation and 6 otherwise."""
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = y.shape[1]
        self.n_layers_ = len(layer_units)
        self.out_activation_ = self._output_activation()
        factor = 2.0 if self.activation == "logistic" else 6.0
        self.coefs_, self.intercepts_ = [], []
        for fan_in, fan_out in pairwise(layer_units):
            bound = np.sqrt(factor / (fan_in + fan_out))
            coef = self._random_state.uniform(-bound, bound, (fan_in, fan_out))
            intercept = self._random_state.uniform(-bound, bound, fan_out)
            self.coefs_.append(coef.astype(dtype, copy=False))
            self.intercepts_.append(intercept.astype(dtype, copy=False))
        self._best_parameters = self._snapshot()
        if self.solver != "lbfgs":
            start_history(self)

    def _snapshot(self):
        return [c.copy() for c in self.coefs_] + [b.copy() for b in self.intercepts_]

    def _restore(self, snapshot):
        for target, saved in zip(self.coefs_ + self.intercepts_, snapshot):
            target[...] = saved
