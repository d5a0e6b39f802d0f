"""Estimators built on matrixflow: MLPRegressor, MLPClassifier and RNNRegressor, with the real
series the regressors are shown on (`matrixflow.models.datasets`).

scikit-learn is a run-time dependency of this package only; `import matrixflow` never imports
it.
"""

from . import datasets
from .mlp import MLPClassifier, MLPRegressor
from .rnn import RNNRegressor

__all__ = ["MLPClassifier", "MLPRegressor", "RNNRegressor", "datasets"]
