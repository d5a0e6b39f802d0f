"""The replay's changed calls give the eager step's bits, on the values where calls part.

kernels.py computes three things another way than the op's own calls: a column times a row
(`outer`: a·b + 0.0, where matmul runs its own loop), relu's max(A, 0) against a zero array,
and mse_loss's A − B once with its factor 2·(Ȳ/k) folded when Ȳ is the seed.  Each is checked
here bit for bit against the eager step on ±0, ±∞, NaN, subnormals and products that underflow,
in float64 and float32; and each falls back to the plain calls when its check on this NumPy
fails.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import matrixflow as mf
from matrixflow.compiled import kernels


def same_bits(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def special(shape, dtype, seed):
    """Normal numbers with ±0, ±∞, NaN, subnormals and underflowing magnitudes sown in."""
    rng = np.random.default_rng(seed)
    values = rng.standard_normal(shape)
    tiny = np.finfo(dtype).tiny
    sown = [0.0, -0.0, np.inf, -np.inf, np.nan, tiny / 8, -tiny / 8, np.sqrt(tiny) / 4,
            -np.sqrt(tiny) / 4]
    flat = values.reshape(-1)
    where = rng.choice(flat.size, size=min(flat.size, 2 * len(sown)), replace=False)
    flat[where] = np.resize(sown, where.size)
    return values.astype(dtype)


def eager_and_replayed(loss, shapes, dtype, seeds=(0, 1, 2), inputs=1):
    """Runs `loss(*params, *inputs)` eagerly and replayed on the same special values for each
    seed (the first replayed call is the trace); returns the schedule after checking the loss
    and every gradient match bit for bit."""
    def nodes(seed):
        return [mf.Node(special(s, dtype, seed + 10 * k), requires_grad=k < len(shapes) - inputs)
                for k, s in enumerate(shapes)]

    replayed = nodes(seeds[0])
    params = replayed[:len(shapes) - inputs]
    step = mf.replay(lambda *xs: loss(*params, *xs), parameters=params)
    with np.errstate(all="ignore"):
        for seed in seeds:
            eager = nodes(seed)
            expected = _as_tuple(loss(*eager))
            expected[0].backward()
            for p, e in zip(params, eager):
                p.data, p.grad = e.data.copy(), None
            got = _as_tuple(step(*[e.data for e in eager[len(params):]]))
            for g, e in zip(got, expected, strict=True):  # the loss, and any output returned
                assert same_bits(g.data, e.data), seed
            for p, e in zip(params, eager):
                assert same_bits(p.grad, e.grad), (seed, p.shape)
    assert step.traces == 1 and step.calls == len(seeds) - 1
    return step.schedule()


def _as_tuple(returned):
    return returned if isinstance(returned, tuple) else (returned,)


DTYPES = [np.float64, np.float32]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("a", "b"), [((7, 1), (1, 5)), ((1, 1), (1, 6)), ((6, 1), (1, 1))])
def test_a_column_times_a_row_replays_as_matmul_computes_it(a, b, dtype):
    def loss(A, B, C):
        Y = A @ B
        return mf.sum(Y * C + C), Y  # Y itself: a −0 made +0 shows

    source = eager_and_replayed(loss, [a, b, (a[0], b[1])], dtype)
    assert "outer(" in source  # the forward's product


@pytest.mark.parametrize("dtype", DTYPES)
def test_rules_whose_product_is_a_column_times_a_row_replay_exactly(dtype):
    # Y = A·B with B: n×1, so Ā = Ȳ·Bᵀ is (m×1)(1×n); A: 1×n, so B̄ = Aᵀ·Ȳ is (n×1)(1×p)
    def loss(A, B, D, X):
        return mf.sum((A @ B) * X) + mf.sum((D @ B.T) @ A.T)

    source = eager_and_replayed(loss, [(6, 5), (5, 1), (1, 1), (6, 1)], dtype)
    assert source.count("outer(") >= 2


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_against_zeros_replays_exactly(dtype):
    def loss(W, X):
        return mf.sum(mf.relu(X @ W) * X[:, :1])

    source = eager_and_replayed(loss, [(4, 9), (11, 4)], dtype)
    assert "np.maximum(" in source and "zeros" in source


@pytest.mark.parametrize("dtype", DTYPES)
def test_relus_mask_from_y_replays_exactly_on_every_special_input(dtype):
    # A = W + X meets −0 (−0 + −0), ±∞, NaN and subnormals head on; the rule's mask is read
    # from Y as Y ≠ 0, which is the eager ~(A ≤ 0) entry by entry
    def loss(W, C, X):
        return mf.sum(mf.relu(W + X) * C), mf.relu(W + X)

    eager_and_replayed(loss, [(9, 7), (9, 7), (9, 7)], dtype, seeds=(0, 1, 2, 3))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("target_learns", [False, True])
def test_mse_loss_replays_exactly_each_reduction(reduction, target_learns, dtype):
    def loss(W, T, X):
        out = mf.mse_loss(X @ W, T if target_learns else X[:, :1] * 0.5, reduction=reduction)
        return out if reduction != "none" else mf.mean(out * 3.0)

    source = eager_and_replayed(loss, [(3, 1), (8, 1), (8, 3)], dtype)
    assert "np.subtract(" in source
    assert "mse_loss(" not in source  # the kernel, not the op's generic call


@pytest.mark.parametrize("dtype", DTYPES)
def test_mse_factor_is_folded_only_when_its_gradient_is_the_seed(dtype):
    at_root = eager_and_replayed(lambda W, X: mf.mse_loss(X @ W, X[:, :1]), [(2, 1), (5, 2)],
                                 dtype)
    scaled = eager_and_replayed(lambda W, X: 3.0 * mf.mse_loss(X @ W, X[:, :1]),
                                [(2, 1), (5, 2)], dtype)
    assert "factor" in at_root and "2.0 * (" not in at_root
    assert "factor" not in scaled and "2.0 * (" in scaled


def test_without_the_checks_the_plain_calls_run(monkeypatch):
    monkeypatch.setattr(kernels, "outer_is_exact", lambda: False)
    monkeypatch.setattr(kernels, "maximum_with_zeros_is_exact", lambda: False)
    source = eager_and_replayed(lambda A, B, X: mf.sum(mf.relu(A @ B) * X),
                                [(6, 1), (1, 4), (6, 4)], np.float64)
    assert "outer(" not in source and "zeros" not in source
    assert "np.matmul(" in source and "np.maximum(v" in source and ", 0" in source


def test_this_numpy_passes_both_checks():
    # if a NumPy release fails one, the replay still runs (the plain calls), only slower: this
    # test says which check to look at
    assert kernels.outer_is_exact()
    assert kernels.maximum_with_zeros_is_exact()


def test_outer_writes_into_out_as_matmul_would():
    a, b = special((5, 1), np.float64, 3), special((1, 4), np.float64, 4)
    out = np.full((5, 4), 7.0)
    with np.errstate(all="ignore"):
        result = kernels.outer(a, b, out=out)
        assert result is out and same_bits(out, np.matmul(a, b))


def test_zero_arrays_are_shared_and_counted_in_buffer_bytes():
    W1 = mf.Node(np.ones((3, 8)), requires_grad=True)
    W2 = mf.Node(np.ones((8, 8)), requires_grad=True)
    step = mf.replay(lambda X: mf.sum(mf.relu(mf.relu(X @ W1) @ W2)))
    step(np.ones((4, 3)))
    program = next(iter(step.programs.values()))
    relus = re.findall(r"np\.maximum\(\w+, (\w+)", step.schedule())
    assert relus == ["zeros", "zeros"]  # both relus, one 4×8 zero array
    assert program.buffer_bytes >= 4 * 8 * 8


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_slice_sends_its_gradient_back_through_one_scatter(dtype):
    source = eager_and_replayed(lambda W, X: mf.sum(mf.tanh((X @ W)[1:, 2:5]) * X[1:, :1]),
                                [(3, 8), (4, 3)], dtype)
    assert "scatter_into_zeros(" in source
