"""Gradient clipping by the joint norm of all gradients, as `torch.nn.utils.clip_grad_norm_`."""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..backend import array_module
from ..node import Node


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
