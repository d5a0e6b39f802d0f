"""Memory of one training step, eager and replayed: the peak of what the step allocates.

NumPy reports its arrays to `tracemalloc`, so the peak over one call of a step is the memory it
needs beyond what lives before and after (the weights, the data).  A replay also holds arrays
between calls — its buffers, allocated once and reused (Program.buffer_bytes) — counted beside
its peak; the eager step holds nothing between calls.
"""

from __future__ import annotations

import gc
import tracemalloc

import matrixflow as mf

from . import workloads


def _peak(step) -> int:
    step()  # warm: a replay traces on its first call
    step()
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    step()
    peak = tracemalloc.get_traced_memory()[1] - before
    tracemalloc.stop()
    return peak


def _held(step) -> int:
    """Bytes of the buffers the step's Replay keeps between calls."""
    cells = [c.cell_contents for c in step.__closure__ or ()]
    replays = [c for c in cells if isinstance(c, mf.Replay)]
    return sum(p.buffer_bytes for r in replays for p in r.programs.values())


JOBS = {
    "W1 MLP 16→64→64→1, batch 256": (
        lambda: workloads.mlp_matrixflow((16, 64, 64, 1), 256),
        lambda: workloads.mlp_replay((16, 64, 64, 1), 256)),
    "W2 MLP 256→512→512→1, batch 1024": (
        lambda: workloads.mlp_matrixflow((256, 512, 512, 1), 1024),
        lambda: workloads.mlp_replay((256, 512, 512, 1), 1024)),
    "W3 RNN batch 32, 50 steps, hidden 64": (workloads.rnn_matrixflow, workloads.rnn_replay),
    "W4 chain of 2000 ops on 4×4": (workloads.chain_matrixflow, workloads.chain_replay),
}


def report() -> list[tuple[str, int, int, int]]:
    """(workload, eager peak, replayed peak, replay's buffers held between calls) in bytes."""
    rows = []
    for name, (eager, replayed) in JOBS.items():
        replay_step = replayed()
        rows.append((name, _peak(eager()), _peak(replay_step), _held(replay_step)))
    return rows


def table(rows) -> str:
    def mib(n):
        return f"{n / 2**20:.2f} MiB" if n >= 2**20 else f"{n / 2**10:.0f} KiB"

    lines = ["Memory of one step (tracemalloc peak beyond what lives before it)",
             f"  {'workload':38} {'eager':>10} {'replayed':>10} {'+ buffers held':>15}"]
    lines += [f"  {name:38} {mib(e):>10} {mib(r):>10} {mib(h):>15}" for name, e, r, h in rows]
    return "\n".join(lines)
