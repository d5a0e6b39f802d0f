"""The update rules — SGD, Adam, AdamW, RMSprop, Adagrad — with PyTorch's formulas and defaults.

The docstrings give each rule with γ the learning rate, λ the weight decay and t the step count;
products of matrices here are element-wise (⊙), and g² = g ⊙ g.

    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    for epoch in range(epochs):
        opt.zero_grad()
        loss(model).backward()
        opt.step()
"""

from __future__ import annotations

import numbers

import numpy as np

from .optimizer import Optimizer


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
