"""`mf.check_gradient`: Matrix Cookbook identities, each with its right answer written two ways
and with the classic slips made on purpose, each named right; a wrong answer of no classic kind
is "unknown", never a misnamed slip."""

import numpy as np
import pytest

import matrixflow as mf
from matrixflow.verification.slips import diagnose_slip, nice_number


def _quadratic():
    A, X = mf.symbols("A X", shapes={"A": (3, 3), "X": (3, 2)})
    return mf.trace(X.T @ A @ X), X


def _bilinear():
    a, X, b = mf.symbols("a X b", shapes={"a": (3, 1), "X": (3, 3), "b": (3, 1)})
    return a.T @ X @ b, X


def _trace_ax():
    A, X = mf.symbols("A X", shapes={"A": (3, 3), "X": (3, 3)})
    return mf.trace(A @ X), X


def _logdet():
    X = mf.symbols("X", shape=(3, 3))
    return mf.logdet(X), X


def _quadratic_vector():
    x, A = mf.symbols("x A", shapes={"x": (3, 1), "A": (3, 3)})
    return x.T @ A @ x, x


def _least_squares():
    X, w, y = mf.symbols("X w y", shapes={"X": (5, 3), "w": (3, 1), "y": (5, 1)})
    return mf.sum((X @ w - y) ** 2), w


def _trace_inverse():
    X, A = mf.symbols("X A", shapes={"X": (3, 3), "A": (3, 3)})
    return mf.trace(mf.inv(X) @ A), X


def _trace_axb():
    A, X, B = mf.symbols("A X B", shapes={"A": (3, 3), "X": (3, 3), "B": (3, 3)})
    return mf.trace(A @ X @ B), X


def _gram():
    a, X, b = mf.symbols("a X b", shapes={"a": (2, 1), "X": (3, 2), "b": (2, 1)})
    return a.T @ X.T @ X @ b, X


# identity: (f, its right answer two ways, {slip kind: [answers that make it]})
COOKBOOK = {
    "∂tr(XᵀAX)/∂X = (A + Aᵀ)X": (_quadratic, ["(A + A.T) @ X", "A @ X + A.T @ X"], {
        "transposed": ["X.T @ (A + A.T)"],
        "constant factor": ["(A + A.T) @ X / 2", "2 * (A + A.T) @ X"],
        "sign": ["-(A + A.T) @ X", "A @ X - A.T @ X"],
        "missing term": ["A @ X", "A.T @ X"],
        "symmetric only": ["2 * A @ X"],
        "extra term": ["A @ X + A.T @ X + X"],
    }),
    "∂aᵀXb/∂X = abᵀ": (_bilinear, ["a @ b.T", "(b @ a.T).T"], {
        "transposed": ["b @ a.T"],
        "sign": ["-a @ b.T"],
        "constant factor": ["2 * a @ b.T"],
    }),
    "∂tr(AX)/∂X = Aᵀ": (_trace_ax, ["A.T", "(A + A.T) - A"], {
        "transposed": ["A"],
        "sign": ["-A.T"],
    }),
    "∂ln det X/∂X = X⁻ᵀ": (_logdet, ["inv(X).T", "inv(X.T)"], {
        "transposed": ["inv(X)"],
        "sign": ["-inv(X.T)"],
        "constant factor": ["0.5 * inv(X.T)"],
    }),
    "∂xᵀAx/∂x = (A + Aᵀ)x": (_quadratic_vector, ["(A + A.T) @ x", "A.T @ x + A @ x"], {
        "transposed": ["x.T @ (A + A.T)"],
        "missing term": ["A @ x"],
        "symmetric only": ["2 * A @ x"],
        "sign": ["-(A @ x) - A.T @ x"],
    }),
    "∂‖Xw − y‖²/∂w = 2Xᵀ(Xw − y)": (_least_squares, ["2 * X.T @ (X @ w - y)",
                                                      "2 * X.T @ X @ w - 2 * X.T @ y"], {
        "constant factor": ["X.T @ (X @ w - y)"],
        "transposed": ["2 * (X @ w - y).T @ X"],
        "sign": ["2 * X.T @ (y - X @ w)", "2 * X.T @ X @ w + 2 * X.T @ y"],
        "missing term": ["2 * X.T @ X @ w"],
    }),
    "∂tr(X⁻¹A)/∂X = −X⁻ᵀAᵀX⁻ᵀ": (_trace_inverse, ["-inv(X).T @ A.T @ inv(X).T",
                                                 "-(inv(X) @ A @ inv(X)).T"], {
        "transposed": ["-inv(X) @ A @ inv(X)"],
        "sign": ["inv(X).T @ A.T @ inv(X).T"],
        "symmetric only": ["-inv(X).T @ A @ inv(X).T"],
    }),
    "∂tr(AXB)/∂X = AᵀBᵀ": (_trace_axb, ["A.T @ B.T", "(B @ A).T"], {
        "transposed": ["B @ A"],
        "symmetric only": ["A @ B", "A.T @ B"],
        "constant factor": ["-2 * A.T @ B.T"],
    }),
    "∂aᵀXᵀXb/∂X = X(abᵀ + baᵀ)": (_gram, ["X @ (a @ b.T + b @ a.T)",
                                          "X @ a @ b.T + X @ b @ a.T"], {
        "missing term": ["X @ a @ b.T", "X @ b @ a.T"],
        "symmetric only": ["2 * X @ a @ b.T"],
        "sign": ["X @ a @ b.T - X @ b @ a.T"],
        "transposed": ["(X @ (a @ b.T + b @ a.T)).T"],
    }),
}

