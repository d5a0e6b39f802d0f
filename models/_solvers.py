"""scikit-learn's two stochastic solvers, as matrixflow.optim optimizers.

MLPRegressor promises scikit-learn's behaviour, so it steps its weights with scikit-learn's
formulas (`sklearn.neural_network._stochastic_optimizers`), which differ from PyTorch's (and
matrixflow.optim's Adam and SGD) in two places: Adam folds the bias corrections into the step,
lr_t = lr·√(1−β₂ᵗ)/(1−β₁ᵗ), so ε is added to √v rather than to √v̂; and SGD keeps a velocity
that already holds the learning rate, v ← μv − lr·g, which matters once the rate changes.  Each
update is written in scikit-learn's order of operations, so equal gradients give equal weights.
The current learning rate lives in `param_groups[0]["lr"]`, as for any optimizer.
"""

from __future__ import annotations

import numpy as np

from matrixflow import optim


class _SklearnSolver(optim.Optimizer):
    """The epoch hooks scikit-learn's loop calls, and the state saved with a model."""

    @property
    def learning_rate(self) -> float:
        return self.param_groups[0]["lr"]

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        for group in self.param_groups:
            group["lr"] = float(value)

    @property
    def params(self) -> list:
        return self.param_groups[0]["params"]

    @params.setter
    def params(self, parameters) -> None:
        """Point the solver at new Nodes over the same arrays (a later fit or partial_fit)."""
        old = self.params
        self.param_groups[0]["params"] = list(parameters)
        self.state = {new: self.state[p] for p, new in zip(old, parameters) if p in self.state}

    def iteration_ends(self, time_step) -> None:
        """Called after each epoch with the number of samples seen so far."""

    def trigger_stopping(self, message, verbose) -> bool:
        """Whether to stop when the stopping rule fires."""
        if verbose:
            print(message + " Stopping.")
        return True

    def state_arrays(self) -> dict:
        """The solver's state as arrays and numbers, for an .npz file."""
        keys = sorted({key for s in self.state.values() for key in s})
        return {"learning_rate": self.learning_rate,
                **{key: [self.state[p][key] for p in self.params] for key in keys
                   if all(key in self.state.get(p, {}) for p in self.params)}}

    def restore(self, saved) -> None:
        self.learning_rate = float(saved["learning_rate"])
        for position, p in enumerate(self.params):
            self.state[p] = {key: (np.array(values[position]) if key != "step"
                                   else int(values[position]))
                             for key, values in saved.items() if key != "learning_rate"}


class SklearnSGD(_SklearnSolver):
    """v ← μ·v − lr·g;  θ ← θ + v, or θ ← θ + μ·v − lr·g with Nesterov's momentum.

    lr_schedule "constant"; "invscaling": lr = lr₀ / (t + 1)^power_t after each epoch (t the
    samples seen); "adaptive": lr ÷ 5 each time the stopping rule fires, until lr ≤ 1e-6.
    """

    def __init__(self, params, learning_rate_init, lr_schedule, momentum, nesterov, power_t):
        super().__init__(params, {"lr": float(learning_rate_init)})
        self.learning_rate_init = learning_rate_init
        self.lr_schedule, self.momentum = lr_schedule, momentum
        self.nesterov, self.power_t = nesterov, power_t

    def _update(self, theta, grad, state, group):
        velocity = state.get("velocity", np.zeros_like(theta))
        update = self.momentum * velocity - group["lr"] * grad
        state["velocity"] = update
        if self.nesterov:
            update = self.momentum * update - group["lr"] * grad
        theta += update

    def iteration_ends(self, time_step):
        if self.lr_schedule == "invscaling":
            self.learning_rate = float(self.learning_rate_init) / (time_step + 1) ** self.power_t

    def trigger_stopping(self, message, verbose):
        """Stop, except that 'adaptive' first divides the rate by 5 (until it is ≤ 1e-6)."""
        if self.lr_schedule != "adaptive":
            return super().trigger_stopping(message, verbose)
        if self.learning_rate <= 1e-6:
            if verbose:
                print(message + " Learning rate too small. Stopping.")
            return True
        self.learning_rate /= 5.0
        if verbose:
            print(message + f" Setting learning rate to {self.learning_rate:f}")
        return False


class SklearnAdam(_SklearnSolver):
    """m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  θ ← θ − lr_t·m/(√v + ε),
    lr_t = lr·√(1−β₂ᵗ)/(1−β₁ᵗ)."""

    def __init__(self, params, learning_rate_init, beta_1, beta_2, epsilon):
        super().__init__(params, {"lr": float(learning_rate_init)})
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def _update(self, theta, grad, state, group):
        if not state:
            state.update(step=0, m=np.zeros_like(theta), v=np.zeros_like(theta))
        state["step"] += 1
        step, m, v = state["step"], state["m"], state["v"]
        state["m"] = m = self.beta_1 * m + (1 - self.beta_1) * grad
        state["v"] = v = self.beta_2 * v + (1 - self.beta_2) * (grad**2)
        lr_t = group["lr"] * np.sqrt(1 - self.beta_2**step) / (1 - self.beta_1**step)
        theta += -lr_t * m / (np.sqrt(v) + self.epsilon)
