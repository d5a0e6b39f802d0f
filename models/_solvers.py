"""scikit-learn's two stochastic solvers, over matrixflow parameters.

MLPRegressor promises scikit-learn's behaviour, so it updates its weights with scikit-learn's
formulas (`sklearn.neural_network._stochastic_optimizers`), which differ from PyTorch's in two
places: Adam folds the bias corrections into the step, lr_t = lr·√(1−β₂ᵗ)/(1−β₁ᵗ), so ε is
added to √v rather than to √v̂; and SGD keeps a velocity that already contains the learning
rate, v ← μv − lr·g, which matters once the rate changes (invscaling, adaptive).  Each update is
written in scikit-learn's order of operations, so equal gradients give equal weights.
"""

from __future__ import annotations

import numpy as np


class SklearnSGD:
    """v ← μ·v − lr·g;  p ← p + v, or p ← p + μ·v − lr·g with Nesterov's momentum.

    learning_rate "constant"; "invscaling": lr = lr₀ / (t + 1)^power_t after each epoch (t the
    samples seen); "adaptive": lr ÷ 5 each time the stopping rule fires, until lr ≤ 1e-6.
    """

    def __init__(self, params, learning_rate_init, lr_schedule, momentum, nesterov, power_t):
        self.params = list(params)
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)
        self.lr_schedule = lr_schedule
        self.momentum = momentum
        self.nesterov = nesterov
        self.power_t = power_t
        self.velocities = [np.zeros_like(p.data) for p in self.params]

    def step(self):
        velocities = []
        for p, velocity in zip(self.params, self.velocities):
            update = self.momentum * velocity - self.learning_rate * p.grad
            velocities.append(update)
            if self.nesterov:
                update = self.momentum * update - self.learning_rate * p.grad
            p.data += update
        self.velocities = velocities

    def state(self):
        return {"learning_rate": self.learning_rate, "velocities": self.velocities}

    def restore(self, state):
        self.learning_rate = float(state["learning_rate"])
        self.velocities = [np.array(v) for v in state["velocities"]]

    def iteration_ends(self, time_step):
        if self.lr_schedule == "invscaling":
            self.learning_rate = float(self.learning_rate_init) / (time_step + 1) ** self.power_t

    def trigger_stopping(self, message, verbose):
        """Whether to stop when the loss stalls; 'adaptive' first divides the rate by 5."""
        if self.lr_schedule != "adaptive":
            if verbose:
                print(message + " Stopping.")
            return True
        if self.learning_rate <= 1e-6:
            if verbose:
                print(message + " Learning rate too small. Stopping.")
            return True
        self.learning_rate /= 5.0
        if verbose:
            print(message + f" Setting learning rate to {self.learning_rate:f}")
        return False


class SklearnAdam:
    """m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  p ← p − lr_t·m/(√v + ε),
    lr_t = lr·√(1−β₂ᵗ)/(1−β₁ᵗ)."""

    def __init__(self, params, learning_rate_init, beta_1, beta_2, epsilon):
        self.params = list(params)
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.t = 0
        self.ms = [np.zeros_like(p.data) for p in self.params]
        self.vs = [np.zeros_like(p.data) for p in self.params]

    def step(self):
        self.t += 1
        grads = [p.grad for p in self.params]
        self.ms = [self.beta_1 * m + (1 - self.beta_1) * g for m, g in zip(self.ms, grads)]
        self.vs = [self.beta_2 * v + (1 - self.beta_2) * (g**2) for v, g in zip(self.vs, grads)]
        self.learning_rate = (self.learning_rate_init * np.sqrt(1 - self.beta_2**self.t)
                              / (1 - self.beta_1**self.t))
        for p, m, v in zip(self.params, self.ms, self.vs):
            p.data += -self.learning_rate * m / (np.sqrt(v) + self.epsilon)

    def state(self):
        return {"t": self.t, "learning_rate": self.learning_rate, "ms": self.ms, "vs": self.vs}

    def restore(self, state):
        self.t = int(state["t"])
        self.learning_rate = float(state["learning_rate"])
        self.ms = [np.array(m) for m in state["ms"]]
        self.vs = [np.array(v) for v in state["vs"]]

    def iteration_ends(self, time_step):
        pass

    def trigger_stopping(self, message, verbose):
        if verbose:
            print(message + " Stopping.")
        return True
