"""Orders over an expression tree, without recursion: what the walk, the localiser and the
teaching room's printers visit.

A node links only its operands (`left`, `right`), never the nodes built from it, so every order
here is found from the roots down, with an explicit stack: a chain of any length works.
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

# x.detach() → x: a detached leaf's value is what x computes.  The walk never follows it (no
# gradient passes); a replay does, to compute the value again from the new call's data.
DETACHED: WeakKeyDictionary = WeakKeyDictionary()
# node → (what its making did outside the tree, what to do instead): batch_norm's running
# statistics, cross_entropy's one-hot targets made from labels, dropout's mask; a replay, which
# runs only the tree, would not do it again, so it refuses such a step
OUTSIDE_THE_TREE: WeakKeyDictionary = WeakKeyDictionary()


def all_nodes(root):
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


def topological_order(roots):
    """Nodes reachable from `roots` that require grad, each after all of its operands."""
    order = []
    visited = set()
    stack = [(root, False) for root in reversed(roots)]
    while stack:
        node, operands_done = stack.pop()
        if operands_done:
            order.append(node)
            continue
        if node in visited:
            continue
        visited.add(node)
        stack.append((node, True))
        right, left = node.right, node.left
        if right is not None and right.requires_grad and right not in visited:
            stack.append((right, False))
        if left is not None and left.requires_grad and left not in visited:
            stack.append((left, False))
    return order


def leading_to(roots, targets):
    """The nodes below `roots` from which some target can be reached (targets included)."""
    leading = set()
    for node in topological_order(roots):  # operands come first, so their marks are ready
        if node in targets or node.left in leading or node.right in leading:
            leading.add(node)
    return leading
