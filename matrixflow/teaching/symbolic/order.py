"""The order simplify writes a sum's terms in: by their text, as a matrix-calculus text does
(A + Aᵀ), printed with printers shared by every term that prints alike; a term too large to
print goes last, in an order fixed by its structure alone."""

from __future__ import annotations

import hashlib

from .expr import Sym, _freeze, postorder
from .printing import _Printer, text_size

SORT_TEXT = 20_000
"""Characters (estimated) up to which a term is sorted by its text.  Its own constant, not
printing.MAX_TEXT: raising the print limit must not change the order simplify writes."""

_LEAVES: dict = {}  # key → (every symbol one letter, some named constant): how it prints


def _leaves(x: Sym) -> tuple[bool, bool]:
    for node in postorder(x, skip=lambda n: n.key in _LEAVES):
        below = [_LEAVES[a.key] for a in node.args]
        _LEAVES[node.key] = (
            all(s for s, _ in below) and (node.kind != "symbol" or len(node.attrs) == 1),
            any(c for _, c in below) or node.kind == "matrix")
    return _LEAVES[x.key]


_DIGESTS: dict = {}  # key → a digest of the structure, the same in every process


def sort_key(term: Sym, printers: dict) -> tuple:
    """What simplify's _term_order sorts a term by after its sign: its text (A before Aᵀ,
    X⁻¹ before X⁻ᵀ) — or, for a term too large to print, after every printable term, by size
    and then a digest of its structure (not its key, which depends on what the process built
    before), so that the order, and a printed part, are the same in every run.  `printers`
    holds the shared printers, by compactness, for as long as the caller keeps it."""
    chars = text_size(term)[1]
    if chars <= SORT_TEXT:
        short, constants = _leaves(term)
        if constants:  # its own names for them (M₁, M₂): a printer of its own
            text = _Printer(term, False).render(term)[0]
        else:  # one printer, and its memo, for every term printed alike
            printer = printers.get(short) or printers.setdefault(short, _Printer(None, False,
                                                                                 short))
            text = printer.render(term)[0]
        text = text.replace("⁻ᵀ", "⁻¹ᵀ")  # X⁻¹ before X⁻ᵀ
        return False, text.replace("ᵀ", ""), text.count("ᵀ"), ""
    for node in postorder(term, skip=lambda n: n.key in _DIGESTS):
        entry = (node.kind, _freeze(node.attrs), node.shape,
                 tuple(_DIGESTS[a.key] for a in node.args))
        _DIGESTS[node.key] = hashlib.blake2b(repr(entry).encode(), digest_size=16).hexdigest()
    return True, "", chars, _DIGESTS[term.key]
