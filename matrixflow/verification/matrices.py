"""Random matrices with a promised structure, for checking gradients on the inputs that matter.

A gradient rule can be right on a generic matrix and wrong on a symmetric one (a missing
symmetrisation), or right in exact arithmetic and useless at condition number 10⁸. So a checker
should draw from each *domain* a formula lives on, not only from the standard normal:

======================  ===========================================================  =========
kind                    construction (G has i.i.d. N(0, 1) entries)                  square?
======================  ===========================================================  =========
``"general"``           scale·G; a square one is (almost surely) not symmetric,      no
                        so a missing transpose shows
``"positive"``          entries uniform in [low, high] (log, sqrt, division)         no
``"symmetric"``         scale·(G + Gᵀ)/2, exactly symmetric                          yes
``"spd"``               scale·Q diag(λ) Qᵀ, λ in [1, condition], λ_min = 1 and       yes
                        λ_max = condition, so κ₂ = condition (Cholesky, logdet)
``"orthogonal"``        Q from G = QR with the signs of diag(R) moved into Q         yes
                        (Haar-distributed: Mezzadri 2007)
``"diagonal"``          ± scale·u on the main diagonal, u uniform in [0.5, 2],       no
                        zero elsewhere (so it is invertible when square)
``"near_singular"``     scale·U diag(σ) Vᵀ, σ_max = 1, σ_min = 1/condition           no,
                        (default 10⁸): inv and solve lose ~8 digits here              ≥ 2×2
======================  ===========================================================  =========

The constructions that need an orthogonal factor or a spectrum are split out as deterministic
maps (`orthogonal_from`, `spd_from`, `with_singular_values`, `symmetric_from`), so that
`matrixflow.testing.strategies` builds the same domains from entries Hypothesis draws and can
shrink them; this module needs NumPy only.
"""

from __future__ import annotations

import numpy as np

KINDS = ("general", "positive", "symmetric", "spd", "orthogonal", "diagonal", "near_singular")
SQUARE_KINDS = ("symmetric", "spd", "orthogonal")
DEFAULT_CONDITION = {"spd": 10.0, "near_singular": 1e8}


def check_kind(kind: str, shape: tuple[int, int]) -> tuple[int, int]:
    """Validate a kind and a 2-D shape for it, with the reason in the error."""
    if kind not in KINDS:
        raise ValueError(f"unknown matrix kind {kind!r}: choose one of {', '.join(KINDS)}")
    if len(shape) != 2 or not all(isinstance(s, (int, np.integer)) and s >= 1 for s in shape):
        raise ValueError(f"{kind} matrix: shape must be two positive ints (rows, cols), "
                         f"got {shape!r}")
    rows, cols = int(shape[0]), int(shape[1])
    if kind in SQUARE_KINDS and rows != cols:
        raise ValueError(f"{kind} matrices are square: shape {(rows, cols)} is not; "
                         f"use ({rows}, {rows})")
    if kind == "near_singular" and min(rows, cols) < 2:
        raise ValueError(f"near_singular matrices need at least 2 rows and 2 columns, got "
                         f"{(rows, cols)}: a single singular value gives condition number 1")
    return rows, cols


def check_condition(kind: str, condition: float | None) -> float:
    """The condition number to use for kind: the default, or a checked user value."""
    if condition is None:
        return DEFAULT_CONDITION.get(kind, 1.0)
    if kind not in DEFAULT_CONDITION:
        raise ValueError(f"condition= applies to spd and near_singular matrices, not {kind}")
    condition = float(condition)
    if not np.isfinite(condition) or condition < 1 or (kind == "near_singular"
                                                       and condition <= 1):
        floor = "above 1" if kind == "near_singular" else "at least 1"
        raise ValueError(f"{kind} matrix: condition must be finite and {floor}, got {condition}")
    return condition


def symmetric_from(matrix: np.ndarray) -> np.ndarray:
    """The symmetric matrix with matrix's upper triangle: triu(M) + triu(M, 1)ᵀ.

    Mirroring keeps every entry one that was drawn (a Hypothesis-shrunk 1.5 stays 1.5), unlike
    (M + Mᵀ)/2, and the result is symmetric bit for bit."""
    matrix = np.asarray(matrix, dtype=float)
    return np.triu(matrix) + np.triu(matrix, 1).T


def orthogonal_from(matrix: np.ndarray) -> np.ndarray:
    """The orthogonal factor Q of matrix = QR, with sign(diag R) moved into Q.

    Householder QR returns an orthogonal Q for any square input, a singular or zero one too (the
    zero matrix gives I). Without the sign fix Q's distribution depends on LAPACK's sign
    convention; with it, a Gaussian input gives a Haar-distributed Q (Mezzadri 2007)."""
    q, r = np.linalg.qr(np.asarray(matrix, dtype=float))
    signs = np.sign(np.diag(r))
    signs[signs == 0] = 1.0
    return q * signs


