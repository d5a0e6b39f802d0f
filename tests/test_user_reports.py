"""Regression tests for what trying matrixflow as a new user turned up."""

import numpy as np
import pytest

import matrixflow as mf


def test_gradcheck_and_numerical_grad_work_on_column_major_inputs():
    a = np.random.default_rng(0).standard_normal((3, 4))
    x = mf.Node(np.asfortranarray(a), requires_grad=True)
    assert mf.gradcheck(lambda x: mf.sum(x * x * x), [x])
    (g,) = mf.numerical_grad(lambda x: mf.sum(x * x * x), [a.T.copy().T])
    np.testing.assert_allclose(g, 3 * a**2, rtol=1e-6)
    assert mf.gradgradcheck(lambda x: mf.sum(x * x * x), [mf.Node(a.T, requires_grad=True)])


def test_gradcheck_checks_a_function_that_calls_grad_itself():
    """A gradient penalty: gradcheck of x ↦ ∂f/∂x, as torch.autograd.gradcheck allows."""
    x = mf.Node(np.random.default_rng(1).standard_normal((2, 2)), requires_grad=True)
    assert mf.gradcheck(lambda x: mf.grad(mf.sum(mf.exp(x) * x), x, create_graph=True)[0], [x])


def test_an_index_array_changed_after_indexing_does_not_change_the_gradient():
    x = mf.Node(np.arange(6.0).reshape(3, 2), requires_grad=True)
    rows = np.array([0, 1])
    y = x[rows]
    rows[:] = [2, 2]
    mf.sum(y).backward()
    np.testing.assert_array_equal(x.grad, [[1, 1], [1, 1], [0, 0]])


def test_gradients_from_grad_are_arrays_of_their_own_in_the_input_dtype():
    a = mf.Node(np.ones((2, 2)), requires_grad=True)
    b = mf.Node(np.ones((2, 2)), requires_grad=True)
    ga, gb = mf.grad(a + b, [a, b], gradient=np.ones((2, 2)))
    assert ga.data is not gb.data
    (g,) = mf.grad(mf.sum(a), a)
    g.data += 1  # writeable, not a broadcast view
    f32 = mf.Node(np.ones((2, 2), np.float32), requires_grad=True)
    (g32,) = mf.grad(f32 * 2.0, [f32], gradient=np.ones((2, 2)))
    assert g32.dtype == np.float32


def test_grad_of_one_output_in_a_list_takes_one_seed_array():
    y = mf.Node(np.ones((2, 2)), requires_grad=True)
    (g,) = mf.grad([y * 3.0], [y], gradient=np.ones((2, 2)))
    np.testing.assert_array_equal(g.numpy(), np.full((2, 2), 3.0))


def test_det_gradient_at_a_singular_matrix_is_the_transposed_adjugate():
    S = mf.Node([[1.0, 2.0], [2.0, 4.0]], requires_grad=True)
    mf.det(S).backward()
    np.testing.assert_allclose(S.grad, [[4.0, -2.0], [-2.0, 1.0]], atol=1e-12)
    rank_one = np.outer([1.0, 2.0, 3.0], [1.0, -1.0, 2.0])
    R = mf.Node(rank_one, requires_grad=True)  # rank 1: every 2×2 minor is 0, so adj = 0
    mf.det(R).backward()
    np.testing.assert_allclose(R.grad, np.zeros((3, 3)), atol=1e-12)
    rank_two = np.array([[2.0, 0.0, 1.0], [0.0, 1.0, 1.0], [2.0, 1.0, 2.0]])  # row3 = row1+row2
    T = mf.Node(rank_two, requires_grad=True)
    mf.det(T).backward()
    (numeric,) = mf.numerical_grad(mf.det, [rank_two])
    np.testing.assert_allclose(T.grad, numeric, atol=1e-8)
    with pytest.raises(np.linalg.LinAlgError, match="higher derivatives there are not supported"):
        mf.grad(mf.det(T), [T], create_graph=True)


