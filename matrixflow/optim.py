"""Optimizers, learning-rate schedules and gradient clipping, with PyTorch's formulas and defaults.

An optimizer holds `param_groups` (dicts with "params", a list of leaf Nodes, and every
hyper-parameter, so a schedule can change `group["lr"]`) and `state` (a dict per parameter Node).
`step()` reads each parameter's `.grad` g and updates its `.data` θ in place, in θ's dtype.  The
docstrings give each rule with γ the learning rate, λ the weight decay and t the step count;
products of matrices here are element-wise (⊙), and g² = g ⊙ g.

    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    for epoch in range(epochs):
        opt.zero_grad()
        loss(model).backward()
        opt.step()
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .backend import array_module, device_of, to_device
from .node import Node

__all__ = [
    "SGD", "AdaGrad", "Adagrad", "Adam", "AdamW", "CosineAnnealingLR", "ExponentialLR",
    "LRScheduler", "Optimizer", "RMSProp", "RMSprop", "StepLR", "clip_grad_norm", "clip_grad_norm_",
]


class Optimizer:
    """Base class: parameter groups, per-parameter state, `zero_grad` and `step`.

    `params` is an iterable of Nodes (one group) or of dicts {"params": [...], "lr": ...} (one
    group each; a key left out takes its value from `defaults`).  A subclass implements
    `_update(theta, grad, state, group)` for one parameter and `_check(group)` for its
    hyper-parameters.
    """

    def __init__(self, params, defaults):
        if isinstance(params, Node):  # a Node is iterable (its rows): refuse it, as torch does
            raise TypeError(f"{self._name}: params must be an iterable of Nodes or of dicts, "
                            "got a single Node: wrap it in a list, [node]")
        self.defaults = dict(defaults)
        self.state = {}
        self.param_groups = []
        groups = self._ordered(params)
        if not groups:
            raise ValueError(f"{self._name}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    @property
    def _name(self) -> str:
        return type(self).__name__

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own hyper-parameters (missing ones from defaults)."""
        if not isinstance(param_group, dict) or "params" not in param_group:
            raise TypeError(f"{self._name}: a parameter group must be a dict with a 'params' "
                            f"entry, got {param_group!r}")
        params = param_group["params"]
        params = [params] if isinstance(params, Node) else self._ordered(params)
        seen = {id(p) for group in self.param_groups for p in group["params"]}
        for position, param in enumerate(params):
            where = f"parameter {position}" + (f" ({param.name!r})" if getattr(
                param, "name", None) else "")
            if not isinstance(param, Node):
                raise TypeError(f"{self._name}: {where} is a {type(param).__name__}, "
                                "not a matrixflow Node")
            if not param.requires_grad:
                raise ValueError(f"{self._name}: {where} does not require grad, so no gradient "
                                 "reaches it: create it with requires_grad=True")
            if not param.is_leaf:
                raise ValueError(f"{self._name}: {where} is the result of op "
                                 f"{param.op.name!r}, not a leaf: only leaves can be optimized")
            if id(param) in seen:
                raise ValueError(f"{self._name}: {where} appears twice (in this group or in an "
                                 "earlier one); each Node may be given once")
            seen.add(id(param))
        group = {**self.defaults, **param_group, "params": params}
        self._check(group)
        self.param_groups.append(group)

    def _ordered(self, params) -> list:
        if isinstance(params, (set, frozenset)):  # the order of a set changes between runs
            raise TypeError(f"{self._name}: parameters must be in an ordered collection "
                            "(a list or tuple), not a set: state_dict() matches them by position")
        return list(params)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's `.grad`: to None (the default), or to zeros in place."""
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue
                if set_to_none:
                    param.grad = None
                else:
                    param.grad[...] = 0

    def step(self, closure=None):
        """Update every parameter that has a `.grad` (the others are skipped, state and all).

        `closure`, when given, re-evaluates the loss (calling backward) and its value is returned.
        """
        loss = closure() if closure is not None else None
        todo = [(param, group) for group in self.param_groups for param in group["params"]
                if param.grad is not None]
        for param, _ in todo:  # check every gradient before changing any parameter
            if param.grad.shape != param.data.shape:
                raise ValueError(f"{self._name}: a parameter of shape {param.data.shape} "
                                 f"has a .grad of shape {param.grad.shape}")
        for param, group in todo:
            # compute in the parameter's precision: a float32 model stays float32
            grad = param.grad.astype(param.data.dtype, copy=False)
            self._update(param.data, grad, self.state.setdefault(param, {}), group)
        return loss

    def _update(self, theta, grad, state, group) -> None:
        raise NotImplementedError

    def _check(self, group) -> None:
        """Raise for a bad hyper-parameter of `group` (subclasses name theirs)."""

    def _nonnegative(self, group, *names) -> None:
        for name in names:
            value = group[name]
            if not isinstance(value, numbers.Real) or isinstance(value, bool):
                raise TypeError(f"{self._name}: {name} must be a real number, got {value!r}")
            if not 0.0 <= value:  # written so that NaN fails too
                raise ValueError(f"{self._name}: invalid {name}={value!r}; it must be ≥ 0")

    # ---- checkpoints ------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """{"state": {index: {...}}, "param_groups": [{..., "params": [index, ...]}]}, as torch:
        parameters are numbered in group order, and state arrays are copies."""
        index = {id(p): i for i, p in enumerate(p for g in self.param_groups for p in g["params"])}
        groups = [{**group, "params": [index[id(p)] for p in group["params"]]}
                  for group in self.param_groups]
        state = {index[id(p)]: {key: _copy(value) for key, value in s.items()}
                 for p, s in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Take hyper-parameters and state from `state_dict` (copied, in each parameter's dtype)."""
        saved_groups = state_dict["param_groups"]
        sizes = [len(g["params"]) for g in saved_groups]
        if sizes != [len(g["params"]) for g in self.param_groups]:
            raise ValueError(f"{self._name}: the saved parameter groups have sizes {sizes}, this "
                             f"optimizer's {[len(g['params']) for g in self.param_groups]}")
        params = [p for g in self.param_groups for p in g["params"]]
        state = {params[i]: {key: _copy(value, params[i].data) for key, value in saved.items()}
                 for i, saved in state_dict["state"].items()}  # built first: all or nothing
        self.param_groups = [{**group, "params": current["params"]}
                             for group, current in zip(saved_groups, self.param_groups)]
        self.state = state


