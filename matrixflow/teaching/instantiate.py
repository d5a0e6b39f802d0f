"""The op table's derivation text instantiated with a user's expressions.

A rule's trace steps are written in the op's formal names — "tr(Ȳᵀ dA·B) ={cyclic}
tr(B·Ȳᵀ dA)" — A and B the operands, Y the result, Ȳ its adjoint.  `instantiate` writes the
user's expressions in their place (parenthesised where a factor needs it: (Xb)ᵀ, not Xbᵀ), so a
worked derivation shows the very steps the op table derives, in the user's symbols, and never
an op's formal name beside a user's own.
"""

from __future__ import annotations

import re

from ..ops.base import _parse_steps
from .derivation import to_latex
from .symbolic import Sym
from .symbolic.printing import latex_or_note

# sum and mean print one variant of their steps (axis 0); the derivation shows the one used
_AXIS_STEPS = {
    ("sum", None): "tr(Ȳᵀ·1ᵀ·dA·1) ={cyclic} tr(1·Ȳᵀ·1ᵀ·dA) ={transpose} tr((1·Ȳ·1ᵀ)ᵀ dA)",
    ("sum", 1): "tr(Ȳᵀ·dA·1) ={cyclic} tr(1·Ȳᵀ·dA) ={transpose} tr((Ȳ·1ᵀ)ᵀ dA)",
    ("mean", None): "tr(Ȳᵀ·(1/k)·1ᵀ·dA·1) ={cyclic} tr((1/k)·1·Ȳᵀ·1ᵀ·dA) ={transpose} "
                    "tr(((1/k)·1·Ȳ·1ᵀ)ᵀ dA)",
    ("mean", 1): "tr(Ȳᵀ·(1/k)·dA·1) ={cyclic} tr((1/k)·1·Ȳᵀ·dA) ={transpose} "
                 "tr(((1/k)·Ȳ·1ᵀ)ᵀ dA)",
}
_AXIS_DIFFERENTIALS = {("sum", None): "dY = 1ᵀ·dA·1", ("sum", 0): "dY = 1ᵀ·dA",
                       ("sum", 1): "dY = dA·1", ("mean", None): "dY = (1/k)·1ᵀ·dA·1",
                       ("mean", 0): "dY = (1/k)·1ᵀ·dA", ("mean", 1): "dY = (1/k)·dA·1"}


def rule_steps(op, rule, attrs):
    """The rule's steps [(line, identity)], in the variant its constants select."""
    axis = (attrs or {}).get("axis")
    variant = _AXIS_STEPS.get((op.name, axis))
    return _parse_steps(variant) if variant else rule.steps


def differential(op, attrs):
    """The op's differential, in the variant its constants select."""
    return _AXIS_DIFFERENTIALS.get((op.name, (attrs or {}).get("axis")), op.differential)


_FORMAL = re.compile(r"Ȳ|(?<![A-Za-z_])d?[A-Z](?![a-z_(])")
_POSTFIX = re.compile(r"(ᵀ|⁻¹|⁻ᵀ|⊙²|⊙³)+$")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9₀-₉]*|1|0|I")
_INDEXED = re.compile(r"([A-Za-z][A-Za-z0-9₀-₉]*)\[[^\[\]]*\]")
_CALL = re.compile(r"(?:[A-Za-zσ_]+ ?)?\(.*\)")


def _closes_at_end(text: str) -> bool:
    """Whether the first "(" of `text` is closed by its last character."""
    depth = 0
    for index, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and char == ")":
            return index == len(text) - 1
    return False


def atomic(text: str, names, postfix: bool = True) -> bool:
    """One factor: a name, a call f(…), a group (…), and with `postfix` any of them followed by
    ᵀ, ⁻¹ or ⊙² (compact products such as Xb are not names: `names` are the symbols')."""
    if postfix:
        text = _POSTFIX.sub("", text)
    if text in names or text in ("1", "0", "I"):
        return True
    indexed = _INDEXED.fullmatch(text)  # X[0:2, 1] is one factor
    if indexed and indexed.group(1) in names:
        return True
    return bool(_CALL.fullmatch(text)) and _closes_at_end(text)


def wrap(text: str, names=(), postfix: bool = True) -> str:
    """`text` in parentheses unless it reads as one factor."""
    return text if atomic(text, names, postfix) else f"({text})"


def _differential_of(text: str, names) -> str:
    """dX, d exp(Xb), d(Xb): the differential of a printed expression."""
    if text in names:
        return "d" + text
    return "d " + text if atomic(text, names, postfix=False) and not text.startswith("(") \
        else "d" + wrap(text, names, postfix=False)


