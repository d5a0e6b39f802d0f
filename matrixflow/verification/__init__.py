"""The verification room: is this gradient right, and if not, which op is wrong?

`gradcheck` and `gradgradcheck` compare backward's Jacobians with central differences
(`jacobians`), and on a failure name the first op whose own rule is wrong (`localise`); `verify`
reports one function's gradient side by side with finite differences and PyTorch (`report`,
replaying the graph through `torch_twins`), as a dict that prints as text and shows as a table
in a notebook (`report_view`); `op_cases`, `op_cases_layers` and `op_checks` are the per-op
checks that `matrixflow verify` runs (`op_table`); `matrices` draws random matrices of the
domains rules break on (symmetric, SPD, orthogonal, near-singular, …) for checkers;
`slips` names the classic slip of a wrong gradient, and `handwritten` checks a hand-written
NumPy backward with it (`handwritten_view` its report).
"""

from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .jacobians import numerical_grad
from .report import verify

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck", "numerical_grad", "verify"]
