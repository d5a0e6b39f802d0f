"""Timing several implementations of one job fairly, in one process.

Each round runs every implementation once, in an order rotated from round to round (A B C,
B C A, …), so drift in the machine's speed touches all of them alike; the report gives each
one's median time and the median and range of its per-round ratio to the reference.  Everything
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


def compare(jobs: dict[str, Callable[[], object]], reference: str, rounds: int = 7,
            warmup: int = 1) -> list[Result]:
    """Time each job `rounds` times, interleaved; ratios are per round, job / reference."""
    names = list(jobs)
    for _ in range(warmup):
        for name in names:
            jobs[name]()
    times = {name: [] for name in names}
    for round_index in range(rounds):
        order = names[round_index % len(names):] + names[:round_index % len(names)]
        for name in order:
            gc.collect()
            gc.disable()
            started = time.perf_counter()
            jobs[name]()
            times[name].append(time.perf_counter() - started)
            gc.enable()
    reference_times = times[reference]
    return [Result(name, times[name], [t / r for t, r in zip(times[name], reference_times)])
            for name in names]


def table(title: str, results: list[Result], reference: str) -> str:
    lines = [title, f"  {'implementation':<34} {'median':>10} {'ratio':>7}  {'range':>13}"]
    for result in results:
        spread = f"{min(result.ratios):.2f}–{max(result.ratios):.2f}"
        ratio = "1 (ref)" if result.name == reference else f"{result.ratio:.2f}×"
        lines.append(f"  {result.name:<34} {result.median * 1e3:8.1f}ms {ratio:>7}  {spread:>13}")
    return "\n".join(lines)