def instantiate(line, names, output, adjoint, attrs, known, latex=False) -> str:
    """The op table's `line` with its formal operands (names: formal letter → the user's
    expression, a Sym), Y (`output`, the node itself), dA, dY and Ȳ (the adjoint) written
    out; `known` are the symbols' and constants' names.  With `latex`, the line in LaTeX: the
    op table's text through `to_latex`, each expression by its own printer."""
    unit = adjoint is not None and adjoint.kind == "const" and adjoint.attrs == 1.0
    if unit:  # Ȳ = 1: drop it where it multiplies, as a text writes tr(aᵀ d…) for tr(1ᵀ aᵀ d…)
        line = re.sub(r"Ȳᵀ\s*·?\s*|Ȳ\s*·\s*|\s*·\s*Ȳ(?![ᵀ_])|Ȳ ⊙ | ⊙ Ȳ(?![ᵀ_])", "", line)
    exponent = (attrs or {}).get("exponent")
    if exponent is not None:
        line = line.replace("(p−1)", _plain(exponent - 1)).replace("p·", _plain(exponent) + "·")
    everything = {**names, "Y": output}
    pieces = []  # the expressions, for LaTeX: marked in the text, printed at the end

    def shown(expression: Sym, text: str) -> str:
        if not latex:
            return text
        pieces.append(latex_or_note(expression))
        return f"\ue000{chr(0xE100 + len(pieces) - 1)}\ue001"

    def replace(match):
        token, after = match.group(), line[match.end():match.end() + 1]
        postfix = after not in ("ᵀ", "⁻", "^")  # Aᵀ with A = Xᵀ needs (Xᵀ)ᵀ
        if token == "Ȳ":
            if unit:
                return "1"
            expression = adjoint
        elif token.startswith("d") and token[1:] in everything:
            expression = everything[token[1:]]
            text = str(expression)
            if text in known:
                return "d" + shown(expression, text)
            if atomic(text, known, postfix=False) and not text.startswith("("):
                return "d " + shown(expression, text)
            return "d(" + shown(expression, text) + ")"
        elif token in everything:
            expression = everything[token]
        else:
            return token
        text = str(expression)
        wrapped = not atomic(text, known, postfix)
        return f"({shown(expression, text)})" if wrapped else shown(expression, text)

    text = re.sub(r"\^1(?![\d.])", "", _FORMAL.sub(replace, line))
    if not latex:
        return _double_transposes(text, known)
    # the same (Mᵀ)ᵀ = M as the text, each marked expression reading as one factor
    markers = {f"\ue000{chr(0xE100 + i)}\ue001" for i in range(len(pieces))}
    text = to_latex(_double_transposes(text, set(known) | markers))
    return re.sub("\ue000(.)\ue001", lambda m: "{" + pieces[ord(m.group(1)) - 0xE100] + "}",
                  text)


def _double_transposes(text: str, known) -> str:
    """(Mᵀ)ᵀ written as M, and (M) as M for a name M: what the instantiation leaves behind."""
    changed = True
    while changed:
        changed = False
        for end in [m.start() for m in re.finditer("ᵀ\\)ᵀ", text)]:
            depth, start = 0, None
            for index in range(end + 1, -1, -1):
                depth += {")": 1, "(": -1}.get(text[index], 0)
                if depth == 0:
                    start = index
                    break
            inner = text[start + 1:end] if start is not None else ""
            if start is not None and atomic(inner, known):
                text = text[:start] + inner + text[end + 3:]
                changed = True
                break
    text = _double_parentheses(text)
    return re.sub(r"(?<![A-Za-zσ_])\(([A-Za-z][A-Za-z0-9₀-₉]*|1|I)\)",
                  lambda m: m.group(1) if m.group(1) in known or m.group(1) in "1I"
                  else m.group(), text)


def _double_parentheses(text: str) -> str:
    """((M)) written as (M)."""
    index = text.find("((")
    while index >= 0:
        depth, close = 0, None
        for position in range(index + 1, len(text)):
            depth += {"(": 1, ")": -1}.get(text[position], 0)
            if depth == 0:
                close = position
                break
        if close is not None and text[close + 1:close + 2] == ")":
            text = text[:index] + text[index + 1:close + 1] + text[close + 2:]
        else:
            index += 1
        index = text.find("((", index)
    return text


def _plain(number) -> str:
    return str(int(number)) if float(number).is_integer() else f"{number:g}"


