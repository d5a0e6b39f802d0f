"""The teaching room: matrix calculus to read.

`derivation(op)` derives an op's rule with the trace trick step by step; `explain(y)` lists the
backward walk of a graph; `to_dot` and `render` draw its tree; `symbols` and `closed_form` give a
gradient in closed form, derived by the very rules that compute numeric ones (`symbolic/`);
`derive(f, X)` works a whole expression's derivation in the user's symbols (`worked`, with
`instantiate` writing the op table's steps in them); `jacobian` and `hessian` differentiate a
closed form again (`second_order`); `check_gradient` says whether a hand-derived gradient is
right and, if not, names its slip; `expression` is the language of `matrixflow explain`, and
`explain_command` that command.
Importing this package registers the symbolic matrices with the engine (`symbolic_hooks`) and,
inside IPython, the pictures of trees with the notebook (`display`).
"""

from .check_gradient import GradientCheck, check_gradient
from .derivation import derivation, to_latex
from .display import picture, register_with_ipython
from .explain import explain
from .second_order import hessian, jacobian
from .symbolic import Sym, closed_form, symbols
from .tree_picture import render, to_dot
from .worked import WorkedDerivation, derive

__all__ = ["GradientCheck", "Sym", "WorkedDerivation", "check_gradient", "closed_form",
           "derivation", "derive", "explain", "hessian", "jacobian", "picture", "render",
           "symbols", "to_dot", "to_latex"]

register_with_ipython()  # inside Jupyter, a Node shows as a picture of its tree
