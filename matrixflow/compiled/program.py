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

from functools import lru_cache

import numpy as np

from ..autograd import _unit_seed
from ..graph import DETACHED, OUTSIDE_THE_TREE
from ..ops import operands as _operands
from ..ops.reduce import broadcast_axis, sum_to
from ..ops.structure import _scatter_add_forward
from .kernels import kernel_for, outer
from .plan import Line, Plan


class ReplayError(ValueError):
    """A step that cannot be replayed as it is, with what to change."""


class Program:
    """The generated source of one traced step and the function compiled from it.

    `run(inputs, parameter_data)` returns (loss value, [output values], [gradient or None per
    parameter]); `source` is the schedule, one NumPy call per line.
    """

    def __init__(self, source, namespace, lines, buffer_bytes=0):
        self.source = source
        self.buffer_bytes = buffer_bytes  # the arrays it allocated once, reused every call
        self.lines = lines  # the op that each generated line runs, by line number (for errors)
        exec(_compiled(source), namespace)
        self.run = namespace["replayed_step"]
        self.private = None  # per parameter: its gradient needs no check before handing out

    def __str__(self) -> str:
        return self.source


@lru_cache(maxsize=256)
def _compiled(source):
    """The code of a schedule's source, compiled once per text: a fit's batches of two sizes
    (the last one smaller) write the same text, and compiling is most of a trace's time."""
    return compile(source, "<matrixflow replay>", "exec")


def _nodes_by_creation(roots):
    """Every node under `roots`, in creation order (operands before results); a detached leaf
    brings the node it was detached from (its value is computed again from each call's data)."""
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
        if node.op is None and (source := DETACHED.get(node)) is not None:
            stack.append(source)
    return sorted(seen.values(), key=lambda node: node._seq)


def _scalar_leaves():
    """The cached constant leaves of Python numbers (`x * 0.9`): id → their 0-d view, which a
    broadcasting op's forward computed with (ops/base.py, _with_number)."""
    return {id(leaf): zero_d for leaf, zero_d in _operands._SCALARS.values()}


def record(root, outputs, inputs, parameters):
    """The Program of the tree under `root` (a 1×1 loss), also returning the values of the nodes
    `outputs`; `inputs` are the leaf Nodes fed each call, `parameters` the leaves whose gradients
    are returned."""
    if root.data.shape != (1, 1):
        raise ReplayError(f"replay: the step must return a 1×1 loss, got shape {root.shape}")
    nodes = _nodes_by_creation([root, *outputs])
    numpy_only = all(node.data.__class__ is np.ndarray for node in nodes)
    program = _Recorder(nodes, inputs, parameters, kernels=numpy_only)
    for node in nodes:
        program.forward(node)
    gradients = program.backward(root)
    names = program.name
    returns = [names[id(root)], *(names[id(node)] for node in outputs)]
    grads = [gradients.get(id(node), "None") for node in parameters]
    program.plan.add(Line(None, f"return {returns[0]}, [{', '.join(returns[1:])}], "
                                f"[{', '.join(grads)}]",
                          [*returns, *(g for g in grads if g != "None")], storage=None))
    header = "def replayed_step(inputs, parameters):"
    if program.kernels:  # run it once as written, to learn every gradient's shape and dtype
        probed = {}
        source, lines = program.plan.source(header, in_place=False, probe=True)
        probe = Program(source, {**program.namespace, "_probed": probed}, lines)
        probe.run([x.data for x in inputs], [p.data for p in parameters])
        program.plan.meta.update({k: (tuple(s), d) for k, (s, d) in probed.items()})
        program.refine_sums()
        for line in program.plan.lines:
            if line.name is not None:
                line.meta = program.plan.meta.get(line.name)
    buffers = {} if program.kernels else None
    source, lines = program.plan.source(header, buffers=buffers)
    for key, (shape, dtype) in (buffers or {}).items():  # allocated once, reused every call
        program.namespace[key] = np.empty(shape, dtype)
    kept = [*(buffers or ()), *program.zero_arrays.values()]  # made once, kept with it
    compiled = Program(source, program.namespace, lines,
                       sum(program.namespace[key].nbytes for key in kept))
    compiled.private = _private(program.plan, returns, grads, parameters)
    return compiled


def _private(plan, returns, grads, parameters):
    """Per parameter: whether its gradient is known to be an array of its own, of its dtype
    (a fresh result no other returned name may share), so it is handed out without a check."""
    storages, owned = plan.storages, plan.owned
    private = []
    for k, name in enumerate(grads):
        refs = storages.get(name)
        others = [n for n in [*returns, *grads[:k], *grads[k + 1:]] if n != "None"]
        meta = plan.meta.get(name)
        private.append(bool(refs) and all(r in owned for r in refs)
                       and not any(refs & storages.get(n, frozenset()) for n in others)
                       and meta is not None and meta[1] == parameters[k].data.dtype)
    return private


