"""`mf.replay(step)`: trace a training step once, then replay its forward and backward.

    loss_fn(X, y) -> a 1×1 loss Node (or (loss, other Nodes of the tree …))
    step = mf.replay(loss_fn)
    loss = step(X_batch, y_batch)   # forward and backward: ∂loss/∂p added to p.grad, as
                                    # loss_fn(X, y).backward() would add it, bit for bit

The first call with a given signature (each input's shape, dtype and array type) runs the step
eagerly — it *is* `loss_fn(X, y).backward()` — and records the tree it built as a Program
(program.py); later calls with that signature run the Program.  A new signature traces again.

Traced once, as `torch.jit.trace`: the tree recorded is the one the first call built.  A step
whose tree depends on its data (a Python `if` on a value, a number computed from the data and
used as a constant) replays the first call's tree; `check_every=N` runs every N-th call both
ways and raises ReplayMismatch, naming what differs, when they do not agree bit for bit.
"""

from __future__ import annotations

from sys import getrefcount

import numpy as np

from ..grad_mode import is_grad_enabled
from ..node import Node, _leaf, to_matrix
from .program import ReplayError, record


class ReplayMismatch(RuntimeError):
    """A checked call whose replay differs from the eager step: the tree depends on the data."""


def replay(fn=None, *, parameters=None, check_every=None):
    """A Replay of `fn`, the function that builds a step's loss from its inputs; usable as a
    decorator (`@mf.replay` or `@mf.replay(check_every=100)`)."""
    if fn is None:
        return lambda f: Replay(f, parameters=parameters, check_every=check_every)
    return Replay(fn, parameters=parameters, check_every=check_every)


class Replay:
    """A step traced once per signature and replayed after (module docstring).

    `fn(*inputs)` receives its inputs as Nodes (leaves that do not require grad) and returns the
    1×1 loss, or a tuple (loss, *nodes) whose nodes' values come back too.  `parameters`: the
    leaves whose gradients accumulate (by default every leaf below the loss that requires grad
    and is not an input, found on the first trace).  `check_every=N`: every N-th replayed call
    also runs eagerly and must agree bit for bit.
    """

    def __init__(self, fn, *, parameters=None, check_every=None):
        if not callable(fn):
            raise TypeError(f"replay: expected the function that builds the step's loss, got "
                            f"{type(fn).__name__}")
        if check_every is not None and (not isinstance(check_every, int) or check_every < 1):
            raise ValueError(f"replay: check_every must be an integer ≥ 1 or None, got "
                             f"{check_every!r}")
        self.fn = fn
        self.parameters = None if parameters is None else list(parameters)
        self._found = parameters is None  # found below the loss, not given
        self.check_every = check_every
        self.programs = {}  # signature → Program
        self.traces = 0
        self.calls = 0
        self._tuple = None
        self._fed = 0  # how many inputs the step takes (the signatures' first entries)

    # ---- calling -------------------------------------------------------------------------------
    def __call__(self, *inputs):
        arrays = [x if x.__class__ is np.ndarray and x.ndim == 2 and x.dtype.kind == "f"
                  else _array(x, k) for k, x in enumerate(inputs)]
        parameters = None if self.parameters is None else [p.data for p in self.parameters]
        program = self.programs.get(_signature(arrays, parameters))
        if program is None:
            return self._trace(arrays)
        self.calls += 1
        if self.check_every is not None and self.calls % self.check_every == 0:
            return self._checked(program, arrays)
        loss, outputs, gradients = self._run(program, arrays, parameters)
        _accumulate(self.parameters, gradients, program.private)
        del gradients
        return self._result(loss, outputs)

    def _run(self, program, arrays, parameters=None):
        if parameters is None:
            parameters = [p.data for p in self.parameters]
        try:
            return program.run(arrays, parameters)
        except Exception as exc:  # say which op of the schedule failed, keep the error's type
            op = _failing_op(exc, program)
            if op is None:
                raise
            raise type(exc)(f"{op} (replayed): {exc}") from exc

    def _eager(self, arrays):
        leaves = [_leaf(a) for a in arrays]
        returned = self.fn(*leaves)
        self._tuple = isinstance(returned, tuple)
        nodes = list(returned) if self._tuple else [returned]
        if not nodes or not all(isinstance(n, Node) for n in nodes):
            raise ReplayError("replay: the step must return its loss Node (or a tuple of Nodes, "
                              f"the loss first), got {type(returned).__name__}")
        loss = nodes[0]
        if loss.shape != (1, 1):
            raise ReplayError(f"replay: the step's loss must be 1×1, got shape {loss.shape}; "
                              "reduce it first (mf.sum, mf.mean, or a loss function)")
        if not loss.requires_grad:
            inside = "" if is_grad_enabled() else " (it was called inside mf.no_grad())"
            raise ReplayError("replay: nothing below the loss requires grad, so a step has "
                              "nothing to train; give the parameters requires_grad=True"
                              + inside)
        loss.backward()
        return leaves, nodes

    def _trace(self, arrays):
        leaves, nodes = self._eager(arrays)
        if self.parameters is None:
            self.parameters = _parameters_below(nodes[0], leaves)
        signature = _signature(arrays, [p.data for p in self.parameters])
        self._fed = len(arrays)
        self.programs[signature] = record(nodes[0], nodes[1:], leaves, self.parameters)
        self.traces += 1
        return self._result(nodes[0].data, [n.data for n in nodes[1:]])

    def _checked(self, program, arrays):
        before = [p.grad for p in self.parameters]
        loss, outputs, gradients = self._run(program, arrays)
        expected = [None if g is None else (g if b is None else b + g)
                    for b, g in zip(before, gradients)]
        _, nodes = self._eager(arrays)  # the step itself, eagerly: its gradients are kept
        pairs = [("the loss", loss, nodes[0].data)]
        pairs += [(f"output {k + 1}", a, n.data) for k, (a, n) in enumerate(zip(outputs,
                                                                                 nodes[1:]))]
        pairs += [(f"the gradient of parameter {k} (shape {p.shape})", e, p.grad)
                  for k, (p, e) in enumerate(zip(self.parameters, expected)) if e is not None]
        for what, replayed, eager in pairs:
            if not _same_bits(replayed, eager):
                raise ReplayMismatch(
                    f"replay: call {self.calls}: {what} differs between the replay and the eager "
                    "step — the tree this step builds depends on its data (a Python branch on a "
                    "value, or a number computed from the data), so it cannot be traced once. "
                    "This call's gradients are the eager step's. Run the step eagerly "
                    "(without mf.replay; replay=False for an estimator), or make the branch an op "
                    "(mf.where) and pass data-derived numbers as inputs")
        return self._result(nodes[0].data, [n.data for n in nodes[1:]])

    def _result(self, loss, outputs):
        loss = _replayed_loss(loss)
        if not self._tuple:
            return loss
        return (loss, *(_leaf(o) for o in outputs))

    # ---- pickling: the schedules are code, made again on the first call after -----------------
    def __getstate__(self):
        state = dict(self.__dict__)
        state["programs"] = {}
        if self._found:  # found again below the loss the unpickled function builds
            state["parameters"] = None
        return state

    # ---- looking at it -------------------------------------------------------------------------
    def schedule(self, signature=None) -> str:
        """The generated source of a traced signature (the only one, or the latest)."""
        if not self.programs:
            return "replay: not traced yet (call it once)"
        if signature is None:
            signature = list(self.programs)[-1]
        return self.programs[signature].source

    def __repr__(self) -> str:
        name = getattr(self.fn, "__qualname__", repr(self.fn))
        shapes = "; ".join(", ".join(f"{s[0]}×{s[1]}" for _, s, _ in sig[:self._fed])
                           for sig in self.programs)
        return (f"<replay of {name}: {self.traces} trace(s) [{shapes or 'none yet'}], "
                f"{self.calls} replayed call(s)>")