def test_logdet_gradient_is_nan_where_its_value_is():
    A = mf.Node([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)  # det = −2
    y = mf.logdet(A)
    y.backward()
    assert np.isnan(y.item()) and np.isnan(A.grad).all()


def test_powers_of_a_scalar_base_are_exact():
    assert (2 ** mf.Node([[3.0]])).item() == 8.0
    assert (10 ** mf.Node([[2.0]])).item() == 100.0


def test_set_grad_enabled_works_as_a_call_and_as_a_context():
    mf.set_grad_enabled(False)
    try:
        assert not mf.is_grad_enabled()
    finally:
        mf.set_grad_enabled(True)
    assert mf.is_grad_enabled()
    with mf.set_grad_enabled(False):
        assert not mf.is_grad_enabled()
    assert mf.is_grad_enabled()


def test_a_no_grad_object_is_reusable_and_a_bare_decorator():
    quiet = mf.no_grad()
    for _ in range(2):
        with quiet:
            assert not mf.is_grad_enabled()
        assert mf.is_grad_enabled()

    @mf.no_grad
    def predict(x):
        return x * 2.0

    assert not predict(mf.Node([[1.0]], requires_grad=True)).requires_grad
    assert predict.__name__ == "predict"


@pytest.mark.parametrize("call", [
    lambda x: np.dot(np.ones((2, 2)), x),
    lambda x: np.concatenate([x, x]),
    lambda x: np.linalg.norm(x),
    lambda x: np.sum(x),
])
def test_numpy_functions_refuse_nodes_instead_of_dropping_the_graph(call):
    with pytest.raises(TypeError, match="NumPy functions do not record gradients"):
        call(mf.Node(np.ones((2, 2)), requires_grad=True))


def test_python_conversions_of_a_1x1_node():
    loss = mf.Node([[0.25]])
    assert float(loss) == 0.25 and int(mf.Node([[3.7]])) == 3
    assert f"{loss:.3f}" == "0.250"
    assert not bool(mf.Node([[0.0]])) and bool(loss)
    with pytest.raises(ValueError, match="ambiguous"):
        bool(mf.Node(np.ones((2, 2))))
    with pytest.raises(ValueError, match="1×1"):
        float(mf.Node(np.ones((1, 2))))


@pytest.mark.parametrize("call, error, words", [
    (lambda x: x + np.ones(3), ValueError, ["add:", "1-D", "(3,)"]),
    (lambda x: mf.mse_loss(x, np.ones(2)), ValueError, ["mse_loss:", "1-D"]),
    (lambda x: mf.leaky_relu(x, np.ones((2, 2))), TypeError, ["negative_slope must be a number"]),
    (lambda x: mf.leaky_relu(x, "a"), TypeError, ["negative_slope"]),
    (lambda x: mf.gradcheck(lambda x: 3.0, [x]), TypeError, ["must return a Node", "float"]),
    (lambda x: x[..., ...], IndexError, ["single ellipsis"]),
    (lambda x: x.reshape(3.9, 1), TypeError, ["must be integers"]),
    (lambda x: mf.cross_entropy(x, np.array([True, False])), ValueError, ["boolean"]),
])
def test_more_bad_arguments_say_what_is_wrong(call, error, words):
    x = mf.Node(np.ones((2, 2)), requires_grad=True)
    with pytest.raises(error) as caught:
        call(x)
    for word in words:
        assert word in str(caught.value)


def test_a_0d_integer_array_indexes_like_an_integer():
    x = mf.Node(np.arange(6.0).reshape(3, 2))
    np.testing.assert_array_equal(x[np.array(1)].data, [[2.0, 3.0]])


def test_a_nan_entry_passes_the_gradient_through_relu_as_in_pytorch():
    x = mf.Node([[np.nan, 1.0, -1.0]], requires_grad=True)
    mf.sum(mf.relu(x)).backward()
    np.testing.assert_array_equal(x.grad, [[1.0, 1.0, 0.0]])


def test_integer_arrays_given_to_functions_become_nodes():
    y = mf.relu(np.array([[1, -2]]))
    assert isinstance(y, mf.Node) and y.dtype == np.float64


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # 0·(−inf), on purpose
def test_cross_entropy_with_labels_ignores_a_masked_class_as_pytorch():
    import torch

    Z = np.array([[-np.inf, 1.0, 0.5], [0.2, -np.inf, 3.0]])  # −inf: a class masked out
    labels = np.array([1, 2])
    z = mf.Node(Z, requires_grad=True)
    zt = torch.tensor(Z, requires_grad=True)
    loss = mf.cross_entropy(z, labels)
    expected = torch.nn.functional.cross_entropy(zt, torch.tensor(labels))
    np.testing.assert_allclose(loss.item(), expected.item(), rtol=1e-14)  # 0.26655…, not NaN
    np.testing.assert_allclose(mf.cross_entropy(z, labels, "none").numpy().ravel(),
                               [0.474076984, 0.059032826], rtol=1e-8)
    # gradients, and their own derivatives (the rule run as a graph), as PyTorch's
    (g,) = mf.grad(loss, [z], create_graph=True)
    (gt,) = torch.autograd.grad(expected, [zt], create_graph=True)
    np.testing.assert_allclose(g.numpy(), gt.detach().numpy(), rtol=1e-12, atol=1e-15)
    v = np.random.default_rng(0).standard_normal(Z.shape)
    (hv,) = mf.grad(g, [z], gradient=v)
    (hvt,) = torch.autograd.grad(gt, [zt], torch.tensor(v))
    np.testing.assert_allclose(hv.numpy(), hvt.numpy(), rtol=1e-12, atol=1e-15)
    # probabilities beside a −inf logit are NaN, as in PyTorch (0·log 0 is not taken as 0)
    P = np.eye(3)[labels]
    assert np.isnan(mf.cross_entropy(mf.Node(Z), P).item())
    assert np.isnan(torch.nn.functional.cross_entropy(torch.tensor(Z), torch.tensor(P)).item())


def test_cross_entropy_refuses_pytorchs_ignore_index_by_name():
    logits = mf.Node(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="-100 is PyTorch's default ignore_index") as caught:
        mf.cross_entropy(logits, np.array([0, -100, 2]))
    assert "logits[keep], labels[keep]" in str(caught.value)
    keep = np.array([0, -100, 2]) != -100
    assert mf.cross_entropy(logits[keep], np.array([0, -100, 2])[keep]).shape == (1, 1)


def test_a_torch_tensor_given_to_a_function_gets_the_conversion_message():
    import torch

    with pytest.raises(TypeError, match="numpy"):
        mf.exp(torch.ones(2, 2, dtype=torch.float64))
