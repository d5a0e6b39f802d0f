"""Element-wise functions Y = f(A): exp, log, sqrt, abs, sin, cos, tanh, sigmoid, relu,
leaky_relu, softplus, clamp.

All share one derivation: dY = f′(A) ⊙ dA, and tr(Ȳᵀ (f′(A) ⊙ dA)) = tr((Ȳ ⊙ f′(A))ᵀ dA) by the
Hadamard identity tr(Mᵀ(N⊙P)) = tr((M⊙N)ᵀP), so Ā = Ȳ ⊙ f′(A).  Each op below only says what
f′(A) is (often through Y, which the forward already computed).  At a kink (abs, relu and
leaky_relu at 0) the rule takes the value PyTorch takes.
"""

from __future__ import annotations

import numpy as np

from .base import Rule, apply1, defop, is_real_number, value


def _elementwise(name, summary, forward, derivative, fn, notes=""):
    """Define Y = f(A) from f′(A) (`derivative`, as text) and Ā = fn(G, Y, A, ...)."""
    return defop(
        name,
        family="element-wise",
        summary=summary,
        forward=forward,
        differential=f"dY = {derivative} ⊙ dA",
        rules=(
            Rule(
                "A",
                f"tr(Ȳᵀ ({derivative} ⊙ dA)) ={{hadamard}} tr((Ȳ ⊙ {derivative})ᵀ dA)",
                f"Ā = Ȳ ⊙ {derivative}",
                fn,
            ),
        ),
        notes=notes,
    )


def _stable_sigmoid(A):
    # 1/(1+e^−x) overflows for x ≪ 0; with e = e^−|x| both branches stay in (0, 1].  The
    # temporaries are written into one another: where(A ≥ 0, 1, e) / (1 + e), two arrays made
    e = np.abs(A)
    np.negative(e, out=e)
    np.exp(e, out=e)
    numerator = np.where(A >= 0, 1.0, e)
    np.add(1.0, e, out=e)
    return np.divide(numerator, e, out=numerator)


def _leaky_slope(A, negative_slope):
    return np.where(A > 0, 1.0, negative_slope).astype(A.dtype, copy=False)


EXP = _elementwise("exp", "Y = e^A", np.exp, "Y", lambda G, Y, A: G * Y)
LOG = _elementwise("log", "Y = ln A", np.log, "(1/A)", lambda G, Y, A: G / A)
SQRT = _elementwise("sqrt", "Y = √A", np.sqrt, "(1/(2Y))", lambda G, Y, A: G / (2.0 * Y))
ABS = _elementwise(
    "abs", "Y = |A|", np.abs, "sign(A)", lambda G, Y, A: G * np.sign(value(A)),
    notes="sign(0) = 0, as in PyTorch.",
)
SIN = _elementwise("sin", "Y = sin A", np.sin, "cos(A)", lambda G, Y, A: G * cos(A))
COS = _elementwise("cos", "Y = cos A", np.cos, "(−sin(A))", lambda G, Y, A: -(G * sin(A)))
TANH = _elementwise("tanh", "Y = tanh A", np.tanh, "(1 − Y ⊙ Y)",
                    lambda G, Y, A: G * (1.0 - Y * Y))
SIGMOID = _elementwise("sigmoid", "Y = σ(A) = 1/(1 + e^−A)", _stable_sigmoid, "Y ⊙ (1 − Y)",
                       lambda G, Y, A: G * (Y * (1.0 - Y)))
RELU = _elementwise(
    "relu", "Y = max(A, 0)", lambda A: np.maximum(A, 0), "[A > 0]",
    lambda G, Y, A: G * ~(value(A) <= 0),  # written so a NaN entry passes Ȳ on, as PyTorch
    notes="[A > 0] is 1 where A > 0 and 0 elsewhere (0 at A = 0, as in PyTorch).",
)
LEAKY_RELU = _elementwise(
    "leaky_relu", "Y = A where A > 0, s·A elsewhere (s = negative_slope, 0.01 by default)",
    lambda A, negative_slope: np.where(A > 0, A, A * negative_slope), "([A > 0] + s·[A ≤ 0])",
    lambda G, Y, A, negative_slope: G * _leaky_slope(value(A), negative_slope),
    notes="s at A = 0, as in PyTorch.",
)
SOFTPLUS = _elementwise("softplus", "Y = ln(1 + e^A)", lambda A: np.logaddexp(0, A), "σ(A)",
                        lambda G, Y, A: G * sigmoid(A))


def exp(x):
    """Y = e^x, element-wise."""
    return apply1(EXP, x)


def log(x):
    """Y = ln x, element-wise (NaN below 0, −inf at 0, as NumPy)."""
    return apply1(LOG, x)


def sqrt(x):
    """Y = √x, element-wise."""
    return apply1(SQRT, x)


def abs(x):
    """Y = |x|, element-wise."""
    return apply1(ABS, x)


def sin(x):
    """Y = sin x, element-wise."""
    return apply1(SIN, x)


def cos(x):
    """Y = cos x, element-wise."""
    return apply1(COS, x)


def tanh(x):
    """Y = tanh x, element-wise."""
    return apply1(TANH, x)


def sigmoid(x):
    """Y = σ(x) = 1/(1 + e^−x), element-wise, computed without overflow."""
    return apply1(SIGMOID, x)


def relu(x):
    """Y = max(x, 0), element-wise."""
    return apply1(RELU, x)


def leaky_relu(x, negative_slope=0.01):
    """Y = x where x > 0, negative_slope·x elsewhere (PyTorch's default slope 0.01)."""
    if not is_real_number(negative_slope):
        raise TypeError(
            f"leaky_relu: negative_slope must be a number, got {type(negative_slope).__name__}"
        )
    return apply1(LEAKY_RELU, x, {"negative_slope": float(negative_slope)})


def softplus(x):
    """Y = ln(1 + e^x), element-wise, computed as logaddexp(0, x) (no overflow)."""
    return apply1(SOFTPLUS, x)


# ---- clamp and where: selection by a constant mask -------------------------------------------
def _inside(A, low, high):
    """[low ≤ A ≤ high] (a side that is None does not bound), False at NaN, as PyTorch's rule.

    Written with comparisons and a product only, so a symbol passes through it as an array does
    and the closed form reads [A ≥ min] ⊙ [A ≤ max]."""
    if low is None:
        return A <= high
    if high is None:
        return A >= low
    return (A >= low) * (A <= high)


CLAMP = _elementwise(
    "clamp", "Y = A clipped to [min, max] (either bound may be absent), element-wise",
    lambda A, low, high: A.clip(low, high), "[min ≤ A ≤ max]",
    lambda G, Y, A, low, high: G * _inside(value(A), low, high),
    notes="[min ≤ A ≤ max] is 1 inside the bounds, bounds included, and 0 outside and at NaN, as "
    "PyTorch's rule; when min > max every entry is max (as torch.clamp) and the gradient 0.",
)


def clamp(x, min=None, max=None):
    """Y = x clipped to [min, max], as torch.clamp (min > max gives max everywhere)."""
    bounds = []
    for name, bound in (("min", min), ("max", max)):
        if bound is not None and not is_real_number(bound):
            raise TypeError(f"clamp: {name} must be a number or None, got {bound!r} (a bound "
                            "per entry is mf.where(x < low, low, x))")
        bounds.append(None if bound is None else float(bound))
    if bounds == [None, None]:
        raise ValueError("clamp: give min, max or both (at least one must not be None)")
    return apply1(CLAMP, x, {"low": bounds[0], "high": bounds[1]})
