"""Every op's cases (from matrixflow.opcheck), as pytest parameters: one test per case."""

import pytest

from matrixflow import REGISTRY, opcheck

ALL_CASES = [
    pytest.param(case, id=f"{name}: {case.label}")
    for name in REGISTRY
    for case in opcheck.cases_for(name)
]
