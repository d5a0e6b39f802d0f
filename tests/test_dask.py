"""The estimators on a Dask cluster: dask-ml's `Incremental` streams a dask array's blocks through
`partial_fit`, and joblib's dask backend spreads a grid search over the workers.

One small `LocalCluster` of two worker processes (one thread each, no dashboard, ports chosen by
the OS) serves the whole file and is closed at its end.  What is held: `Incremental` ends at the
weights of `partial_fit` called on the same blocks in order; a search over the cluster picks the
best parameters `n_jobs=1` picks, even when a worker process is killed in the middle of it (dask
runs the lost tasks again); a fitted estimator, which is what travels between the workers by
pickle, predicts the same after the trip.
"""

import os
import pickle
import signal
import threading
import time

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
wrappers = pytest.importorskip("dask_ml.wrappers")
joblib = pytest.importorskip("joblib")

from matrixflow.models import MLPClassifier, MLPRegressor, RNNRegressor  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402

BLOCK = 50


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, scheduler_port=0)
    try:
        with distributed.Client(cluster) as client:
            yield client
    finally:
        cluster.close()


def _data(n=200, features=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, features))
    return X, np.tanh(X @ rng.standard_normal(features)) + 0.1 * rng.standard_normal(n)


def _blocks(*arrays):
    return [tuple(a[i:i + BLOCK] for a in arrays) for i in range(0, len(arrays[0]), BLOCK)]


def _weights(model):
    """Every fitted weight of an MLP (coefs_, intercepts_) or an RNNRegressor (its state)."""
    if hasattr(model, "coefs_"):
        return [*model.coefs_, *model.intercepts_]
    return [np.asarray(parameter.data) for parameter in model._network_parameters()]


def _assert_same_weights(a, b):
    wa, wb = _weights(a), _weights(b)
    assert len(wa) == len(wb) > 0
    for x, y in zip(wa, wb):
        np.testing.assert_allclose(x, y, rtol=0, atol=1e-12)


CASES = {
    "mlp-regressor": (lambda: MLPRegressor(hidden_layer_sizes=(8,), learning_rate_init=0.01,
                                           batch_size=16, random_state=0), "regression", {}),
    "mlp-classifier": (lambda: MLPClassifier(hidden_layer_sizes=(8,), batch_size=16,
                                             random_state=0), "classes", {"classes": [0, 1]}),
    # dask-ml's Incremental builds a block's key as (name, i, 0): a 3-D dask array's blocks
    # (name, i, 0, 0) are not found, so sequences go through it in the 2-D form, one feature per
    # step, which RNNRegressor reads as X[:, :, None]
    "rnn-regressor": (lambda: RNNRegressor(hidden_size=4, batch_size=16, random_state=0),
                      "regression", {}),
}


@pytest.mark.parametrize("name", CASES)
def test_incremental_gives_the_weights_of_partial_fit_on_the_same_blocks_in_order(client, name):
    make, target, fit_kwargs = CASES[name]
    X, y = _data()
    if target == "classes":
        y = (y > 0).astype(int)
    X_dask, y_dask = da.from_array(X, chunks=(BLOCK, X.shape[1])), da.from_array(y, chunks=BLOCK)
    streamed = wrappers.Incremental(make(), shuffle_blocks=False).fit(X_dask, y_dask,
                                                                        **fit_kwargs)
    by_hand = make()
    for X_block, y_block in _blocks(X, y):
        by_hand.partial_fit(X_block, y_block, **fit_kwargs)
    assert X_dask.numblocks[0] == 4
    _assert_same_weights(streamed.estimator_, by_hand)
    predicted = streamed.predict(X_dask)
    assert isinstance(predicted, da.Array)
    np.testing.assert_allclose(predicted.compute(), by_hand.predict(X), rtol=0, atol=1e-12)


