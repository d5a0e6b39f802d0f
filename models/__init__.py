"""Estimators built on matrixflow: MLPRegressor and RNNRegressor, with the real series they
are shown on (`models.datasets`).

scikit-learn is a run-time dependency of this package only; `import matrixflow` never imports
it.
"""

from . import datasets
from .mlp import MLPRegressor
from .rnn import RNNRegressor

__all__ = ["MLPRegressor", "RNNRegressor", "datasets"]
