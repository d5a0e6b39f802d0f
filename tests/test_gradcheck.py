"""gradcheck, gradgradcheck and numerical_grad: they pass right gradients, and catch and
describe wrong ones."""

import numpy as np
import pytest

import matrixflow as mf
from matrixflow import REGISTRY


def test_defaults_follow_pytorch():
    import inspect

    params = inspect.signature(mf.gradcheck).parameters
    assert params["eps"].default == 1e-6 and params["atol"].default == 1e-5
    assert params["rtol"].default == 1e-3 and params["raise_exception"].default is True


def test_gradcheck_passes_correct_gradients_for_any_output_shape():
    rng = np.random.default_rng(0)
    X = mf.Node(rng.standard_normal((3, 2)), requires_grad=True, name="X")
    W = mf.Node(rng.standard_normal((2, 4)), requires_grad=True)
    assert mf.gradcheck(lambda X, W: mf.tanh(X @ W), [X, W])
    assert mf.gradcheck(lambda X, W: (mf.sum(X @ W), X.T), [X, W])


def test_a_wrong_rule_is_reported_with_input_entry_values_and_errors(broken_rule):
    broken_rule("sin", 0, lambda G, Y, A: G * mf.cos(A) * 1.01)  # 1 % off
    rng = np.random.default_rng(1)
    X = mf.Node(rng.standard_normal((2, 3)), requires_grad=True, name="X")
    W = mf.Node(rng.standard_normal((3, 2)), requires_grad=True)
    with pytest.raises(mf.GradcheckError) as caught:
        mf.gradcheck(lambda W, X: mf.sum(mf.sin(X) @ W), [W, X])
    error = caught.value
    message = str(error)
    assert error.input_index == 1 and error.input_name == "X" and error.input_shape == (2, 3)
    assert "input 1 'X' (shape (2, 3))" in message and "worst entry" in message
    assert f"analytic  = {error.analytic:.10g}" in message
    assert f"numeric   = {error.numeric:.10g}" in message
    np.testing.assert_allclose(error.analytic / error.numeric, 1.01, rtol=1e-5)
    np.testing.assert_allclose(error.abs_error, abs(error.analytic - error.numeric))
    np.testing.assert_allclose(error.rel_error, error.abs_error / abs(error.numeric))
    assert "abs error" in message and "rel error" in message
    assert error.mismatches >= 1 and len(error.input_entry) == 2
    assert isinstance(error, RuntimeError)


def test_raise_exception_false_returns_false(broken_rule):
    broken_rule("exp", 0, lambda G, Y, A: -G * Y)  # wrong sign
    x = mf.Node([[0.3, -0.2]], requires_grad=True)
    assert mf.gradcheck(lambda x: mf.exp(x), [x], raise_exception=False) is False


def test_gradgradcheck_catches_a_rule_whose_graph_has_the_wrong_derivative(broken_rule):
    # right first derivative, but built from a constant so its own derivative is lost
    broken_rule("tanh", 0, lambda G, Y, A: G * (1.0 - Y.detach() * Y.detach())
                if isinstance(G, mf.Node) else G * (1.0 - Y * Y))
    x = mf.Node([[0.3, -0.7]], requires_grad=True)
    assert mf.gradcheck(lambda x: mf.tanh(x), [x])
    with pytest.raises(mf.GradcheckError, match="second derivative") as caught:
        mf.gradgradcheck(lambda x: mf.tanh(x @ x.T), [x])
    # every op of the first derivatives' graph is right: the one at fault is the rule that
    # built that graph from constants, and the report names it
    culprit = caught.value.culprit
    assert culprit.op == "tanh" and culprit.second_order
    assert "the bug: op 'tanh'" in str(caught.value)
    assert "the graph it builds under create_graph=True has the wrong derivative" in str(
        caught.value)


def test_no_registry_rule_is_blamed_by_the_second_order_search():
    from matrixflow.verification import op_checks as opcheck
    from matrixflow.verification.localise import first_bad_graph_rule

    for name in REGISTRY:
        for case in opcheck.cases_for(name):
            assert first_bad_graph_rule(case.run, opcheck.leaves(case)) is None, case.label


