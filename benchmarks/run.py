"""The benchmark runner: `python -m benchmarks [--only SUITE ...] [--rounds N]`."""

from __future__ import annotations

import argparse
import os
import platform

import numpy as np

from . import estimators
from .harness import compare, table


def _pin_one_core():
    if hasattr(os, "sched_setaffinity"):
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        return f"pinned to core {core}"
    return "not pinned (no sched_setaffinity here)"


def suite_estimators(rounds):
    reports = []
    X, y = estimators.diabetes()
    jobs = estimators.mlp_jobs(X, y, hidden_layer_sizes=(100,), max_iter=50)
    reports.append(("MLPRegressor, diabetes 442×10, hidden (100,), adam, 50 epochs",
                    compare(jobs, "scikit-learn MLPRegressor.fit", rounds),
                    "scikit-learn MLPRegressor.fit"))
    X, y = estimators.mlp_data(20_000, 50)
    jobs = estimators.mlp_jobs(X, y, hidden_layer_sizes=(100,), max_iter=5)
    reports.append(("MLPRegressor, 20 000×50, hidden (100,), adam, batch 200, 5 epochs",
                    compare(jobs, "scikit-learn MLPRegressor.fit", rounds),
                    "scikit-learn MLPRegressor.fit"))
    try:
        import torch
    except ImportError:
        reports.append(("RNNRegressor: skipped, PyTorch is not installed", [], ""))
        return reports
    torch.set_num_threads(1)
    X, y = estimators.sequences(1024, 20)
    jobs = estimators.rnn_jobs(X, y, hidden=32, batch=32, epochs=3)
    reports.append(("RNNRegressor, 1024 sequences × 20 steps, hidden 32, batch 32, 3 epochs",
                    compare(jobs, "PyTorch nn.RNN + Adam (float64)", rounds),
                    "PyTorch nn.RNN + Adam (float64)"))
    return reports


SUITES = {"estimators": suite_estimators}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--only", action="append", choices=sorted(SUITES),
                        help="run only this suite (repeatable)")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds per job")
    args = parser.parse_args(argv)
    pinned = _pin_one_core()
    print(f"Python {platform.python_version()}, NumPy {np.__version__}, "
          f"BLAS threads {os.environ.get('OPENBLAS_NUM_THREADS')}, {pinned}; "
          f"{args.rounds} interleaved rounds in one process (heap warm for every job); "
          "ratio = median of per-round time ratios to the reference, range = min–max.\n")
    for name in args.only or list(SUITES):
        for title, results, reference in SUITES[name](args.rounds):
            print(table(title, results, reference) if results else title)
            print()
    return 0
