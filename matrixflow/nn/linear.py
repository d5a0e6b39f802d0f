"""Linear: Y = X·W + 1·b on a batch whose rows are samples.

W is (in × out) and b (1 × out), the orientation of scikit-learn's `coefs_`; PyTorch stores Wᵀ
(out × in), so its state dicts convert with `matrixflow.nn.load_torch_state_dict` and
`to_torch_state_dict` (`pytorch_weights`).
"""

from __future__ import annotations

import numpy as np

from ..ops.images import positive_int
from .init import INITIALISERS
from .module import Module, _parameter


class Linear(Module):
    """Y = X·W + 1·b: X (batch × in), W (in × out), b (1 × out).

    W is drawn by `init` (a name from INITIALISERS; Xavier uniform by default) and b starts at
    zero.  `rng` seeds the draw (a Generator or an int).
    """

    def __init__(self, in_features, out_features, bias=True, *, init="xavier_uniform",
                 rng=None, dtype=np.float64):
        super().__init__()
        if init not in INITIALISERS:
            raise ValueError(f"Linear: init must be one of {sorted(INITIALISERS)}, got {init!r}")
        self.in_features = positive_int("Linear", "in_features", in_features)
        self.out_features = positive_int("Linear", "out_features", out_features)
        shape = (self.in_features, self.out_features)
        self.weight = _parameter(INITIALISERS[init](shape, rng=rng, dtype=dtype), "weight")
        self.bias = _parameter(np.zeros((1, self.out_features), dtype), "bias") if bias else None

    def forward(self, x):
        y = x @ self.weight
        return y if self.bias is None else y + self.bias

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")
