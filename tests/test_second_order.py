"""Hessians, Jacobians and Hessian-vector products in closed form, against PyTorch (float64).

Each closed form is evaluated on random numbers and compared with
torch.autograd.functional.hessian / jacobian of the same function written in torch.
"""

import numpy as np
import pytest

import matrixflow as mf

torch = pytest.importorskip("torch")
functional = torch.autograd.functional


def _values(shapes, seed):
    rng = np.random.default_rng(seed)
    values = {}
    for name, (rows, cols) in shapes.items():
        values[name] = (2 * np.eye(rows) + rng.standard_normal((rows, rows)) / np.sqrt(rows)
                        if rows == cols > 1 else rng.standard_normal((rows, cols)))
    return values


def _spd(n, rng):
    m = rng.standard_normal((n, n))
    return m @ m.T + n * np.eye(n)


SHAPES = {"x": (3, 1), "m": (3, 1), "A": (3, 3), "B": (2, 3), "S": (3, 3)}


def symbols():
    return mf.symbols("x m A B S", shapes=SHAPES)


# name: (matrixflow f(x, m, A, B, S), torch f(x, m, A, B, S), the closed form printed or None)
HESSIANS = {
    "quadratic form": (lambda x, m, A, B, S: x.T @ A @ x,
                       lambda x, m, A, B, S: (x.T @ A @ x).sum(), "A + Aᵀ"),
    "Gaussian log-likelihood in its mean": (
        lambda x, m, A, B, S: -0.5 * mf.logdet(S) - 0.5 * ((x - m).T @ mf.solve(S, x - m)),
        lambda x, m, A, B, S: (-0.5 * torch.logdet(S)
                               - 0.5 * (x - m).T @ torch.linalg.solve(S, x - m)).sum(),
        "−0.5·(S⁻¹ + S⁻ᵀ)"),
    "sum of exp(Ax)": (lambda x, m, A, B, S: mf.sum(mf.exp(A @ x)),
                       lambda x, m, A, B, S: torch.exp(A @ x).sum(), "Aᵀdiag(exp(Ax))A"),
    "logistic": (lambda x, m, A, B, S: mf.sum(mf.softplus(A @ x)),
                 lambda x, m, A, B, S: torch.nn.functional.softplus(A @ x).sum(), None),
    "sigmoid": (lambda x, m, A, B, S: mf.sum(mf.sigmoid(B @ x)),
                lambda x, m, A, B, S: torch.sigmoid(B @ x).sum(), None),
    "least squares": (lambda x, m, A, B, S: mf.sum((A @ x - m) ** 2),
                      lambda x, m, A, B, S: ((A @ x - m) ** 2).sum(), "2AᵀA"),
    "quartic": (lambda x, m, A, B, S: (x.T @ x) @ (x.T @ A @ x),
                lambda x, m, A, B, S: ((x.T @ x) @ (x.T @ A @ x)).sum(), None),
}


@pytest.mark.parametrize("name", HESSIANS)
@pytest.mark.parametrize("seed", [0, 1])
def test_hessians_agree_with_torch(name, seed):
    ours, theirs, printed = HESSIANS[name]
    x, m, A, B, S = symbols()
    hessian = mf.hessian(ours(x, m, A, B, S), x)
    if printed is not None:
        assert str(hessian) == printed
    values = _values(SHAPES, seed)
    values["S"] = _spd(3, np.random.default_rng(seed))
    tensors = {k: torch.tensor(v) for k, v in values.items()}

    def f(column):
        return theirs(column.reshape(3, 1), tensors["m"], tensors["A"], tensors["B"],
                      tensors["S"])

    expected = functional.hessian(f, tensors["x"].reshape(3)).numpy()
    np.testing.assert_allclose(hessian.evaluate(values), expected, rtol=1e-9, atol=1e-12)


