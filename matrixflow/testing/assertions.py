"""Assertions for a test suite: a hand-written backward checked, the report in the failure.

    from matrixflow.testing import assert_backward

    def test_my_dense_layer():
        assert_backward(dense_forward, dense_backward, {"X": X, "W": W, "b": b})

On a wrong gradient pytest shows an AssertionError whose message is the whole report: which
input, the worst entry, and the likeliest slip (transposed, a constant factor, the sign, a
term missing, right only for symmetric inputs).
"""

from __future__ import annotations

from ..verification.handwritten import BackwardReport, check_backward


def assert_backward(forward, backward, inputs, **options) -> BackwardReport:
    """Raise AssertionError (carrying the report) unless `backward` is the VJP of `forward`
    on every draw; return the report when it is.  `options` are check_backward's."""
    __tracebackhide__ = True  # pytest shows the caller's line, not this one
    report = check_backward(forward, backward, inputs, **options)
    if not report.ok:
        raise AssertionError(str(report))
    return report