def spd_from(orthogonal: np.ndarray, eigenvalues) -> np.ndarray:
    """S = Q diag(λ) Qᵀ, made exactly symmetric: its eigenvalues are λ, to rounding.

    With λ > 0 the matrix is symmetric positive definite and its 2-norm condition number is
    max λ / min λ, so bounding λ bounds κ₂(S)."""
    q = np.asarray(orthogonal, dtype=float)
    s = (q * np.asarray(eigenvalues, dtype=float)) @ q.T
    return (s + s.T) / 2


def with_singular_values(left: np.ndarray, singular_values, right: np.ndarray) -> np.ndarray:
    """A = U[:, :k] diag(σ) V[:, :k]ᵀ for orthogonal U (m×m), V (n×n), k = len(σ) = min(m, n).

    Its singular values are σ, so κ₂(A) = max σ / min σ."""
    sigma = np.asarray(singular_values, dtype=float)
    k = len(sigma)
    return (np.asarray(left, dtype=float)[:, :k] * sigma) @ np.asarray(right, dtype=float)[:, :k].T


def spectrum(size: int, condition: float, rng: np.random.Generator) -> np.ndarray:
    """size values in [1, condition] with 1 and condition both present (when size ≥ 2).

    The inner ones are log-uniform, so a condition of 10⁸ spreads its values over all eight
    decades rather than bunching them near the top."""
    if size == 1:
        return np.ones(1)
    inner = np.exp(rng.uniform(0.0, np.log(condition), size - 2))
    return np.concatenate([[condition], np.sort(inner)[::-1], [1.0]])


def random_matrix(kind: str, shape: tuple[int, int], rng=None, *,
                  condition: float | None = None, scale: float = 1.0,
                  low: float = 0.1, high: float = 2.0) -> np.ndarray:
    """A float64 matrix of the given kind and shape (see the module's table for the math).

    rng is a numpy Generator, or a seed for one (the same seed, the same matrix); condition is
    κ₂ for "spd" (default 10) and "near_singular" (default 10⁸); scale multiplies the result
    (for "spd" the eigenvalues become scale·[1, condition]) except for "orthogonal" (which a
    scale would spoil) and "positive", whose entries low and high bound.
    A bad kind, a non-square shape for a square kind, or a condition on a kind
    that has none raises ValueError.
    """
    rows, cols = check_kind(kind, shape)
    condition = check_condition(kind, condition)
    if kind == "positive" and not 0 < low <= high:
        raise ValueError(f"positive matrix: need 0 < low <= high, got low={low}, high={high}")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)

    if kind == "general":
        return scale * rng.standard_normal((rows, cols))
    if kind == "positive":
        return rng.uniform(low, high, (rows, cols))
    if kind == "symmetric":
        gaussian = rng.standard_normal((rows, rows))
        return scale * (gaussian + gaussian.T) / 2
    if kind == "orthogonal":
        return orthogonal_from(rng.standard_normal((rows, rows)))
    if kind == "diagonal":
        size = min(rows, cols)
        matrix = np.zeros((rows, cols))
        values = rng.uniform(0.5, 2.0, size) * rng.choice([-1.0, 1.0], size)
        matrix[np.arange(size), np.arange(size)] = scale * values
        return matrix
    if kind == "spd":
        q = orthogonal_from(rng.standard_normal((rows, rows)))
        return spd_from(q, scale * spectrum(rows, condition, rng))
    # near_singular: singular values from 1 down to exactly 1/condition
    u = orthogonal_from(rng.standard_normal((rows, rows)))
    v = orthogonal_from(rng.standard_normal((cols, cols)))
    sigma = spectrum(min(rows, cols), condition, rng) / condition
    return scale * with_singular_values(u, sigma, v)


def broadcast_shapes_for(shape: tuple[int, int]) -> list[tuple[int, int]]:
    """The shapes that broadcast against (m, n) to give (m, n): (m, n), (1, n), (m, 1), (1, 1).

    These are the cases matrixflow's element-wise ops support (NumPy's rule on 2-D arrays); the
    rule of each op sums the gradient back over the stretched axis. Duplicates (when m or n is
    1) appear once, in that order."""
    rows, cols = check_kind("general", shape)
    found = []
    for candidate in ((rows, cols), (1, cols), (rows, 1), (1, 1)):
        if candidate not in found:
            found.append(candidate)
    return found
