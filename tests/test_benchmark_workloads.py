"""The benchmark's three implementations of each step do the same work (no timing here)."""

import sys
from pathlib import Path

import fake_cupy
import numpy as np
import pytest
import torch

# benchmarks/ is not installed (it is not part of the package) and the `pytest` script does not put
# the repository root on sys.path; append it, so the installed matrixflow still wins the import.
sys.path.append(str(Path(__file__).resolve().parents[1]))
from benchmarks import workloads


def _arrays(values):
    found = []
    for value in values:
        if isinstance(value, np.ndarray):
            found.append(value)
        elif hasattr(value, "data") and isinstance(value.data, np.ndarray):
            found.append(value.data)
        elif isinstance(value, torch.Tensor):
            found.append(value.detach().numpy())
        elif isinstance(value, list):
            found.extend(_arrays(value))
    return found


@pytest.mark.parametrize("sizes, batch", [((16, 64, 64, 1), 256), ((8, 16, 1), 32)])
def test_mlp_steps_update_the_same_parameters(sizes, batch):
    numpy_step = workloads.mlp_numpy(sizes, batch)
    mf_step = workloads.mlp_matrixflow(sizes, batch)
    replay_step = workloads.mlp_replay(sizes, batch)
    torch_step = workloads.mlp_torch(torch, sizes, batch)
    for step in (numpy_step, mf_step, replay_step, torch_step):
        step()
        step()
        step()  # the third is replayed
    reference = _parameters(numpy_step)
    for a, b in zip(_parameters(mf_step), _parameters(replay_step)):
        assert np.array_equal(a, b)  # the replay is the eager step, bit for bit
    for other in (_parameters(mf_step), _parameters(torch_step)):
        for a, b in zip(reference, other):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


def _parameters(step):
    """The weights and biases a step closure trains, in order (weights first)."""
    names = step.__code__.co_freevars
    cells = dict(zip(names, (c.cell_contents for c in step.__closure__)))
    if "params" in cells:
        return _arrays(cells["params"])
    if "weights" in cells:
        return _arrays(cells["weights"]) + _arrays(cells["biases"])
    return _arrays([cells[n] for n in ("Wx", "Wh", "b", "Wo") if n in cells])


def test_rnn_steps_update_the_same_parameters():
    steps = [workloads.rnn_numpy(batch=4, steps=6, features=3, hidden=5),
             workloads.rnn_matrixflow(batch=4, steps=6, features=3, hidden=5),
             workloads.rnn_replay(batch=4, steps=6, features=3, hidden=5),
             workloads.rnn_torch(torch, batch=4, steps=6, features=3, hidden=5)]
    for step in steps:
        step()
        step()
    reference = _parameters(steps[0])
    for step in steps[1:]:
        for a, b in zip(reference, _parameters(step)):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


def test_chain_steps_update_the_same_input():
    steps = [workloads.chain_numpy(), workloads.chain_matrixflow(), workloads.chain_replay(),
             workloads.chain_torch(torch)]
    for step in steps:
        step()
        step()
    values = [_arrays([dict(zip(s.__code__.co_freevars, (c.cell_contents for c in
                                                           s.__closure__)))["x"]])[0]
              for s in steps]
    for other in values[1:]:
        np.testing.assert_allclose(values[0], other, rtol=1e-12)


def test_the_shared_workload_gives_torchs_gradients():
    import matrixflow as mf

    x, a, b = (mf.Node([[v]], requires_grad=True) for v in (1.0, 0.5, 0.25))
    y = x
    for _ in range(60):
        y = y * a + y * b
    y.backward()
    np.testing.assert_allclose(a.grad, [[60 * 0.75**59]], rtol=1e-12)


# ---- the GPU workloads, at small sizes: on the CPU, and on the stand-in's device -------------
from benchmarks import gpu  # noqa: E402


@pytest.mark.parametrize("make", ["mlp", "rnn"])
def test_gpu_steps_update_the_same_parameters_as_torch(make):
    if make == "mlp":
        sizes = dict(sizes=(8, 16, 16, 1), batch=32, device="cpu", dtype=np.float64)
        steps = [gpu.mlp_matrixflow(**sizes), gpu.mlp_torch(torch, **sizes)]
    else:
        sizes = dict(batch=4, steps=6, features=3, hidden=5, device="cpu", dtype=np.float64)
        steps = [gpu.rnn_matrixflow(**sizes), gpu.rnn_torch(torch, **sizes)]
    for step in steps:
        step()
        step()
    for a, b in zip(*(_parameters(step) for step in steps)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


def test_the_gpu_suite_runs_on_the_stand_in_and_stays_on_its_device(cp, monkeypatch):
    """Its code paths, not its speed: the suite at toy sizes on the fake device."""
    from benchmarks import run

    monkeypatch.setattr(gpu, "MLP_SIZES", (8, 16, 16, 1))
    monkeypatch.setattr(gpu, "MLP_BATCH", 32)
    for name, value in (("RNN_BATCH", 4), ("RNN_STEPS", 3), ("RNN_FEATURES", 2),
                        ("RNN_HIDDEN", 5)):
        monkeypatch.setattr(gpu, name, value)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    reports = run.suite_gpu(rounds=1)
    assert "fake CuPy device" in reports[0][0] and "matrixflow alone" in reports[0][0]
    assert [len(results) for _, results, _ in reports[1:]] == [1, 1]
    step = gpu.mlp_matrixflow((8, 16, 16, 1), 32)
    step()
    assert all(fake_cupy.on_device(p.data) for p in _cells(step)["params"])


@pytest.mark.skipif(gpu.why_not_here() is None, reason="a GPU is here: the suite runs")
def test_the_gpu_suite_says_why_it_is_skipped_here():
    from benchmarks import run

    (title, results, _), = run.suite_gpu(rounds=1)
    assert title.startswith("GPU workloads (G1 MLP, G2 RNN): skipped: ") and not results


def _cells(step):
    return dict(zip(step.__code__.co_freevars, (c.cell_contents for c in step.__closure__)))
