"""A graph's tree as a picture: Graphviz DOT text, drawn by the graphviz package when present."""

from __future__ import annotations

from ..graph import all_nodes
from ..node import Node
from .explain import _labels, _shape
from .symbolic.expr import Sym


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _grad_summary(node) -> str:
    grad = node.grad
    if grad is None:
        return "grad: —"
    if type(grad) is Sym:
        return f"grad: {grad}"
    if grad.size <= 4:
        return "grad: " + "; ".join(", ".join(f"{v:.4g}" for v in row) for row in grad)
    return f"grad: {grad.shape[0]}×{grad.shape[1]}, ‖·‖ = {float((grad**2).sum() ** 0.5):.4g}"


def to_dot(y: Node, show_grad: bool = False) -> str:
    """Graphviz DOT text of `y`'s tree: each op with its shape, leaves by name, requires_grad
    marked, and each leaf's .grad when `show_grad`.  Needs no Graphviz binary."""
    nodes = all_nodes(y)
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
