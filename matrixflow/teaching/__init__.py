"""The teaching room: matrix calculus to read.

`derivation(op)` derives an op's rule with the trace trick step by step; `explain(y)` lists the
backward walk of a graph; `to_dot` and `render` draw its tree; `symbols` and `closed_form` give a
gradient in closed form, derived by the very rules that compute numeric ones (`symbolic/`);
`expression` is the language of `matrixflow explain`, and `explain_command` that command;
`check_gradient` says whether a hand-derived gradient is right and, if not, names its slip.
Importing this package registers the symbolic matrices with the engine (`symbolic_hooks`).
"""

from .check_gradient import GradientCheck, check_gradient
from .derivation import derivation, to_latex
from .explain import explain
from .symbolic import Sym, closed_form, symbols
from .tree_picture import render, to_dot

__all__ = ["GradientCheck", "Sym", "check_gradient", "closed_form", "derivation", "explain",
           "render", "symbols", "to_dot", "to_latex"]
