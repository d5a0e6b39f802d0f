"""mf.derive: worked trace-trick derivations in the user's symbols, every step checked on numbers.

The textbook examples are printed as a text would (the MatrixFlow post's aᵀexp(Xb), tr(XᵀAX),
ln det(XᵀX), least squares); every adjoint a derivation states is compared with backward's
gradient at that node of the numeric tree (`check`), and the final gradient with PyTorch's.
"""

import dataclasses
import json

import numpy as np
import pytest

import matrixflow as mf

torch = pytest.importorskip("torch")


def post_example():
    a, b, X = mf.symbols("a b X", shapes={"a": (3, 1), "b": (2, 1), "X": (3, 2)})
    return a.T @ mf.exp(X @ b), X


def quadratic_form():
    A, X = mf.symbols("A X", shapes={"A": (3, 3), "X": (3, 2)})
    return mf.trace(X.T @ A @ X), X


def log_det_gram():
    X = mf.symbols("X", shape=(4, 3))
    return mf.logdet(X.T @ X), X


def least_squares():
    X, w, y = mf.symbols("X w y", shapes={"X": (6, 3), "w": (3, 1), "y": (6, 1)})
    return mf.sum((X @ w - y) ** 2), w


def least_squares_as_product():
    X, w, y = mf.symbols("X w y", shapes={"X": (6, 3), "w": (3, 1), "y": (6, 1)})
    r = X @ w - y
    return r.T @ r, w


TEXTBOOK = {
    "post": (post_example, "(a ⊙ exp(Xb))bᵀ", [
        "tr(aᵀ·d exp(Xb))",                        # dL = tr(aᵀ d exp(Xb))
        "tr(aᵀ (exp(Xb) ⊙ d(Xb)))",                # = tr(aᵀ(exp(Xb) ⊙ d(Xb)))
        "tr((a ⊙ exp(Xb))ᵀ dX·b)",                 # = tr((a ⊙ exp(Xb))ᵀ dX·b)
        "tr(b·(a ⊙ exp(Xb))ᵀ dX)",                 # = tr(b(a ⊙ exp(Xb))ᵀ dX)
        "⇒ ∂f/∂(Xb) = a ⊙ exp(Xb)",
    ]),
    "trace": (quadratic_form, "(A + Aᵀ)X", [
        "⇒ contribution to ∂f/∂X: AᵀX", "⇒ contribution to ∂f/∂X: AX",
        "∂f/∂X sums its 2 contributions: AᵀX + AX = (A + Aᵀ)X",
    ]),
    "logdet": (log_det_gram, "2X(XᵀX)⁻¹", [
        "d(ln det(XᵀX)) = tr((XᵀX)⁻¹ d(XᵀX))", "⇒ ∂f/∂(XᵀX) = (XᵀX)⁻¹",
        "sums its 2 contributions: X(XᵀX)⁻¹ + X(XᵀX)⁻¹ = 2X(XᵀX)⁻¹",
    ]),
    "least squares": (least_squares, "2Xᵀ(Xw − y)", [
        "⇒ ∂f/∂(Xw − y) = 2(Xw − y)", "tr((2(Xw − y))ᵀ X·dw)",
    ]),
    "least squares as rᵀr": (least_squares_as_product, "2Xᵀ(Xw − y)", [
        "sums its 2 contributions: (Xw − y) + (Xw − y) = 2(Xw − y)",
    ]),
}


@pytest.mark.parametrize("name", TEXTBOOK)
def test_textbook_derivations_read_as_a_text_prints_them(name):
    build, gradient, lines = TEXTBOOK[name]
    worked = mf.derive(*build())
    text = str(worked)
    assert str(worked.gradient) == gradient
    assert text.endswith(f"= {gradient}")
    for line in lines:
        assert line in text, f"{line!r} not in\n{text}"
    # every trace step names the identity it uses, the op table's own
    terms = [s for s in worked.steps if s.kind == "term"]
    assert terms and all(s.identity in mf.ops.base.IDENTITIES for s in terms
                         if not s.text.startswith("      "))


@pytest.mark.parametrize("name", TEXTBOOK)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_adjoint_agrees_with_backward_on_numbers(name, seed):
    worked = mf.derive(*TEXTBOOK[name][0]())
    report = worked.check(seed=seed, rtol=1e-10)
    stated = [s for s in worked.steps if s.kind in ("adjoint", "collect", "result")
              and "contribution to" not in s.text]
    assert len(report) == len(stated) + 1  # the seed ∂f/∂f = 1 too
    assert all(error <= 1e-10 for _, error in report)


def test_check_catches_a_wrong_adjoint():
    worked = mf.derive(*quadratic_form())
    index = next(i for i, s in enumerate(worked.steps) if s.node == "XᵀA")
    wrong = worked.steps[index].expression.T  # a missing transpose
    worked.steps[index] = dataclasses.replace(worked.steps[index], expression=wrong)
    with pytest.raises(AssertionError, match=r"∂f/∂XᵀA"):
        worked.check()


