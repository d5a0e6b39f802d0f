"""L-BFGS-B for the MLP estimators: scikit-learn's lbfgs solver, the objective and its gradient
by the estimator's tree (eagerly: a step that L-BFGS-B calls a few hundred times at one batch
size would gain little from a replay)."""

from __future__ import annotations

import time
import warnings

import numpy as np
import scipy.optimize
from sklearn.exceptions import ConvergenceWarning

from matrixflow.backend import to_device

from ._training import batch_step


def fit_lbfgs(estimator, parameters, X, y, weights):
    """L-BFGS-B on the same objective as the stochastic solvers (its gradient by backward)."""
    shapes = [p.shape for p in parameters]
    sizes = [int(np.prod(s)) for s in shapes]

    device = estimator.device  # L-BFGS-B works on the host: its vector crosses each evaluation

    def unpack(packed):
        start = 0
        for p, size, shape in zip(parameters, sizes, shapes):
            p.data[...] = to_device(packed[start:start + size].reshape(shape), device)
            start += size

    evaluated = {}  # the point last evaluated and the loss reported there
    step = batch_step(estimator, estimator._tree(parameters), parameters, replay=False)  # (eager)
    inputs = estimator._weighting(weights)

    def objective_and_gradient(packed):
        unpack(packed)
        squares = estimator._squares()
        for p in parameters:
            p.grad = None
        objective, *shown = step(X, y, *inputs)
        evaluated.update(x=packed.copy(), loss=estimator._reported_loss(
            [v.data for v in shown], y, weights, squares))
        return objective.item(), np.concatenate([to_device(p.grad, "cpu").ravel()
                                                 for p in parameters])

    iteration = {"count": 0, "started": time.perf_counter()}

    def print_iteration(intermediate_result):
        """verbose: one line per L-BFGS iteration, as the stochastic solvers print per
        epoch (the loss is the one loss_ reports, at the iteration's point)."""
        if not np.array_equal(intermediate_result.x, evaluated.get("x")):
            objective_and_gradient(intermediate_result.x)
        iteration["count"] += 1
        now = time.perf_counter()
        print(f"Iteration {iteration['count']}, loss = {evaluated['loss']:.8f}, "
              f"time = {now - iteration['started']:.3f} s")
        iteration["started"] = now

    packed = np.concatenate([to_device(p.data, "cpu").ravel() for p in parameters])
    result = scipy.optimize.minimize(
        objective_and_gradient, packed, method="L-BFGS-B", jac=True,
        callback=print_iteration if estimator.verbose else None,
        options={"maxfun": estimator.max_fun, "maxiter": estimator.max_iter, "gtol": estimator.tol})
    unpack(result.x)
    if result.status != 0:
        warnings.warn(f"lbfgs failed to converge after {result.nit} iteration(s) "
                      f"(status={result.status}): {result.message}. Increase the number of "
                      f"iterations (max_iter={estimator.max_iter}) or scale the data.",
                      ConvergenceWarning, stacklevel=4)  # fit_lbfgs ← _fit ← fit ← caller
    estimator.n_iter_ = min(result.nit, estimator.max_iter)
    objective_and_gradient(result.x)  # the loss reported at the point L-BFGS returns
    estimator.loss_ = evaluated["loss"]
