"""Timing several implementations of one job fairly, in one process.

Each round runs every implementation for one sample (as many calls as last about 50 ms), in an
order rotated from round to round (A B C, B C A, …), so drift in the machine's speed touches all
of them alike; the report gives each one's median time per call and the median and range of its
per-round ratio to the reference.  Everything
runs in this one process, which also keeps glibc's heap warm for all of them (freed memory
returned to the OS makes small NumPy workloads page-fault when measured in fresh processes).
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Result:
    name: str
    times: list[float]
    ratios: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)


def _nothing():
    """No device to wait for: the CPU jobs are done when they return."""


def _calls_per_sample(job: Callable[[], object], min_time: float, sync=_nothing) -> int:
    """How many calls of `job` make one sample of at least `min_time` seconds (one call of a
    sub-millisecond step is at the mercy of the timer and of every interrupt)."""
    sync()
    started = time.perf_counter()
    job()
    sync()
    once = max(time.perf_counter() - started, 1e-7)
    return max(1, round(min_time / once))


def compare(jobs: dict[str, Callable[[], object]], reference: str, rounds: int = 7,
            warmup: int = 1, min_time: float = 0.05, sync=None) -> list[Result]:
    """Time each job `rounds` times, interleaved; ratios are per round, job / reference.

    Each sample runs a job enough times to last about `min_time` and records the time per call.
    `sync`, for GPU jobs, waits for the device's queued work: it runs before each sample's
    timer starts and before it stops, so a sample is the work done, not the work launched.
    """
    sync = sync or _nothing
    names = list(jobs)
    for _ in range(warmup):
        for name in names:
            jobs[name]()
    calls = {name: _calls_per_sample(jobs[name], min_time, sync) for name in names}
    times = {name: [] for name in names}
    for round_index in range(rounds):
        order = names[round_index % len(names):] + names[:round_index % len(names)]
        for name in order:
            job, count = jobs[name], calls[name]
            gc.collect()
            gc.disable()
            sync()
            started = time.perf_counter()
            for _ in range(count):
                job()
            sync()
            times[name].append((time.perf_counter() - started) / count)
            gc.enable()
    reference_times = times[reference]
    return [Result(name, times[name], [t / r for t, r in zip(times[name], reference_times)])
            for name in names]


def table(title: str, results: list[Result], reference: str) -> str:
    lines = [title, f"  {'implementation':<34} {'median':>10} {'ratio':>7}  {'range':>13}"]
    for result in results:
        spread = f"{min(result.ratios):.2f}–{max(result.ratios):.2f}"
        ratio = "1 (ref)" if result.name == reference else f"{result.ratio:.2f}×"
        lines.append(f"  {result.name:<34} {_duration(result.median):>10} {ratio:>7}  {spread:>13}")
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds >= 1e-3 else f"{seconds * 1e6:.0f} µs"
