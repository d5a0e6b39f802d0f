"""What an epoch of dask-ml's Incremental costs: `python -m benchmarks.dask_incremental`.

MLPRegressor(hidden_layer_sizes=(64,), batch_size=200) on X of `--blocks` blocks of `--chunk`
rows × 32 features (float64) and y = tanh(X·w) + noise.  One epoch is one partial_fit per block,
in order.  Timed: one process looping partial_fit over the NumPy blocks, and Incremental over a
dask array held in the memory of a LocalCluster of 1 and 2 worker processes (one thread each;
the blocks are made on the workers and persisted first, as data already loaded there).  Each
epoch starts from the same fresh estimator; the median of `--rounds` epochs is reported, with
the ratio to the one process, then where a 2-worker epoch's time goes, from dask's task stream:
computing partial_fit, moving data between workers (the estimator, pickled, follows the
blocks), (de)serialising, and the rest (scheduling, the client's round trip).  One BLAS thread
everywhere.  About a minute on two cores.
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")  # before NumPy loads; the workers inherit it

import argparse  # noqa: E402
import pickle  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402

import numpy as np  # noqa: E402

FEATURES = 32


def estimator():
    from matrixflow.models import MLPRegressor

    return MLPRegressor(hidden_layer_sizes=(64,), batch_size=200, learning_rate_init=1e-3,
                        random_state=0)


def make_data(blocks, chunk):
    import dask.array as da

    rng = da.random.default_rng(0)
    X = rng.standard_normal((blocks * chunk, FEATURES), chunks=(chunk, FEATURES))
    w = np.random.default_rng(1).standard_normal(FEATURES) / np.sqrt(FEATURES)
    y = da.tanh(X @ w) + 0.1 * rng.standard_normal(blocks * chunk, chunks=chunk)
    return X, y


def one_process(X, y, rounds):
    X_blocks = [block.compute() for block in X.blocks]
    y_blocks = [block.compute() for block in y.blocks]
    times = []
    for _ in range(rounds):
        model, start = estimator(), time.perf_counter()
        for X_block, y_block in zip(X_blocks, y_blocks):
            model.partial_fit(X_block, y_block)
        times.append(time.perf_counter() - start)
    return times, model


def on_cluster(n_workers, blocks, chunk, rounds):
    from dask_ml.wrappers import Incremental
    from distributed import Client, LocalCluster, get_task_stream

    with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        X, y = client.persist(make_data(blocks, chunk))
        client.wait_for_workers(n_workers)
        Incremental(estimator(), shuffle_blocks=False).fit(X, y)  # warm the workers' imports
        times, actions = [], defaultdict(float)
        for _ in range(rounds):
            with get_task_stream(client) as stream:
                start = time.perf_counter()
                model = Incremental(estimator(), shuffle_blocks=False).fit(X, y)
                times.append(time.perf_counter() - start)
            for task in stream.data:
                for part in task["startstops"]:
                    actions[part["action"]] += (part["stop"] - part["start"]) / rounds
        placement = client.who_has(X)
        return times, dict(actions), model, len({w for ws in placement.values() for w in ws})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=8)
    parser.add_argument("--chunk", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    X, y = make_data(args.blocks, args.chunk)
    print(f"MLPRegressor(hidden_layer_sizes=(64,), batch_size=200): {args.blocks} blocks of "
          f"{args.chunk} × {FEATURES} ({X.nbytes / 1e6:.0f} MB in all, "
          f"{X.nbytes / args.blocks / 1e6:.2f} MB a block); median of {args.rounds} epochs; "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    alone, reference = one_process(X, y, args.rounds)
    base = statistics.median(alone)
    state = len(pickle.dumps(reference))
    print(f"the fitted estimator pickles to {state / 1e3:.0f} kB")
    print(f"{'':34}{'epoch':>9}{'ratio':>8}")
    print(f"{'one process, partial_fit per block':34}{base:8.3f}s{1.0:8.2f}")
    breakdown = None
    for n_workers in (1, 2):
        times, actions, model, holders = on_cluster(n_workers, args.blocks, args.chunk,
                                                    args.rounds)
        same = all(np.array_equal(a, b) for a, b in zip(model.estimator_.coefs_,
                                                          reference.coefs_))
        epoch = statistics.median(times)
        label = f"Incremental, {n_workers} worker{'s' if n_workers > 1 else ''}"
        print(f"{label:34}{epoch:8.3f}s{epoch / base:8.2f}   (blocks on {holders} "
              f"worker{'s' if holders > 1 else ''}; weights equal the one process's: {same})")
        breakdown = (epoch, actions)
    epoch, actions = breakdown
    compute = actions.pop("compute", 0.0)
    transfer = actions.pop("transfer", 0.0)
    serial = sum(actions.values())
    print(f"\na 2-worker epoch, {epoch:.3f}s: partial_fit {compute:.3f}s, moving data between "
          f"workers {transfer:.3f}s, (de)serialising {serial:.3f}s, the rest (scheduling, the "
          f"client) {max(epoch - compute - transfer - serial, 0.0):.3f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