JACOBIANS = {
    "Ax": (lambda x, A, B: B @ x, lambda x, A, B: B @ x, "B"),
    "exp(Ax)": (lambda x, A, B: mf.exp(B @ x), lambda x, A, B: torch.exp(B @ x), "diag(exp(Bx))B"),
    "tanh(Ax) + x": (lambda x, A, B: mf.tanh(A @ x) + x, lambda x, A, B: torch.tanh(A @ x) + x,
                     None),
    "x ⊙ x": (lambda x, A, B: x * x, lambda x, A, B: x * x, "2diag(x)"),
    "(xᵀx)·Ax": (lambda x, A, B: (x.T @ x) * (A @ x), lambda x, A, B: (x.T @ x) * (A @ x), None),
    "softmax": (lambda x, A, B: mf.reshape(mf.softmax(mf.reshape(A @ x, 1, 3)), 3, 1),
                lambda x, A, B: torch.softmax((A @ x).reshape(1, 3), dim=1).reshape(3, 1), None),
}


@pytest.mark.parametrize("name", JACOBIANS)
def test_jacobians_agree_with_torch(name):
    ours, theirs, printed = JACOBIANS[name]
    x, _, A, B, _ = symbols()
    try:
        jacobian = mf.jacobian(ours(x, A, B), x)
    except (ValueError, ArithmeticError) as exc:  # refused honestly, never printed wrong
        assert name == "softmax", exc
        return
    if printed is not None:
        assert str(jacobian) == printed
    values = _values(SHAPES, 3)
    tensors = {k: torch.tensor(v) for k, v in values.items()}
    expected = functional.jacobian(
        lambda c: theirs(c.reshape(3, 1), tensors["A"], tensors["B"]).reshape(-1),
        tensors["x"].reshape(3)).numpy()
    np.testing.assert_allclose(jacobian.evaluate(values), expected, rtol=1e-9, atol=1e-12)


def test_hessian_applied_to_a_direction_for_matrix_variables():
    X, A, V = mf.symbols("X A V", shape=(3, 3))
    cases = [
        (mf.logdet(X), lambda t: torch.logdet(t), "−X⁻ᵀVᵀX⁻ᵀ"),
        (mf.trace(X.T @ A @ X), lambda t: torch.trace(t.T @ tA @ t), None),
        (mf.sum(mf.exp(X) * A), lambda t: (torch.exp(t) * tA).sum(), None),
    ]
    values = _values({"X": (3, 3), "A": (3, 3), "V": (3, 3)}, 4)
    tA = torch.tensor(values["A"])
    tX, tV = torch.tensor(values["X"]), torch.tensor(values["V"])
    for f, theirs, printed in cases:
        product = mf.hessian(f, X, direction=V)
        if printed is not None:
            assert str(product) == printed
        _, expected = functional.hvp(theirs, tX, tV)
        np.testing.assert_allclose(product.evaluate(values), expected.numpy(), rtol=1e-9,
                                   atol=1e-12)


def test_a_closed_form_differentiates_again():
    x, A = mf.symbols("x A", shapes={"x": (3, 1), "A": (3, 3)})
    gradient = mf.closed_form(x.T @ A @ x, x)  # (A + Aᵀ)x, a Sym
    assert str(mf.jacobian(gradient, x)) == "A + Aᵀ"
    with pytest.raises(ValueError, match=r"mf\.jacobian"):
        mf.closed_form(gradient, x)


def test_clear_errors():
    X, A = mf.symbols("X A", shape=(3, 3))
    with pytest.raises(ValueError, match="direction=V"):
        mf.hessian(mf.trace(X @ A), X)
    x = mf.symbols("x", shape=(3, 1))
    with pytest.raises(ValueError, match="column"):
        mf.jacobian(x @ x.T, x)
    with pytest.raises(TypeError, match="symbol"):
        mf.hessian(mf.sum(x), mf.Node(np.ones((3, 1)), requires_grad=True))
