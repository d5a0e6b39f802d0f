"""A recorded tree as a program: its forward and its backward walk, written out once as Python.

`record(root, outputs, inputs, parameters)` reads a tree the eager ops built (Y = f(A, B) at each
node, the leaves its inputs, parameters and constants) and writes one Python function that
computes what the eager step computes, call for call, without a Node:

    forward   every node in creation order:       v7 = matmul(v3, v5)
    backward  the walk's own order (descending creation number, each node once, its gradient
              complete), each operand's rule:       t = matmul_A(g7, v7, v3, v5)
              summed back over broadcast axes where the operand is smaller than Y (sum_to),
              and added to what that operand has gathered, in the order the walk adds them.

So a replay gives bit for bit the eager step's values and gradients: the same NumPy calls on the
same arrays, in the same order; only the Python around them (building nodes, dispatch, the
walk's heap) is gone.  Hot ops may run a kernel instead of the rule (kernels.py): one that writes
into a buffer the program owns and computes exactly the rule's bits.
"""

from __future__ import annotations

import numpy as np

from ..ops import operands as _operands
from ..ops.reduce import sum_to
from .kernels import KERNELS

# ops whose attributes hold a draw of randomness made outside the op: a replay would repeat it
RANDOM_ATTRS = {"dropout": "mask"}


class ReplayError(ValueError):
    """A step that cannot be replayed as it is, with what to change."""


class Program:
    """The generated source of one traced step and the function compiled from it.

    `run(inputs, parameter_data)` returns (loss value, [output values], [gradient or None per
    parameter]); `source` is the schedule, one NumPy call per line.
    """

    def __init__(self, source, namespace, lines):
        self.source = source
        self.lines = lines  # the op that each generated line runs, by line number (for errors)
        code = compile(source, "<matrixflow replay>", "exec")
        exec(code, namespace)
        self.run = namespace["replayed_step"]

    def __str__(self) -> str:
        return self.source


def _nodes_by_creation(roots):
    """Every node under `roots`, in creation order (operands before results)."""
    seen, stack = {}, list(roots)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen[id(node)] = node
        if node.left is not None:
            stack.append(node.left)
        if node.right is not None:
            stack.append(node.right)
    return sorted(seen.values(), key=lambda node: node._seq)


def _scalar_leaves():
    """The cached constant leaves of Python numbers (`x * 0.9`): id → their 0-d view, which a
    broadcasting op's forward computed with (ops/base.py, _with_number)."""
    return {id(leaf): zero_d for leaf, zero_d in _operands._SCALARS.values()}


class _Writer:
    """Lines of the generated function, each with the names it reads, for the `del`s that free
    a value after its last use (as the walk drops a gradient once its rule has run)."""

    def __init__(self):
        self.lines = []  # (text, names read, op name or None)

    def emit(self, text, reads=(), op=None):
        self.lines.append((text, tuple(reads), op))


def record(root, outputs, inputs, parameters):
    """The Program of the tree under `root` (a 1×1 loss), also returning the values of the nodes
    `outputs`; `inputs` are the leaf Nodes fed each call, `parameters` the leaves whose gradients
    are returned."""
    if root.data.shape != (1, 1):
        raise ReplayError(f"replay: the step must return a 1×1 loss, got shape {root.shape}")
    nodes = _nodes_by_creation([root, *outputs])
    name = {id(node): f"v{i}" for i, node in enumerate(nodes)}
    input_position = {id(node): k for k, node in enumerate(inputs)}
    parameter_position = {id(node): k for k, node in enumerate(parameters)}
    computed = {id(node.data): node for node in nodes if node.op is not None}
    input_arrays = {id(node.data) for node in inputs}
    scalars = _scalar_leaves()
    namespace = {"np": np, "sum_to": sum_to}
    writer = _Writer()
    zero_d = {}

    def constant(value, label):
        key = f"{label}{len(namespace)}"
        namespace[key] = value
        return key

    for node in nodes:
        var = name[id(node)]
        if node.op is None:
            if id(node) in input_position:
                writer.emit(f"{var} = inputs[{input_position[id(node)]}]")
            elif id(node) in parameter_position:
                writer.emit(f"{var} = parameters[{parameter_position[id(node)]}]")
            elif node.requires_grad:
                raise ReplayError("replay: a leaf that requires grad is neither an input nor a "
                                  f"parameter (shape {node.shape}); pass it in parameters=")
            elif id(node.data) in computed:  # x.detach(): the value that node computes
                writer.emit(f"{var} = {name[id(computed[id(node.data)])]}",
                            (name[id(computed[id(node.data)])],))
            else:
                _refuse_derived(node, input_arrays, computed)
                writer.emit(f"{var} = {constant(node.data, 'c')}")
                if id(node) in scalars:
                    zero_d[id(node)] = constant(scalars[id(node)], "z")
            continue
        op = node.op
        if op.name in RANDOM_ATTRS:
            raise ReplayError(f"replay: {op.name} draws its {RANDOM_ATTRS[op.name]} outside the "
                              "op, so a replay would repeat the first draw; run this step "
                              "eagerly (replay=False)")
        operands = [node.left] if node.right is None else [node.left, node.right]
        forward_args = []
        for operand in operands:  # a number beside an element-wise op: its 0-d view, as eager
            scalar = op.broadcasting and op.check is None and id(operand) in zero_d
            forward_args.append(zero_d[id(operand)] if scalar else name[id(operand)])
        reads = [a for a in forward_args if a.startswith("v")]
        kernel = KERNELS.get(op.name)
        if kernel is not None and kernel.forward is not None and not node.attrs:
            call = kernel.forward(*forward_args)
        else:
            function = constant(op.forward, f"{op.name}_")
            attrs = f", **{constant(node.attrs, 'a')}" if node.attrs else ""
            call = f"{function}({', '.join(forward_args)}{attrs})"
        writer.emit(f"{var} = {call}", reads, op.name)
    _backward(root, nodes, name, writer, constant, parameter_position)
    returns = [name[id(root)], *(name[id(node)] for node in outputs)]
    reached = _reached(root)
    gradients = [f"g{name[id(node)][1:]}" if id(node) in reached else "None"
                 for node in parameters]
    writer.emit(f"return {returns[0]}, [{', '.join(returns[1:])}], [{', '.join(gradients)}]",
                [*returns, *[g for g in gradients if g != "None"]])
    source, lines = _source(writer)
    return Program(source, namespace, lines)


