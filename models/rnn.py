"""RNNRegressor: a recurrent network for sequences, trained in mini-batches of sequences.

For X of shape (n_samples, seq_len, n_features), step t of a batch is the matrix Xₜ
(batch × features), and each layer runs its cell — the Elman Hₜ = f(Xₜ·W_ih + Hₜ₋₁·W_hh + 1·b)
(f = tanh or relu), or PyTorch's LSTM or GRU (see matrixflow.nn.recurrent) — and the layer
above reads Hₜ as its Xₜ.  Many-to-one: the prediction is H_T·W_out + 1·b_out.
Many-to-many (y of shape (n_samples, seq_len, n_outputs)): one prediction per step.  The loss
is ½·mean((Ŷ − Y)²) + (α/2n)·Σ‖W‖² over the weight matrices, and the training loop, solvers and
stopping rule are MLPRegressor's (scikit-learn's), with defaults fit for recurrent training.
"""

from __future__ import annotations

import copy
import math
import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

import matrixflow as mf
from matrixflow import nn, optim
from matrixflow.backend import device_of, to_device
from matrixflow.nn.init import _generator

from ._persistence import (
    check_loaded,
    load_estimator,
    require,
    save_estimator,
    solver_kind,
)
from ._rnn_state import (
    LAYERS,
    batch_inputs,
    check_loaded_network,
    initial_state,
    objective_tree,
    warn_if_no_better_than_the_mean,
)
from ._sequences import (
    check_sequences,
    check_targets,
    check_targets_fit,
    step_features,
    warn_if_far_from_unit_scale,
)
from ._training import (
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
)

_FITTED = ("n_features_in_", "n_outputs_", "seq_len_", "many_to_many_", "architecture_",
           "n_iter_", "t_",
           "loss_", "best_loss_", "loss_curve_", "grad_norm_curve_", "validation_scores_",
           "best_validation_score_", "_no_improvement_count", "_best_parameters", "_state",
           "_output_ndim", "_input_ndim", "feature_names_in_")

_RNN_CONSTRAINTS = {
    "hidden_size": (lambda v: isinstance(v, numbers.Integral) and v >= 1, "an integer ≥ 1"),
    "num_layers": (lambda v: isinstance(v, numbers.Integral) and v >= 1, "an integer ≥ 1"),
    "nonlinearity": (lambda v: v in ("tanh", "relu"), "'tanh' or 'relu'"),
    "cell": (lambda v: v in LAYERS, "'rnn', 'lstm' or 'gru'"),
    "solver": (lambda v: v in ("sgd", "adam"), "'sgd' or 'adam'"),
    "clip_norm": (lambda v: v is None or (isinstance(v, numbers.Real) and v > 0),
                  "None or a positive number"),
    "bptt_truncate": (lambda v: v is None or (isinstance(v, numbers.Integral) and v >= 1),
                      "None or an integer ≥ 1"),
}


