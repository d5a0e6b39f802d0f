"""Is a claimed gradient right, and if not, which classic slip is it?  NumPy only.

A claimed gradient G̃ is compared with the true one G on several random draws of the inputs
(square matrices not symmetric, so a missing transpose shows).  Each test is an exact fit over
all the draws at once, to `rtol` relative to the entries' scale; the first that fits names the
slip:

    right            G̃ = G on every draw
    transposed       G̃ = c·Gᵀ (c = 1, or the slip is also a factor c; G square, not symmetric)
    sign             G̃ = −G
    constant factor  G̃ = c·G with one c for every draw (the 2 of a quadratic form: c = 1/2)
    symmetric only   G̃ ≠ G, but G̃ = G once the square inputs named are replaced by their
                     symmetric parts (M + Mᵀ)/2 on fresh draws: 2AX for (A + Aᵀ)X, AB for AᵀBᵀ
                     — or, from the terms below, G̃ counts one term twice in place of another:
                     2Xabᵀ for X(abᵀ + baᵀ)
    missing term     G = Σ Tᵢ (the caller's terms) and G̃ = Σ sᵢTᵢ with every sᵢ ∈ {0, 1}:
                     AX for (A + Aᵀ)X; sᵢ ∈ {1, −1} is a term of the wrong sign ("sign")
    extra term       G̃ = Σ Cⱼ (the claimed's terms) and G = Σ uⱼCⱼ with every uⱼ ∈ {0, 1}
    unknown          none of these: wrong, no classic slip found (never a guess)

The coefficients sᵢ, uⱼ come from least squares over the stacked draws, rounded and then held to
the same exact fit, so a fit by chance is not taken for a slip.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from itertools import combinations

import numpy as np

KINDS = ("right", "shape", "transposed", "sign", "constant factor", "symmetric only",
         "missing term", "extra term", "unknown")


@dataclass
class Counterexample:
    """Inputs on which the claimed gradient and the true one differ, with both values; `entry`
    is the (row, column) where they differ most (None when their shapes differ)."""

    values: dict
    claimed: np.ndarray
    true: np.ndarray
    entry: tuple | None = None


@dataclass
class SlipDiagnosis:
    """The verdict: `kind` (one of KINDS), a `message` in words, the `factor` c of a transposed
    or constant-factor slip, the `terms` missing, extra or of the wrong sign, the inputs that
    must be `symmetric` for the claim to hold, and a `counterexample` when it is wrong."""

    kind: str
    message: str
    factor: float | None = None
    terms: tuple = ()
    symmetric: tuple = ()
    counterexample: Counterexample | None = None
    worst: float = 0.0  # the largest |G̃ − G| relative to the scale of G, over the draws
    notes: list = field(default_factory=list)

    @property
    def right(self) -> bool:
        return self.kind == "right"


def nice_number(c: float) -> str:
    """2, 1/2, −2, −1/3 when c is such a fraction (denominator ≤ 12), else 6 digits."""
    fraction = Fraction(c).limit_denominator(12)
    if abs(float(fraction) - c) <= 1e-6 * max(1.0, abs(c)):
        text = str(fraction)
    else:
        text = f"{c:.6g}"
    return text.replace("-", "−")


def diagnose_slip(claimed, true, draws, *, terms=(), claimed_terms=(), small_draws=(),
                  rtol=1e-8) -> SlipDiagnosis:
    """Compare `claimed(values)` with `true(values)` (2-D arrays) on each dict of `draws`.

    `terms` are (label, function) pairs whose sum is the true gradient, `claimed_terms` the same
    for the claimed one (both optional: without them missing and extra terms are not looked
    for).  `small_draws` are inputs with small integer entries, tried first for the
    counterexample so that it can be checked by hand.
    """
    draws = list(draws)
    if not draws:
        raise ValueError("diagnose_slip: give at least one draw of the inputs")
    with np.errstate(all="ignore"):
        return _diagnose(claimed, true, draws, list(terms), list(claimed_terms),
                         list(small_draws), rtol)


def _values(function, draws):
    return [np.asarray(function(values), dtype=np.float64) for values in draws]


def _fits(claimed, target, rtol):
    """Each claimed matrix equal to its target to rtol, relative to the larger of the two."""
    for c, t in zip(claimed, target):
        if c.shape != t.shape or not np.all(np.isfinite(c)):
            return False
        scale = max(np.abs(t).max(initial=0.0), np.abs(c).max(initial=0.0))
        if np.abs(c - t).max(initial=0.0) > rtol * scale + 1e-300:
            return False
    return True


def _ratio(claimed, target):
    """The least-squares c in claimed ≈ c·target over all draws (None when target is 0)."""
    c = np.concatenate([x.ravel() for x in claimed])
    t = np.concatenate([x.ravel() for x in target])
    norm = float(t @ t)
    return None if norm == 0 else float(c @ t) / norm


def _combination(columns, target, rtol, allowed):
    """Coefficients s (each in `allowed`) with target = Σ sᵢ·columns[i] on every draw, or None."""
    matrix = np.column_stack([np.concatenate([x.ravel() for x in col]) for col in columns])
    stacked = np.concatenate([x.ravel() for x in target])
    if not np.all(np.isfinite(matrix)) or not np.all(np.isfinite(stacked)):
        return None
    solution, *_ = np.linalg.lstsq(matrix, stacked, rcond=None)
    allowed = np.asarray(allowed, dtype=np.float64)
    rounded = allowed[np.abs(solution[:, None] - allowed[None, :]).argmin(axis=1)]
    fitted = [sum(s * col[d] for s, col in zip(rounded, columns)) for d in range(len(target))]
    return rounded if _fits(fitted, target, rtol) else None


def _square_names(values):
    return [name for name, v in values.items()
            if np.ndim(v) == 2 and v.shape[0] == v.shape[1] > 1]


def _symmetrised(draws, names):
    return [{k: (v + v.T) / 2 if k in names else v for k, v in values.items()}
            for values in draws]


def _worst(claimed, true):
    worst = 0.0
    for c, t in zip(claimed, true):
        if c.shape == t.shape:
            scale = max(np.abs(t).max(initial=0.0), 1e-300)
            worst = max(worst, float(np.abs(c - t).max(initial=0.0)) / scale)
    return worst


def _counterexample(claimed, true, draws, small_draws, rtol):
    for values in [*small_draws, *draws]:
        try:
            c = np.asarray(claimed(values), dtype=np.float64)
            t = np.asarray(true(values), dtype=np.float64)
        except (np.linalg.LinAlgError, ValueError, ZeroDivisionError):
            continue
        if not np.all(np.isfinite(t)):
            continue
        if c.shape != t.shape:
            return Counterexample(values, c, t, None)
        if not _fits([c], [t], rtol):
            difference = np.where(np.isfinite(c), np.abs(c - t), np.inf)
            entry = np.unravel_index(int(np.argmax(difference)), t.shape)
            return Counterexample(values, c, t, tuple(int(i) for i in entry))
    return None


def _names(names):
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _diagnose(claimed_fn, true_fn, draws, terms, claimed_terms, small_draws, rtol):
    true = _values(true_fn, draws)
    if not all(np.all(np.isfinite(t)) for t in true):
        raise ValueError("diagnose_slip: the true gradient is not finite on the draws given")
    claimed = _values(claimed_fn, draws)

    def verdict(kind, message, **extra):
        example = None if kind == "right" else _counterexample(
            claimed_fn, true_fn, draws, small_draws, rtol)
        return SlipDiagnosis(kind, message, counterexample=example,
                             worst=_worst(claimed, true), **extra)

    shape, claimed_shape = true[0].shape, claimed[0].shape
    if claimed_shape != shape:
        said = (f"your answer is {'×'.join(map(str, claimed_shape)) or 'a scalar'}, the "
                f"gradient {'×'.join(map(str, shape)) or 'a scalar'}")
        if claimed_shape == shape[::-1]:
            found = _as_transposed(claimed, true, rtol)
            if found is not None:
                return verdict("transposed", f"{said}: {found[1]}", factor=found[0])
            return verdict("shape", f"{said} (and its transpose does not match either)")
        return verdict("shape", said)
    if not all(np.all(np.isfinite(c)) for c in claimed):
        return verdict("unknown", "your answer is not finite on inputs where the "
                                  "gradient is; no classic slip found")
    if _fits(claimed, true, rtol):
        return verdict("right", f"it agrees with the gradient on {len(draws)} random "
                                f"draws of the inputs")
    symmetric_true = all(_fits([t.T], [t], rtol) for t in true)
    if len(shape) == 2 and shape[0] == shape[1] > 1 and not symmetric_true:
        found = _as_transposed(claimed, true, rtol)
        if found is not None:
            return verdict("transposed", found[1], factor=found[0])
    c = _ratio(claimed, true)
    if c is not None and _fits(claimed, [c * t for t in true], rtol):
        if abs(c + 1) <= 1e-6:
            return verdict("sign", "your answer is −(the gradient)", factor=-1.0)
        if abs(c) > 1e-12:
            return verdict("constant factor", f"your answer is {nice_number(c)}·(the "
                                              "gradient)", factor=c)
    found = _symmetric_only(claimed_fn, true_fn, draws, rtol)
    if found is not None:
        plural = "are" if len(found) > 1 else "is"
        return verdict("symmetric only", f"your answer is right only when "
                                         f"{_names(found)} {plural} symmetric", symmetric=found)
    if len(terms) > 1:
        found = _from_terms(claimed, terms, draws, rtol)
        if found is not None:
            kind, labels, message = found
            notes = _when_symmetric(claimed_fn, true_fn, draws, rtol)
            return verdict(kind, message + "".join(f"; {n}" for n in notes), terms=labels,
                           notes=notes)
    if len(claimed_terms) > 1:
        columns = [_values(fn, draws) for _, fn in claimed_terms]
        s = _combination(columns, true, rtol, (0.0, 1.0))
        if s is not None and 0 in s:
            labels = tuple(label for (label, _), si in zip(claimed_terms, s) if si == 0)
            return verdict("extra term", f"without {_names(labels)} your answer would be "
                                         "right", terms=labels)
    return verdict("unknown", "no classic slip found")


def _as_transposed(claimed, true, rtol):
    """(c, message) when claimed = c·trueᵀ on every draw, else None."""
    flipped = [t.T for t in true]
    c = _ratio(claimed, flipped)
    if c is None or abs(c) < 1e-12 or not _fits(claimed, [c * t for t in flipped], rtol):
        return None
    if abs(c - 1) <= 1e-6:
        return 1.0, "your answer is (the gradient)ᵀ"
    if abs(c + 1) <= 1e-6:
        return c, "your answer is −(the gradient)ᵀ: transposed and the wrong sign"
    return c, f"your answer is {nice_number(c)}·(the gradient)ᵀ: transposed and off by a factor"


def _symmetric_only(claimed_fn, true_fn, draws, rtol):
    """The fewest square inputs whose symmetric parts make the claim right, or None."""
    square = _square_names(draws[0])
    sizes = range(1, len(square) + 1) if len(square) <= 4 else [len(square)]
    for size in sizes:
        for names in combinations(square, size):
            fresh = _symmetrised(draws, set(names))
            try:
                true = _values(true_fn, fresh)
                claimed = _values(claimed_fn, fresh)
            except (np.linalg.LinAlgError, ValueError, ZeroDivisionError):
                continue
            if all(np.all(np.isfinite(t)) for t in true) and _fits(claimed, true, rtol):
                return names
    return None


def _when_symmetric(claimed_fn, true_fn, draws, rtol):
    """A note when the claim is a constant multiple of the gradient once the fewest square
    inputs are symmetric."""
    square = _square_names(draws[0])
    sizes = range(1, len(square) + 1) if len(square) <= 4 else [len(square)]
    for names in (n for size in sizes for n in combinations(square, size)):
        fresh = _symmetrised(draws, set(names))
        try:
            true, claimed = _values(true_fn, fresh), _values(claimed_fn, fresh)
        except (np.linalg.LinAlgError, ValueError, ZeroDivisionError):
            continue
        c = _ratio(claimed, true)
        if c is not None and abs(c) > 1e-12 and _fits(claimed, [c * t for t in true], rtol):
            break
    else:
        return []
    where = f"for symmetric {_names(list(names))}"
    if abs(c - 1) <= 1e-6:
        return [f"{where} your answer is right"]
    return [f"{where} your answer is {nice_number(c)}·(the gradient)"]


def _from_terms(claimed, terms, draws, rtol):
    """(kind, labels, message) when claimed = Σ sᵢTᵢ with sᵢ ∈ {0, 1} (a term missing),
    sᵢ ∈ {1, −1} (a term of the wrong sign), or one term twice in place of another (taking a
    matrix for its transpose: "symmetric only"), else None."""
    columns = [_values(fn, draws) for _, fn in terms]
    s = _combination(columns, claimed, rtol, (-1.0, 0.0, 1.0, 2.0))
    if s is None or np.all(s == 1):
        return None
    labels = [label for label, _ in terms]
    if sorted(s) == [0.0, *[1.0] * (len(s) - 2), 2.0]:  # 2Xabᵀ for X(abᵀ + baᵀ)
        twice, instead = labels[int(np.argmax(s))], labels[int(np.argmin(s))]
        return "symmetric only", (twice, instead), (
            f"your answer counts {twice} twice in place of {twice} + {instead}: right only "
            f"where the two are equal (a symmetric matrix taken for its transpose)")
    missing = tuple(label for label, si in zip(labels, s) if si == 0)
    flipped = tuple(label for label, si in zip(labels, s) if si == -1)
    if missing and not flipped and len(missing) < len(labels):
        word, verb = ("terms", "are") if len(missing) > 1 else ("term", "is")
        return "missing term", missing, (f"the {word} {_names(missing)} {verb} missing: the "
                                         f"gradient is the sum of {_names(labels)}")
    if flipped and not missing:
        word, verb = ("terms", "have") if len(flipped) > 1 else ("term", "has")
        return "sign", flipped, (f"the {word} {_names(flipped)} {verb} the wrong sign: "
                                 f"the gradient is the sum of {_names(labels)}")
    return None
