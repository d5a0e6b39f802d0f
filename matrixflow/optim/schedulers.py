"""Learning-rate schedules — StepLR, ExponentialLR, CosineAnnealingLR — as PyTorch's."""

from __future__ import annotations

import math
import numbers

from .optimizer import Optimizer


class LRScheduler:
    """Base class: call `step()` once per epoch, after the optimizer's steps of that epoch.

    Each schedule writes its lr into every `group["lr"]`.  `base_lrs` are the groups'
    "initial_lr" (set from "lr" when `last_epoch` is −1; a resumed schedule, `last_epoch` ≥ 0,
    needs them already there), `last_epoch` counts the calls, and `get_last_lr()` lists the lrs
    just written.  The constructor takes the first step, to epoch 0, without changing the lr.
    """

    def __init__(self, optimizer, last_epoch=-1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: {type(optimizer).__name__} is not a "
                            "matrixflow.optim Optimizer")
        for i, group in enumerate(optimizer.param_groups):
            if last_epoch == -1:
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                raise KeyError(f"{type(self).__name__}: param_groups[{i}] has no 'initial_lr', "
                               f"needed to resume at last_epoch={last_epoch}")
        self.optimizer = optimizer
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self._is_initial = True
        self.step()
        self._is_initial = False

    def get_lr(self) -> list:
        """The lrs for epoch `last_epoch` (already advanced), one per group."""
        raise NotImplementedError

    def step(self) -> None:
        self._step_count += 1
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list:
        return list(self._last_lr)

    def state_dict(self) -> dict:
        """The schedule's state (everything but the optimizer), as torch's schedulers give."""
        return {key: value for key, value in vars(self).items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict) -> None:
        """Resume a schedule saved with state_dict()."""
        vars(self).update({k: v for k, v in state_dict.items() if k != "optimizer"})

    def _current(self) -> list:
        return [group["lr"] for group in self.optimizer.param_groups]


def _positive(owner, name, value, integer=False):
    kind = numbers.Integral if integer else numbers.Real
    if not isinstance(value, kind) or isinstance(value, bool) or not value > 0:
        raise ValueError(f"{owner}: {name} must be a positive {'integer' if integer else 'number'}"
                         f", got {value!r}")


class StepLR(LRScheduler):
    """η ← γ·η at every epoch that is a multiple of `step_size` (γ = gamma)."""

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        _positive("StepLR", "step_size", step_size, integer=True)
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current()
        return [lr * self.gamma for lr in self._current()]


class ExponentialLR(LRScheduler):
    """η ← γ·η at every epoch (γ = gamma)."""

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return self._current()
        return [lr * self.gamma for lr in self._current()]


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing from the base lr η₀ to η_min over T_max epochs, then back up (a cosine of
    period 2·T_max), without restarts.  As torch, the lr is updated recursively,

        η ← η_min + (η − η_min) · (1 + cos(πt/T_max)) / (1 + cos(π(t−1)/T_max)),

    which follows η_min + (η₀ − η_min)(1 + cos(πt/T_max))/2 and respects changes made to
    `group["lr"]` by others.  On the step out of the trough (t − 1 = T_max, mod 2·T_max), where
    that ratio would divide by zero, it adds (η₀ − η_min)(1 − cos(π/T_max))/2 instead.
    """

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        _positive("CosineAnnealingLR", "T_max", T_max)
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        t, T, eta_min = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._current()
        if (t - 1 - T) % (2 * T) == 0:
            return [lr + (base - eta_min) * (1 - math.cos(math.pi / T)) / 2
                    for base, lr in zip(self.base_lrs, self._current())]
        return [(1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
                * (lr - eta_min) + eta_min for lr in self._current()]
