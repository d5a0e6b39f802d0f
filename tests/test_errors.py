"""Bad input gets an error that names what was wrong and how to fix it, and changes nothing."""

import numpy as np
import pytest

import matrixflow as mf


@pytest.mark.parametrize("data, error, words", [
    (np.ones(3), ValueError, ["1-D", "(3,)", "reshape(-1, 1)"]),
    ([1.0, 2.0], ValueError, ["1-D", "reshape(1, -1)"]),
    (np.ones((2, 2, 2)), ValueError, ["3-D", "(2, 2, 2)"]),
    ("1.0", TypeError, ["string"]),
    (np.array([["a", "b"]]), TypeError, ["dtype <U1", "np.asarray"]),
    ([[1.0, None]], TypeError, ["dtype object"]),
    (np.ones((2, 2), complex), TypeError, ["complex", "x.real"]),
    (3 + 1j, TypeError, ["complex"]),
    ([[1.0, 2.0], [3.0]], ValueError, ["rectangular"]),
    ({"a": 1}, TypeError, ["dtype object"]),
])
def test_bad_data_is_refused_with_a_fix(data, error, words):
    with pytest.raises(error) as caught:
        mf.Node(data)
    for word in words:
        assert word in str(caught.value)


def test_a_list_of_nodes_points_to_concat():
    with pytest.raises(TypeError, match="concat"):
        mf.Node([[mf.Node([[1.0]]), mf.Node([[2.0]])]])


@pytest.mark.parametrize("make, words", [
    (lambda a, b: a + b, ["add:", "(3, 4)", "(5, 2)", "broadcast"]),
    (lambda a, b: a - b, ["sub:", "(3, 4)", "(5, 2)"]),
    (lambda a, b: a * b, ["mul:", "(3, 4)", "(5, 2)"]),
    (lambda a, b: a / b, ["div:", "(3, 4)", "(5, 2)"]),
    (lambda a, b: a @ b, ["matmul: (3, 4) @ (5, 2): inner dimensions 4 and 5 differ"]),
    (lambda a, b: mf.solve(a, b), ["solve:", "(3, 4)", "(5, 2)", "square"]),
    (lambda a, b: mf.concat([a, b], 0), ["concat:", "(3, 4)", "(5, 2)", "columns"]),
    (lambda a, b: mf.mse_loss(a, b), ["mse_loss:", "(3, 4)", "(5, 2)", "never broadcasts"]),
    (lambda a, b: mf.l1_loss(a, b), ["l1_loss:", "(3, 4)", "(5, 2)"]),
    (lambda a, b: mf.huber_loss(a, b), ["huber_loss:", "(3, 4)", "(5, 2)"]),
    (lambda a, b: mf.binary_cross_entropy_with_logits(a, b),
     ["binary_cross_entropy_with_logits:", "(3, 4)", "(5, 2)"]),
    (lambda a, b: mf.cross_entropy(a, b), ["cross_entropy:", "(3, 4)", "(5, 2)"]),
])
def test_shape_mismatches_name_the_op_and_both_shapes(make, words):
    a = mf.Node(np.ones((3, 4)), requires_grad=True)
    b = mf.Node(np.ones((5, 2)), requires_grad=True)
    with pytest.raises(ValueError) as caught:
        make(a, b)
    for word in words:
        assert word in str(caught.value)
    assert a.grad is None and b.grad is None


@pytest.mark.parametrize("make, words", [
    (lambda x: mf.inv(x), ["inv: needs a square matrix", "(3, 4)"]),
    (lambda x: mf.det(x), ["det: needs a square matrix"]),
    (lambda x: mf.logdet(x), ["logdet: needs a square matrix"]),
    (lambda x: x.reshape(5, 2), ["reshape:", "(3, 4)", "12 entries", "(5, 2)"]),
    (lambda x: mf.broadcast_to(x, (2, 4)), ["broadcast_to:", "(3, 4)", "(2, 4)"]),
    (lambda x: mf.sum(x, axis=2), ["sum: axis must be None", "got 2"]),
    (lambda x: mf.softmax(x, axis=None), ["softmax: axis must be 0", "or 1"]),
    (lambda x: mf.mse_loss(x, x, reduction="avg"), ["reduction must be", "'avg'"]),
])
def test_bad_arguments_name_the_op(make, words):
    x = mf.Node(np.ones((3, 4)), requires_grad=True)
    with pytest.raises(ValueError) as caught:
        make(x)
    for word in words:
        assert word in str(caught.value)