class ReplayedLoss(Node):
    """The loss a replayed step returns: its value, whose backward has already run."""

    __slots__ = ()

    def backward(self, *args, **kwargs):
        raise RuntimeError(
            "backward: a replayed step has already run its backward — the gradients are in "
            "each parameter's .grad; call the step again for the next batch (mf.replay does "
            "loss.backward() itself, unlike torch.compile)")


def _replayed_loss(value):
    loss = _leaf(value)
    loss.__class__ = ReplayedLoss
    return loss


def _signature(arrays, parameters):
    """What a schedule is made for: each input's and parameter's array type, shape and dtype
    (a parameter rebound to another shape or precision traces again, as a new input does)."""
    key = tuple([(a.__class__, a.shape, a.dtype) for a in arrays])
    if parameters is None:
        return key
    return key + tuple([(a.__class__, a.shape, a.dtype) for a in parameters])


def _array(x, position):
    if isinstance(x, Node):
        return x.data
    kind = getattr(getattr(x, "dtype", None), "kind", "f")
    if kind in "iub":
        raise TypeError(f"replay: input {position} is a {x.dtype} array; a step's inputs are the "
                        "tree's float matrices — for class labels pass one-hot float targets "
                        "(np.eye(classes)[labels]), for a mask its 0/1 floats")
    if getattr(x, "ndim", None) == 2 and getattr(getattr(x, "dtype", None), "kind", "") == "f":
        return x
    try:
        return to_matrix(x)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"replay: input {position}: {exc}") from exc


def _parameters_below(root, inputs):
    """The leaves below `root` that require grad, in creation order (inputs never do)."""
    from .program import _nodes_by_creation

    fed = {id(x) for x in inputs}
    found = [n for n in _nodes_by_creation([root])
             if n.op is None and n.requires_grad and id(n) not in fed]
    if not found:
        raise ReplayError("replay: nothing below the loss requires grad, so a step has nothing "
                          "to train; give the parameters requires_grad=True")
    return found


def _accumulate(parameters, gradients, private):
    """p.grad += ∂L/∂p as backward adds it: a gradient array handed out is the parameter's
    own (copied when the program may have returned one array for two, or a view), of its
    dtype; `private` marks those the program knows to be so."""
    for k in range(len(gradients)):  # (enumerate's tuple would hold one more reference)
        gradient = gradients[k]
        if gradient is None:
            continue
        p = parameters[k]
        if not private[k]:
            if gradient.dtype != p.data.dtype:
                gradient = gradient.astype(p.data.dtype)
            elif gradient.base is not None or not getattr(gradient.flags, "writeable", True) \
                    or getrefcount(gradient) > 3:  # the list, this local, the argument
                gradient = gradient.copy()
        p.grad = gradient if p.grad is None else p.grad + gradient


def _same_bits(a, b) -> bool:
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    a, b = np.ascontiguousarray(_host(a)), np.ascontiguousarray(_host(b))
    return a.tobytes() == b.tobytes()


def _host(a):
    return a if isinstance(a, np.ndarray) else a.get()


def _failing_op(exc, program):
    """The op of the generated line where `exc` was raised, or None."""
    tb = exc.__traceback__
    op = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<matrixflow replay>":
            op = program.lines.get(tb.tb_lineno)
        tb = tb.tb_next
    return op
