"""The benchmark runner: `python -m benchmarks [--only SUITE ...] [--rounds N]`."""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from . import estimators, workloads
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
    for cell in ("rnn", "lstm"):
        jobs = estimators.rnn_jobs(X, y, hidden=32, batch=32, epochs=3, cell=cell)
        reference = estimators.torch_label(cell)
        reports.append((f"RNNRegressor(cell={cell!r}), 1024 sequences × 20 steps, hidden 32, "
                        "batch 32, 3 epochs", compare(jobs, reference, rounds), reference))
    return reports


def _torch():
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch


def _three_ways(title, numpy_job, matrixflow_job, torch_job, rounds, reference="NumPy by hand",
                replay_job=None):
    jobs = {"NumPy by hand": numpy_job, "matrixflow": matrixflow_job}
    if replay_job is not None:
        jobs["matrixflow replayed"] = replay_job
    if torch_job is not None:
        jobs["PyTorch eager"] = torch_job
    return title, compare(jobs, reference, rounds), reference


def suite_workloads(rounds):
    torch = _torch()
    reports = []
    for name, sizes, batch in (("W1", (16, 64, 64, 1), 256), ("W2", (256, 512, 512, 1), 1024)):
        for dtype in (np.float64, np.float32):
            label = "float64" if dtype is np.float64 else "float32"
            reports.append(_three_ways(
                f"{name} MLP {'→'.join(map(str, sizes))}, batch {batch}, {label}: one step",
                workloads.mlp_numpy(sizes, batch, dtype),
                workloads.mlp_matrixflow(sizes, batch, dtype),
                workloads.mlp_torch(torch, sizes, batch, dtype) if torch else None, rounds,
                replay_job=workloads.mlp_replay(sizes, batch, dtype)))
    title, results, reference = _three_ways(
        "W3 RNN batch 32, 50 steps, hidden 64, BPTT: one step", workloads.rnn_numpy(),
        workloads.rnn_matrixflow(), workloads.rnn_torch(torch) if torch else None, rounds,
        replay_job=workloads.rnn_replay())
    if torch:  # the same step with nn.RNN, timed against its own NumPy rounds
        extra = compare({"NumPy by hand": workloads.rnn_numpy(),
                         "PyTorch nn.RNN": workloads.rnn_torch_module(torch)}, "NumPy by hand",
                        rounds)
        results.append(extra[1])
    reports.append((title, results, reference))
    reports.append(_three_ways(
        f"W4 a chain of {workloads.CHAIN_OPS} small ops (4×4), forward + backward",
        workloads.chain_numpy(), workloads.chain_matrixflow(),
        workloads.chain_torch(torch) if torch else None, rounds,
        replay_job=workloads.chain_replay()))
    if torch:
        reports.append(("W5 60 levels of y = y·a + y·b (2⁶⁰ paths), forward + backward",
                        compare({"PyTorch eager": workloads.shared_torch(torch),
                                 "matrixflow": workloads.shared_matrixflow()},
                                "PyTorch eager", rounds), "PyTorch eager"))
    return reports


def per_op_overhead(count=20_000, repeats=5):
    """µs per op beyond NumPy's own work, on 2×2 matrices: forward (a * b) and backward (a
    chain of products, whose rule is one NumPy product G ⊙ B)."""
    import matrixflow as mf

    a_data, b_data = np.full((2, 2), 1.0001), np.full((2, 2), 0.9999)
    a, b = mf.Node(a_data, requires_grad=True), mf.Node(b_data)

    def best(fn):
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            fn()
            times.append(time.perf_counter() - started)
        return min(times) / count

    def numpy_forward():
        for _ in range(count):
            np.multiply(a_data, b_data)

    def matrixflow_forward():
        for _ in range(count):
            a * b

    chain = [None]

    def build():
        y = a
        for _ in range(count):
            y = y * b
        chain[0] = mf.sum(y)

    def matrixflow_backward():
        chain[0].backward()
        a.grad = None

    forward = best(matrixflow_forward) - best(numpy_forward)
    build()
    backward = best(matrixflow_backward) - best(numpy_forward)  # each rule: one G ⊙ B
    return forward * 1e6, backward * 1e6


def suite_overhead(rounds):
    forward, backward = per_op_overhead()
    return [(f"Per-op overhead on 2×2 matrices, beyond NumPy's own work: {forward:.2f} µs "
             f"forward, {backward:.2f} µs backward", [], "")]


