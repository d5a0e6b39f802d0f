"""Each op's trace-trick derivation, step by step, in Unicode or LaTeX.

Everything printed here is assembled from the ops' own fields — the differential, each rule's
trace steps with the identity each one uses, its result — so a derivation can never drift from
the rule that runs.
"""

from __future__ import annotations

import re
import unicodedata

from ..ops.base import IDENTITIES, REGISTRY, Op

# ---- notation: Unicode (the README's) to LaTeX -------------------------------------------
_LATEX = [
    ("⁻ᵀ", r"^{-\top}"), ("⁻¹", r"^{-1}"), ("ᵀ", r"^{\top}"), ("⊙", r"\odot "),
    ("·", r"\cdot "), ("−", "-"), ("×", r"\times "), ("⇒", r"\Rightarrow "),
    ("→", r"\to "), ("≤", r"\leq "), ("≥", r"\geq "), ("≠", r"\ne "), ("∞", r"\infty "),
    ("¬", r"\neg "),
    ("σ", r"\sigma "), ("μ", r"\mu "), ("δ", r"\delta "), ("ε", r"\varepsilon "),
    ("Σ", r"\sum "), ("√", r"\sqrt "), ("…", r"\dots "), ("′", "'"), ("∗", "^{*}"),
    ("ᵢⱼ", "_{ij}"), ("ⱼ", "_j"), ("ᵢ", "_i"),  # the pair first: Tᵢⱼ is T_{ij}, not T_i_j
    ("²", "^2"), ("₁", "_1"), ("₂", "_2"), ("½", r"\frac{1}{2}"),
]
_WORDS = [("tr(", r"\operatorname{tr}("), ("adj(", r"\operatorname{adj}("),
          ("det ", r"\det "), ("det(", r"\det("), ("ln ", r"\ln "), ("exp(", r"\exp("),
          ("sin(", r"\sin("), ("cos(", r"\cos("), ("tanh(", r"\tanh("),
          ("sign(", r"\operatorname{sign}("),
          ("clip(", r"\operatorname{clip}("), ("log_softmax(", r"\operatorname{log\_softmax}("),
          ("softmax(", r"\operatorname{softmax}("), ("solve(", r"\operatorname{solve}("),
          ("sum(", r"\operatorname{sum}("), ("max(", r"\max("), ("mean(", r"\operatorname{mean}("),
          ("zeros(", r"\operatorname{zeros}("), ("ln(", r"\ln(")]


# A word of two or more letters is English, not math, unless it is a function applied to
# something (a name followed by "("), an operator written before its operand, or a
# differential (dA, dY).
_WORD = re.compile(r"(?<![\\\w-])(?:\d-D|[A-Za-z][A-Za-z'-]*[A-Za-z'](?:-\d)?)(?![\w'])")
_OPERATORS = {"ln", "det", "tr", "exp", "log", "sin", "cos", "tanh"}


def _is_prose(match, text) -> bool:
    word = match.group()
    if re.fullmatch(r"d[A-Z]\w*", word) or word in _OPERATORS:
        return False
    return text[match.end():match.end() + 1] != "("


def _prose_as_text(text: str) -> str:
    """Wrap each run of English words in \\text{…}, keeping the spaces around it: in math
    mode "summed over broadcast axes" would print as one italic product of letters."""
    words = [m for m in _WORD.finditer(text) if _is_prose(m, text)]
    spans = []
    for match in words:  # join words separated by spaces alone into one run
        if spans and text[spans[-1][1]:match.start()].isspace():
            spans[-1][1] = match.end()
        else:
            spans.append([match.start(), match.end()])
    for start, end in reversed(spans):
        before = " " if text[start - 1:start] == " " else ""
        after = " " if text[end:end + 1] == " " else ""
        text = f"{text[:start]}\\text{{{before}{text[start:end]}{after}}}{text[end:]}"
    return text


