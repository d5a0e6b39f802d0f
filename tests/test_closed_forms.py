"""Closed-form matrix derivatives from the literature (The Matrix Cookbook, the MatrixFlow
post), each computed by backward and compared with its formula."""

import numpy as np
import pytest

import matrixflow as mf

rng = np.random.default_rng(2024)
n = 4
A0, B0 = rng.standard_normal((n, n)), rng.standard_normal((n, n))
X0 = rng.standard_normal((n, n)) + 3 * np.eye(n)  # comfortably invertible
a0, b0 = rng.standard_normal((n, 1)), rng.standard_normal((n, 1))
inv = np.linalg.inv


def gradient_of(f, x0):
    x = mf.Node(x0, requires_grad=True)
    f(x).backward()
    return x.grad


CASES = [
    ("∂tr(AX)/∂X = Aᵀ", lambda X: mf.trace(A0 @ X), X0, A0.T),
    ("∂tr(XᵀAX)/∂X = (A + Aᵀ)X", lambda X: mf.trace(X.T @ A0 @ X), X0, (A0 + A0.T) @ X0),
    ("∂tr(AXB)/∂X = AᵀBᵀ", lambda X: mf.trace(A0 @ X @ B0), X0, A0.T @ B0.T),
    ("∂tr(XXᵀ)/∂X = 2X", lambda X: mf.trace(X @ X.T), X0, 2 * X0),
    ("∂aᵀXb/∂X = abᵀ", lambda X: a0.T @ X @ b0, X0, a0 @ b0.T),
    ("∂aᵀX⁻¹b/∂X = −X⁻ᵀabᵀX⁻ᵀ", lambda X: a0.T @ mf.inv(X) @ b0, X0,
     -inv(X0).T @ a0 @ b0.T @ inv(X0).T),
    ("∂tr(X⁻¹A)/∂X = −X⁻ᵀAᵀX⁻ᵀ", lambda X: mf.trace(mf.inv(X) @ A0), X0,
     -inv(X0).T @ A0.T @ inv(X0).T),
    ("∂det X/∂X = det(X)X⁻ᵀ", lambda X: mf.det(X), X0, np.linalg.det(X0) * inv(X0).T),
    ("∂ln det X/∂X = X⁻ᵀ", lambda X: mf.logdet(X @ X.T), X0, 2 * inv(X0).T),
    ("∂det(AXB)/∂X = det(AXB)X⁻ᵀ", lambda X: mf.det(A0 @ X @ B0), X0,
     np.linalg.det(A0 @ X0 @ B0) * inv(X0).T),
    ("∂tr(X²)/∂X = 2Xᵀ", lambda X: mf.trace(X @ X), X0, 2 * X0.T),
    ("∂‖X‖²_F/∂X = 2X", lambda X: mf.sum(X * X), X0, 2 * X0),
    ("∂aᵀXᵀXa/∂X = 2Xaaᵀ", lambda X: a0.T @ X.T @ X @ a0, X0, 2 * X0 @ a0 @ a0.T),
    ("∂ tr(AX⁻¹B) = −X⁻ᵀAᵀBᵀX⁻ᵀ", lambda X: mf.trace(A0 @ mf.solve(X, B0)), X0,
     -inv(X0).T @ A0.T @ B0.T @ inv(X0).T),
]


@pytest.mark.parametrize("name, f, x0, expected", CASES, ids=[c[0] for c in CASES])
def test_backward_reproduces_the_closed_form(name, f, x0, expected):
    np.testing.assert_allclose(gradient_of(f, x0), expected, rtol=1e-10, atol=1e-12)


def test_least_squares_gradient_is_two_xt_residual():
    X, y = rng.standard_normal((20, 3)), rng.standard_normal((20, 1))
    w0 = rng.standard_normal((3, 1))
    g = gradient_of(lambda w: mf.sum((X @ w - y) ** 2), w0)
    np.testing.assert_allclose(g, 2 * X.T @ (X @ w0 - y), rtol=1e-10)


def test_the_matrixflow_post_example_f_equals_at_exp_xb():
    """Sec. 1.5 of the MatrixFlow post: f = aᵀexp(Xb) ⇒ ∂f/∂X = (a ⊙ exp(Xb))bᵀ."""
    a, b, X = rng.standard_normal((5, 1)), rng.standard_normal((3, 1)), rng.standard_normal((5, 3))
    g = gradient_of(lambda X: a.T @ mf.exp(X @ b), X)
    np.testing.assert_allclose(g, (a * np.exp(X @ b)) @ b.T, rtol=1e-12)


def test_gaussian_log_likelihood_gradients():
    """ℓ = −½ ln det Σ − ½ (x−μ)ᵀΣ⁻¹(x−μ):  ∂ℓ/∂μ = Σ⁻¹(x−μ),
    ∂ℓ/∂Σ = ½(Σ⁻¹(x−μ)(x−μ)ᵀΣ⁻¹ − Σ⁻¹) (Σ treated as unconstrained)."""
    m = rng.standard_normal((3, 3))
    sigma0 = m @ m.T + np.eye(3)
    x, mu0 = rng.standard_normal((3, 1)), rng.standard_normal((3, 1))
    Sigma = mf.Node(sigma0, requires_grad=True)
    mu = mf.Node(mu0, requires_grad=True)
    d = x - mu
    loglik = -0.5 * mf.logdet(Sigma) - 0.5 * (d.T @ mf.solve(Sigma, d))
    loglik.backward()
    P, r = inv(sigma0), x - mu0
    np.testing.assert_allclose(mu.grad, P @ r, rtol=1e-10)
    np.testing.assert_allclose(Sigma.grad, 0.5 * (P @ r @ r.T @ P - P), rtol=1e-10, atol=1e-13)


def test_softmax_cross_entropy_gradient_is_probabilities_minus_one_hot_over_n():
    logits, labels = rng.standard_normal((6, 4)), rng.integers(0, 4, 6)
    g = gradient_of(lambda z: mf.cross_entropy(z, labels), logits)
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(g, (p - np.eye(4)[labels]) / 6, rtol=1e-12)


def test_the_original_posts_mlp_gradients():
    """The post's check against PyTorch, here against the hand derivation:
    loss = (y − out)ᵀ(y − out), out = relu(xW₁ + 1b₁)W₂ + 1b₂."""
    x, y = rng.uniform(-3.14, 3.14, (100, 2)), rng.standard_normal((100, 1))
    w1, w2 = rng.uniform(-1, 1, (2, 5)), rng.uniform(-1, 1, (5, 1))
    b1, b2 = rng.uniform(-1, 1, (1, 5)), rng.uniform(-1, 1, (1, 1))
    W1, W2, B1, B2 = (mf.Node(v, requires_grad=True) for v in (w1, w2, b1, b2))
    hidden = mf.relu(x @ W1 + B1)
    residual = y - (hidden @ W2 + B2)
    (residual.T @ residual).backward()
    pre = x @ w1 + b1
    h = np.maximum(pre, 0)
    r = y - (h @ w2 + b2)
    g_out = -2 * r
    g_pre = (g_out @ w2.T) * (pre > 0)
    np.testing.assert_allclose(W2.grad, h.T @ g_out, rtol=1e-10)
    np.testing.assert_allclose(B2.grad, g_out.sum(axis=0, keepdims=True), rtol=1e-10)
    np.testing.assert_allclose(W1.grad, x.T @ g_pre, rtol=1e-10)
    np.testing.assert_allclose(B1.grad, g_pre.sum(axis=0, keepdims=True), rtol=1e-10)