RIGHT = [(name, answer) for name, (_, answers, _) in COOKBOOK.items() for answer in answers]
SLIPS = [(name, kind, answer) for name, (_, _, slips) in COOKBOOK.items()
         for kind, answers in slips.items() for answer in answers]


@pytest.mark.parametrize("identity, answer", RIGHT)
def test_a_right_answer_is_right_however_it_is_written(identity, answer):
    f, wrt = COOKBOOK[identity][0]()
    check = mf.check_gradient(f, wrt, answer)
    assert check.right, str(check)
    assert bool(check) and str(check).startswith("right: ")
    assert check.difference is not None and check.difference.kind == "zeros"


@pytest.mark.parametrize("identity, kind, answer", SLIPS)
def test_each_classic_slip_is_named(identity, kind, answer):
    f, wrt = COOKBOOK[identity][0]()
    check = mf.check_gradient(f, wrt, answer)
    assert not check.right
    assert check.slip.kind == kind, str(check)
    assert str(check).startswith(f"wrong: {kind} — ")
    example = check.counterexample
    assert example is not None
    assert example.claimed.shape != example.true.shape or not np.allclose(
        example.claimed, example.true)
    for value in example.values.values():  # small integers, checkable by hand
        assert np.array_equal(value, np.round(value)) and np.abs(value).max() <= 8


@pytest.mark.parametrize("identity, answer", [
    ("∂tr(XᵀAX)/∂X = (A + Aᵀ)X", "A @ A @ X"),
    ("∂tr(XᵀAX)/∂X = (A + Aᵀ)X", "A @ X + X"),
    ("∂ln det X/∂X = X⁻ᵀ", "X"),
    ("∂ln det X/∂X = X⁻ᵀ", "inv(X) @ inv(X)"),
    ("∂‖Xw − y‖²/∂w = 2Xᵀ(Xw − y)", "X.T @ y"),
    ("∂‖Xw − y‖²/∂w = 2Xᵀ(Xw − y)", "2 * X.T @ (X @ w - y) + w"),
    ("∂tr(AXB)/∂X = AᵀBᵀ", "B @ A.T"),
    ("∂aᵀXᵀXb/∂X = X(abᵀ + baᵀ)", "X @ a @ a.T"),
])
def test_a_wrong_answer_of_no_classic_kind_is_not_misnamed(identity, answer):
    f, wrt = COOKBOOK[identity][0]()
    check = mf.check_gradient(f, wrt, answer)
    assert not check.right
    assert check.slip.kind in ("unknown", "extra term"), str(check)
    if check.slip.kind == "unknown":
        assert str(check).startswith("wrong, no classic slip found")


def test_a_missing_term_names_the_term_and_what_holds_for_symmetric_inputs():
    f, X = _quadratic()
    check = mf.check_gradient(f, X, "A @ X")
    assert check.slip.terms == ("AᵀX",)
    assert "for symmetric A your answer is 1/2·(the gradient)" in check.message
    assert str(check.difference) == "−AᵀX"
    check = mf.check_gradient(f, "X", "2 * A @ X")
    assert check.slip.symmetric == ("A",)