def test_gradcheck_runs_in_float64_on_float32_inputs_without_touching_them():
    data = np.array([[0.5, 1.5]], dtype=np.float32)
    x = mf.Node(data, requires_grad=True)
    assert mf.gradcheck(lambda x: mf.log(x) * x, [x])
    assert x.data is data and x.grad is None and data.dtype == np.float32


def test_gradcheck_needs_an_input_that_requires_grad():
    with pytest.raises(ValueError, match="no input requires grad"):
        mf.gradcheck(lambda x: x * 2.0, [mf.Node([[1.0]])])


def test_numerical_grad_matches_a_closed_form():
    rng = np.random.default_rng(2)
    A, x0 = rng.standard_normal((3, 3)), rng.standard_normal((3, 1))
    (g,) = mf.numerical_grad(lambda x: x.T @ A @ x, [x0])
    np.testing.assert_allclose(g, (A + A.T) @ x0, rtol=1e-7)
    (g,) = mf.numerical_grad(lambda x: A @ x, [x0], gradient=np.ones((3, 1)))
    np.testing.assert_allclose(g, A.T @ np.ones((3, 1)), rtol=1e-7)
    with pytest.raises(ValueError, match="not 1×1"):
        mf.numerical_grad(lambda x: A @ x, [x0])


def test_gradgradcheck_with_given_grad_outputs():
    x = mf.Node([[0.4, 0.9], [1.2, 0.1]], requires_grad=True)
    assert mf.gradgradcheck(lambda x: x @ x * mf.sin(x), [x], grad_outputs=[np.ones((2, 2))])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's, on purpose
def test_nan_on_both_sides_is_a_failure_that_says_so():
    # sqrt of negative entries: analytic and numeric are both NaN, which torch.autograd.gradcheck
    # refuses too; "they agree" would hide a function evaluated outside its domain
    x = mf.Node(-np.ones((2, 2)), requires_grad=True, name="x")
    with pytest.raises(mf.GradcheckError) as caught:
        mf.gradcheck(lambda x: mf.sum(mf.sqrt(x)), [x])
    message = str(caught.value)
    assert "is not finite in 4 of 4 Jacobian entries" in message
    assert "NaN in the analytic gradient at entry ∂ output [0, 0] / ∂ input 0[0, 0]" in message
    assert "NaN in the numeric gradient at entry" in message
    assert caught.value.nonfinite and caught.value.culprit.op == "sqrt"
    assert "op 'sqrt' (operands (2, 2), output (2, 2)) computes NaN at [0, 0]" in message
    assert mf.gradcheck(lambda x: mf.sum(mf.sqrt(x)), [x], raise_exception=False) is False
    A = mf.Node(np.diag([-1.0, 2.0]), requires_grad=True)  # logdet of det < 0 is NaN
    with pytest.raises(mf.GradcheckError, match=r"op 'logdet'.*computes NaN"):
        mf.gradcheck(mf.logdet, [A])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's, on purpose
def test_an_infinite_gradient_is_a_failure_naming_the_rule_that_made_it():
    x = mf.Node([[0.0, 4.0]], requires_grad=True)  # √ has an infinite slope at 0
    with pytest.raises(mf.GradcheckError) as caught:
        mf.gradcheck(lambda x: mf.sum(mf.sqrt(x)), [x])
    message = str(caught.value)
    assert "inf in the analytic gradient at entry ∂ output [0, 0] / ∂ input 0[0, 0]" in message
    assert "its rule for operand A gives inf at [0, 0]" in message
    culprit = caught.value.culprit
    assert (culprit.op, culprit.stage) == ("sqrt", "rule for operand A")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's, on purpose
def test_gradgradcheck_fails_on_nan_second_derivatives():
    x = mf.Node(-np.ones((1, 2)), requires_grad=True)
    with pytest.raises(mf.GradcheckError, match="NaN in the analytic second derivative"):
        mf.gradgradcheck(lambda x: mf.sum(mf.sqrt(x)), [x])
