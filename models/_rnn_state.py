"""What an RNNRegressor's network must be: the architecture a saved file records, checked
before its weights are loaded, the initial state h0 each sequence starts from, and the warning
when a fit leaves a network that learned nothing."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

import matrixflow as mf
from matrixflow import nn
from matrixflow.backend import to_device

from ._persistence import check_positive_int, check_solver_state, check_weight
from ._sequences import check_loaded_input
from ._training import weighting

LAYERS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
NO_BETTER = 0.05  # a training R² below this: the model hardly beats predicting the mean


def check_loaded_network(model, solver_state):
    """Rebuild the architecture `model.architecture_` records ([hidden_size, num_layers,
    nonlinearity, cell]; files from before the LSTM and GRU cells hold the first three, an
    Elman network) and check the saved weights and solver state fit it."""
    architecture = np.asarray(model.architecture_).tolist()
    if len(architecture) == 3:  # saved before the LSTM and GRU cells: an Elman network
        architecture = [*architecture, "rnn"]
        model.architecture_ = architecture
    try:
        hidden_size, num_layers, nonlinearity, cell = architecture
        hidden_size, num_layers = int(hidden_size), int(num_layers)
        if hidden_size < 1 or num_layers < 1 or nonlinearity not in ("tanh", "relu") \
                or cell not in LAYERS:
            raise ValueError
    except (ValueError, TypeError):
        raise ValueError(f"architecture_ must be [hidden_size, num_layers, nonlinearity, "
                         f"cell] with positive sizes, 'tanh' or 'relu', and 'rnn', 'lstm' "
                         f"or 'gru', got {architecture!r}") from None
    if not isinstance(model.many_to_many_, (bool, np.bool_)):
        raise ValueError(f"many_to_many_ must be True or False, got {model.many_to_many_!r}")
    if model._output_ndim not in (1, 2, 3):
        raise ValueError(f"_output_ndim must be 1, 2 or 3, got {model._output_ndim!r}")
    check_positive_int("n_features_in_", model.n_features_in_)
    check_positive_int("n_outputs_", model.n_outputs_)
    check_loaded_input(model)
    state = model._state if isinstance(model._state, (list, tuple)) else [model._state]
    dtype = state[0].dtype if isinstance(state[0], np.ndarray) and \
        state[0].dtype.kind == "f" else np.float64
    model._build(np.dtype(dtype), hidden_size, num_layers, str(nonlinearity), str(cell))
    names = [name for name, _ in model._rnn.named_parameters()] + ["out_weight", "out_bias"]
    parameters = model._network_parameters()
    if len(state) != len(parameters):
        raise ValueError(f"_state holds {len(state)} weight arrays; the architecture "
                         f"{model.architecture_} needs {len(parameters)}")
    for position, (name, saved, p) in enumerate(zip(names, state, parameters)):
        if not isinstance(saved, np.ndarray) or saved.dtype.kind != "f":
            check_weight(f"parameter {position} ({name})", saved, p.shape)
        if saved.shape != p.shape:
            raise ValueError(f"parameter {position} ({name}) has shape {saved.shape}, the "
                             f"architecture needs {p.shape}")
    check_solver_state(solver_state, parameters)


def initial_state(estimator, dtype, device="cpu"):
    """h0 as one state per layer (an LSTM's a pair (H, C), C = 0), or None for zeros."""
    if estimator.h0 is None:
        return None
    hidden_size, num_layers, _, cell = estimator.architecture_
    try:
        h0 = np.asarray(estimator.h0, dtype=dtype)
    except (ValueError, TypeError):
        raise ValueError(f"RNNRegressor: h0 must be numbers, an array of shape "
                         f"({hidden_size},) or ({num_layers}, {hidden_size}), or None; got "
                         f"{estimator.h0!r}") from None
    if not np.isfinite(h0).all():
        raise ValueError(f"RNNRegressor: h0 must be finite, got {estimator.h0!r}")
    if h0.shape == (hidden_size,):
        h0 = np.broadcast_to(h0, (num_layers, hidden_size))
    if h0.shape != (num_layers, hidden_size):
        raise ValueError(f"RNNRegressor: h0 must have shape ({hidden_size},) or "
                         f"({num_layers}, {hidden_size}), got {np.shape(estimator.h0)}")
    states = [mf.Node(to_device(h0[layer:layer + 1].copy(), device))
              for layer in range(num_layers)]
    if cell == "lstm":  # h0 is the hidden state; the cell state starts at zero
        states = [(h, mf.Node(h.data * 0)) for h in states]
    return states


def warn_if_no_better_than_the_mean(estimator, fitted):
    """A ConvergenceWarning, saying why the fit ended and what to try, when the model
    explains under NO_BETTER of its training targets' variance (`fitted`, the training R²)."""
    if fitted >= NO_BETTER:
        return
    patience = estimator.n_iter_no_change
    ended = (f"it stopped after {estimator.n_iter_} epochs because the training loss improved "
             f"by less than tol={estimator.tol:g} for n_iter_no_change={patience} epochs"
             if estimator.n_iter_ < estimator.max_iter else
             f"it ran all max_iter={estimator.max_iter} epochs")
    warnings.warn(
        f"RNNRegressor: the fitted model is no better than predicting the mean of y "
        f"(training R² = {fitted:.3f}); {ended}. Try a larger max_iter or "
        "n_iter_no_change, another learning_rate_init or batch_size, standardized X and y "
        "(StandardScaler), or another cell ('rnn', 'lstm', 'gru').",
        ConvergenceWarning, stacklevel=4)  # the caller of fit


def objective_tree(estimator, seq_len, y):
    """The function of a batch's inputs (`batch_inputs`) — its steps X[:, t, :], its targets
    (y, or each step's), and for a weighted batch the weights' column and the data and penalty
    scales — that builds ½·mean((Ŷ − Y)²) + (α/2n)·Σ‖W‖², the same eager or replayed
    (_training.batch_step); it returns (objective,)."""
    n_targets = y.shape[1] if estimator.many_to_many_ else 1

    def tree(*inputs):
        steps, targets = inputs[:seq_len], inputs[seq_len:seq_len + n_targets]
        weights, data_scale, penalty_scale = (*inputs[seq_len + n_targets:], None, None,
                                              None)[:3]
        outputs = estimator._outputs_of(steps, truncate=estimator.bptt_truncate)
        n, entries = steps[0].shape[0], len(outputs) * estimator.n_outputs_  # shapes
        data_term = None
        for output, target in zip(outputs, targets):
            if weights is None:
                term = mf.mse_loss(output, target, reduction="sum")
            else:
                term = mf.sum(weights * (output - target) ** 2)
            data_term = term if data_term is None else data_term + term
        objective = data_term * (0.5 / (n * entries) if data_scale is None else data_scale)
        if estimator.alpha:
            penalty = None
            for w in estimator._weights():
                square = mf.sum(w * w)
                penalty = square if penalty is None else penalty + square
            scale = 0.5 * estimator.alpha / n if penalty_scale is None else penalty_scale
            objective = objective + penalty * scale
        return (objective,)

    return tree


def batch_inputs(estimator, X, y, weights):
    """`objective_tree`'s inputs for a batch: 2-D arrays (each step a view of X, fed as an
    input, so a replay reads this batch's), and the weighting (_training.weighting)."""
    steps = [X[:, t, :] for t in range(X.shape[1])]
    targets = [y[:, t, :] for t in range(y.shape[1])] if estimator.many_to_many_ else [y]
    entries = len(targets) * estimator.n_outputs_
    alpha = estimator.alpha
    scales = [lambda total: 0.5 / (total * entries), lambda total: 0.5 * alpha / total]
    return [*steps, *targets, *weighting(weights, scales[:2 if alpha else 1])]
