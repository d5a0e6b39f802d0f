"""The backward walk: reverse-mode differentiation of an expression tree, without recursion.

For a root Y and a seed Ȳ (∂L/∂Y; [[1.0]] for a 1×1 root), the walk visits every node that
requires grad in reverse topological order (each node after all the nodes built from it) and
calls its op's rule once per operand with the node's *total* gradient from all its consumers.
Shared sub-expressions therefore cost O(nodes), never O(paths), and a chain of any length works.

Grad modes (`no_grad()` and its kin) live in `grad_mode`; the orders the walk visits, in `graph`.
"""

from __future__ import annotations

from heapq import heappop, heappush
from sys import getrefcount

import numpy as np

from . import node as _node
from . import symbolic_hooks as _symbolic
from .backend import DeviceMismatchError, array_module, device_of, is_cupy_array, to_device
from .grad_mode import enable_grad
from .graph import leading_to
from .node import Node, _leaf, to_matrix


def backward(root, gradient=None, retain_graph=None, create_graph=False, inputs=None) -> None:
    """Add ∂L/∂x to `x.grad` for every leaf x below `root` that requires grad.

    L = tr(Ȳᵀ Y) with Ȳ = `gradient`; a 1×1 root may leave it out (Ȳ = [[1.0]]).  Intermediate
    nodes keep `.grad` only after `retain_grad()`.  Nothing is written unless the whole walk
    succeeds.  As PyTorch's `backward`: `inputs` (a Node or a list) accumulates into those
    nodes only, leaves or not; `create_graph=True` makes each `.grad` a Node, differentiable
    again; `retain_graph` changes nothing (the tree is never freed by a walk).
    """
    del retain_graph  # accepted for PyTorch's sake: matrixflow's trees can always be walked again
    if not root.requires_grad:
        raise RuntimeError(
            "backward: this node does not require grad — none of the leaves it was built from "
            "has requires_grad=True, or it was built inside no_grad(); a gradient from mf.grad "
            "is differentiable only when computed with create_graph=True"
        )
    targets = _backward_inputs(inputs)
    if _is_symbolic(root):  # symbols: run the rules as a graph; .grad holds expressions
        seed = _seed(root, gradient, "backward", create_graph=True)
        (twin_root,), twin, originals = _symbolic_twin([root])
        wanted = None if targets is None else {twin.get(id(x), x) for x in targets}
        for node, total in _walk([twin_root], [seed], create_graph=True, targets=wanted):
            node = originals.get(id(node), node)
            expression = _as_sym(total.data)
            node.grad = (expression if node.grad is None else node.grad + expression).simplify()
        return
    seed = _seed(root, gradient, "backward", create_graph=create_graph)
    collected = _walk([root], [seed], create_graph=create_graph, targets=targets)
    handed_out = set()
    for node, total in collected:
        if not create_graph:
            total = _own(total, node, handed_out)
        node.grad = total if node.grad is None else node.grad + total


def _backward_inputs(inputs):
    """backward's `inputs` as a set of nodes that require grad (None: every leaf)."""
    if inputs is None:
        return None
    nodes = [inputs] if isinstance(inputs, Node) else list(inputs)
    if not nodes:
        raise RuntimeError("backward: inputs= cannot be empty; leave it out (None) for every "
                           "leaf, or name the nodes whose .grad to accumulate")
    for position, node in enumerate(nodes):
        if not isinstance(node, Node):
            raise TypeError(f"backward: inputs= must be Nodes, got {type(node).__name__} at "
                            f"position {position}")
        if not node.requires_grad:
            raise RuntimeError(f"backward: input {position} of inputs= (shape {node.shape}) "
                               "does not require grad, so no gradient can reach it; create it "
                               "with requires_grad=True")
    return set(nodes)


