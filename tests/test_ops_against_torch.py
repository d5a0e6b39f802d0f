"""Every op against its PyTorch twin in float64: values and gradients, rtol 1e-10."""

import numpy as np
import pytest
import torch
from op_cases import ALL_CASES

import matrixflow as mf
from matrixflow import opcheck

RTOL, ATOL = 1e-10, 1e-12


def _torch_inputs(case):
    return [torch.tensor(np.array(x), dtype=torch.float64, requires_grad=d)
            for x, d in zip(case.inputs, case.differentiable)]


@pytest.mark.parametrize("case", ALL_CASES)
def test_value_and_gradients_match_pytorch(case):
    nodes = opcheck.leaves(case)
    output = case.run(*nodes)
    tensors = _torch_inputs(case)
    expected = case.twin(torch, *tensors)
    assert output.shape == tuple(expected.shape)
    np.testing.assert_allclose(output.numpy(), expected.detach().numpy(), rtol=RTOL, atol=ATOL)

    seed = np.random.default_rng(7).standard_normal(output.shape)  # Ȳ, not all ones
    output.backward(seed)
    expected.backward(torch.from_numpy(seed))
    for node, tensor in zip(nodes, tensors):
        if node.requires_grad:
            assert node.grad.shape == node.shape
            np.testing.assert_allclose(node.grad, tensor.grad.numpy(), rtol=RTOL, atol=ATOL)
        else:
            assert node.grad is None


@pytest.mark.parametrize("case", ALL_CASES)
def test_float32_inputs_stay_float32_and_agree_with_float64(case):
    nodes = [mf.Node(np.asarray(x, dtype=np.float32), requires_grad=d)
             for x, d in zip(case.inputs, case.differentiable)]
    output = case.run(*nodes)
    assert output.dtype == np.float32
    seed = np.random.default_rng(7).standard_normal(output.shape)
    output.backward(seed)
    reference = opcheck.leaves(case)
    reference_output = case.run(*reference)
    reference_output.backward(seed)
    np.testing.assert_allclose(output.numpy(), reference_output.numpy(), rtol=2e-4, atol=2e-4)
    for node, exact in zip(nodes, reference):
        if node.requires_grad:
            assert node.grad.dtype == np.float32
            np.testing.assert_allclose(node.grad, exact.grad, rtol=2e-3, atol=2e-3)
