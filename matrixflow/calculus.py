"""Teaching: each op's derivation step by step, the backward walk of a graph, the graph as DOT.

Everything printed here is assembled from the ops' own fields — the differential, each rule's
trace steps with the identity each one uses, its result — so a derivation can never drift from
the rule that runs.
"""

from __future__ import annotations

import re
import unicodedata

from .autograd import _topological_order
from .node import Node
from .ops.base import IDENTITIES, REGISTRY, Op
from .symbolic.expr import Sym

# ---- notation: Unicode (the README's) to LaTeX -------------------------------------------
_LATEX = [
    ("⁻ᵀ", r"^{-\top}"), ("⁻¹", r"^{-1}"), ("ᵀ", r"^{\top}"), ("⊙", r"\odot "),
    ("·", r"\cdot "), ("−", "-"), ("×", r"\times "), ("⇒", r"\Rightarrow "),
    ("→", r"\to "), ("≤", r"\leq "), ("≥", r"\geq "), ("≠", r"\ne "), ("∞", r"\infty "),
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
    return _latex_derivation(op) if fmt == "latex" else _text_derivation(op)


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


# ---- explain(y) --------------------------------------------------------------------------
def _labels(order, root):
    """A readable name for every node: its own name, else x1, x2 … for leaves and v1, v2 … for
    results, numbered in the order the forward computed them."""
    labels, leaves, results = {}, 0, 0
    for node in order:
        if node.name:
            labels[id(node)] = node.name
        elif node.op is None:
            leaves += 1
            labels[id(node)] = f"x{leaves}"
        else:
            results += 1
            labels[id(node)] = "Y" if node is root else f"v{results}"
    return labels


def _all_nodes(root):
    """Every node under `root` (constants too), each after its operands."""
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for child in (node.right, node.left):
            if child is not None and id(child) not in seen:
                stack.append((child, False))
    return order


def _shape(node) -> str:
    rows, cols = node.shape
    return f"{rows}×{cols}"


def _constants(attrs) -> str:
    """The constants of a node worth reading beside its op, "kernel=(2, 2), stride=(2, 2)":
    numbers, words and tuples of numbers (an axis, a slope, an image op's geometry); not
    arrays (a mask, running statistics, indices) nor what is None."""
    shown = []
    for key, setting in (attrs or {}).items():
        if isinstance(setting, tuple) and all(isinstance(v, (int, float)) for v in setting):
            shown.append(f"{key}={setting}")
        elif isinstance(setting, float):
            shown.append(f"{key}={setting:g}")
        elif isinstance(setting, (int, str)):
            shown.append(f"{key}={setting!r}")
    return ", ".join(shown)


def _result(rule, node) -> str:
    """The rule's result as it applies to this node: an op whose rule reads differently by its
    constants (batch_norm with batch or running statistics) gives the variant used."""
    result_for = getattr(rule, "result_for", None)
    return rule.result if result_for is None else result_for(node.attrs)


def explain(y: Node) -> str:
    """The backward walk of `y`'s graph: one block per op in the order backward visits them,
    with the operands, the rule applied, and the shape of each gradient it produces."""
    if not isinstance(y, Node):
        raise TypeError(f"explain: give the Node to walk back from, got {type(y).__name__}")
    if not y.requires_grad:
        raise ValueError("explain: this node does not require grad, so backward visits nothing; "
                         "build it from a leaf with requires_grad=True")
    labels = _labels(_all_nodes(y), y)
    visit = list(reversed(_topological_order([y])))
    seed = "[[1]]" if y.shape == (1, 1) else f"the gradient= you pass ({_shape(y)})"
    lines = [f"Backward walk from {labels[id(y)]} ({_shape(y)}), seed Ȳ = {seed}: "
             f"{sum(n.op is not None for n in visit)} op(s), each rule run once."]
    step = 0
    for node in visit:
        if node.op is None:
            continue
        step += 1
        op = node.op
        operands = [node.left] + ([node.right] if node.right is not None else [])
        names = ", ".join(labels[id(x)] for x in operands)
        lines.append(f"\n[{step}] {labels[id(node)]} = {op.name}({names})   {op.summary}")
        constants = _constants(node.attrs)
        if constants:
            lines.append(f"    with {constants}")
        # the op's letters (A, B, Y) beside the graph's names, quoted: a user's node may be
        # called A or B itself
        lines.append("    " + ", ".join(
            f"{rule.operand} is '{labels[id(x)]}' ({_shape(x)}"
            + (")" if x.requires_grad else ", constant)")
            for rule, x in zip(op.rules, operands))
            + f"  →  Y is '{labels[id(node)]}' ({_shape(node)})")
        lines.append(f"    incoming Ȳ = ∂L/∂'{labels[id(node)]}': {_shape(node)}")
        for rule, operand in zip(op.rules, operands):
            if not operand.requires_grad:
                lines.append(f"    {rule.operand} ('{labels[id(operand)]}') is constant: "
                             "its rule is skipped")
                continue
            lines.append(f"    rule {_result(rule, node)}  →  ∂L/∂'{labels[id(operand)]}': "
                         f"{_shape(operand)}")
    leaves = [n for n in visit if n.op is None]
    if leaves:
        lines.append("\nLeaves: " + ", ".join(f"{labels[id(n)]} ({_shape(n)}) gets its .grad"
                                              for n in leaves))
    return "\n".join(lines)


# ---- to_dot(y) / render ------------------------------------------------------------------
def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _grad_summary(node) -> str:
    grad = node.grad
    if grad is None:
        return "grad: —"
    if isinstance(grad, Sym):
        return f"grad: {grad}"
    if grad.size <= 4:
        return "grad: " + "; ".join(", ".join(f"{v:.4g}" for v in row) for row in grad)
    return f"grad: {grad.shape[0]}×{grad.shape[1]}, ‖·‖ = {float((grad**2).sum() ** 0.5):.4g}"


def to_dot(y: Node, show_grad: bool = False) -> str:
    """Graphviz DOT text of `y`'s tree: each op with its shape, leaves by name, requires_grad
    marked, and each leaf's .grad when `show_grad`.  Needs no Graphviz binary."""
    nodes = _all_nodes(y)
    labels = _labels(nodes, y)
    lines = ["digraph matrixflow {", "  rankdir=BT;", '  node [fontname="Helvetica"];']
    for index, node in enumerate(nodes):
        key = f"n{index}"
        parts = [node.op.name if node.op is not None else labels[id(node)],
                 f"{labels[id(node)]}: {_shape(node)}" if node.op is not None else _shape(node)]
        if node.requires_grad:
            parts.append("requires_grad")
        if show_grad and (node.op is None or node.retains_grad) and node.requires_grad:
            parts.append(_grad_summary(node))
        style = ('shape=ellipse' if node.op is not None else
                 'shape=box, style=filled, fillcolor="#dbe9f6"' if node.requires_grad else
                 'shape=box')
        label = "\\n".join(_dot_text(part) for part in parts)  # DOT's line break
        lines.append(f'  {key} [label="{label}", {style}];')
    position = {id(node): f"n{i}" for i, node in enumerate(nodes)}
    for node in nodes:
        if node.op is None:
            continue
        for rule, operand in zip(node.op.rules, (node.left, node.right)):
            if operand is not None:
                lines.append(f'  {position[id(operand)]} -> {position[id(node)]} '
                             f'[label="{rule.operand}"];')
    lines.append("}")
    return "\n".join(lines)


def render(y: Node, path: str, show_grad: bool = False) -> str:
    """Draw `y`'s tree to `path` (its extension picks the format: .png, .svg, .pdf) with the
    `graphviz` package and Graphviz's `dot`; returns the path written."""
    try:
        import graphviz
    except ImportError as exc:
        raise RuntimeError("render needs the graphviz package (pip install graphviz) and "
                           "Graphviz's dot program; to_dot(y) gives the DOT text without "
                           "them") from exc
    stem, _, extension = str(path).rpartition(".")
    if not stem:
        raise ValueError(f"render: give the file an extension (.png, .svg, .pdf), got {path!r}")
    source = graphviz.Source(to_dot(y, show_grad))
    try:
        return source.render(stem, format=extension, cleanup=True)
    except graphviz.ExecutableNotFound as exc:
        raise RuntimeError("render: Graphviz's dot program is not installed (e.g. apt install "
                           "graphviz); to_dot(y) gives the DOT text without it") from exc
