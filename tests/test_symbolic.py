"""Symbolic matrices: every op's closed form equals its numeric gradient, and reads well."""

import numpy as np
import pytest
from op_cases import ALL_CASES

import matrixflow as mf
from matrixflow.teaching.symbolic import expr as sx
from matrixflow.teaching.symbolic.simplify import simplify
from matrixflow.verification import op_checks as opcheck


@pytest.mark.parametrize("case", ALL_CASES)
def test_closed_forms_of_every_op_evaluate_to_the_numeric_gradient(case):
    """The same rules, run on symbols and simplified, give back the numbers they give."""
    symbols = [mf.symbols(f"Z{i}", shape=x.shape, requires_grad=d)
               for i, (x, d) in enumerate(zip(case.inputs, case.differentiable))]
    symbolic_output = case.run(*symbols)
    seed = np.random.default_rng(0).standard_normal(symbolic_output.shape)
    f = mf.sum(symbolic_output * seed)
    numeric = opcheck.leaves(case)
    expected = iter(mf.grad(case.run(*numeric), [x for x in numeric if x.requires_grad],
                            gradient=seed))
    values = {f"Z{i}": x for i, x in enumerate(case.inputs)}
    for symbol, differentiable in zip(symbols, case.differentiable):
        if differentiable:
            closed = mf.closed_form(f, symbol)
            assert isinstance(closed, mf.Sym) and closed.shape == symbol.shape
            np.testing.assert_allclose(closed.evaluate(values), next(expected).numpy(),
                                       rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("build, expected", [
    (lambda A, X, a, b: mf.trace(X.T @ A @ X), "(A + Aᵀ)X"),
    (lambda A, X, a, b: a.T @ X @ b, "abᵀ"),
    (lambda A, X, a, b: mf.logdet(X), "X⁻ᵀ"),
    (lambda A, X, a, b: mf.trace(A @ X), "Aᵀ"),
    (lambda A, X, a, b: a.T @ mf.inv(X) @ b, "−X⁻ᵀabᵀX⁻ᵀ"),
    (lambda A, X, a, b: mf.det(X), "det(X)·X⁻ᵀ"),
    (lambda A, X, a, b: mf.sum(X * X), "2X"),
    (lambda A, X, a, b: a.T @ mf.exp(X @ b), "(a ⊙ exp(Xb))bᵀ"),
    (lambda A, X, a, b: mf.trace(X @ X.T), "2X"),
    (lambda A, X, a, b: 3 * mf.trace(X) - mf.trace(X), "2I"),
])
def test_textbook_closed_forms(build, expected):
    A, X = mf.symbols("A X", shape=(3, 3))
    a, b = mf.symbols("a b", shape=(3, 1))
    assert str(mf.closed_form(build(A, X, a, b), X)) == expected


def test_simplification_rules():
    A, B, X = (sx.symbol(n, (3, 3)) for n in "ABX")
    assert str(simplify(sx.transpose(sx.transpose(A)))) == "A"
    assert str(simplify(sx.transpose(sx.matmul(A, B)))) == "BᵀAᵀ"
    assert str(simplify(sx.matmul(sx.identity(3), A, sx.identity(3)))) == "A"
    assert str(simplify(sx.hadamard(sx.ones((3, 3)), A))) == "A"
    assert str(simplify(sx.scale(2, sx.scale(3, A)))) == "6A"
    assert str(simplify(sx.add(A, A, sx.scale(-2, A)))) == "0"
    assert str(simplify(sx.add(sx.matmul(A, X), sx.matmul(B, X)))) == "(A + B)X"
    assert str(simplify(sx.add(sx.matmul(X, A), sx.matmul(X, B)))) == "X(A + B)"
    assert str(simplify(sx.apply("trace", sx.symbol("s", (1, 1))))) == "s"
    assert str(simplify(sx.scale(0.5, sx.add(sx.scale(-1, A), sx.scale(-1, B))))) == \
        "−0.5·(A + B)"
    assert str(simplify(sx.hadamard(A, A, A))) == "A⊙³"


def test_printing_precedence_and_latex():
    A, B = sx.symbol("A", (3, 3)), sx.symbol("B", (3, 3))
    assert str(sx.matmul(sx.add(A, B), A)) == "(A + B)A"
    assert str(sx.hadamard(sx.matmul(A, B), A)) == "(AB) ⊙ A"
    assert str(sx.add(sx.hadamard(A, B), A)) == "A ⊙ B + A"
    W1 = sx.symbol("W1", (3, 3))
    assert str(sx.matmul(W1, A)) == "W1·A"  # a multi-letter name: products get ·
    assert sx.transpose(sx.apply("inv", A)).latex() == r"A^{-\top}"


def test_evaluate_needs_every_symbol_with_its_shape():
    X = sx.symbol("X", (2, 2))
    with pytest.raises(KeyError, match="give a value for X"):
        X.evaluate({})
    with pytest.raises(ValueError, match=r"X has shape \(2, 2\)"):
        X.evaluate(X=np.ones((3, 3)))


def test_backward_on_symbols_fills_grad_with_expressions():
    A, X = mf.symbols("A X", shape=(2, 2))
    mf.trace(A @ X).backward()
    assert str(X.grad) == "Aᵀ" and str(A.grad) == "Xᵀ"
    assert "symbolic" in repr(X * 2.0)
    with pytest.raises(TypeError, match="evaluate"):
        X.numpy()


def test_second_derivatives_in_closed_form():
    """∇(xᵀAx) = (A + Aᵀ)x, and the gradient of its w-projection is (Aᵀ + A)w."""
    A = mf.symbols("A", shape=(3, 3))
    x, w = mf.symbols("x w", shape=(3, 1))
    (g,) = mf.grad(x.T @ A @ x, [x], create_graph=True)
    assert str(g.data) == "(A + Aᵀ)x"
    (h,) = mf.grad(w.T @ g, [x])
    assert str(h.data) == "(A + Aᵀ)w"


def test_symbols_argument_errors():
    with pytest.raises(ValueError, match="at least one name"):
        mf.symbols("")
    X, y = mf.symbols(["X", "y"], shapes=[(4, 2), (4, 1)])
    assert X.shape == (4, 2) and y.shape == (4, 1) and X.name == "X"


def test_constant_matrices_keep_their_names_and_structure_in_closed_forms():
    rng = np.random.default_rng(5)
    M0, N0, b0 = rng.standard_normal((3, 3)), rng.standard_normal((3, 3)), rng.standard_normal(
        (3, 1))
    A, x = mf.symbols("A", shape=(3, 3)), mf.symbols("x", shape=(3, 1))
    M, N, b = mf.Node(M0, name="M"), mf.Node(N0, name="N"), mf.Node(b0, name="b")
    cases = [
        (mf.trace(A @ M), A, "Mᵀ", M0.T),
        (mf.trace(M @ A @ N), A, "MᵀNᵀ", M0.T @ N0.T),
        (x.T @ b, x, "b", b0),
        (b.T @ x, x, "b", b0),
        (mf.trace(A @ M.T @ M), A, "MᵀM", M0.T @ M0),   # a product of constants stays one
        (mf.trace(A @ M0), A, "Cᵀ", M0.T),              # an unnamed array: generic, but a transpose
        (mf.trace(M0 @ A @ N0), A, "C₁ᵀC₂ᵀ", M0.T @ N0.T),
    ]
    for f, wrt, text, value in cases:
        closed = mf.closed_form(f, wrt)
        assert str(closed) == text
        np.testing.assert_allclose(closed.evaluate(A=np.eye(3), x=np.ones((3, 1))), value,
                                   rtol=1e-12)
    assert type(M.data) is np.ndarray and M.data is not None  # the arrays are put back
    np.testing.assert_array_equal(M.data, M0)


def test_a_named_one_by_one_constant_prints_by_name():
    x = mf.symbols("x", shape=(3, 1))
    s = mf.Node([[2.5]], name="s")
    closed = mf.closed_form(s * (x.T @ x), x)
    assert "s" in str(closed)
    np.testing.assert_allclose(closed.evaluate(x=np.ones((3, 1))), 5.0 * np.ones((3, 1)))


def _numeric_gradient(build, values, wrt):
    nodes = {k: mf.Node(v, requires_grad=k == wrt) for k, v in values.items()}
    build(**nodes).backward()
    return nodes[wrt].grad


@pytest.mark.parametrize("build, wrt, expected", [
    (lambda X, A, **_: mf.trace(mf.inv(mf.inv(X)) @ A), "X", "Aᵀ"),          # (X⁻¹)⁻¹ = X
    (lambda X, **_: mf.det(mf.inv(X)), "X", "−det(X⁻¹)·X⁻ᵀ"),               # not X⁻¹⁻ᵀ, X⁻ᵀX
    (lambda X, A, B, **_: mf.det(A @ X @ B), "X", "det(AXB)·Aᵀ(AXB)⁻ᵀBᵀ"),  # scalar in front
    (lambda a, x, **_: mf.exp(a.T @ x), "x", "exp(aᵀx)·a"),                  # not "aexp(aᵀx)"
    (lambda x, **_: mf.sum(x ** -1), "x", "−x⊙⁻²"),                          # not "−x⊙−²"
    (lambda X, **_: mf.det(X) ** 2, "X", "2det(X)²·X⁻ᵀ"),                    # a 1×1 power
    (lambda X, T, **_: mf.binary_cross_entropy_with_logits(X, T), "X", "(1/9)·(σ(X) − T)"),
    (lambda X, **_: mf.mean(X, 0) @ np.ones((3, 1)), "X", "(1/3)·1"),
    (lambda x, **_: mf.sum(2 ** x), "x", "ln 2·2^x"),                         # not 0.693147
    (lambda X, s, b, **_: mf.sum((s * X + b) ** 2), "X", "2s·(b + s·X)"),     # one pair of ()
    (lambda X, **_: mf.sum(mf.log(mf.exp(X))), "X", "1"),                     # (1/e^X) ⊙ e^X
    (lambda X, **_: mf.det(X) / mf.det(X), "X", "0"),
    (lambda X, **_: mf.logdet(X.T @ X), "X", "2X(XᵀX)⁻¹"),                   # (XᵀX)⁻ᵀ = (XᵀX)⁻¹
    (lambda X, x, **_: x.T @ mf.inv(X.T @ X) @ x, "x", "2(XᵀX)⁻¹x"),
    (lambda X, A, **_: mf.trace(mf.inv(A + A.T) @ X), "X", "(A + Aᵀ)⁻¹"),
    (lambda X, **_: mf.logdet(X), "X", "X⁻ᵀ"),                                # X is no XᵀX
])
def test_closed_forms_read_as_a_text_writes_them(build, wrt, expected):
    shapes = {"X": (3, 3), "A": (3, 3), "B": (3, 3), "T": (3, 3), "a": (3, 1), "x": (3, 1),
              "s": (1, 1), "b": (1, 3)}
    syms = {name: mf.symbols(name, shape=shape) for name, shape in shapes.items()}
    closed = mf.closed_form(build(**syms), syms[wrt])
    assert str(closed) == expected
    rng = np.random.default_rng(3)
    values = {name: rng.standard_normal(shape) for name, shape in shapes.items()}
    values["X"] = values["X"] + 3 * np.eye(3)  # invertible
    values["x"] = np.abs(values["x"]) + 0.5   # x ** -1 away from 0
    np.testing.assert_allclose(closed.evaluate(values), _numeric_gradient(build, values, wrt),
                               rtol=1e-9, atol=1e-12)


def test_a_dropout_mask_prints_as_a_named_matrix_and_two_masks_apart():
    X = mf.symbols("X", shape=(2, 16))
    closed = mf.closed_form(mf.sum(mf.dropout(X, 0.5, rng=0) * X), X)
    assert str(closed) == "4(X ⊙ M)" and closed.latex() == r"4\left(X \odot M\right)"
    x = np.random.default_rng(1).standard_normal((2, 16))
    node = mf.Node(x, requires_grad=True)
    mf.sum(mf.dropout(node, 0.5, rng=0) * node).backward()
    np.testing.assert_allclose(closed.evaluate(X=x), node.grad, rtol=1e-12)
    two = mf.closed_form(mf.sum(mf.dropout(X, 0.2, rng=0) @ mf.dropout(X.T, 0.2, rng=1)), X)
    assert "M₁" in str(two) and "M₂" in str(two) and "M_{1}" in two.latex()
    assert "[" not in str(two) and "False" not in two.latex()


def test_a_constant_gradient_of_a_linear_image_op_keeps_its_structure():
    X = mf.symbols("X", shape=(2, 16))
    closed = mf.closed_form(mf.sum(mf.im2col(X, (1, 4, 4), 2)), X)
    assert str(closed).startswith("col2im(1, image_shape=(1, 4, 4), kernel=(2, 2)")
    counts = [1, 2, 2, 1, 2, 4, 4, 2, 2, 4, 4, 2, 1, 2, 2, 1]  # patches each pixel is in
    np.testing.assert_array_equal(closed.evaluate(X=np.zeros((2, 16))), [counts, counts])
    P = mf.symbols("P", shape=(50, 4))
    assert str(mf.closed_form(mf.sum(mf.col2im(P, (1, 4, 4), 2, padding=1)), P)).startswith(
        "im2col(1, image_shape=(1, 4, 4)")


def test_a_coefficient_six_digits_cannot_write_is_printed_exactly():
    A = mf.symbols("A", shape=(4, 3))
    closed = mf.closed_form(mf.sum(mf.batch_norm(A, np.zeros(3), np.ones(3))), A)
    coefficient = 1 / float(np.sqrt(1 + 1e-5))
    assert str(closed) == f"{coefficient!r}·1" and float(str(closed)[:-2]) == coefficient
    X = mf.symbols("X", shape=(2, 2))
    assert str(mf.closed_form(mf.sum(X * 0.1), X)) == "0.1·1"  # exact decimals stay short
    assert str(mf.closed_form(mf.sum(X / 3), X)) == "(1/3)·1"


def test_grad_and_backward_on_symbols_name_constants_as_closed_form_does():
    A = mf.symbols("A", shape=(3, 3))
    M = mf.Node(np.arange(9.0).reshape(3, 3), name="M")
    f = mf.trace(A @ M)
    assert str(mf.closed_form(f, A)) == "Mᵀ"
    assert str(mf.grad(f, [A])[0].data) == "Mᵀ"
    f.backward()
    assert str(A.grad) == "Mᵀ"
    np.testing.assert_array_equal(M.data, np.arange(9.0).reshape(3, 3))  # put back after


def test_a_constant_sub_expression_keeps_the_names_of_its_constants():
    A = mf.symbols("A", shape=(3, 3))
    M = mf.Node(np.arange(9.0).reshape(3, 3), name="M")
    N = mf.Node(np.eye(3) + 1.0, name="N")
    closed = mf.closed_form(mf.trace(A.T @ (M @ N) @ A), A)
    assert str(closed) == "(MN + NᵀMᵀ)A"  # not (Cᵀ + C)A: M·N was computed as numbers
    values = {"A": np.random.default_rng(0).standard_normal((3, 3))}
    expected = (M.data @ N.data + (M.data @ N.data).T) @ values["A"]
    np.testing.assert_allclose(closed.evaluate(values), expected, rtol=1e-12)


def test_symbolic_gradients_never_change_the_users_constant_nodes(monkeypatch):
    # Another thread may be computing with M meanwhile: during the walk its data must stay
    # the numbers, not a symbol (the rules run on a twin of the tree instead).
    A = mf.symbols("A", shape=(3, 3))
    M = mf.Node(np.arange(9.0).reshape(3, 3), name="M")
    seen = []
    matmul = mf.ops.REGISTRY["matmul"]

    def watching(fn):
        def rule(*args, **kwargs):
            seen.append(type(M.data))
            return fn(*args, **kwargs)
        return rule

    rules = [mf.ops.Rule(r.operand, r.trace, r.result, watching(r.fn)) for r in matmul.rules]
    monkeypatch.setattr(matmul, "rules", tuple(rules))
    f = mf.trace(A @ M)
    mf.grad(f, [A])
    f.backward()
    assert seen and all(kind is np.ndarray for kind in seen)
