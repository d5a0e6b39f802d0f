"""The backward walk of a concrete graph, explained: one block per op, in the order backward
visits them, with its operands, its constants, the rule applied and each gradient's shape."""

from __future__ import annotations

from ..graph import all_nodes, topological_order
from ..node import Node


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
    labels = _labels(all_nodes(y), y)
    visit = list(reversed(topological_order([y])))
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
    from .display import WalkText  # prints as text, shows preformatted in a notebook

    return WalkText("\n".join(lines))