def suite_gpu(rounds):
    """G1 and G2 (benchmarks/gpu.py): matrixflow on CuPy against PyTorch CUDA eager, float32."""
    from . import gpu

    why = gpu.why_not_here()
    if why is not None:
        return [(f"GPU workloads (G1 MLP, G2 RNN): skipped: {why}", [], "")]
    import cupy

    try:
        import torch
    except ImportError:
        torch = None
    torch_cuda = torch is not None and torch.cuda.is_available()
    if torch_cuda:
        torch.backends.cuda.matmul.allow_tf32 = False  # float32 on both sides (CuPy: no TF32
        torch.backends.cudnn.allow_tf32 = False  # unless CUPY_TF32=1, which is not set here)
    sync = gpu.synchronizer(torch if torch_cuda else None)
    name = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)["name"]
    name = name.decode() if isinstance(name, bytes) else name
    header = (f"GPU: {name}, CuPy {cupy.__version__}, "
              + (f"PyTorch {torch.__version__} (CUDA {torch.version.cuda})" if torch_cuda
                 else "PyTorch with CUDA not available: matrixflow alone")
              + f"; TF32 off (CUPY_TF32={os.environ.get('CUPY_TF32', 'unset')}); "
              "synchronised before each timing")
    reference = "PyTorch CUDA eager" if torch_cuda else "matrixflow + CuPy"
    reports = [(header, [], "")]
    sizes, batch = gpu.MLP_SIZES, gpu.MLP_BATCH
    jobs = {"matrixflow + CuPy": gpu.mlp_matrixflow(sizes, batch)}
    if torch_cuda:
        jobs["PyTorch CUDA eager"] = gpu.mlp_torch(torch, sizes, batch)
    reports.append((f"G1 MLP {'→'.join(map(str, sizes))}, batch {batch}, float32: one step",
                    compare(jobs, reference, rounds, warmup=3, sync=sync), reference))
    del jobs  # G1's arrays, before G2 allocates its own
    cupy.get_default_memory_pool().free_all_blocks()
    if torch_cuda:
        torch.cuda.empty_cache()
    shape = (gpu.RNN_BATCH, gpu.RNN_STEPS, gpu.RNN_FEATURES, gpu.RNN_HIDDEN)
    jobs = {"matrixflow + CuPy": gpu.rnn_matrixflow(*shape)}
    if torch_cuda:
        jobs["PyTorch CUDA eager"] = gpu.rnn_torch(torch, *shape)
        jobs["PyTorch nn.RNN (cuDNN)"] = gpu.rnn_torch_cudnn(torch, *shape)
    reports.append((f"G2 RNN {gpu.RNN_FEATURES}→{gpu.RNN_HIDDEN}, batch {gpu.RNN_BATCH}, "
                    f"{gpu.RNN_STEPS} steps, BPTT, float32: one step",
                    compare(jobs, reference, rounds, warmup=3, sync=sync), reference))
    return reports


def suite_memory(rounds):
    from . import replay_memory

    return [(replay_memory.table(replay_memory.report()), [], "")]


SUITES = {"workloads": suite_workloads, "overhead": suite_overhead, "memory": suite_memory,
          "estimators": suite_estimators, "gpu": suite_gpu}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--only", action="append", choices=sorted(SUITES),
                        help="run only this suite (repeatable)")
    parser.add_argument("--rounds", type=int, default=11, help="interleaved rounds per job")
    args = parser.parse_args(argv)
    pinned = _pin_one_core()
    pad = int(os.environ.get("MALLOC_TOP_PAD_", "0") or 0)
    heap = (f"glibc MALLOC_TOP_PAD_ = {pad >> 20} MiB for all (freed heap is kept, not "
            "page-faulted in again each step)" if pad else "glibc's default heap trimming")
    print(f"Python {platform.python_version()}, NumPy {np.__version__}, "
          f"BLAS threads {os.environ.get('OPENBLAS_NUM_THREADS')}, {pinned}; {heap}; "
          f"{args.rounds} interleaved rounds in one process; "
          "ratio = median of per-round time ratios to the reference, range = min–max.\n")
    for name in args.only or list(SUITES):
        for title, results, reference in SUITES[name](args.rounds):
            print(table(title, results, reference) if results else title)
            print()
    return 0
