"""matrixflow.optim: optimizers, learning-rate schedules and gradient clipping, with PyTorch's
formulas, defaults and names (each checked step by step against `torch.optim` in the tests).

One module per kind: `optimizer` (the base class), `optimizers` (the update rules),
`schedulers`, `clipping`.
"""

from .clipping import clip_grad_norm, clip_grad_norm_
from .optimizer import Optimizer
from .optimizers import SGD, AdaGrad, Adagrad, Adam, AdamW, RMSProp, RMSprop
from .schedulers import CosineAnnealingLR, ExponentialLR, LRScheduler, StepLR

__all__ = [
    "SGD", "AdaGrad", "Adagrad", "Adam", "AdamW", "CosineAnnealingLR", "ExponentialLR",
    "LRScheduler", "Optimizer", "RMSProp", "RMSprop", "StepLR", "clip_grad_norm", "clip_grad_norm_",
]