@pytest.mark.parametrize("index, words", [
    (5, ["index 5 is out of range for axis 0 with 3 entries"]),
    ((0, -9), ["index -9 is out of range for axis 1"]),
    ((0, 1, 2), ["too many indices"]),
    (None, ["None", "2-D"]),
    ([[0, 1]], ["must be 1-D"]),
    ([0.5], ["must be integers"]),
    (np.array([True, False]), ["boolean index", "(3,)"]),
    ([0, 7], ["index 7 is out of range"]),
])
def test_bad_indices_are_index_errors_that_say_why(index, words):
    x = mf.Node(np.ones((3, 4)))
    with pytest.raises(IndexError) as caught:
        x[index]
    for word in words:
        assert word in str(caught.value)


def test_backward_on_a_matrix_root_needs_a_gradient_of_its_shape():
    x = mf.Node(np.ones((3, 2)), requires_grad=True)
    y = x * 2.0
    with pytest.raises(ValueError, match=r"shape \(3, 2\), not 1×1.*gradient="):
        y.backward()
    with pytest.raises(ValueError, match=r"gradient= has shape \(2, 3\) but the root has shape"):
        y.backward(np.ones((2, 3)))
    with pytest.raises(ValueError, match="1-D"):
        y.backward(np.ones(6))
    assert x.grad is None
    y.backward(np.ones((3, 2)))
    np.testing.assert_array_equal(x.grad, np.full((3, 2), 2.0))


def test_backward_on_a_node_without_grad_says_why():
    with pytest.raises(RuntimeError, match="does not require grad"):
        (mf.Node([[1.0]]) * 2.0).backward()


def test_grad_errors():
    x = mf.Node([[1.0]], requires_grad=True)
    constant = mf.Node([[1.0]])
    with pytest.raises(ValueError, match=r"input 0 .* does not require grad"):
        mf.grad(x * 2.0, [constant])
    with pytest.raises(ValueError, match="outputs do not require grad"):
        mf.grad(constant * 2.0, [x])
    with pytest.raises(TypeError, match="must be Nodes"):
        mf.grad(x * 2.0, [np.ones((1, 1))])
    with pytest.raises(TypeError, match="not both"):
        mf.grad(x, [x], gradient=[[1.0]], grad_outputs=[[1.0]])


def test_retain_grad_on_a_constant_says_why():
    with pytest.raises(RuntimeError, match="does not require grad"):
        mf.Node([[1.0]]).retain_grad()


def test_item_of_a_matrix_says_how_to_pick_an_entry():
    with pytest.raises(ValueError, match=r"1×1.*x\[i, j\]"):
        mf.Node(np.ones((2, 2))).item()


@pytest.mark.parametrize("exponent, words", [
    (mf.Node(np.ones((2, 2))), ["exponent must be a scalar", "(2, 2)", "mf.exp(b * mf.log(a))"]),
    (mf.Node([[2.0]], requires_grad=True), ["not differentiated", "requires grad"]),
    (np.ones((1, 3)), ["exponent must be a scalar", "(1, 3)"]),
    ("2", ["exponent must be a scalar number, got str"]),
])
def test_pow_needs_a_constant_scalar_exponent(exponent, words):
    x = mf.Node(np.ones((2, 2)), requires_grad=True)
    with pytest.raises(ValueError) as caught:
        x ** exponent
    for word in words:
        assert word in str(caught.value)


