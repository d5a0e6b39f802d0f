"""A graph's tree as a picture: one model of what each box and edge says, drawn as Graphviz DOT
(`to_dot`, and `render` through the graphviz package) or as SVG laid out here (`tree_svg`).

Each op's box names the op and its rule (matmul: Y = A·B) and the value it holds — its
expression when built from symbols (Xb), else its label and shape; a leaf's box its name (a
constant's own, `C` for an unnamed array, as closed forms print them) and whether it is a
variable or a constant; each edge the operand's role in the op and its name (A: X).  Asked for,
a box also shows the adjoint ∂f/∂v a derivation reached there, or a leaf's gradient as the small
matrix it is.
"""

from __future__ import annotations

import numpy as np

from ..graph import all_nodes
from ..node import Node
from .explain import _labels, _shape
from .symbolic.expr import Sym
from .tree_svg import tree_svg

_SHORT = 24  # an edge names its operand in at most this many characters


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _matrix_lines(value, prefix: str) -> list[str]:
    """A small matrix as the rows it is ("grad = [ 8.155  22.17 ]"), a large one by its size."""
    if type(value) is Sym:
        return [f"{prefix}{value}"]
    value = np.asarray(value, dtype=float)
    if value.size > 16 or value.shape[1] > 4:
        norm = float(np.sqrt((value ** 2).sum()))
        return [f"{prefix}{value.shape[0]}×{value.shape[1]}, ‖·‖ = {norm:.4g}"]
    rows = [[f"{v:.4g}" for v in row] for row in value]
    width = max(len(entry) for row in rows for entry in row)
    lines = ["[ " + "  ".join(entry.rjust(width) for entry in row) + " ]" for row in rows]
    pad = " " * len(prefix)
    return [(prefix if i == 0 else pad) + line for i, line in enumerate(lines)]


def _rule(op) -> str:
    """The op's rule as its summary states it first: "Y = A·B"."""
    return op.summary.split(",")[0].split(" (")[0]


def _name(node, labels) -> str:
    """What a node is called: its name, a symbolic value's text, else its label (x1, v1)."""
    if node.name:
        return node.name
    if type(node.data) is Sym:
        return str(node.data.simplify())
    if node.op is None and node.shape != (1, 1):
        return "C"
    if node.op is None:
        return f"{float(np.asarray(node.data).ravel()[0]):g}"
    return labels[id(node)]


def tree_model(y: Node, show_grad: bool = False, adjoints=None) -> dict:
    """What the picture of `y`'s tree says: {"root", "boxes": {key: {"lines", "kind", "seq"}},
    "edges": [{"from", "to", "label"}]}, keys "n0", "n1", … in the order the forward computed
    the nodes.  `adjoints` ({id(node): Sym or text}) adds ∂f/∂v = … to those boxes; `show_grad`
    adds each leaf's (and each retaining node's) .grad."""
    nodes = all_nodes(y)
    labels = _labels(nodes, y)
    key = {id(node): f"n{index}" for index, node in enumerate(nodes)}
    boxes, edges = {}, []
    for index, node in enumerate(nodes):
        name = _name(node, labels)
        if node.op is not None:
            lines = [f"{node.op.name}: {_rule(node.op)}", f"{_short(name, 56)}  {_shape(node)}"]
            kind = "op"
        else:
            kind = "variable" if node.requires_grad else "constant"
            lines = [name, f"{_shape(node)}, {kind}"]
        adjoint = (adjoints or {}).get(id(node))
        if adjoint is not None:
            lines.append(f"∂f/∂· = {adjoint}")
        if show_grad and node.requires_grad and (node.op is None or node.retains_grad):
            lines += (_matrix_lines(node.grad, "grad = ") if node.grad is not None
                      else ["grad: — (no backward yet)"])
        boxes[key[id(node)]] = {"lines": lines, "kind": kind, "seq": index}
        if node.op is not None:
            for rule, operand in zip(node.op.rules, (node.left, node.right)):
                if operand is not None:
                    edges.append({"from": key[id(node)], "to": key[id(operand)],
                                  "label": f"{rule.operand}: "
                                           f"{_short(_name(operand, labels), _SHORT)}"})
    return {"root": key[id(y)], "boxes": boxes, "edges": edges}


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def to_dot(y: Node, show_grad: bool = False, adjoints=None) -> str:
    """Graphviz DOT text of `y`'s tree (`tree_model`'s boxes and edges, leaves at the bottom).
    Needs no Graphviz binary."""
    model = tree_model(y, show_grad, adjoints)
    lines = ["digraph matrixflow {", "  rankdir=BT;", '  node [fontname="Helvetica"];']
    styles = {"op": "shape=ellipse",
              "variable": 'shape=box, style=filled, fillcolor="#dbe9f6"',
              "constant": "shape=box"}
    for key, box in model["boxes"].items():
        label = "\\n".join(_dot_text(line) for line in box["lines"])  # DOT's line break
        lines.append(f'  {key} [label="{label}", {styles[box["kind"]]}];')
    for edge in model["edges"]:
        lines.append(f'  {edge["to"]} -> {edge["from"]} [label="{_dot_text(edge["label"])}"];')
    lines.append("}")
    return "\n".join(lines)


def to_svg(y: Node, show_grad: bool = False, adjoints=None) -> str:
    """SVG text of `y`'s tree, root at the top, laid out by matrixflow (no Graphviz needed)."""
    return tree_svg(tree_model(y, show_grad, adjoints))


def to_text(y: Node, show_grad: bool = False, adjoints=None) -> str:
    """The tree as indented text, root first: what a notebook shows where pictures are not."""
    model = tree_model(y, show_grad, adjoints)
    children = {}
    for edge in model["edges"]:
        children.setdefault(edge["from"], []).append(edge)
    out, shown = [], set()
    stack = [(model["root"], 0, "")]
    while stack:
        key, depth, role = stack.pop()
        box = model["boxes"][key]
        indent = "    " * depth
        head = f"{indent}{role}{box['lines'][0]}"
        if key in shown:  # a node used twice is written out once
            out.append(f"{head}  (as above)")
            continue
        shown.add(key)
        out.append(head)
        out += [f"{indent}{' ' * len(role)}  {line}" for line in box["lines"][1:]]
        for edge in reversed(children.get(key, [])):
            stack.append((edge["to"], depth + 1, edge["label"].split(":")[0] + " ─ "))
    return "\n".join(out)


def render(y: Node, path: str, show_grad: bool = False) -> str:
    """Draw `y`'s tree to `path` (its extension picks the format: .png, .svg, .pdf) with the
    `graphviz` package and Graphviz's `dot`; returns the path written.  (`to_svg` draws SVG
    without either.)"""
    try:
        import graphviz
    except ImportError as exc:
        raise RuntimeError("render needs the graphviz package (pip install graphviz) and "
                           "Graphviz's dot program; to_dot(y) gives the DOT text without "
                           "them, to_svg(y) an SVG picture") from exc
    stem, _, extension = str(path).rpartition(".")
    if not stem:
        raise ValueError(f"render: give the file an extension (.png, .svg, .pdf), got {path!r}")
    source = graphviz.Source(to_dot(y, show_grad))
    try:
        return source.render(stem, format=extension, cleanup=True)
    except graphviz.ExecutableNotFound as exc:
        raise RuntimeError("render: Graphviz's dot program is not installed (e.g. apt install "
                           "graphviz); to_dot(y) gives the DOT text without it, to_svg(y) an "
                           "SVG picture") from exc
