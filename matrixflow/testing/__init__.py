"""For users' test suites: matrixflow's checks as test helpers, and matrices to feed them.

`strategies` holds Hypothesis strategies for matrices (shapes, broadcast pairs, and the domains
symmetric, SPD with a bounded condition number, orthogonal, diagonal, near-singular, positive);
it needs the `testing` extra (`pip install "matrixflow[testing]"`) and is imported on its own,
`from matrixflow.testing import strategies as mst`, so this package imports without Hypothesis.
`assert_backward(forward, backward, inputs)` (assertions.py) raises an AssertionError carrying
the report of `check_backward` (verification/handwritten.py) when a hand-written backward is
wrong.

A room above verification: it may import verification and the engine; nothing in matrixflow
imports it (tests/test_layout.py).
"""

from ..verification.handwritten import BackwardReport, check_backward
from .assertions import assert_backward

__all__ = ["BackwardReport", "assert_backward", "check_backward"]