class RNNRegressor(RegressorMixin, BaseEstimator):
    """Recurrent network regressor (Elman RNN, LSTM or GRU), scikit-learn style.

    hidden_size, num_layers, cell ('rnn' the Elman cell, 'lstm', 'gru': PyTorch's nn.RNN,
    nn.LSTM, nn.GRU), nonlinearity (the Elman cell's: 'tanh' or 'relu'): the network.  h0: the
    initial hidden state, None (zeros) or an array of shape (hidden_size,) or (num_layers,
    hidden_size) used for every sequence (an LSTM's cell state starts at zeros).
    clip_norm: clip the gradient's total norm to this before each step.  bptt_truncate: let
    gradients flow back at most this many steps (truncated BPTT).  The training parameters
    (solver, alpha, batch_size, learning_rate*, max_iter, shuffle, random_state, tol, verbose,
    warm_start, momentum, early_stopping, beta_*, epsilon, n_iter_no_change ...) mean what they
    mean for MLPRegressor, but three defaults differ, so that a recurrent net trains:
    batch_size="auto" is min(32, n) (not min(200, n)), tol=0.0 and n_iter_no_change=20, so
    the stopping rule ends a fit only when the training loss has reached no new best for 20
    epochs (with 1e-4 and 10 it ended fits on the plateau a recurrent net crosses, slowly,
    before it learns).  A fit that ends no better than predicting the mean warns, saying why
    it ended and what to try.  device: "cpu", "cuda" or "cuda:N", where fit and predict compute
    (CuPy for a GPU); the network is held as NumPy arrays between calls.  Fitted: loss_curve_,
    n_iter_, grad_norm_curve_ (the mean gradient norm of each epoch's batches, before clipping:
    watch it for exploding or vanishing gradients).  replay (default True): each batch's
    forward and backward runs as one `mf.replay` of the step (traced per batch size), the same
    bits as replay=False, which builds the tree eagerly on every batch.
    """

    AUTO_BATCH_SIZE = 32  # batch_size="auto": min(32, n_samples), PyTorch's habit

    def __init__(self, hidden_size=32, num_layers=1, nonlinearity="tanh", *, cell="rnn", h0=None,
                 clip_norm=None, bptt_truncate=None, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate="constant", learning_rate_init=0.001,
                 power_t=0.5, max_iter=200, shuffle=True, random_state=None, tol=0.0,
                 verbose=False, warm_start=False, momentum=0.9, nesterovs_momentum=True,
                 early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=20, device="cpu", replay=True):
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.nonlinearity = nonlinearity
        self.cell = cell
        self.h0 = h0
        self.clip_norm = clip_norm
        self.bptt_truncate = bptt_truncate
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
        self.device = device
        self.replay = replay

    # ---- scikit-learn's API ----------------------------------------------------------------
    def fit(self, X, y, sample_weight=None):
        """Fit to X (n_samples, seq_len, n_features), or (n_samples, seq_len) for one feature
        per step, and y: (n_samples,) or (n_samples, n_outputs) for one prediction per
        sequence, (n_samples, seq_len, n_outputs) for one per step."""
        with mf.enable_grad():  # training needs the tree, even inside mf.no_grad()
            return self._fit(X, y, sample_weight, incremental=False)

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over X, y, continuing from the current weights (the first call starts)."""
        with mf.enable_grad():  # training needs the tree, even inside mf.no_grad()
            return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """Predictions shaped like the y the model was fitted on."""
        check_is_fitted(self)
        return self._predict(self._check_X(X))

    def score(self, X, y, sample_weight=None):
        """R² of the predictions (for one prediction per step, over all steps of all samples)."""
        check_is_fitted(self)
        X = self._check_X(X)
        y = self._check_y(y, X)
        self._check_y_fits(y)
        return self._score(X, y, sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.input_tags.two_d_array = True  # univariate sequences, X[:, :, None]
        tags.input_tags.three_d_array = True
        return tags

    def save(self, path):
        """Write the fitted model (parameters, weights, history, solver state) to an .npz file."""
        check_is_fitted(self)
        self._state = self._snapshot()
        optimizer = getattr(self, "_optimizer", None)
        solver_state = optimizer.state_arrays() if optimizer is not None else {}
        save_estimator(self, path, _FITTED, solver_state)

    @classmethod
    def load(cls, path):
        """A model written by `save`: predicts the same, and partial_fit continues from it.

        `path` is a file name (".npz" may be left off) or a file object opened for reading.
        A file that `save` did not write, or one damaged since, raises ValueError naming the
        entry that is wrong."""
        model, solver_state = load_estimator(cls, path, _FITTED)
        check_loaded(cls, path, lambda: model._check_loaded(solver_state))
        for name in ("loss_curve_", "grad_norm_curve_", "validation_scores_"):
            if isinstance(getattr(model, name, None), np.ndarray):
                setattr(model, name, getattr(model, name).tolist())
        model._network_from_state()
        if solver_state:
            model._optimizer = make_solver(model, model._network_parameters(),
                                           solver_kind(solver_state))
            model._optimizer.restore(solver_state)
        return model

    def _check_loaded(self, solver_state):
        """Rebuild the recorded architecture and check the saved weights fit it."""
        require(self, "n_features_in_", "n_outputs_", "many_to_many_", "architecture_",
                "_state", "_output_ndim", "n_iter_")
        check_params(self, _RNN_CONSTRAINTS)
        check_loaded_network(self, solver_state)

    # ---- data (models/_sequences.py) -------------------------------------------------------
    def _check_X(self, X, reset=False):
        return check_sequences(self, X, reset)

    def _check_y(self, y, X):
        return check_targets(y, X)

    def _check_y_fits(self, y):
        check_targets_fit(self, y)

    # ---- the network -------------------------------------------------------------------------
    def _build(self, dtype, hidden_size, num_layers, nonlinearity, cell):
        """The layers, drawn from the estimator's random state (the draws of PyTorch's
        nn.RNN, nn.LSTM or nn.GRU and nn.Linear: U(±1/√hidden)); `architecture_` records what
        was built."""
        rng = self._random_state if hasattr(self, "_random_state") else None
        self.architecture_ = [int(hidden_size), int(num_layers), str(nonlinearity), str(cell)]
        if cell == "rnn":
            self._rnn = nn.RNN(step_features(self), hidden_size, num_layers, nonlinearity,
                               rng=rng, dtype=dtype)
        else:
            self._rnn = LAYERS[cell](step_features(self), hidden_size, num_layers, rng=rng,
                                      dtype=dtype)
        bound = 1.0 / math.sqrt(hidden_size)
        rng = _generator(rng)
        self._out_weight = mf.Node(rng.uniform(-bound, bound, (hidden_size, self.n_outputs_))
                                   .astype(dtype), requires_grad=True)
        self._out_bias = mf.Node(rng.uniform(-bound, bound, (1, self.n_outputs_)).astype(dtype),
                                 requires_grad=True)

    def _network_parameters(self):
        return [*self._rnn.parameters(), self._out_weight, self._out_bias]

    def _weights(self):
        """The matrices the L2 penalty applies to (not the biases), as scikit-learn's alpha."""
        return [p for name, p in self._rnn.named_parameters() if "weight" in name] + [
            self._out_weight]

    def _network_from_state(self):
        for p, saved in zip(self._network_parameters(), self._state):
            p.data = saved

    def _outputs(self, X, truncate=None, network=None):
        """The predictions for a batch: one matrix (many-to-one) or one per step, by `network`
        ((rnn, out_weight, out_bias); the estimator's own by default)."""
        return self._outputs_of([X[:, t, :] for t in range(X.shape[1])], truncate, network)

    def _outputs_of(self, steps, truncate=None, network=None):
        rnn, out_weight, out_bias = network or (self._rnn, self._out_weight, self._out_bias)
        h0 = initial_state(self, steps[0].dtype, device_of(out_weight))
        states, _ = rnn(steps, h0=h0, truncate=truncate)
        if not self.many_to_many_:
            return [states[-1] @ out_weight + out_bias]
        return [h @ out_weight + out_bias for h in states]

    def _network_on(self, device):
        """(rnn, out_weight, out_bias) on `device`: the estimator's own while they are there
        (during fit), else copies for this call (the fitted network stays NumPy)."""
        here = self._out_weight.data
        if device == "cpu" or to_device(here, device) is here:  # already there: no copy made
            return self._rnn, self._out_weight, self._out_bias
        rnn = copy.deepcopy(self._rnn).to(device)
        return rnn, self._out_weight.to(device), self._out_bias.to(device)

    def _predict(self, X):
        device = self.device
        with mf.no_grad():
            outputs = [o.numpy() for o in self._outputs(to_device(X, device),
                                                        network=self._network_on(device))]
        prediction = np.stack(outputs, axis=1) if self.many_to_many_ else outputs[0]
        return prediction.ravel() if self._output_ndim == 1 else prediction

    def _score(self, X, y, sample_weight=None):
        prediction = self._predict(X)
        if not np.isfinite(prediction).all():
            return np.nan
        truth = y.reshape(prediction.shape)
        if self.many_to_many_:  # every step of every sample is one observation
            outputs = self.n_outputs_
            weights = None if sample_weight is None else np.repeat(sample_weight, X.shape[1])
            return r2_score(truth.reshape(-1, outputs), prediction.reshape(-1, outputs),
                            sample_weight=weights)
        return r2_score(truth, prediction, sample_weight=sample_weight)

    def _objective(self, X, y, weights):
        """The objective on a batch as a tree, built eagerly (what a fit's batch computes)."""
        return objective_tree(self, X.shape[1], y)(*batch_inputs(self, X, y, weights))[0]

    # ---- fitting -------------------------------------------------------------------------------
    def _fit(self, X, y, sample_weight, incremental):
        check_params(self, _RNN_CONSTRAINTS)
        if self.cell != "rnn" and self.nonlinearity != "tanh":
            raise ValueError(f"RNNRegressor: nonlinearity={self.nonlinearity!r} applies to the "
                             f"Elman cell (cell='rnn') only; the {self.cell.upper()} cell has "
                             "PyTorch's fixed sigmoid gates and tanh")
        device = require_device(self)
        first_pass = not hasattr(self, "_rnn") or (not self.warm_start and not incremental)
        X = self._check_X(X, reset=first_pass)
        output_ndim = np.asarray(y).ndim  # (np.ndim would ask an array-like for its ndim)
        y = self._check_y(y, X)
        sample_weight = validate_sample_weight(sample_weight, X.shape[0], X.dtype)
        self._random_state = check_random_state(self.random_state)
        if first_pass:
            self.many_to_many_ = y.ndim == 3
            self.n_outputs_ = y.shape[-1]
            self._output_ndim = output_ndim  # predictions come back shaped like this y
            if y.ndim == 2 and y.shape[1] == X.shape[1] > 1:
                warnings.warn(
                    f"RNNRegressor: y has {y.shape[1]} columns, as many as the sequences have "
                    "steps; a 2-D y is one prediction per sequence with that many outputs. For "
                    "one prediction per step pass y[:, :, None].", UserWarning, stacklevel=3)
            warn_if_far_from_unit_scale(X, y, univariate=self._input_ndim == 2)
            self._build(X.dtype, self.hidden_size, self.num_layers, self.nonlinearity, self.cell)
            start_history(self)
            self.grad_norm_curve_ = []
            self._best_parameters = self._snapshot()
        else:
            self._check_y_fits(y)
            self._check_architecture_unchanged()
        if device != "cpu":
            self._move(device)  # the network and solver state there for this fit, NumPy after
        try:  # (inline, not a method: the warnings' stacklevels count these frames)
            parameters = self._network_parameters()
            if not incremental or not hasattr(self, "_optimizer"):
                self._optimizer = make_solver(self, parameters)
            self._optimizer.params = parameters
            epoch_norms = []

            step = batch_step(self, objective_tree(self, X.shape[1], y), parameters)

            def train_batch(X_batch, y_batch, w_batch):
                for p in parameters:
                    p.grad = None
                (objective,) = step(*batch_inputs(self, X_batch, y_batch, w_batch))
                # the norm before clipping; clip_norm=None only measures it
                epoch_norms.append(optim.clip_grad_norm(parameters, self.clip_norm or np.inf))
                self._optimizer.step()
                return objective.item()

            def after_epoch():
                self.grad_norm_curve_.append(float(np.mean(epoch_norms)))
                epoch_norms.clear()

            fit_stochastic(self, X, y, sample_weight, incremental, train_batch, after_epoch)
            check_finite(parameters)
            for p in parameters:
                p.grad = None  # the last batch's gradients are of no use after fit
        finally:
            if device != "cpu":
                self._move("cpu")
        if not incremental:
            warn_if_no_better_than_the_mean(self, self._score(X, y, sample_weight))
        return self

    def _move(self, device):
        """The network, the early-stopping snapshot and the solver's state to `device` (the
        parameter Nodes stay the same objects, so the solver keeps them)."""
        self._rnn.to(device)
        for p in (self._out_weight, self._out_bias):
            p.data = to_device(p.data, device)
        if getattr(self, "_best_parameters", None) is not None:
            self._best_parameters = list(on_device(device, *self._best_parameters))
        if getattr(self, "_optimizer", None) is not None:
            move_solver_state(self._optimizer, device)

    def _check_architecture_unchanged(self):
        """A warm start or partial_fit continues the network built, so its parameters must
        still describe it."""
        now = [self.hidden_size, self.num_layers, self.nonlinearity, self.cell]
        if now != self.architecture_:
            raise ValueError(
                f"RNNRegressor: hidden_size, num_layers, nonlinearity, cell are now "
                f"{now} but the network was "
                f"built with {self.architecture_}; a warm start or partial_fit continues that "
                "network, so fit afresh (warm_start=False) to build the new one")

    def _snapshot(self):
        return [p.data.copy() for p in self._network_parameters()]

    def _restore(self, snapshot):
        for p, saved in zip(self._network_parameters(), snapshot):
            p.data[...] = saved