def test_incremental_score_fails_in_dask_ml_and_the_fitted_estimator_scores(client):
    """dask-ml's Incremental.score breaks on predictions of unknown chunk sizes (scikit-learn's
    own MLPRegressor fails the same way); the README's alternative gives the estimator's R²."""
    from sklearn.metrics import r2_score

    X, y = _data()
    X_dask, y_dask = da.from_array(X, chunks=(BLOCK, 4)), da.from_array(y, chunks=BLOCK)
    model = wrappers.Incremental(MLPRegressor(hidden_layer_sizes=(8,), random_state=0),
                                 shuffle_blocks=False).fit(X_dask, y_dask)
    with pytest.raises(ValueError, match="nan"):
        model.score(X_dask, y_dask)
    r2 = r2_score(y_dask.compute(), model.predict(X_dask).compute())
    assert r2 == pytest.approx(model.estimator_.score(X, y), abs=1e-12)


@pytest.mark.parametrize("name", CASES)
def test_a_fitted_estimator_predicts_the_same_after_pickle(name):
    make, target, fit_kwargs = CASES[name]
    X, y = _data()
    if target == "classes":
        y = (y > 0).astype(int)
    model = make().partial_fit(X, y, **fit_kwargs)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict(X), model.predict(X))
    _assert_same_weights(again.partial_fit(X, y), model.partial_fit(X, y))  # and trains on


GRID = {"hidden_layer_sizes": [(4,), (16,)], "alpha": [1e-4, 1.0]}


SEARCH_DATA = _data(n=120)


def _search(n_jobs, X=SEARCH_DATA[0], y=SEARCH_DATA[1]):
    search = GridSearchCV(MLPRegressor(learning_rate_init=0.01, max_iter=60, random_state=0),
                          GRID, cv=3, n_jobs=n_jobs)
    return search.fit(X, y)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_search_over_the_cluster_picks_what_n_jobs_1_picks(client):
    alone = _search(n_jobs=1)
    with joblib.parallel_backend("dask"):
        spread = _search(n_jobs=-1)
    assert spread.best_params_ == alone.best_params_
    np.testing.assert_allclose(spread.cv_results_["mean_test_score"],
                               alone.cv_results_["mean_test_score"], rtol=0, atol=1e-12)


def _joblib_search(X, y):
    # joblib scatters each argument over 1 kB to one worker, where it dies with the worker:
    # X and y broadcast to every worker outlive it; the split's index arrays stay under 1 kB
    # (fewer than 125 samples a fold) only on data this small
    with joblib.parallel_backend("dask", scatter=[X, y]):
        return _search(-1, X, y)


def _dask_ml_search(X, y):
    # dask-ml's own GridSearchCV: one graph, the data and splits in it, all of it recomputable
    from dask_ml.model_selection import GridSearchCV as DaskGridSearchCV

    return DaskGridSearchCV(MLPRegressor(learning_rate_init=0.01, max_iter=60, random_state=0),
                            GRID, cv=3).fit(X, y)


KILLED_SEARCHES = {"joblib-dask-backend": (_joblib_search, 120),
                   "dask-ml-GridSearchCV": (_dask_ml_search, 600)}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("kind", KILLED_SEARCHES)
def test_a_worker_killed_in_the_middle_of_a_search_loses_nothing(client, kind):
    spread_search, n = KILLED_SEARCHES[kind]
    X, y = _data(n=n)
    alone = _search(1, X, y)
    client.wait_for_workers(2, timeout=30)
    pids = client.run(os.getpid)  # worker address → its process id
    result, failure = {}, []

    def search():
        try:
            result["search"] = spread_search(X, y)
        except Exception as error:  # reported below, in the test's thread
            failure.append(error)

    thread = threading.Thread(target=search)
    thread.start()
    victim, deadline = None, time.monotonic() + 30
    while victim is None and time.monotonic() < deadline and thread.is_alive():
        busy = [address for address, keys in client.processing().items() if keys]
        if busy:
            victim = busy[0]
        else:
            time.sleep(0.005)
    assert victim is not None, "no task seen running: nothing to kill"
    os.kill(pids[victim], signal.SIGKILL)  # a worker dies holding a task
    thread.join(timeout=60)
    assert not thread.is_alive() and not failure, failure
    assert pids[victim] not in client.run(os.getpid).values()  # it did die
    assert result["search"].best_params_ == alone.best_params_
    np.testing.assert_allclose(result["search"].cv_results_["mean_test_score"],
                               alone.cv_results_["mean_test_score"], rtol=0, atol=1e-12)
    client.wait_for_workers(2, timeout=30)  # the nanny starts a new worker
