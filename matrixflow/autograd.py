"""The backward walk: reverse-mode differentiation of an expression tree, without recursion.

For a root Y and a seed Ȳ (∂L/∂Y; [[1.0]] for a 1×1 root), the walk visits every node that
requires grad in reverse topological order (each node after all the nodes built from it) and
calls its op's rule once per operand with the node's *total* gradient from all its consumers.
Shared sub-expressions therefore cost O(nodes), never O(paths), and a chain of any length works.

`no_grad()` switches graph building off for the current thread or async context (a ContextVar).
"""

from __future__ import annotations

import functools
from contextvars import ContextVar

import numpy as np

from .backend import array_module

_grad_enabled: ContextVar[bool] = ContextVar("matrixflow_grad_enabled", default=True)


def is_grad_enabled() -> bool:
    """Whether ops record the tree (False inside `no_grad()`)."""
    return _grad_enabled.get()


class _GradMode:
    """Sets grad mode inside `with` and restores it after; reusable, nestable, and usable as a
    decorator with or without parentheses (`@mf.no_grad` and `@mf.no_grad()`)."""

    enabled = True

    def __new__(cls, func=None):
        if callable(func):  # bare @no_grad on a function
            return cls()(func)
        return super().__new__(cls)

    def __init__(self, func=None):
        self._tokens = []

    def __enter__(self):
        self._tokens.append(_grad_enabled.set(self.enabled))
        return self

    def __exit__(self, *exc_info):
        _grad_enabled.reset(self._tokens.pop())
        return False

    def __call__(self, func):
        mode = type(self)

        @functools.wraps(func)
        def run_in_mode(*args, **kwargs):
            with mode():
                return func(*args, **kwargs)

        return run_in_mode


class no_grad(_GradMode):  # lower case: used like a function, as torch.no_grad
    """`with mf.no_grad():` (or `@mf.no_grad`) builds no graph: results are constant leaves."""

    enabled = False


class enable_grad(_GradMode):
    """Turn graph building back on inside a `no_grad()` block."""

    enabled = True


class set_grad_enabled:  # as torch.set_grad_enabled
    """Switch graph building on or off now; as a context manager, restore the old mode on exit.

    `mf.set_grad_enabled(False)` takes effect at once, as in PyTorch, for the current thread or
    async context.
    """

    def __init__(self, mode: bool):
        self._previous = _grad_enabled.get()
        _grad_enabled.set(bool(mode))

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        _grad_enabled.set(self._previous)
        return False


def backward(root, gradient=None) -> None:
    """Add ∂L/∂x to `x.grad` for every leaf x below `root` that requires grad.

    L = tr(Ȳᵀ Y) with Ȳ = `gradient`; a 1×1 root may leave it out (Ȳ = [[1.0]]).  Intermediate
    nodes keep `.grad` only after `retain_grad()`.  Nothing is written unless the whole walk
    succeeds.
    """
    if not root.requires_grad:
        raise RuntimeError(
            "backward: this node does not require grad — none of the leaves it was built from "
            "has requires_grad=True, or it was built inside no_grad()"
        )
    if _is_symbolic(root):  # symbols: run the rules as a graph; .grad holds expressions
        seed = _seed(root, gradient, "backward", create_graph=True)
        for node, total in _walk([root], [seed], create_graph=True, targets=None):
            expression = _as_sym(total.data)
            node.grad = (expression if node.grad is None else node.grad + expression).simplify()
        return
    seed = _seed(root, gradient, "backward", create_graph=False)
    collected = _walk([root], [seed], create_graph=False, targets=None)
    handed_out = set()
    for node, total in collected:
        total = _own(total, node, handed_out)
        node.grad = total if node.grad is None else node.grad + total


def _own(total, node, handed_out):
    """`total` as an array of the node's dtype that no other gradient shares.

    add passes Ȳ on unchanged to both operands, transpose returns a view, sum a read-only
    broadcast: a gradient handed to the user must be an array of its own, or changing one
    would change another.
    """
    if total.dtype != node.data.dtype:
        total = total.astype(node.data.dtype)
    elif (id(total) in handed_out or not total.flags.owndata
          or not getattr(total.flags, "writeable", True)):
        total = total.copy()
    handed_out.add(id(total))
    return total


