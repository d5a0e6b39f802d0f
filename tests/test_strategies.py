"""The matrix strategies and generators keep their promises, shrink small and replay by seed.

Each kind's promise is written once (PROMISES) and held both by what Hypothesis draws
(matrixflow.testing.strategies) and by the NumPy generator (verification.matrices)."""

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, find, given, seed, settings
from hypothesis import strategies as st

import matrixflow as mf
from matrixflow.testing import strategies as mst
from matrixflow.verification.matrices import (
    KINDS,
    broadcast_shapes_for,
    check_condition,
    random_matrix,
)

SETTINGS = settings(max_examples=50, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _symmetric(a, **_):
    assert a.shape[0] == a.shape[1]
    np.testing.assert_array_equal(a, a.T)  # bit for bit, not only to rounding


def _spd(a, condition, **_):
    _symmetric(a)
    eigenvalues = np.linalg.eigvalsh(a)
    slack = 1e-9 * condition  # Q is orthogonal to rounding, so λ moves by about κ·ε
    assert eigenvalues.min() >= 1 - slack and eigenvalues.max() <= condition + slack
    assert np.linalg.cond(a) <= condition * (1 + 1e-9)
    np.linalg.cholesky(a)  # raises LinAlgError unless positive definite


def _orthogonal(a, **_):
    np.testing.assert_allclose(a.T @ a, np.eye(len(a)), atol=1e-10)
    np.testing.assert_allclose(a @ a.T, np.eye(len(a)), atol=1e-10)


def _diagonal(a, **_):
    off = a.copy()
    np.fill_diagonal(off, 0.0)
    assert not off.any()
    assert np.all(np.abs(np.diag(a)) >= 0.5)  # away from zero: a square one is invertible


def _near_singular(a, condition, **_):
    assert min(a.shape) >= 2
    assert np.linalg.cond(a) >= 0.99 * condition  # exact up to rounding of σ_min = 1/κ
    assert np.linalg.svd(a, compute_uv=False)[0] == pytest.approx(1.0, rel=1e-9)


def _positive(a, low, high, **_):
    assert np.all(a >= low) and np.all(a <= high)


def _general(a, **_):
    assert np.all(np.isfinite(a))


PROMISES = {"general": _general, "positive": _positive, "symmetric": _symmetric, "spd": _spd,
            "orthogonal": _orthogonal, "diagonal": _diagonal, "near_singular": _near_singular}
CONDITIONS = {"spd": [10.0, 1e4], "near_singular": [1e8, 1e3]}


def _cases():
    return [pytest.param(kind, condition, id=f"{kind}-{condition}" if condition else kind)
            for kind in KINDS for condition in CONDITIONS.get(kind, [None])]


@pytest.mark.parametrize(("kind", "condition"), _cases())
def test_each_strategy_keeps_its_promise(kind, condition):
    @SETTINGS
    @given(mst.matrices(kind=kind, condition=condition))
    def check(a):
        assert a.dtype == np.float64 and a.ndim == 2 and 1 <= min(a.shape) <= max(a.shape) <= 4
        PROMISES[kind](a, condition=condition or check_condition(kind, None),
                       low=0.1, high=10.0)

    check()


@pytest.mark.parametrize(("kind", "condition"), _cases())
def test_each_numpy_generator_keeps_its_promise(kind, condition):
    rng = np.random.default_rng(0)
    for rows in range(2, 6):
        for cols in range(2, 6) if kind not in ("symmetric", "spd", "orthogonal") else [rows]:
            a = random_matrix(kind, (rows, cols), rng, condition=condition)
            assert a.shape == (rows, cols) and a.dtype == np.float64
            PROMISES[kind](a, condition=condition or check_condition(kind, None),
                           low=0.1, high=2.0)


def test_the_numpy_generators_say_what_their_parameters_do():
    # the same seed, the same matrix; spd's condition is exact, so the bound is attained
    np.testing.assert_array_equal(random_matrix("spd", (4, 4), 7), random_matrix("spd", (4, 4), 7))
    assert np.linalg.cond(random_matrix("spd", (5, 5), 1, condition=50)) == pytest.approx(50)
    eigenvalues = np.linalg.eigvalsh(random_matrix("spd", (3, 3), 1, scale=2.0, condition=4))
    np.testing.assert_allclose(eigenvalues[[0, -1]], [2.0, 8.0])
    general = random_matrix("general", (4, 4), 3)
    assert not np.allclose(general, general.T)  # a missing transpose would show
    positive = random_matrix("positive", (3, 3), 3, low=5, high=6)
    assert positive.min() >= 5 and positive.max() <= 6


@pytest.mark.parametrize(("call", "message"), [
    (lambda: random_matrix("hermitian", (2, 2)), "unknown matrix kind 'hermitian'"),
    (lambda: random_matrix("spd", (2, 3)), r"spd matrices are square: shape \(2, 3\)"),
    (lambda: random_matrix("orthogonal", (3, 1)), "orthogonal matrices are square"),
    (lambda: random_matrix("near_singular", (1, 4)), "at least 2 rows and 2 columns"),
    (lambda: random_matrix("general", (3,)), "two positive ints"),
    (lambda: random_matrix("spd", (2, 2), condition=0.5), "at least 1"),
    (lambda: random_matrix("general", (2, 2), condition=10), "condition= applies to spd"),
    (lambda: random_matrix("positive", (2, 2), low=-1), "0 < low <= high"),
    (lambda: mst.matrices(kind="spd", shape=(2, 3)), "spd matrices are square"),
    (lambda: mst.matrices(kind="lower"), "unknown matrix kind 'lower'"),
])
def test_a_bad_kind_or_shape_is_a_clear_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_square_matrices_and_fixed_shapes():
    @SETTINGS
    @given(mst.square_matrices(3, kind="positive"), mst.matrices((2, 5), kind="diagonal"),
           mst.matrices(rows=3, cols=st.integers(2, 3), kind="near_singular"))
    def check(square, rectangular, near_singular):
        assert square.shape[0] == square.shape[1] <= 3
        assert rectangular.shape == (2, 5)
        _diagonal(rectangular)
        assert near_singular.shape[0] == 3 and near_singular.shape[1] in (2, 3)

    check()


def test_broadcast_shapes_for_lists_the_four_cases():
    assert broadcast_shapes_for((3, 4)) == [(3, 4), (1, 4), (3, 1), (1, 1)]
    assert broadcast_shapes_for((1, 4)) == [(1, 4), (1, 1)]
    for shape in broadcast_shapes_for((3, 4)):
        assert np.broadcast_shapes((3, 4), shape) == (3, 4)
        assert (mf.Node(np.ones((3, 4))) + mf.Node(np.ones(shape))).shape == (3, 4)


@SETTINGS
@given(mst.broadcastable_pairs())
def test_broadcastable_pairs_broadcast_in_numpy_and_in_matrixflow(pair):
    first, second = pair
    expected = np.broadcast_shapes(first, second)
    a, b = mf.Node(np.ones(first), requires_grad=True), mf.Node(np.ones(second), requires_grad=True)
    total = (a + b).sum()
    total.backward()
    assert (a + b).shape == expected and (a * b).shape == expected
    assert a.grad.shape == first and b.grad.shape == second  # summed back to each operand


def test_broadcastable_pairs_reach_every_case():
    seen = set()

    @settings(max_examples=200, deadline=None, database=None)
    @given(mst.broadcastable_pairs(max_side=3))
    def collect(pair):
        first, second = sorted(pair, key=lambda s: (s != (3, 3), s))
        seen.add((first, second))

    collect()
    for case in [((3, 3), (3, 3)), ((3, 3), (1, 3)), ((3, 3), (3, 1)), ((3, 3), (1, 1)),
                 ((1, 3), (3, 1))]:
        assert case in seen or tuple(reversed(case)) in seen, case


FIND = settings(max_examples=500, database=None)


def test_a_failing_spd_case_shrinks_to_the_smallest_size_and_the_identity():
    found = find(mst.matrices(kind="spd", max_side=6), lambda s: s.shape[0] >= 3, settings=FIND)
    np.testing.assert_allclose(found, np.eye(3))  # λ shrink to 1 and Q's factor to 0 (Q = I)


def test_a_failing_general_case_shrinks_to_one_entry_just_past_the_bound():
    found = find(mst.matrices(max_side=6), lambda m: (m > 1).any(), settings=FIND)
    assert found.shape == (1, 1)
    assert 1 < found.item() <= 2


def test_a_failing_symmetric_case_shrinks_to_2x2_with_simple_entries():
    found = find(mst.matrices(kind="symmetric", max_side=6),
                 lambda m: m.shape[0] >= 2 and m[0, 1] < -1, settings=FIND)
    assert found.shape == (2, 2)
    assert -3 <= found[0, 1] < -1 and found[0, 0] == found[1, 1] == 0


def test_a_failing_near_singular_case_shrinks_to_2x2():
    found = find(mst.matrices(kind="near_singular", max_side=5),
                 lambda m: m.shape[1] >= 2, settings=FIND)
    assert found.shape == (2, 2)


def test_a_failing_pair_shrinks_to_the_simplest_broadcast():
    found = find(mst.broadcastable_pairs(), lambda p: p[0] != p[1], settings=FIND)
    assert sorted(found) in ([(1, 1), (1, 2)], [(1, 1), (2, 1)])


def _examples(seed_value):
    drawn = []

    @seed(seed_value)
    @settings(max_examples=10, deadline=None, database=None, derandomize=False)
    @given(mst.matrices(kind="spd"))
    def record(s):
        drawn.append(s.copy())

    record()
    return drawn


def test_seed_makes_the_examples_reproducible():
    first, again, other = _examples(1234), _examples(1234), _examples(99)
    assert len(first) == len(again) == 10
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not all(a.shape == b.shape and np.array_equal(a, b) for a, b in zip(first, other))


def test_without_hypothesis_the_import_error_names_the_extra():
    code = ("import sys; sys.modules['hypothesis'] = None\n"
            "import matrixflow.testing\n"  # the package itself needs no Hypothesis
            "try:\n    import matrixflow.testing.strategies\n"
            "except ImportError as error:\n    print(error)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert 'pip install "matrixflow[testing]"' in out