@pytest.mark.parametrize("name", TEXTBOOK)
def test_final_gradient_equals_pytorchs(name):
    f, wrt = TEXTBOOK[name][0]()
    gradient = mf.derive(f, wrt).gradient
    rng = np.random.default_rng(5)
    shapes = {s: None for s in gradient.symbols() | f.data.symbols()}
    leaves = {n.name: n for n in _leaves(f)}
    values = {}
    for symbol in shapes:
        rows, cols = leaves[symbol].shape
        values[symbol] = rng.standard_normal((rows, cols)) + (2 * np.eye(rows) if rows == cols
                                                              else 0)
    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in values.items()}
    expected = _torch_value(name, tensors)
    (torch_gradient,) = torch.autograd.grad(expected, [tensors[wrt.name]])
    np.testing.assert_allclose(gradient.evaluate(values), torch_gradient.numpy(), rtol=1e-10)


def _leaves(f):
    from matrixflow.graph import all_nodes

    return [n for n in all_nodes(f) if n.op is None and n.name]


def _torch_value(name, t):
    if name == "post":
        return (t["a"].T @ torch.exp(t["X"] @ t["b"])).sum()
    if name == "trace":
        return torch.trace(t["X"].T @ t["A"] @ t["X"])
    if name == "logdet":
        return torch.logdet(t["X"].T @ t["X"])
    return ((t["X"] @ t["w"] - t["y"]) ** 2).sum()


def test_user_names_never_meet_the_ops_formal_names():
    """A user's A and B stay the user's: no line speaks of an op's operand A or B, and no
    formal name (Ȳ, Ā, B̄, dA of an op) is left in the instantiated steps."""
    A, B, X = mf.symbols("A B X", shape=(3, 3))
    worked = mf.derive(mf.trace(A @ X @ B), X)
    body = [s.text for s in worked.steps if s.kind in ("node", "term", "adjoint")]
    for text in body:
        assert "Ȳ" not in text and "Ā" not in text and "B̄" not in text
        assert "'v" not in text and " is 'A'" not in text
    assert str(worked.gradient) == "AᵀBᵀ"
    assert "tr(B·A·dX)" in "\n".join(body) or "AᵀBᵀ" in str(worked)


def test_latex_and_structured_forms():
    worked = mf.derive(*post_example())
    latex = worked.latex()
    assert latex.startswith("\\begin{align*}") and latex.endswith("\\end{align*}")
    assert latex.count("{") == latex.count("}")
    assert r"\frac{\partial f}{\partial X} = \left(a \odot \exp(Xb)\right)b^{\top}" in latex
    assert "⊙" not in latex and "ᵀ" not in latex  # all of it LaTeX, no Unicode math left
    steps = worked.as_dicts()
    json.dumps(steps)  # a front end receives plain data
    assert steps[-1]["kind"] == "result" and steps[-1]["expression"] == "(a ⊙ exp(Xb))bᵀ"
    assert {s["identity"] for s in steps if s["identity"]} >= {"cyclic", "transpose", "hadamard"}


ANOTHER_TABLE = [  # expressions over many ops: derived, and every adjoint checked
    lambda X, A, a, y: mf.sum(mf.sigmoid(X @ a)),
    lambda X, A, a, y: mf.sum(mf.tanh(A @ X) * A),
    lambda X, A, a, y: mf.trace(mf.inv(X) @ A),
    lambda X, A, a, y: a.T @ mf.solve(X, y),
    lambda X, A, a, y: mf.det(X),
    lambda X, A, a, y: mf.sum(mf.mean(X @ A, 0)),
    lambda X, A, a, y: mf.sum(mf.mean(X, 1) * a),
    lambda X, A, a, y: mf.sum(mf.sum(X, 0) ** 2),
    lambda X, A, a, y: mf.sum((A - X) * (X - A.T)),
    lambda X, A, a, y: mf.mse_loss(X @ a, y),
    lambda X, A, a, y: 3.0 * mf.trace(X) + 2.0,
    lambda X, A, a, y: mf.sum(X[0:2, 1:3] ** 2),
    lambda X, A, a, y: mf.sum(mf.softmax(X) * A),
    lambda X, A, a, y: mf.sum(mf.relu(a.T @ X + y.T) ** 2),  # a broadcast bias
    lambda X, A, a, y: mf.sum(mf.sin(X) * mf.cos(X @ A)),
]


@pytest.mark.parametrize("index", range(len(ANOTHER_TABLE)))
def test_derivations_across_the_op_table_check_out(index):
    X, A = mf.symbols("X A", shape=(3, 3))
    a, y = mf.symbols("a y", shape=(3, 1))
    f = ANOTHER_TABLE[index](X, A, a, y)
    worked = mf.derive(f, X)
    worked.check(rtol=1e-9)
    values = {"X": 2 * np.eye(3) + np.arange(9.0).reshape(3, 3) / 10, "A": np.eye(3)[::-1] + 0.3,
              "a": np.ones((3, 1)), "y": np.arange(3.0).reshape(3, 1)}
    np.testing.assert_allclose(worked.gradient.evaluate(values),
                               mf.closed_form(f, X).evaluate(values), rtol=1e-10, atol=1e-12)


def test_clear_errors():
    X = mf.symbols("X", shape=(3, 2))
    with pytest.raises(ValueError, match="1×1"):
        mf.derive(X @ X.T, X)
    with pytest.raises(TypeError, match=r"mf\.symbols"):
        mf.derive(mf.sum(mf.Node(np.ones((2, 2)), requires_grad=True)),
                  mf.Node(np.ones((2, 2)), requires_grad=True))
    A = mf.symbols("A", shape=(3, 3))
    with pytest.raises(ValueError, match="does not depend"):
        mf.derive(mf.trace(A), X)