def test_the_verdict_reads_as_a_sentence():
    f, X = _quadratic()
    text = str(mf.check_gradient(f, X, "(A + A.T) @ X / 2"))
    lines = text.splitlines()
    assert lines[0] == "wrong: constant factor — your answer is 1/2·(the gradient)"
    assert lines[1] == "  ∂f/∂X = (A + Aᵀ)X"
    assert lines[3].startswith("  difference (yours − true) = ")
    assert lines[4].startswith("  counterexample: A = [[") or lines[4].startswith(
        "  counterexample: X = [[")


def test_a_node_answer_and_a_name_for_wrt_work_too():
    A, X = mf.symbols("A X", shapes={"A": (3, 3), "X": (3, 2)})
    f = mf.trace(X.T @ A @ X)
    assert mf.check_gradient(f, "X", A @ X + A.T @ X).right
    assert mf.check_gradient(f, X, A.T @ X).slip.kind == "missing term"


def test_mistakes_in_the_call_are_refused_with_a_reason():
    f, X = _quadratic()
    with pytest.raises(ValueError, match="uses B, which f does not"):
        mf.check_gradient(f, X, "B @ X")
    with pytest.raises(ValueError, match="does not depend on 'Y'"):
        mf.check_gradient(f, "Y", "X")
    with pytest.raises(TypeError, match="built from mf"):
        mf.check_gradient(mf.Node(np.ones((1, 1))), X, "X")


def test_the_domain_is_respected():
    # log needs entries > 0: the draws keep them so, and a right answer is right
    X = mf.symbols("X", shape=(3, 2))
    f = mf.sum(mf.log(X))
    assert mf.check_gradient(f, X, "1 / X").right
    assert mf.check_gradient(f, X, "-1 / X").slip.kind == "sign"


def test_the_numeric_diagnosis_stands_alone():
    rng = np.random.default_rng(1)
    draws = [{"A": rng.standard_normal((3, 3)), "x": rng.standard_normal((3, 1))}
             for _ in range(3)]
    true = lambda v: (v["A"] + v["A"].T) @ v["x"]  # noqa: E731
    terms = [("Ax", lambda v: v["A"] @ v["x"]), ("Aᵀx", lambda v: v["A"].T @ v["x"])]
    assert diagnose_slip(true, true, draws).right
    assert diagnose_slip(lambda v: v["A"] @ v["x"], true, draws, terms=terms).terms == ("Aᵀx",)
    assert diagnose_slip(lambda v: -3 * true(v), true, draws).factor == pytest.approx(-3)
    with pytest.raises(ValueError, match="at least one draw"):
        diagnose_slip(true, true, [])


@pytest.mark.parametrize("c, text", [(2.0, "2"), (0.5, "1/2"), (-2.0, "−2"), (-1 / 3, "−1/3"),
                                     (np.pi, "3.14159")])
def test_factors_print_as_fractions_when_they_are(c, text):
    assert nice_number(c) == text


def test_identities_from_elsewhere_broadcast_terms_and_the_fewest_symmetric_inputs():
    X, A, a = mf.symbols("X A a", shapes={"X": (3, 3), "A": (3, 3), "a": (3, 1)})
    f = mf.sum(mf.log(mf.sigmoid(X @ a)))  # (1 − σ) broadcasts its 1: kept as one term
    assert mf.check_gradient(f, a, "X.T @ (1 - sigmoid(X @ a))").right
    assert mf.check_gradient(f, a, "(1 - sigmoid(X @ a)).T @ X").slip.kind == "transposed"
    assert mf.check_gradient(f, a, "X.T @ sigmoid(X @ a)").slip.kind == "unknown"
    check = mf.check_gradient(mf.trace(X @ A @ X.T), X, "X @ A")  # ∂tr(XAXᵀ)/∂X = X(A + Aᵀ)
    assert check.slip.kind == "missing term"
    assert check.message.endswith("for symmetric A your answer is 1/2·(the gradient)")
    assert mf.check_gradient(mf.det(X), X, "det(X) * inv(X)").slip.kind == "transposed"