class _Recorder:
    """Writes the forward and the walk of one tree as Plan lines."""

    def __init__(self, nodes, inputs, parameters, kernels):
        self.nodes = nodes
        self.kernels = kernels  # whether kernels may run (NumPy arrays only)
        self._kernel_of = {}  # id(node) → its Kernel or None
        self.name = {id(node): f"v{i}" for i, node in enumerate(nodes)}
        self.inputs = {id(node): k for k, node in enumerate(inputs)}
        self.parameters = {id(node): k for k, node in enumerate(parameters)}
        self.computed = {id(node.data): node for node in nodes if node.op is not None}
        self.input_arrays = {id(node.data) for node in inputs}
        self.scalars = _scalar_leaves()
        self.zero_d = {}
        self.namespace = {"np": np, "sum_to": sum_to, "outer": outer,
                          "scatter_into_zeros": _scatter_add_forward}
        self._constants = {}
        self.zero_arrays = {}  # (shape, dtype) → the name of a constant zero array
        self.saved = {}  # id(node) → the name of the value its kernel's forward saved (S)
        self.known = {}  # name → its value, for gradients known when recording (the seed)
        self.plan = Plan()
        self.sums = []  # (line, its argument, the operand's shape): sum_to after a kernel

    def refine_sums(self):
        """Each sum_to after a kernel, now that the probe knows its argument's shape: nothing
        (an alias) when it has the operand's shape, else sum_to's own NumPy call (fresh)."""
        for line, argument, shape in self.sums:
            meta = self.plan.meta.get(argument)
            if meta is None:
                continue
            if meta[0] == shape:
                line.template, line.storage = argument, "alias"
            else:
                axis = broadcast_axis(meta[0], shape)
                line.template = f"np.add.reduce({argument}, axis={axis}, keepdims=True{{out}})"
                line.storage = "fresh"

    def constant(self, value, label):
        """A name in the program's namespace for `value` (one per object)."""
        key = self._constants.get(id(value))
        if key is None:
            key = label if label not in self.namespace else f"{label}{len(self.namespace)}"
            self.namespace[key] = value
            self._constants[id(value)] = key
        return key

    def kernel(self, node):
        """The node's kernel (kernels.kernel_for), or None: its op's generic calls."""
        key = id(node)
        if key not in self._kernel_of:
            self._kernel_of[key] = kernel_for(node, self) if self.kernels else None
        return self._kernel_of[key]

    def zeros(self, shape, dtype):
        """The name of a constant zero array of this shape and dtype (one per pair)."""
        key = (tuple(shape), np.dtype(dtype))
        if key not in self.zero_arrays:
            self.zero_arrays[key] = self.constant(np.zeros(shape, dtype), "zeros")
        return self.zero_arrays[key]

    def forward(self, node):
        var, meta = self.name[id(node)], (tuple(node.data.shape), node.data.dtype)
        add = self.plan.add
        if node.op is None:
            if id(node) in self.inputs:
                add(Line(var, f"inputs[{self.inputs[id(node)]}]", (), storage="external",
                         meta=meta))
            elif id(node) in self.parameters:
                add(Line(var, f"parameters[{self.parameters[id(node)]}]", (),
                         storage="external", meta=meta))
            elif node.requires_grad:
                raise ReplayError("replay: a leaf that requires grad is neither an input nor a "
                                  f"parameter (shape {node.shape}); pass it in parameters=")
            elif id(node.data) in self.computed:  # x.detach(): the value that node computes
                source = self.name[id(self.computed[id(node.data)])]
                add(Line(var, source, (source,), storage="alias", meta=meta))
            else:
                _refuse_derived(node, self.input_arrays, self.computed)
                add(Line(var, self.constant(node.data, "c"), (), storage="external", meta=meta))
                if id(node) in self.scalars:
                    self.zero_d[id(node)] = self.constant(self.scalars[id(node)], "z")
            return
        op = node.op
        if node in OUTSIDE_THE_TREE:
            what, instead = OUTSIDE_THE_TREE[node]
            raise ReplayError(f"replay: this step's {op.name} {what}, which a replay (it runs "
                              f"only the tree) would not do again; {instead}")
        operands = [node.left] if node.right is None else [node.left, node.right]
        args = []
        for operand in operands:  # a number beside an element-wise op: its 0-d view, as eager
            scalar = op.broadcasting and op.check is None and id(operand) in self.zero_d
            args.append(self.zero_d[id(operand)] if scalar else self.name[id(operand)])
        reads = [a for a in args if a.startswith("v")]
        kernel = self.kernel(node)
        if kernel is not None and kernel.forward is not None:
            if kernel.saves is not None:  # S, a value its forward and its rules read
                saved = self.saved[id(node)] = self.plan.temp()
                self._kernel_line(saved, kernel.saves, args, op.name, (
                    tuple(node.left.data.shape),
                    np.result_type(node.left.data.dtype, node.right.data.dtype)))
                args = [*args, saved]
            self._kernel_line(var, kernel.forward, args, op.name, meta)
            return
        data = node.data  # a generic forward: fresh if the traced call's result was
        fresh = (getattr(data, "base", 0) is None and getattr(data.flags, "writeable", False)
                 and all(data is not x.data for x in operands))
        function = self.constant(op.forward, op.name)
        attrs = f", **{self.constant(node.attrs, 'attrs')}" if node.attrs else ""
        add(Line(var, f"{function}({', '.join(args)}{attrs})", reads, op.name,
                 storage="fresh" if fresh else "view", meta=meta))

    def _kernel_line(self, name, spec, args, op, meta):
        """A kernel's line: it reads the values among its arguments (not the constants)."""
        values = [args[i] if args[i][0] in "vt" else None for i in range(len(args))]
        self.plan.add(Line(name, spec.template.format(*args, out="{out}"),
                           [values[i] for i in spec.reads if values[i]], op,
                           [values[i] for i in spec.candidates if values[i]], spec.result, meta))

    def backward(self, root):
        """The walk of autograd._walk, simulated on the recorded tree: each rule call and each
        addition in the order the walk makes them.  Returns {id(leaf): its gradient's name}."""
        plan, name = self.plan, self.name
        current = {}  # id(node) → the name of its gradient so far
        seed_value = _unit_seed(root.data)
        seed = self.constant(seed_value, "seed")
        current[id(root)] = "g" + name[id(root)][1:]
        self.known[current[id(root)]] = seed_value
        plan.add(Line(current[id(root)], seed, (), storage="external",
                      meta=((1, 1), root.data.dtype)))
        for node in reversed(self.nodes):  # descending creation order: the walk's heap order
            if not node.requires_grad or id(node) not in current or node.op is None:
                continue
            op = node.op
            operands = [node.left] if node.right is None else [node.left, node.right]
            args = [current[id(node)], name[id(node)], *(name[id(x)] for x in operands)]
            if id(node) in self.saved:
                args.append(self.saved[id(node)])
            kernel = self.kernel(node)
            for position, operand in enumerate(operands):
                if operand.requires_grad:
                    self._rule(node, op, position, operand, args, kernel, current)
        return {key: value for key, value in current.items()
                if key in self.parameters}

    def _rule(self, node, op, position, operand, args, kernel, current):
        plan = self.plan
        shape = tuple(operand.data.shape)
        spec = kernel.rules[position] if kernel is not None else None
        result = plan.temp()
        if spec is not None:
            meta = self._rule_meta(spec, args)
            reads, factor = [args[i] for i in spec.reads], None
            if spec.factor is not None and args[0] in self.known:  # computed once, here
                value = eval(spec.factor.format("G"), {"np": np}, {"G": self.known[args[0]]})
                factor = self.constant(value, "factor")
                reads = [args[i] for i in spec.reads if i != 0]
            elif spec.factor is not None:
                factor = f"({spec.factor.format(args[0])})"
            plan.add(Line(result, spec.template.format(*args, out="{out}", f=factor),
                          reads, op.name, [args[i] for i in spec.candidates], spec.result,
                          meta))
            if spec.result == "alias" and args[0] in self.known:
                self.known[result] = self.known[args[0]]
            if op.broadcasting and shape != tuple(node.data.shape):
                summed = plan.temp()  # sum_to, decided once the probe knows the shape
                line = Line(summed, f"{result} if {result}.shape == {shape} else "
                                    f"sum_to({result}, {shape})", (result,), op.name,
                            storage="view")
                self.sums.append((line, result, shape))
                plan.add(line)
                result = summed
        else:
            function = self.constant(op.fns[position], f"{op.name}_{op.rules[position].operand}")
            attrs = f", **{self.constant(node.attrs, 'attrs')}" if node.attrs else ""
            plan.add(Line(result, f"{function}({', '.join(args)}{attrs})", args, op.name,
                          storage="view"))
            if op.broadcasting and shape != tuple(node.data.shape):
                summed = plan.temp()
                plan.add(Line(summed, f"{result} if {result}.shape == {shape} else "
                                      f"sum_to({result}, {shape})", (result,), op.name,
                              storage="view"))
                result = summed
        key = id(operand)
        if key not in current:
            current[key] = result
            return
        earlier, total = current[key], plan.temp()  # in place once the probe knows shapes
        addition = (f"np.add({earlier}, {result}{{out}})" if self.kernels
                    else f"{earlier} + {result}")  # (CuPy: the walk's own +)
        plan.add(Line(total, addition, (earlier, result), op.name, [earlier], "fresh"))
        current[key] = total

    def _rule_meta(self, spec, args):
        """(shape, dtype) of a kernel's result from its arguments', or None when unknown."""
        metas = [self.plan.meta.get(args[i]) for i in spec.reads]
        if any(m is None for m in metas):
            return None
        if spec.result == "alias":
            return metas[0]
        dtype = np.result_type(*(m[1] for m in metas))
        if spec.shape is not None:
            return spec.shape(*(m[0] for m in metas)), dtype
        return np.broadcast_shapes(*(m[0] for m in metas)), dtype


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
