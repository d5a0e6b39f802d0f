"""Every op against its PyTorch twin in float64: values and gradients, rtol 1e-10, on each
backend (NumPy against PyTorch on the CPU; CuPy against PyTorch on CUDA where it has CUDA)."""

import numpy as np
import pytest
import torch
from op_cases import ALL_CASES, BACKENDS, to_backend, torch_device

import matrixflow as mf
from matrixflow.verification import op_checks as opcheck

RTOL, ATOL = 1e-10, 1e-12


def _torch_inputs(case, device):
    return [torch.tensor(np.array(x), dtype=torch.float64, requires_grad=d, device=device)
            for x, d in zip(case.inputs, case.differentiable)]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", ALL_CASES)
def test_value_and_gradients_match_pytorch(case, backend):
    nodes = opcheck.leaves(case, backend)
    output = case.run(*nodes)
    assert output.device.startswith(backend)
    tensors = _torch_inputs(case, torch_device(torch, backend))
    expected = case.twin(torch, *tensors)
    assert output.shape == tuple(expected.shape)
    np.testing.assert_allclose(output.numpy(), expected.detach().cpu().numpy(), rtol=RTOL,
                               atol=ATOL)

    seed = np.random.default_rng(7).standard_normal(output.shape)  # Ȳ, not all ones
    output.backward(to_backend(seed, backend))
    expected.backward(torch.from_numpy(seed).to(expected.device))
    for node, tensor in zip(nodes, tensors):
        if node.requires_grad:
            assert node.grad.shape == node.shape and mf.device_of(node.grad) == node.device
            np.testing.assert_allclose(mf.Node(node.grad).numpy(), tensor.grad.cpu().numpy(),
                                       rtol=RTOL, atol=ATOL)
        else:
            assert node.grad is None


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", ALL_CASES)
def test_float32_inputs_stay_float32_and_agree_with_float64(case, backend):
    nodes = [mf.Node(np.asarray(x, dtype=np.float32), requires_grad=d).to(backend)
             for x, d in zip(case.inputs, case.differentiable)]
    output = case.run(*nodes)
    assert output.dtype == np.float32
    seed = np.random.default_rng(7).standard_normal(output.shape)
    output.backward(to_backend(seed, backend))
    reference = opcheck.leaves(case)
    reference_output = case.run(*reference)
    reference_output.backward(seed)
    np.testing.assert_allclose(output.numpy(), reference_output.numpy(), rtol=2e-4, atol=2e-4)
    for node, exact in zip(nodes, reference):
        if node.requires_grad:
            assert node.grad.dtype == np.float32
            np.testing.assert_allclose(mf.Node(node.grad).numpy(), exact.grad, rtol=2e-3,
                                       atol=2e-3)