def grad(
    outputs,
    inputs,
    gradient=None,
    create_graph=False,
    allow_unused=False,
    materialize_grads=False,
    *,
    grad_outputs=None,
):
    """Gradients of `outputs` with respect to `inputs`, as a list of Nodes; `.grad` is untouched.

    For outputs Y₁…Yₖ with seeds Ȳ₁…Ȳₖ (`gradient`, alias `grad_outputs`; optional for 1×1
    outputs) the result for input X is Σᵢ ∂tr(Ȳᵢᵀ Yᵢ)/∂X.  With `create_graph=True` the results
    are themselves differentiable (Hessian-vector products, higher orders).  An input the
    outputs do not depend on raises, unless `allow_unused=True` (its entry is None) or
    `materialize_grads=True` (its entry is zeros), as in `torch.autograd.grad`.
    """
    from .node import Node, _leaf

    if gradient is not None and grad_outputs is not None:
        raise TypeError("grad: pass the seed as gradient= or grad_outputs=, not both")
    if gradient is None:
        gradient = grad_outputs
    single_output = isinstance(outputs, Node)
    outputs = [outputs] if single_output else list(outputs)
    inputs = [inputs] if isinstance(inputs, Node) else list(inputs)
    if gradient is None:
        gradients = [None] * len(outputs)
    elif single_output or (len(outputs) == 1 and isinstance(gradient, (Node, np.ndarray))):
        gradients = [gradient]
    else:
        gradients = list(gradient)
    if len(gradients) != len(outputs):
        raise ValueError(
            f"grad: {len(outputs)} outputs but {len(gradients)} seed gradients; pass one each"
        )
    for node in [*outputs, *inputs]:
        if not isinstance(node, Node):
            raise TypeError(f"grad: outputs and inputs must be Nodes, got {type(node).__name__}")
    for position, node in enumerate(inputs):
        if not node.requires_grad:
            raise ValueError(
                f"grad: input {position} (shape {node.shape}) does not require grad; "
                "create it with requires_grad=True"
            )
    symbolic = any(_is_symbolic(output) for output in outputs)
    create_graph = create_graph or symbolic  # on symbols the rules run as a graph
    roots, seeds = [], []
    for position, (output, seed) in enumerate(zip(outputs, gradients)):
        label = "grad" if single_output else f"grad (output {position})"
        seed = _seed(output, seed, label, create_graph)
        if output.requires_grad:
            roots.append(output)
            seeds.append(seed)
    if not roots and not (allow_unused or materialize_grads):
        raise ValueError(
            "grad: the outputs do not require grad — none was built from an input with "
            "requires_grad=True (or they were built inside no_grad())"
        )
    targets = {id(node) for node in inputs}
    walked = _walk(roots, seeds, create_graph, targets) if roots else []
    handed_out = set()
    by_id = {id(node): total if create_graph else _own(total, node, handed_out)
             for node, total in walked}
    if symbolic:  # a closed form to read: the rules' raw output, simplified
        for total in by_id.values():
            total.data = _as_sym(total.data).simplify()
    results = []
    for position, node in enumerate(inputs):
        total = by_id.get(id(node))
        if total is None:
            if materialize_grads:
                zeros = np.zeros_like(node.data)
                total = _leaf(zeros)
            elif allow_unused:
                total = None
            else:
                raise ValueError(
                    f"grad: input {position} (shape {node.shape}) is not used to compute the "
                    "outputs; pass allow_unused=True (None) or materialize_grads=True (zeros)"
                )
        elif not isinstance(total, Node):
            total = _leaf(total)
        results.append(total)
    return results


def _is_symbolic(node) -> bool:
    return type(node.data).__name__ == "Sym"


def _as_sym(data):
    """A gradient as a symbolic matrix: one that depends on no symbol comes out as numbers."""
    from .symbolic.expr import Sym, constant_matrix

    return data if isinstance(data, Sym) else constant_matrix(data)


