"""Hypothesis strategies for matrices: shapes, broadcast pairs and the domains rules live on.

    from hypothesis import given
    from matrixflow.testing import strategies as mst

    @given(mst.matrices(kind="spd", condition=100))
    def test_cholesky_works(S):
        np.linalg.cholesky(S)

Why Hypothesis and not a seed: a strategy draws the *sizes* (st.integers) and the *entries*
(st.floats, through hypothesis.extra.numpy.arrays) itself and only then applies a deterministic
map — mirror the upper triangle (symmetric), Q diag(λ) Qᵀ with Q from the QR of a drawn matrix
(SPD), U diag(σ) Vᵀ (near-singular). Hypothesis can therefore shrink a failure: sizes fall to
the smallest that still fail, entries to 0, 1 or the nearest simple float, the drawn factor of Q
to zero (and Q to I), the spectrum to its floor. A seed fed to a NumPy generator would shrink
only the seed, which says nothing about the failing matrix.

=================  =============================================  ============================
kind               what Hypothesis draws, then the map            promise
=================  =============================================  ============================
"general"          entries in [-10, 10]                           —
"positive"         entries in [0.1, 10]                           every entry > 0
"symmetric"        a square matrix M; triu(M) + triu(M, 1)ᵀ       A = Aᵀ bit for bit
"spd"              M and λ in [1, condition]; Q = qr(M), QΛQᵀ     eigenvalues in [1, condition]
                                                                  (to rounding), κ₂ ≤ condition
"orthogonal"       M; Q from M = QR, signs of diag R into Q       QᵀQ = I (to 1e-15)
"diagonal"         the diagonal, |d| in [0.5, 10], either sign    zero off the main diagonal
"near_singular"    U, V from two drawn M, σ in [1/condition, 1]   κ₂ = condition (default 10⁸)
                   with σ_max = 1, σ_min = 1/condition; UΣVᵀ      to rounding, min side ≥ 2
=================  =============================================  ============================

`elements` replaces the entries' strategy: the matrix itself for general, positive, symmetric
and diagonal; the matrix whose QR gives the orthogonal factor for spd, orthogonal and
near_singular (default [-1, 1]). The maps live in `matrixflow.verification.matrices`, beside
the NumPy generator `random_matrix` that draws the same kinds without Hypothesis.

Reproducible from a seed: Hypothesis' `@seed(n)` on a test makes it draw the same examples on
every run, `settings(derandomize=True)` (a profile, e.g. in conftest.py) makes every test do so,
and the example database (`.hypothesis/`) replays a failure first on the next run; the failing
example is printed, and `settings(print_blob=True)` gives a `@reproduce_failure` line for it.
"""

from __future__ import annotations

try:
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
except ImportError as error:  # the testing extra is optional: matrixflow itself needs NumPy only
    raise ImportError('matrixflow.testing.strategies needs Hypothesis: '
                      'pip install "matrixflow[testing]"') from error

import numpy as np

from ..verification.matrices import (
    SQUARE_KINDS,
    check_condition,
    check_kind,
    orthogonal_from,
    spd_from,
    symmetric_from,
    with_singular_values,
)

__all__ = ["broadcastable_pairs", "matrices", "shapes", "square_matrices"]


def _floats(low: float, high: float) -> st.SearchStrategy[float]:
    """Finite floats in [low, high], no subnormals (they test the FPU, not a gradient rule)."""
    return st.floats(low, high, allow_nan=False, allow_infinity=False, allow_subnormal=False)


DEFAULT_ELEMENTS = {
    "general": _floats(-10, 10),
    "positive": _floats(0.1, 10),
    "symmetric": _floats(-10, 10),
    # bounded away from zero so a square one is invertible; shrinks to 0.5
    "diagonal": st.one_of(_floats(0.5, 10), _floats(-10, -0.5)),
}
FACTOR_ELEMENTS = _floats(-1, 1)  # the matrix whose QR gives Q; shrinks to 0, so Q to I


def _side(value, minimum: int, max_side: int) -> st.SearchStrategy[int]:
    """A side as a strategy: None → integers(minimum, max_side), an int → just it."""
    if value is None:
        return st.integers(minimum, max(minimum, max_side))
    if isinstance(value, st.SearchStrategy):
        return value
    return st.just(int(value))


def shapes(max_side: int = 4, *, min_side: int = 1,
           square: bool = False) -> st.SearchStrategy[tuple[int, int]]:
    """Shapes (rows, cols) with sides in [min_side, max_side]; square ones when asked.

    Both sides shrink to min_side, so a failure is reported on the smallest shape that fails."""
    if not 1 <= min_side <= max_side:
        raise ValueError(f"shapes: need 1 <= min_side <= max_side, got {min_side}, {max_side}")
    side = st.integers(min_side, max_side)
    return side.map(lambda n: (n, n)) if square else st.tuples(side, side)


