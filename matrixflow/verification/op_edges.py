"""Each op's convention where its derivative is a choice: kinks, ties, zeros, NaN, singular
matrices — written down, and checked by `matrixflow verify` and the suite.

Finite differences cannot judge a rule at such a point (the one-sided differences disagree, or
the value is not finite), so the op cases (op_cases.py) stay away from them; a rule that is
wrong exactly there — a NaN for the gradient of x⁰ at 0, the slope of leaky_relu at 0, the
share of a tie in max — would pass every other check.  Each edge case states the gradient
matrixflow gives there, ∂tr(ȲᵀY)/∂A for Ȳ a matrix of ones, and whether PyTorch gives the same;
the check compares the rule with the statement and, where PyTorch is installed and agrees,
PyTorch with it too (so the statement is PyTorch's convention, not only our own).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .. import ops as mf
from ..autograd import grad
from ..node import Node

NAN = np.nan


@dataclass(frozen=True)
class EdgeCase:
    """One op at one point where its derivative is a convention."""

    op: str
    label: str
    inputs: tuple
    run: Callable  # (*Nodes) -> Node
    expected: tuple  # the gradient of each input (NaN where it is NaN)
    convention: str  # the convention in words
    twin: Callable | None = None  # (torch, *tensors) -> tensor; None: PyTorch differs here
    torch_differs: str = ""  # what PyTorch gives instead, and why ours is kept


def _row(*values):
    return np.array([values], dtype=np.float64)


EDGE_CASES = [
    EdgeCase("pow", "x ** 0 at x = 0", (_row(0.0, 1.0, -2.0),), lambda x: x ** 0,
             (_row(0.0, 0.0, 0.0),), "d(x⁰) = 0 everywhere, at 0 too (not 0·0⁻¹ = NaN)",
             lambda t, x: x ** 0),
    EdgeCase("pow", "x ** 1 at x = 0", (_row(0.0, 3.0),), lambda x: x ** 1,
             (_row(1.0, 1.0),), "d(x¹) = 1 everywhere", lambda t, x: x ** 1),
    EdgeCase("relu", "relu at 0 and NaN", (_row(0.0, -1.0, 2.0, NAN),), mf.relu,
             (_row(0.0, 0.0, 1.0, 1.0),),
             "[x > 0] at 0 is 0; at NaN the gradient passes (as PyTorch's threshold backward)",
             lambda t, x: t.relu(x)),
    EdgeCase("abs", "abs at 0", (_row(0.0, -2.0, 2.0),), mf.abs, (_row(0.0, -1.0, 1.0),),
             "sign(0) = 0", lambda t, x: t.abs(x)),
    EdgeCase("leaky_relu", "leaky_relu(x, 0.1) at 0", (_row(0.0, -1.0, 1.0),),
             lambda x: mf.leaky_relu(x, 0.1), (_row(0.1, 0.1, 1.0),),
             "the slope at exactly 0 is the negative side's, s",
             lambda t, x: t.nn.functional.leaky_relu(x, 0.1)),
    EdgeCase("clamp", "clamp(x, −1, 1) at its bounds", (_row(-1.0, 1.0, 0.0, 2.0),),
             lambda x: mf.clamp(x, -1.0, 1.0), (_row(1.0, 1.0, 1.0, 0.0),),
             "the gradient passes at the bounds, stops beyond them",
             lambda t, x: t.clamp(x, -1.0, 1.0)),
    EdgeCase("max", "max over a row with a tie", (_row(1.0, 1.0, 0.5),),
             lambda x: mf.max(x, 1), (_row(0.5, 0.5, 0.0),),
             "a tie shares the gradient equally, 1/ties each (as torch.amax)",
             lambda t, x: t.amax(x, 1, keepdim=True)),
    EdgeCase("max", "max of all with a three-way tie", (np.array([[2.0, 0.0], [2.0, 2.0]]),),
             lambda x: mf.max(x), (np.array([[1 / 3, 0.0], [1 / 3, 1 / 3]]),),
             "a tie shares the gradient equally, 1/ties each",
             lambda t, x: t.amax(x).reshape(1, 1)),
    EdgeCase("max_pool", "max_pool with ties in a window",
             (np.array([[1.0, 1.0, 0.0, 0.0] * 2 + [0.5] * 8]),),
             lambda x: mf.max_pool(x, (1, 4, 4), 2),
             (np.array([[1.0, 0, 1.0, 0] + [0.0] * 4 + [1.0, 0, 1.0, 0] + [0.0] * 4]),),
             "a window's gradient goes to its first maximum (row-major), as PyTorch's",
             lambda t, x: t.nn.functional.max_pool2d(x.reshape(1, 1, 4, 4), 2).reshape(1, 4)),
    EdgeCase("det", "det at a singular matrix", (np.array([[1.0, 2.0], [2.0, 4.0]]),),
             mf.det, (np.array([[4.0, -2.0], [-2.0, 1.0]]),),
             "adj(A)ᵀ, the true derivative, also where det A = 0",
             torch_differs="PyTorch 2.13 returns 0 here, which is not the derivative"),
    EdgeCase("logdet", "logdet where det < 0", (np.array([[0.0, 1.0], [1.0, 0.0]]),),
             mf.logdet, (np.full((2, 2), NAN),),
             "ln det A is NaN where det A < 0, and so is its gradient",
             torch_differs="PyTorch 2.13 returns a gradient of 0 beside its NaN value"),
    EdgeCase("sqrt", "sqrt at 0", (_row(0.0, 4.0),), mf.sqrt, (_row(np.inf, 0.25),),
             "1/(2√x) is +inf at 0", lambda t, x: t.sqrt(x)),
]


def edge_cases_for(op: str) -> list[EdgeCase]:
    return [case for case in EDGE_CASES if case.op == op]


def _matrixflow_gradients(case: EdgeCase):
    nodes = [Node(np.array(x), requires_grad=True) for x in case.inputs]
    with np.errstate(all="ignore"):
        output = case.run(*nodes)
        return [g.numpy() for g in grad(output, nodes, gradient=np.ones(output.shape),
                                        materialize_grads=True)]


def _torch_gradients(case: EdgeCase, torch):
    tensors = [torch.tensor(np.array(x), dtype=torch.float64, requires_grad=True)
               for x in case.inputs]
    output = case.twin(torch, *tensors)
    output.backward(torch.ones_like(output))
    return [t.grad.numpy() for t in tensors]


def _text(array) -> str:
    return np.array2string(np.asarray(array), precision=4, separator=", ").replace("\n", "")


def _same(actual, expected) -> bool:
    return actual.shape == expected.shape and np.allclose(actual, expected, rtol=1e-12,
                                                          atol=1e-12, equal_nan=True)


def check_edge(case: EdgeCase, torch=None) -> tuple[bool, bool | None, str]:
    """(matrixflow agrees with the convention, PyTorch does (None: not compared), problem)."""
    try:
        mine = _matrixflow_gradients(case)
    except Exception as exc:  # a broken rule is a failing case, never a crash
        return False, None, f"{case.label}: raised {type(exc).__name__}: {exc}"
    if not all(_same(m, e) for m, e in zip(mine, case.expected)):
        return False, None, (f"{case.label}: gradient {_text(mine[0])} "
                             f"where the convention says {case.convention}")
    if torch is None or case.twin is None:
        return True, None, ""
    theirs = _torch_gradients(case, torch)
    if not all(_same(t, e) for t, e in zip(theirs, case.expected)):
        return True, False, (f"{case.label}: PyTorch gives "
                             f"{_text(theirs[0])}, not the convention")
    return True, True, ""