def _reached(root):
    """ids of the leaves below root that require grad (the walk reaches them)."""
    return {id(node) for node in _nodes_by_creation([root])
            if node.op is None and node.requires_grad}


def _refuse_derived(node, input_arrays, computed):
    """A constant leaf that views an input's or a computed value's memory would be stale in a
    replay (it was made from this call's data outside the tree): refuse it, saying why."""
    base = node.data.base
    while base is not None:
        if id(base) in input_arrays or id(base) in computed:
            raise ReplayError(
                f"replay: a constant of shape {node.shape} is a view of an input or of a value "
                "the step computes, taken outside the tree, so a replay would keep the first "
                "call's; make it inside the tree (mf.getitem / ops on the Node) or pass it as "
                "an input")
        base = getattr(base, "base", None)


def _backward(root, nodes, name, writer, constant, parameter_position):
    """The walk of autograd._walk, simulated on the recorded tree: emit each rule call and each
    addition in the order the walk makes them."""
    unit = constant(_unit_seed(root.data), "seed")
    gathered = {id(root): 1}  # contributions so far, per node that requires grad
    writer.emit(f"g{name[id(root)][1:]} = {unit}")
    for node in reversed(nodes):  # descending creation order: the walk's heap order
        if not node.requires_grad or id(node) not in gathered or node.op is None:
            continue
        op, var = node.op, name[id(node)]
        grad = f"g{var[1:]}"
        operands = [node.left] if node.right is None else [node.left, node.right]
        args = [grad, var, *(name[id(x)] for x in operands)]
        kernel = KERNELS.get(op.name)
        for position, operand in enumerate(operands):
            if not operand.requires_grad:
                continue
            target = f"g{name[id(operand)][1:]}"
            fresh = id(operand) not in gathered
            local = target if fresh else "t"
            if kernel is not None and kernel.rules[position] is not None and not node.attrs:
                call = kernel.rules[position](*args)
            else:
                function = constant(op.fns[position], f"{op.name}_{op.rules[position].operand}_")
                attrs = f", **{constant(node.attrs, 'a')}" if node.attrs else ""
                call = f"{function}({', '.join(args)}{attrs})"
            writer.emit(f"{local} = {call}", args, op.name)
            shape = tuple(operand.data.shape)
            if op.broadcasting and shape != tuple(node.data.shape):
                writer.emit(f"if {local}.shape != {shape}: {local} = sum_to({local}, {shape})",
                            (local,), op.name)
            if not fresh:
                writer.emit(f"{target} = {target} + t", (target, "t"), op.name)
            gathered[id(operand)] = gathered.get(id(operand), 0) + 1


def _unit_seed(data):
    from ..autograd import _unit_seed

    return _unit_seed(data)


def _source(writer):
    """The function's text, with a `del` after each name's last read (a value or gradient is
    freed when the walk would drop it); line numbers map back to ops for errors."""
    last_read = {}
    for index, (_, reads, _) in enumerate(writer.lines):
        for read in reads:
            last_read[read] = index
    body, lines = [], {}
    header = "def replayed_step(inputs, parameters):"
    for index, (text, _, op) in enumerate(writer.lines):
        body.append("    " + text)
        if op is not None:
            lines[len(body) + 1] = op  # +1: the header is line 1
        dead = sorted(n for n, last in last_read.items() if last == index and n != "t"
                      and not text.startswith("return"))
        if dead:
            body.append(f"    del {', '.join(dead)}")
    return "\n".join([header, *body]) + "\n", lines
