"""Second and third derivatives against torch.autograd.grad(create_graph=True)."""

import numpy as np
import pytest
import torch
from op_cases import ALL_CASES

import matrixflow as mf
from matrixflow.verification import op_checks as opcheck

RTOL, ATOL = 1e-9, 1e-11


@pytest.mark.parametrize("case", ALL_CASES)
def test_hessian_vector_products_match_pytorch(case):
    rng = np.random.default_rng(11)
    output_shape = case.run(*opcheck.leaves(case)).shape
    v = rng.standard_normal(output_shape)
    w = [rng.standard_normal(x.shape) for x, d in zip(case.inputs, case.differentiable) if d]
    mine = opcheck.hessian_vector_product(case, v, w)  # what matrixflow verify compares too
    theirs = opcheck.torch_hessian_vector_product(case, torch, v, w)
    for a, b in zip(mine, theirs):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)


def _derivatives_mf(fn, x0, order):
    x = mf.Node([[x0]], requires_grad=True)
    y = fn(x)
    values = []
    for _ in range(order):
        (y,) = mf.grad(y, [x], create_graph=True)
        values.append(y.item())
    return values


def _derivatives_torch(fn, x0, order):
    x = torch.tensor([[x0]], dtype=torch.float64, requires_grad=True)
    y = fn(x)
    values = []
    for _ in range(order):
        (y,) = torch.autograd.grad(y, [x], create_graph=True)
        values.append(y.item())
    return values


SCALAR_FUNCTIONS = [
    ("sin(x)·exp(x)", lambda x: mf.sin(x) * mf.exp(x), lambda x: torch.sin(x) * torch.exp(x)),
    ("tanh(x)³", lambda x: mf.tanh(x) ** 3, lambda x: torch.tanh(x) ** 3),
    ("sigmoid(x)/x", lambda x: mf.sigmoid(x) / x, lambda x: torch.sigmoid(x) / x),
    ("log(softplus(x))", lambda x: mf.log(mf.softplus(x)),
     lambda x: torch.log(torch.nn.functional.softplus(x))),
    ("sqrt(1 + x²)", lambda x: mf.sqrt(1 + x * x), lambda x: torch.sqrt(1 + x * x)),
    ("2 ** x", lambda x: 2 ** x, lambda x: 2 ** x),
    ("cos(x)⁻²", lambda x: mf.cos(x) ** -2, lambda x: torch.cos(x) ** -2),
]


@pytest.mark.parametrize("name, mf_fn, torch_fn", SCALAR_FUNCTIONS,
                         ids=[f[0] for f in SCALAR_FUNCTIONS])
def test_first_to_fourth_derivatives_of_scalar_functions(name, mf_fn, torch_fn):
    np.testing.assert_allclose(_derivatives_mf(mf_fn, 0.7, 4), _derivatives_torch(torch_fn, 0.7, 4),
                               rtol=1e-10)


def test_third_derivative_of_a_matrix_function_matches_pytorch():
    """D³f(X)[U, V, W] for f(X) = sum(tanh(X·W₀)³) + logdet(XᵀX + I)."""
    rng = np.random.default_rng(5)
    x0, w0 = rng.standard_normal((4, 3)), rng.standard_normal((3, 2))
    u, v, w = (rng.standard_normal((4, 3)) for _ in range(3))

    def f_mf(X):
        return mf.sum(mf.tanh(X @ w0) ** 3) + mf.logdet(X.T @ X + np.eye(3))

    def f_torch(X):
        return (torch.tanh(X @ torch.from_numpy(w0)) ** 3).sum() + torch.logdet(
            X.T @ X + torch.eye(3, dtype=torch.float64))

    X = mf.Node(x0, requires_grad=True)
    (g,) = mf.grad(f_mf(X), [X], create_graph=True)
    (h,) = mf.grad(mf.sum(g * u), [X], create_graph=True)
    (t,) = mf.grad(mf.sum(h * v), [X])
    mine = float(np.sum(t.numpy() * w))

    Xt = torch.tensor(x0, requires_grad=True)
    (gt,) = torch.autograd.grad(f_torch(Xt), [Xt], create_graph=True)
    (ht,) = torch.autograd.grad((gt * torch.from_numpy(u)).sum(), [Xt], create_graph=True)
    (tt,) = torch.autograd.grad((ht * torch.from_numpy(v)).sum(), [Xt])
    theirs = float((tt * torch.from_numpy(w)).sum())
    assert abs(mine) > 1e-3
    np.testing.assert_allclose(mine, theirs, rtol=1e-10)


def test_newton_step_solves_a_quadratic_in_one_step():
    """f(x) = ½xᵀAx − bᵀx: with the Hessian from Hessian-vector products, one Newton step
    lands on A⁻¹b."""
    rng = np.random.default_rng(2)
    m = rng.standard_normal((4, 4))
    A, b = m @ m.T + 4 * np.eye(4), rng.standard_normal((4, 1))
    x = mf.Node(np.zeros((4, 1)), requires_grad=True)
    f = 0.5 * (x.T @ A @ x) - b.T @ x
    (g,) = mf.grad(f, [x], create_graph=True)
    hessian = np.hstack([mf.grad(g, [x], gradient=np.eye(4)[:, [i]])[0].numpy()
                         for i in range(4)])
    np.testing.assert_allclose(hessian, A, rtol=1e-12)
    step = np.linalg.solve(hessian, g.numpy())
    np.testing.assert_allclose(x.numpy() - step, np.linalg.solve(A, b), rtol=1e-10)


def test_hessian_of_a_gaussian_log_likelihood_in_the_mean_is_minus_the_precision():
    rng = np.random.default_rng(9)
    m = rng.standard_normal((3, 3))
    sigma = m @ m.T + np.eye(3)
    x = rng.standard_normal((3, 1))
    mu = mf.Node(rng.standard_normal((3, 1)), requires_grad=True)
    d = x - mu
    loglik = -0.5 * (d.T @ mf.solve(sigma, d))
    (g,) = mf.grad(loglik, [mu], create_graph=True)
    np.testing.assert_allclose(g.numpy(), np.linalg.solve(sigma, x - mu.numpy()), rtol=1e-12)
    columns = [mf.grad(g, [mu], gradient=np.eye(3)[:, [i]])[0].numpy() for i in range(3)]
    np.testing.assert_allclose(np.hstack(columns), -np.linalg.inv(sigma), rtol=1e-10, atol=1e-14)