def test_a_1x1_constant_node_exponent_is_accepted():
    x = mf.Node([[3.0]], requires_grad=True)
    assert (x ** mf.Node([[2.0]])).item() == 9.0
    with pytest.raises(ValueError, match="base raised to a node must be positive"):
        (-2.0) ** x


@pytest.mark.parametrize("name", ["inv", "solve"])
def test_a_singular_matrix_is_a_linalg_error_naming_the_op(name):
    singular = mf.Node([[1.0, 2.0], [2.0, 4.0]], requires_grad=True)
    call = {"inv": lambda: mf.inv(singular), "solve": lambda: mf.solve(singular, np.ones((2, 1)))}
    with pytest.raises(np.linalg.LinAlgError, match=f"^{name}: Singular matrix"):
        call[name]()


def test_nan_inputs_propagate_as_nan_without_raising():
    x = mf.Node([[np.nan, 1.0], [2.0, 3.0]], requires_grad=True)
    with np.errstate(invalid="ignore"):
        for y in (mf.exp(x), x @ x, mf.inv(x), mf.det(x), mf.logdet(x), mf.softmax(x),
                  mf.sigmoid(x), mf.relu(x), mf.max(x, 0), mf.tanh(x)):
            assert np.isnan(y.data).any()
            mf.sum(y).backward()
        assert np.isnan(x.grad).any()


def test_cross_entropy_labels_are_checked():
    logits = mf.Node(np.zeros((3, 4)), requires_grad=True)
    with pytest.raises(ValueError, match=r"label 4 is not a class index in \[0, 4\)"):
        mf.cross_entropy(logits, [0, 1, 4])
    with pytest.raises(ValueError, match=r"3 rows of logits need 3 labels"):
        mf.cross_entropy(logits, [0, 1])
    with pytest.raises(ValueError, match=r"labels.astype\(int\)"):
        mf.cross_entropy(logits, np.array([0.0, 1.0, 2.0]))
    assert logits.grad is None


def test_torch_tensors_are_refused_with_the_conversion_to_use():
    import torch

    x = mf.Node(np.ones((2, 2)), requires_grad=True)
    for make in (lambda: torch.tensor(2.0) * x, lambda: x * torch.tensor(2.0),
                 lambda: x @ torch.ones(2, 2), lambda: mf.Node(torch.ones(2, 2))):
        with pytest.raises(TypeError, match=r"does not take torch tensors; use t\.detach\(\)"):
            make()


def test_differentiating_a_plain_gradient_again_points_to_create_graph():
    x = mf.Node([[0.5, 1.0]], requires_grad=True)
    (g,) = mf.grad(mf.sum(mf.exp(x)), [x])  # no create_graph: g is a constant
    with pytest.raises(ValueError, match=r"mf\.grad\(\.\.\., create_graph=True\)"):
        mf.grad(mf.sum(g), [x])
    with pytest.raises(RuntimeError, match="create_graph=True"):
        mf.sum(g).backward()


def test_a_bad_seed_names_backward_or_grad():
    y = mf.Node(np.ones((1, 4)), requires_grad=True) * 2.0
    with pytest.raises(ValueError, match=r"^backward: gradient= matrix data must be 2-D"):
        y.backward(np.ones(4))
    with pytest.raises(ValueError, match=r"^grad: gradient= matrix data must be 2-D"):
        mf.grad(y, [y], gradient=np.ones(4))


@pytest.mark.parametrize("shape", [(3,), 3, (0, 2), (2.0, 1), (2, 2, 2)])
def test_symbols_refuse_a_shape_that_is_not_rows_by_cols(shape):
    with pytest.raises(ValueError, match=r"the shape of 'Z' must be \(rows, cols\)"):
        mf.symbols("Z", shape=shape)


def test_a_symbol_named_I_is_refused_as_the_identity_prints_so():
    with pytest.raises(ValueError, match="the name 'I' is how closed forms print the identity"):
        mf.symbols("A I", shape=(3, 3))