def to_latex(text: str) -> str:
    """The README's notation (Ȳ, ᵀ, ⊙, ·, ⁻¹ …) as LaTeX math, English words as \\text."""
    text = _prose_as_text(text)
    text = re.sub(r"(\w)\u0304", r"\\bar{\1}", text)  # Ȳ, Ā, B̄: a letter + combining macron
    text = text.replace("Ȳ", r"\bar{Y}").replace("Ā", r"\bar{A}")
    text = re.sub(r"\^\(([^()]*)\)", r"^{(\1)}", text)  # A^(p−1)
    text = re.sub(r"(?<![\\\w])([A-Z])\*", r"\1^{*}", text)  # S*, the adjoint of S
    text = re.sub(r"\b(im2col|col2im)\b", r"\\operatorname{\1}", text)  # with or without (
    for word, latex in _WORDS:
        text = text.replace(word, latex)
    for symbol, latex in _LATEX:
        text = text.replace(symbol, latex)
    return re.sub(r" +", " ", text).strip()


def _op(op) -> Op:
    if isinstance(op, Op):
        return op
    if op not in REGISTRY:
        raise KeyError(f"derivation: no op named {op!r}; the ops are {sorted(REGISTRY)}")
    return REGISTRY[op]


def _bar(operand: str) -> str:
    """Ā, B̄, X̄ …: the letter with a macron, precomposed where Unicode has it (as the rules
    write it)."""
    return unicodedata.normalize("NFC", operand + "\u0304")


# ---- derivation(op) ------------------------------------------------------------------------
def derivation(op, fmt: str = "text") -> str:
    """The trace-trick derivation of `op` (a name or an Op), step by step.

    fmt="text" (Unicode, the default) or "latex" (an align* environment).
    """
    op = _op(op)
    if fmt not in ("text", "latex"):
        raise ValueError(f"derivation: fmt must be 'text' or 'latex', got {fmt!r}")
    if fmt == "latex":
        return _latex_derivation(op)
    from .display import DerivationText  # prints as text, shows as LaTeX in a notebook

    return DerivationText(_text_derivation(op), _latex_derivation(op))


def _terms(op: Op) -> str:
    return " + ".join(rule.steps[0][0] for rule in op.rules).replace("+ −", "− ")


def _text_derivation(op: Op) -> str:
    lines = [f"{op.name}: {op.summary}", f"Shapes: {op.shapes}", "",
             "1. Differential", f"     {op.differential}",
             "2. Trace trick: L changes by dL = tr(Ȳᵀ dY), with Ȳ = ∂L/∂Y; by linearity",
             f"     dL = tr(Ȳᵀ dY) = {_terms(op)}"]
    for number, rule in enumerate(op.rules, start=3):
        bar = _bar(rule.operand)
        lines.append(f"{number}. Gradient of {rule.operand}: bring its term to the form "
                     f"tr({bar}ᵀ d{rule.operand})")
        width = max(len(expression) for expression, _ in rule.steps)
        for index, (expression, identity) in enumerate(rule.steps):
            prefix = "     " if index == 0 else "   = "
            reason = f"   {IDENTITIES[identity]}" if identity else ""
            lines.append(f"{prefix}{expression.ljust(width)}{reason}".rstrip())
        lines.append(f"   ⇒ {rule.result}")
    if op.notes:
        lines += ["", f"Note: {op.notes}"]
    return "\n".join(lines)


def _latex_derivation(op: Op) -> str:
    rows = [r"dY &= " + to_latex(op.differential.removeprefix("dY = ")),
            r"dL &= \operatorname{tr}(\bar{Y}^{\top} dY) = " + to_latex(_terms(op))]
    for rule in op.rules:
        for index, (expression, identity) in enumerate(rule.steps):
            reason = r" && \text{" + identity + "}" if identity else ""
            left = to_latex(expression) if index == 0 else ""
            right = "" if index == 0 else "= " + to_latex(expression)
            rows.append(f"{left} &{right}{reason}" if index else f"{left} &")
        rows.append(r"\Rightarrow\ " + to_latex(rule.result).replace(" = ", " &= ", 1))
    body = " \\\\\n".join(rows)
    head = rf"% {op.name}: {to_latex(op.summary)}"
    return f"{head}\n\\begin{{align*}}\n{body}\n\\end{{align*}}"
