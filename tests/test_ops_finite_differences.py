"""Every op against central finite differences: first order (gradcheck) and second order
(gradgradcheck), and the graph-building rules against the plain ones, on each backend."""

import numpy as np
import pytest
from op_cases import ALL_CASES, BACKENDS, to_backend

import matrixflow as mf
from matrixflow.verification import op_checks as opcheck


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", ALL_CASES)
def test_gradient_matches_finite_differences(case, backend):
    assert mf.gradcheck(case.run, opcheck.leaves(case, backend))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", ALL_CASES)
def test_second_derivatives_match_finite_differences(case, backend):
    assert mf.gradgradcheck(case.run, opcheck.leaves(case, backend))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", ALL_CASES)
def test_rules_run_as_a_graph_give_the_same_gradient(case, backend):
    nodes = opcheck.leaves(case, backend)
    output = case.run(*nodes)
    seed = to_backend(np.random.default_rng(3).standard_normal(output.shape), backend)
    wrt = [x for x in nodes if x.requires_grad]
    plain = mf.grad(output, wrt, seed)
    as_graph = mf.grad(output, wrt, seed, create_graph=True)
    for g, h in zip(plain, as_graph):
        assert g.op is None  # plain backward builds nothing
        assert g.device == h.device == nodes[0].device
        np.testing.assert_allclose(h.numpy(), g.numpy(), rtol=1e-12, atol=1e-14)