def _copy(value, like=None):
    """A copy of a state array (in `like`'s dtype and on its device when given, as torch's
    load_state_dict); other values as they are."""
    if not hasattr(value, "shape"):
        return value
    if like is None:
        return value.astype(value.dtype, copy=True)
    if value.shape != like.shape:
        raise ValueError(f"load_state_dict: a state array of shape {value.shape} for a parameter "
                         f"of shape {like.shape}")
    if device_of(value) != device_of(like):
        return to_device(value, device_of(like)).astype(like.dtype, copy=False)  # copied there
    return value.astype(like.dtype, copy=True)


class SGD(Optimizer):
    """Stochastic gradient descent with momentum μ, dampening τ and Nesterov's variant:

        g ← g + λθ                               (weight_decay λ)
        b ← g on the first step, else b ← μb + (1−τ)g
        g ← g + μb (nesterov) or g ← b           (when μ ≠ 0)
        θ ← θ − γg
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))

    def _check(self, group):
        self._nonnegative(group, "lr", "momentum", "weight_decay")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(f"{self._name}: nesterov=True needs momentum > 0 and dampening=0, "
                             f"got momentum={group['momentum']!r}, "
                             f"dampening={group['dampening']!r}")

    def _update(self, theta, grad, state, group):
        momentum, weight_decay = group["momentum"], group["weight_decay"]
        if weight_decay != 0:
            grad = grad + weight_decay * theta  # a new array: never write into param.grad
        if momentum != 0:
            buffer = state.get("momentum_buffer")
            if buffer is None:  # torch starts the buffer at g, not at zero
                buffer = state["momentum_buffer"] = grad.copy()
            else:
                buffer *= momentum
                buffer += (1 - group["dampening"]) * grad
            grad = grad + momentum * buffer if group["nesterov"] else buffer
        theta -= group["lr"] * grad


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), with L2 weight decay folded into the gradient:

        g ← g + λθ                               (weight_decay λ)
        m ← β₁m + (1−β₁)g,   v ← β₂v + (1−β₂)g²
        v̂ ← max(v̂, v) (amsgrad) or v̂ ← v
        θ ← θ − γ/(1−β₁ᵗ) · m / (√v̂ / √(1−β₂ᵗ) + ε)
    """

    _decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad))

    def _check(self, group):
        self._nonnegative(group, "lr", "eps", "weight_decay")
        betas = group["betas"]
        if (not isinstance(betas, (tuple, list)) or len(betas) != 2
                or not all(isinstance(b, numbers.Real) and 0.0 <= b < 1.0 for b in betas)):
            raise ValueError(f"{self._name}: invalid betas={betas!r}; they must be two numbers "
                             "in [0, 1), e.g. (0.9, 0.999)")

    def _update(self, theta, grad, state, group):
        lr, weight_decay = group["lr"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(theta)
            state["exp_avg_sq"] = np.zeros_like(theta)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(theta)
        state["step"] += 1
        step = state["step"]
        if weight_decay != 0:
            if self._decoupled:
                theta *= 1 - lr * weight_decay
            else:
                grad = grad + weight_decay * theta
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg *= beta1
        exp_avg += (1 - beta1) * grad
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * grad * grad
        if group["amsgrad"]:
            np.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
            exp_avg_sq = state["max_exp_avg_sq"]
        # the bias corrections undo the zero start of m and v; ε is added after the correction
        denominator = np.sqrt(exp_avg_sq) / (1 - beta2**step) ** 0.5 + group["eps"]
        theta -= lr / (1 - beta1**step) * (exp_avg / denominator)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019): the decay shrinks θ directly
    and never enters m or v.

        θ ← θ − γλθ,  then Adam's step without the L2 term
    """

    _decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)


class RMSprop(Optimizer):
    """RMSprop (Hinton), optionally centered and with momentum μ:

        g ← g + λθ                               (weight_decay λ)
        v ← αv + (1−α)g²
        d ← √(v − ḡ²) + ε with ḡ ← αḡ + (1−α)g (centered), else d ← √v + ε
        b ← μb + g/d, θ ← θ − γb (μ > 0), else θ ← θ − γ g/d
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered))

    def _check(self, group):
        self._nonnegative(group, "lr", "alpha", "eps", "weight_decay", "momentum")

    def _update(self, theta, grad, state, group):
        alpha, momentum = group["alpha"], group["momentum"]
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(theta)
            if momentum > 0:
                state["momentum_buffer"] = np.zeros_like(theta)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(theta)
        state["step"] += 1
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * theta
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += (1 - alpha) * grad * grad
        if group["centered"]:  # divide by the standard deviation of g instead of its RMS
            grad_avg = state["grad_avg"]
            grad_avg *= alpha
            grad_avg += (1 - alpha) * grad
            denominator = np.sqrt(square_avg - grad_avg * grad_avg) + group["eps"]
        else:
            denominator = np.sqrt(square_avg) + group["eps"]
        if momentum > 0:
            buffer = state["momentum_buffer"]
            buffer *= momentum
            buffer += grad / denominator
            theta -= group["lr"] * buffer
        else:
            theta -= group["lr"] * (grad / denominator)