def _seed(root, gradient, label, create_graph):
    """The seed Ȳ for `root`, checked against its shape: an array, or a Node for create_graph."""
    from .node import Node, _leaf, to_matrix

    shape = root.data.shape
    if gradient is None:
        if shape != (1, 1):
            raise ValueError(
                f"{label}: the root has shape {shape}, not 1×1, so it needs gradient= "
                f"(the seed Ȳ = ∂L/∂Y, an array of shape {shape}); or reduce it first, "
                "e.g. y.sum().backward()"
            )
        seed = array_module(root.data).ones((1, 1), dtype=root.data.dtype)
        return _leaf(seed) if create_graph else seed
    if isinstance(gradient, Node):
        if gradient.shape != shape:
            raise ValueError(
                f"{label}: gradient= has shape {gradient.shape} but the root has shape {shape}; "
                "the seed Ȳ must have the root's shape"
            )
        return gradient if create_graph else gradient.data.copy()
    array = to_matrix(gradient, root.data.dtype)
    if array.shape != shape:
        raise ValueError(
            f"{label}: gradient= has shape {array.shape} but the root has shape {shape}; "
            "the seed Ȳ must have the root's shape"
        )
    array = array.copy()  # the walk may hand the seed on; never alias the caller's array
    return _leaf(array) if create_graph else array


def _topological_order(roots):
    """Nodes reachable from `roots` that require grad, each after all of its operands."""
    order = []
    visited = set()
    stack = [(root, False) for root in reversed(roots)]
    while stack:
        node, operands_done = stack.pop()
        if operands_done:
            order.append(node)
            continue
        key = id(node)
        if key in visited:
            continue
        visited.add(key)
        stack.append((node, True))
        right, left = node.right, node.left
        if right is not None and right.requires_grad and id(right) not in visited:
            stack.append((right, False))
        if left is not None and left.requires_grad and id(left) not in visited:
            stack.append((left, False))
    return order


def _walk(roots, seeds, create_graph, targets):
    """Run the rules from `roots` down; return [(node, total gradient)] for the nodes asked for.

    `targets` is a set of node ids (mf.grad) or None (backward: every leaf, and every node that
    retains its grad).  With targets, only nodes on a path to a target are visited.
    """
    order = _topological_order(roots)
    if targets is not None:
        leads_to_target = set()
        for node in order:  # operands come first, so their flags are ready
            left, right = node.left, node.right
            if (
                id(node) in targets
                or (left is not None and id(left) in leads_to_target)
                or (right is not None and id(right) in leads_to_target)
            ):
                leads_to_target.add(id(node))
        wanted = leads_to_target
    pending = {}
    for root, seed in zip(roots, seeds):
        key = id(root)
        pending[key] = seed if key not in pending else pending[key] + seed
    collected = []
    mode = enable_grad() if create_graph else None  # the rules must record their graph
    if mode is not None:
        mode.__enter__()
    try:
        for node in reversed(order):
            total = pending.pop(id(node), None)
            if total is None:
                continue  # not on a path to anything asked for
            op = node.op
            if targets is None:
                if op is None or node._retains_grad:
                    collected.append((node, total))
            elif id(node) in targets:
                collected.append((node, total))
            if op is None:
                continue
            left, right = node.left, node.right
            if create_graph:
                out, a, b = node, left, right
            else:
                out, a = node.data, left.data
                b = right.data if right is not None else None
            for position, child in ((0, left), (1, right)):
                if child is None or not child.requires_grad:
                    continue
                if targets is not None and id(child) not in wanted:
                    continue
                child_grad = _call_rule(op, position, total, out, a, b, node.attrs)
                if child_grad.shape != child.data.shape:
                    raise RuntimeError(
                        f"{op.name}: the rule for operand {op.rules[position].operand} returned "
                        f"shape {child_grad.shape} for an operand of shape {child.data.shape} "
                        "(a bug in the op's rule)"
                    )
                key = id(child)
                earlier = pending.get(key)
                pending[key] = child_grad if earlier is None else earlier + child_grad
    finally:
        if mode is not None:
            mode.__exit__(None, None, None)
    return collected


def _call_rule(op, position, total, out, a, b, attrs):
    """Ā (position 0) or B̄ (position 1) of `op`, re-raising linear-algebra failures by name."""
    rule = op.rules[position].fn
    try:
        if op.arity == 1:
            return rule(total, out, a, **attrs) if attrs else rule(total, out, a)
        return rule(total, out, a, b, **attrs) if attrs else rule(total, out, a, b)
    except np.linalg.LinAlgError as exc:
        raise np.linalg.LinAlgError(f"{op.name} (backward): {exc}") from exc