def matrices(shape=None, *, rows=None, cols=None, elements=None, kind: str = "general",
             condition: float | None = None,
             max_side: int = 4) -> st.SearchStrategy[np.ndarray]:
    """float64 matrices of one kind (the module's table), of a fixed or drawn shape.

    shape is a (rows, cols) tuple or a strategy of them; otherwise rows and cols (ints or
    strategies; drawn in [1, max_side] when None, [2, max_side] for near_singular) set it. For
    the square kinds (symmetric, spd, orthogonal) one side is drawn and used twice. condition
    is κ₂ for spd (a bound, default 10) and near_singular (exact, default 10⁸). A bad kind, a
    condition on a kind without one, or a fixed non-square shape for a square kind raises
    ValueError at once; a drawn shape is checked when drawn.
    """
    check_kind(kind, (2, 2))
    condition = check_condition(kind, condition)
    if shape is None:
        minimum = 2 if kind == "near_singular" else 1
        if kind in SQUARE_KINDS:
            shape = _side(rows if rows is not None else cols, minimum, max_side).map(
                lambda n: (n, n))
        else:
            shape = st.tuples(_side(rows, minimum, max_side), _side(cols, minimum, max_side))
    elif not isinstance(shape, st.SearchStrategy):
        shape = st.just(check_kind(kind, tuple(shape)))
    if elements is None:
        elements = DEFAULT_ELEMENTS.get(kind, FACTOR_ELEMENTS)
    return _matrix(shape, elements, kind, condition)


@st.composite
def _matrix(draw, shape, elements, kind: str, condition: float) -> np.ndarray:
    rows, cols = check_kind(kind, tuple(draw(shape)))

    def entries(size_or_shape):
        # fill=nothing(): every entry drawn on its own, so each shrinks on its own (with a fill
        # value, one shared value stands for most entries and shrinks for all of them at once)
        return draw(hnp.arrays(np.float64, size_or_shape, elements=elements, fill=st.nothing()))

    if kind in ("general", "positive"):
        return entries((rows, cols))
    if kind == "symmetric":
        return symmetric_from(entries((rows, rows)))
    if kind == "diagonal":
        size = min(rows, cols)
        matrix = np.zeros((rows, cols))
        matrix[np.arange(size), np.arange(size)] = entries(size)
        return matrix
    if kind == "orthogonal":
        return orthogonal_from(entries((rows, rows)))
    if kind == "spd":
        eigenvalues = draw(hnp.arrays(np.float64, rows, elements=_floats(1.0, condition)))
        return spd_from(orthogonal_from(entries((rows, rows))), eigenvalues)
    # near_singular: σ_max = 1 and σ_min = 1/condition fixed, the others drawn between
    u, v = orthogonal_from(entries((rows, rows))), orthogonal_from(entries((cols, cols)))
    inner = draw(hnp.arrays(np.float64, min(rows, cols) - 2,
                            elements=_floats(1.0 / condition, 1.0)))
    sigma = np.concatenate([[1.0], inner, [1.0 / condition]])
    return with_singular_values(u, sigma, v)


def square_matrices(max_side: int = 4, *, min_side: int = 1, kind: str = "general",
                    elements=None,
                    condition: float | None = None) -> st.SearchStrategy[np.ndarray]:
    """n×n matrices of a kind, n in [min_side, max_side]: `matrices` with a square shape.

    Use it for kinds that need not be square (general, positive, diagonal) when the formula
    under test does: inv, det, solve."""
    if kind == "near_singular":
        min_side = max(min_side, 2)
    return matrices(shapes(max_side, min_side=min_side, square=True), elements=elements,
                    kind=kind, condition=condition)


# matrixflow's element-wise ops broadcast (m, n) with (m, n), (1, n), (m, 1) and (1, 1), in
# either order; "outer" is (m, 1) with (1, n), which gives (m, n) too. The first case is what a
# failure shrinks to.
BROADCAST_CASES = ("same", "row", "column", "scalar", "outer")


@st.composite
def broadcastable_pairs(draw, max_side: int = 4, *,
                        outer: bool = True) -> tuple[tuple[int, int], tuple[int, int]]:
    """Two shapes that broadcast under matrixflow's (NumPy's 2-D) rule, in a random order.

    With (m, n) drawn: (m, n) & (m, n), (m, n) & (1, n) (a row), (m, n) & (m, 1) (a column),
    (m, n) & (1, 1) (a scalar), and, unless outer=False, (m, 1) & (1, n), whose result is
    (m, n) with both operands stretched. Shrinks to the same shape on both sides, then to
    (1, 1)."""
    rows, cols = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    case = draw(st.sampled_from(BROADCAST_CASES if outer else BROADCAST_CASES[:-1]))
    first, second = {
        "same": ((rows, cols), (rows, cols)),
        "row": ((rows, cols), (1, cols)),
        "column": ((rows, cols), (rows, 1)),
        "scalar": ((rows, cols), (1, 1)),
        "outer": ((rows, 1), (1, cols)),
    }[case]
    return (second, first) if draw(st.booleans()) else (first, second)
