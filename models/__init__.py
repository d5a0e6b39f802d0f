"""Estimators built on matrixflow (MLPRegressor, RNNRegressor): see issue 3.

scikit-learn is a run-time dependency of this package only; `import matrixflow` never imports it.
"""
