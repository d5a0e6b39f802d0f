"""Speed of matrixflow against hand-written NumPy, scikit-learn and PyTorch, as ratios measured
in one process (`python -m benchmarks`).  Nothing here is imported by the library or the tests.
"""
