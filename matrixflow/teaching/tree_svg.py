"""A graph's tree as an SVG picture, laid out here: no Graphviz, no browser library needed.

The root is at the top and the leaves below, as backward walks it: each node is drawn one layer
below the lowest node built from it (its longest distance from the root), so a node used twice —
X in tr(XᵀAX) — is drawn once with an edge from each of its users.  Within a layer the nodes keep
the order a walk from the root meets them, left operand first.  What each box says is
`tree_model`'s (tree_picture.py): the op and its rule, the node's value or name and shape, and
the adjoint or gradient when asked for.
"""

from __future__ import annotations

from html import escape

_CHAR = 8.0  # px per character of the 13 px monospace text (with room to spare)
_LINE = 17
_PAD_X, _PAD_Y = 10, 7
_GAP_X, _GAP_Y = 26, 56
_MAX_CHARS = 60  # a longer line is cut with … (the full text is the box's tooltip)


def _lines(box) -> list[str]:
    return [line if len(line) <= _MAX_CHARS else line[:_MAX_CHARS - 1] + "…"
            for line in box["lines"]]


def _layers(model) -> dict:
    """{key: layer}: the root 0, every operand one below the lowest node that uses it."""
    layer = {model["root"]: 0}
    for key in model["order"]:  # results before their operands
        for edge in model["edges_from"].get(key, ()):
            child = edge["to"]
            layer[child] = max(layer.get(child, 0), layer[key] + 1)
    return layer


def _first_seen(model) -> dict:
    """{key: rank}: the order a walk from the root meets each node, left operand first."""
    rank, stack = {}, [model["root"]]
    while stack:
        key = stack.pop()
        if key in rank:
            continue
        rank[key] = len(rank)
        stack.extend(reversed([e["to"] for e in model["edges_from"].get(key, ())]))
    return rank


def _edge(edge, position, size, layer, rows) -> list[str]:
    """An edge from a result's bottom to an operand's top, labelled near the operand; one that
    skips layers bows out to the right of the boxes it would cross."""
    (x1, y1), (w1, h1) = position[edge["from"]], size[edge["from"]]
    (x2, y2), (w2, _) = position[edge["to"]], size[edge["to"]]
    top, bottom = (x1 + w1 / 2, y1 + h1), (x2 + w2 / 2, y2)
    between = [key for r in range(layer[edge["from"]] + 1, layer[edge["to"]])
               for key in rows.get(r, ())]
    low, high = min(top[0], bottom[0]), max(top[0], bottom[0])
    side = None
    while True:  # the right edge of every box in the way, the curve's own reach included
        right = high if side is None else side
        crossed = [position[k][0] + size[k][0] for k in between
                   if position[k][0] <= right and position[k][0] + size[k][0] >= low]
        if not crossed or (side is not None and max(crossed) + 14 <= side):
            break
        side = max(crossed) + 14
    if side is not None:
        # a cubic with both control points at c reaches 3/4 of the way to c: c = 4/3 of it
        control = top[0] + (side - top[0]) * 4 / 3
        path = (f"M {top[0]:.1f} {top[1]:.1f} C {control:.1f} {top[1] + 30:.1f} "
                f"{control:.1f} {bottom[1] - 30:.1f} {bottom[0]:.1f} {bottom[1]:.1f}")
        label = (side + 4, (top[1] + bottom[1]) / 2)
    else:
        path = f"M {top[0]:.1f} {top[1]:.1f} L {bottom[0]:.1f} {bottom[1]:.1f}"
        label = (top[0] + 0.62 * (bottom[0] - top[0]) + 5, top[1] + 0.62 * (bottom[1] - top[1]))
    reach = label[0] + len(edge["label"]) * _CHAR
    return reach, [f'<path d="{path}" fill="none" stroke="#555" marker-start="url(#mf-arrow)"/>',
                   f'<text x="{label[0]:.1f}" y="{label[1]:.1f}" fill="#8a3b12" '
                   f'class="edge-label">{escape(edge["label"])}</text>']


def tree_svg(model) -> str:
    """The SVG text of a tree model ({boxes, edges, root}, see tree_picture.tree_model)."""
    boxes = model["boxes"]
    edges_from = {}
    for edge in model["edges"]:
        edges_from.setdefault(edge["from"], []).append(edge)
    model = {**model, "edges_from": edges_from,
             "order": sorted(boxes, key=lambda k: -boxes[k]["seq"])}
    layer, rank = _layers(model), _first_seen(model)
    rows = {}
    for key in boxes:
        rows.setdefault(layer.get(key, 0), []).append(key)
    size = {}
    for key, box in boxes.items():
        lines = _lines(box)
        size[key] = (max(len(line) for line in lines) * _CHAR + 2 * _PAD_X,
                     len(lines) * _LINE + 2 * _PAD_Y)
    widths = {r: sum(size[k][0] for k in keys) + _GAP_X * (len(keys) - 1)
              for r, keys in rows.items()}
    total_width = max(widths.values()) + 2 * _GAP_X
    position, y = {}, _GAP_X
    for r in sorted(rows):
        keys = sorted(rows[r], key=lambda k: rank.get(k, 0))
        x = (total_width - widths[r]) / 2
        height = max(size[k][1] for k in keys)
        for key in keys:
            position[key] = (x, y)
            x += size[key][0] + _GAP_X
        y += height + _GAP_Y
    total_height = y - _GAP_Y + _GAP_X
    drawn = [_edge(edge, position, size, layer, rows) for edge in model["edges"]]
    total_width = max([total_width] + [reach + _GAP_X for reach, _ in drawn])
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="matrixflow-tree" '
             f'width="{total_width:.0f}" height="{total_height:.0f}" '
             f'viewBox="0 0 {total_width:.0f} {total_height:.0f}" '
             'font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="13">',
             '<defs><marker id="mf-arrow" viewBox="0 0 10 10" refX="9" refY="5" '
             'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
             '<path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>']
    for _, edge in drawn:  # drawn first: boxes cover their ends
        parts += edge
    for key, box in boxes.items():
        (x, y), (w, h) = position[key], size[key]
        fill, stroke = {"op": ("#fff7e6", "#c98a1b"), "variable": ("#dbe9f6", "#3b6ea5"),
                        "constant": ("#f4f4f4", "#888")}[box["kind"]]
        parts.append(f'<g class="node {box["kind"]}"><title>{escape(chr(10).join(box["lines"]))}'
                     f'</title><rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" '
                     f'rx="8" fill="{fill}" stroke="{stroke}"/>')
        for index, line in enumerate(_lines(box)):
            weight = ' font-weight="bold"' if index == 0 else ""
            parts.append(f'<text x="{x + _PAD_X:.1f}" y="{y + _PAD_Y + (index + 0.8) * _LINE:.1f}"'
                         f'{weight}>{escape(line)}</text>')
        parts.append("</g>")
    parts.append("</svg>")
    return "\n".join(parts)