class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011): each entry's step shrinks with its summed squared gradients.

        g ← g + λθ                               (weight_decay λ)
        s ← s + g²                               (s starts at initial_accumulator_value)
        θ ← θ − γ/(1 + (t−1)·lr_decay) · g / (√s + ε)
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps))

    def _check(self, group):
        self._nonnegative(group, "lr", "lr_decay", "weight_decay", "initial_accumulator_value",
                          "eps")

    def _update(self, theta, grad, state, group):
        if not state:
            state["step"] = 0
            state["sum"] = np.full_like(theta, group["initial_accumulator_value"])
        state["step"] += 1
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * theta
        decayed_lr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        state["sum"] += grad * grad
        theta -= decayed_lr * (grad / (np.sqrt(state["sum"]) + group["eps"]))


RMSProp = RMSprop  # the spellings of the project's issue and of the design notes
AdaGrad = Adagrad


# ---- gradient clipping --------------------------------------------------------------------
def clip_grad_norm(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False) -> float:
    """Scale every `.grad` in place so that their joint norm is at most `max_norm`.

    The joint norm is ‖(‖g₁‖ₚ, ‖g₂‖ₚ, …)‖ₚ, the p-norm of all gradients seen as one vector
    (p = `norm_type`, `inf` for the largest |entry|).  With c = max_norm / (norm + 10⁻⁶), every
    g ← c·g when c < 1, as `torch.nn.utils.clip_grad_norm_`.  Returns the norm before clipping, a
    float (0.0 when no parameter has a gradient); parameters whose grad is None are left alone.
    """
    if isinstance(parameters, Node):
        parameters = [parameters]
    if not isinstance(max_norm, numbers.Real) or not 0.0 <= max_norm:
        raise ValueError(f"clip_grad_norm: max_norm must be a number ≥ 0, got {max_norm!r}")
    norm_type = float(norm_type)
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return 0.0
    if all(g.__class__ is np.ndarray for g in grads):
        norms = [float(np.linalg.norm(g.ravel(), ord=norm_type)) for g in grads]
        total_norm = float(np.linalg.norm(np.array(norms), ord=norm_type))
    else:  # on a GPU: the norms stay there, and one number comes back (one synchronisation)
        xp = array_module(grads[0])
        norms = xp.stack([xp.linalg.norm(g.ravel(), ord=norm_type) for g in grads])
        total_norm = float(xp.linalg.norm(norms, ord=norm_type))
    if error_if_nonfinite and not math.isfinite(total_norm):
        raise RuntimeError(f"clip_grad_norm: the total norm of order {norm_type} of the "
                           f"gradients is {total_norm}, not finite, so they cannot be clipped; "
                           "pass error_if_nonfinite=False to scale them by it anyway")
    clip_coef = max_norm / (total_norm + 1e-6)
    if not clip_coef >= 1.0:  # NaN scales too, as torch: a NaN norm must not pass unseen
        for grad in grads:
            grad *= clip_coef
    return total_norm


clip_grad_norm_ = clip_grad_norm  # torch's name (the trailing _ marks an in-place function)


# ---- learning-rate schedules --------------------------------------------------------------
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
