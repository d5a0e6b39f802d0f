"""Two rewrites of the factors of an element-wise product, for simplify's ⊙ rule: a divisor
that is also a factor cancels, and equal factors become a power.  Kept apart from simplify.py
because they need nothing of the rest of the rules (and simplify.py stays one idea's size)."""

from __future__ import annotations

from .expr import Sym


def cancel_divisions(factors):
    """(a / d) ⊙ d = a: a divisor that is also a factor cancels (1 / d ⊙ d = 1)."""
    factors = list(factors)
    changed = True
    while changed:
        changed = False
        for i, f in enumerate(factors):
            if f.kind != "div":
                continue
            numerator, divisor = f.args
            for j, g in enumerate(factors):
                if j != i and g.same(divisor) and g.shape == f.shape:
                    factors[i] = numerator
                    del factors[j]
                    factors = [h for h in factors if not ((h.kind == "const" and h.attrs == 1)
                                                          or h.kind == "ones")]
                    changed = True
                    break
            if changed:
                break
    return factors


def merge_powers(factors):
    """X ⊙ X ⊙ Y = X⊙² ⊙ Y: equal factors (and powers of one base) become one power."""
    merged, order = {}, []
    for f in factors:
        base, p = (f.args[0], f.attrs) if f.kind == "power" else (f, 1.0)
        if base.key not in merged:
            merged[base.key] = [base, 0.0]
            order.append(base.key)
        merged[base.key][1] += p
    return [base if p == 1 else Sym("power", (base,), p, base.shape)
            for base, p in (merged[k] for k in order)]