def _own(total, node, handed_out):
    """`total` as an array of the node's dtype that no other gradient shares.

    add passes Ȳ on unchanged to both operands, transpose returns a view, sum a read-only
    broadcast: a gradient handed to the user must be an array of its own, or changing one
    would change another.  An array only the walk held is handed over as it is.
    """
    if total.dtype != node.data.dtype:
        total = total.astype(node.data.dtype)
    elif id(total) in handed_out or not _private(total, 5):  # the walk's tuple, 3 locals, arg
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
    if gradient is not None and grad_outputs is not None:
        raise TypeError("grad: pass the seed as gradient= or grad_outputs=, not both")
    if gradient is None:
        gradient = grad_outputs
    single_output = isinstance(outputs, Node)
    outputs = [outputs] if single_output else list(outputs)
    inputs = [inputs] if isinstance(inputs, Node) else list(inputs)
    if gradient is None:
        gradients = [None] * len(outputs)
    elif single_output or (len(outputs) == 1 and (isinstance(gradient, (Node, np.ndarray))
                                                  or is_cupy_array(gradient))):
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
            "requires_grad=True (or they were built inside no_grad()); to differentiate a "
            "gradient again, compute it with mf.grad(..., create_graph=True)"
        )
    targets = set(inputs)
    originals = {}
    if symbolic and roots:  # constants take part by name and structure (Mᵀ, not a bare C)
        roots, twin, originals = _symbolic_twin(roots)
        targets = {twin.get(id(x), x) for x in inputs}
    walked = _walk(roots, seeds, create_graph, targets) if roots else []
    handed_out = set()
    by_id = {id(originals.get(id(node), node)):
             total if create_graph else _own(total, node, handed_out)
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


def _symbolic_twin(roots):
    return _symbolic.twin(roots)


def _is_symbolic(node) -> bool:
    return type(node.data) is _symbolic.Matrix


def _as_sym(data):
    """A gradient as a symbolic matrix: one that depends on no symbol comes out as numbers."""
    return data if type(data) is _symbolic.Matrix else _symbolic.constant(data)


_UNIT_SEEDS: dict = {}  # dtype → a read-only [[1]], the seed of a 1×1 root on NumPy data


def _unit_seed(data):
    """[[1]] of `data`'s dtype and device.  On NumPy one read-only array serves every walk: the
    walk adds in place only into writeable arrays, and `_own` copies a read-only one."""
    if data.__class__ is not np.ndarray:
        return array_module(data).ones((1, 1), dtype=data.dtype)
    seed = _UNIT_SEEDS.get(data.dtype)
    if seed is None:
        seed = _UNIT_SEEDS[data.dtype] = np.ones((1, 1), dtype=data.dtype)
        seed.flags.writeable = False
    return seed


def _seed(root, gradient, label, create_graph):
    """The seed Ȳ for `root`, checked against its shape: an array, or a Node for create_graph."""
    shape = root.data.shape
    if gradient is None:
        if shape != (1, 1):
            raise ValueError(
                f"{label}: the root has shape {shape}, not 1×1, so it needs gradient= "
                f"(the seed Ȳ = ∂L/∂Y, an array of shape {shape}); or reduce it first, "
                "e.g. y.sum().backward()"
            )
        seed = _unit_seed(root.data)
        if not create_graph:
            return seed
        return _leaf(seed.copy())  # a graph's leaf of its own, not the shared read-only seed
    if isinstance(gradient, Node):
        if gradient.shape != shape:
            raise ValueError(
                f"{label}: gradient= has shape {gradient.shape} but the root has shape {shape}; "
                "the seed Ȳ must have the root's shape"
            )
        _check_seed_device(gradient.data, root.data, label)
        return gradient if create_graph else gradient.data.copy()
    try:
        array = to_matrix(gradient, root.data.dtype)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{label}: gradient= {exc}") from exc
    if array.shape != shape:
        raise ValueError(
            f"{label}: gradient= has shape {array.shape} but the root has shape {shape}; "
            "the seed Ȳ must have the root's shape"
        )
    if array.__class__ is not root.data.__class__:
        if is_cupy_array(root.data) and not isinstance(gradient, np.ndarray) \
                and not is_cupy_array(gradient):
            array = to_device(array, device_of(root.data))  # a number or a list: no device
        _check_seed_device(array, root.data, label)
    array = array.copy()  # the walk may hand the seed on; never alias the caller's array
    return _leaf(array) if create_graph else array


def _check_seed_device(seed, root_data, label):
    """A seed must be on its root's device: nothing is copied between devices unasked."""
    if seed.__class__ is root_data.__class__ and not is_cupy_array(seed):
        return
    if device_of(seed) != device_of(root_data):
        raise DeviceMismatchError(
            f"{label}: gradient= is on {device_of(seed)} but the root is on "
            f"{device_of(root_data)}; the seed Ȳ must be on the root's device: move it first "
            f"(mf.Node(g).to({device_of(root_data)!r}), or cupy.asarray(g))")


def _walk(roots, seeds, create_graph, targets):
    """Run the rules from `roots` down; return [(node, total gradient)] for the nodes asked for.

    Nodes are visited in descending creation order (a heap on their sequence numbers), which
    meets each node after every node built from it, so its gradient is complete when its rule
    runs — once.  `targets` is a set of nodes (mf.grad: only paths to them are followed) or None
    (backward: every leaf, and every node that retains its grad, is collected).
    """
    wanted = leading_to(roots, targets) if targets is not None else None
    pending = {}
    heap = []
    for root, seed in zip(roots, seeds):
        earlier = pending.get(root)
        if earlier is None:
            pending[root] = seed
            heappush(heap, (-root._seq, root))  # sequence numbers are unique: nodes never compare
        else:
            pending[root] = earlier + seed
    collected = []
    mode = enable_grad() if create_graph else None  # the rules must record their graph
    if mode is not None:
        mode.__enter__()
    op = None
    try:
        while heap:
            node = heappop(heap)[1]
            total = pending.pop(node)
            op = node.op
            if targets is None:
                if op is None or node._retains_grad:
                    collected.append((node, total))
            elif node in targets:
                collected.append((node, total))
            if op is None:
                continue
            left, right, attrs = node.left, node.right, node.attrs
            if create_graph:  # the rules see Nodes and build the gradient's own graph
                args = (total, node, left) if right is None else (total, node, left, right)
            elif right is None:
                args = (total, node.data, left.data)
            else:
                args = (total, node.data, left.data, right.data)
            fn_left, fn_right = op.fns
            if left.requires_grad and (wanted is None or left in wanted):
                _send(fn_left(*args, **attrs) if attrs else fn_left(*args),
                      left, 0, op, pending, heap, create_graph)
            if right is not None and right.requires_grad and (wanted is None or right in wanted):
                _send(fn_right(*args, **attrs) if attrs else fn_right(*args),
                      right, 1, op, pending, heap, create_graph)
            del args, total
    except np.linalg.LinAlgError as exc:
        raise np.linalg.LinAlgError(f"{op.name} (backward): {exc}") from exc
    finally:
        if mode is not None:
            mode.__exit__(None, None, None)
    return collected


def _send(grad_child, child, position, op, pending, heap, create_graph):
    """Add an operand's gradient to what `child` has gathered; queue it on its first.

    A broadcasting op's rule gives a Ȳ-shaped gradient: it is summed back to the operand's
    shape here, the one place where broadcasting is undone."""
    if grad_child.shape != child.data.shape:
        # a broadcasting op's rule may return Ȳ's shape, which the operand's broadcasts to;
        # anything else is the rule's bug, named here before a neighbour trips over it
        if not op.broadcasting or len(grad_child.shape) != 2 or not all(
                c in (g, 1) for c, g in zip(child.data.shape, grad_child.shape)):
            raise RuleShapeError(op.name, op.rules[position].operand, position,
                                 tuple(grad_child.shape), tuple(child.data.shape))
        grad_child = _sum_to(grad_child, child.data.shape)
    earlier = pending.get(child)
    try:
        if earlier is None:
            pending[child] = grad_child
            heappush(heap, (-child._seq, child))  # sequence numbers are unique
        elif (not create_graph and getrefcount(earlier) <= 3  # the dict, this local, the arg
              and earlier.base is None and earlier.flags.writeable):
            earlier += grad_child  # the walk's own array: add in place, allocate nothing
        else:
            pending[child] = earlier + grad_child
    except AttributeError:  # CuPy's flags have no writeable: its arrays may always be written
        if not is_cupy_array(earlier):
            raise
        earlier += grad_child  # (reached only from the test of writeable, all else true)


class RuleShapeError(RuntimeError):
    """An op's rule returned a gradient of the wrong shape: `op`, `operand` (its letter),
    `position`, the `shape` returned and the operand's `expected` shape."""

    def __init__(self, op, operand, position, shape, expected):
        super().__init__(f"{op}: the rule for operand {operand} returned shape {shape} for an "
                         f"operand of shape {expected} (a bug in the op's rule)")
        self.op, self.operand, self.position = op, operand, position
        self.shape, self.expected = shape, expected


def _bind_sum_to(sum_to):
    """Give the walk the ops' `sum_to` (called by matrixflow.ops, which imports this module)."""
    global _sum_to
    _sum_to = sum_to


def _private(array, references) -> bool:
    """Whether `array` owns its memory, may be written, and is referenced at most `references`
    times, counting the caller's own references, this function's argument and getrefcount's
    (tests/test_walk.py checks the counts): then nothing else can see a change to it."""
    return (array.base is None and getattr(array.flags, "writeable", True)
            and getrefcount(array) <= references)


_node._bind_walk(backward)
