"""How the teaching room's objects show themselves in Jupyter, by IPython's conventions.

A notebook asks an object for its richest form (`_repr_latex_`, `_repr_svg_`, `_repr_html_`,
…) and `print` still gives the text.  So:

- a derivation (`mf.derivation(op)`) and an explained walk (`mf.explain(y)`) are strings — they
  print and compare as today's text — whose notebook form is the LaTeX derivation, or the walk
  as preformatted HTML, instead of one quoted line full of \\n;
- `mf.picture(y)` is a tree picture: SVG laid out by matrixflow (tree_svg.py, no Graphviz
  needed) in a notebook, the tree as indented text when printed;
- a Node shown in a notebook is drawn as its tree (IPython's SVG formatter, registered when the
  teaching room is imported inside IPython: the engine imports no room, so Node itself holds
  no display code), up to `PICTURE_LIMIT` nodes — a training graph of thousands stays text.
"""

from __future__ import annotations

import sys
from html import escape

PICTURE_LIMIT = 80  # nodes: a bigger tree shows as text, not as a picture too large to read


class DerivationText(str):
    """An op's derivation: prints as text, renders as LaTeX in a notebook."""

    def __new__(cls, text: str, latex: str):
        self = super().__new__(cls, text)
        self._latex = latex
        return self

    def _repr_latex_(self) -> str:  # without derivation()'s % comment line: math only
        body = "\n".join(line for line in self._latex.splitlines() if not line.startswith("%"))
        return f"$${body}$$"

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self))


class WalkText(str):
    """An explained backward walk: prints as text, renders as preformatted HTML."""

    def _repr_html_(self) -> str:
        return f'<pre class="matrixflow-walk">{escape(str(self))}</pre>'

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self))


class TreePicture:
    """A picture of a tree: `.svg` (matrixflow's own layout), `.dot` (Graphviz DOT), `.text`;
    shown as SVG in a notebook, printed as the indented text tree."""

    def __init__(self, root, show_grad: bool = False, adjoints=None):
        from .tree_picture import to_dot, to_svg, to_text

        self.svg = to_svg(root, show_grad, adjoints)
        self.dot = to_dot(root, show_grad, adjoints)
        self.text = to_text(root, show_grad, adjoints)

    def _repr_svg_(self) -> str:
        return self.svg

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(self.text)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        nodes = self.svg.count('<g class="node')
        return f"<tree picture: {nodes} nodes>"

    def save(self, path: str) -> str:
        """Write the SVG to `path` (.svg); returns the path."""
        if not str(path).endswith(".svg"):
            raise ValueError(f"TreePicture.save writes SVG: give a .svg path, got {path!r} "
                             "(mf.render(y, path) draws PNG or PDF through Graphviz)")
        with open(path, "w", encoding="utf-8") as file:
            file.write(self.svg)
        return str(path)


def picture(y, show_grad: bool = False) -> TreePicture:
    """The tree of `y` as a picture: each op with its rule, each edge with the operand's role
    and name, constants by their names, and with `show_grad` each leaf's .grad as a matrix."""
    from ..node import Node

    if not isinstance(y, Node):
        raise TypeError(f"picture: give the Node whose tree to draw, got {type(y).__name__}")
    return TreePicture(y, show_grad)


def _node_svg(node):
    """IPython's SVG form of a Node: its tree, when small enough to read."""
    from ..graph import all_nodes

    if len(all_nodes(node)) > PICTURE_LIMIT:
        return None  # IPython then shows the text form alone
    return TreePicture(node).svg


def register_with_ipython() -> bool:
    """Teach a running IPython (a Jupyter kernel) to draw Nodes as trees; False outside one."""
    ipython_module = sys.modules.get("IPython")
    shell = ipython_module.get_ipython() if ipython_module is not None else None
    if shell is None or not hasattr(shell, "display_formatter"):
        return False
    from ..node import Node

    shell.display_formatter.formatters["image/svg+xml"].for_type(Node, _node_svg)
    return True
