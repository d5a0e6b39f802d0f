"""PyTorch's names where a PyTorch user reaches for them, each run side by side with torch in
float64: requires_grad_, backward(gradient, retain_graph, create_graph, inputs), clone, the
constructors zeros/ones/eye/full, where, clamp, norm and the comparisons."""

import numpy as np
import pytest
import torch

import matrixflow as mf

RNG = np.random.default_rng(7)


def pair(array, requires_grad=True):
    """The same matrix as a matrixflow leaf and a float64 torch leaf."""
    array = np.asarray(array, dtype=np.float64)
    return (mf.Node(array.copy(), requires_grad=requires_grad),
            torch.tensor(array, requires_grad=requires_grad))


def same(node_value, tensor):
    data = node_value.data if isinstance(node_value, mf.Node) else node_value
    np.testing.assert_allclose(np.asarray(data), tensor.detach().numpy(), rtol=1e-12, atol=1e-14)


# ---- requires_grad_ ----------------------------------------------------------------------------
def test_requires_grad_switches_a_leaf_on_and_off_and_returns_it():
    x, xt = pair(RNG.normal(size=(2, 3)), requires_grad=False)
    assert x.requires_grad_() is x and xt.requires_grad_() is xt
    assert x.requires_grad and xt.requires_grad
    (x * x).sum().backward()
    (xt * xt).sum().backward()
    same(x.grad, xt.grad)
    x.requires_grad_(False)
    xt.requires_grad_(False)
    assert not x.requires_grad and not xt.requires_grad


def test_a_result_of_constants_becomes_a_leaf_that_gathers_its_grad():
    a, at = pair(RNG.normal(size=(2, 2)), requires_grad=False)
    c, ct = (a + 1).requires_grad_(), (at + 1).requires_grad_()
    assert c.is_leaf and ct.is_leaf
    (c * c * 3).sum().backward()
    (ct * ct * 3).sum().backward()
    same(c.grad, ct.grad)


def test_requires_grad_false_on_a_result_that_needs_grad_is_refused_as_in_torch():
    w, wt = pair(RNG.normal(size=(2, 2)))
    with pytest.raises(RuntimeError, match="leaf"):
        (wt * 2).requires_grad_(False)
    with pytest.raises(RuntimeError, match=r"only a leaf.s requires_grad can change.*detach"):
        (w * 2).requires_grad_(False)
    y = w * 2
    assert y.requires_grad_() is y and y.requires_grad  # True on such a result changes nothing


# ---- backward's keywords -----------------------------------------------------------------------
def test_backward_with_a_seed_and_retain_graph_accumulates_twice_as_torch():
    x, xt = pair(RNG.normal(size=(3, 2)))
    seed = RNG.normal(size=(3, 2))
    y, yt = mf.tanh(x) * x, torch.tanh(xt) * xt
    y.backward(seed, retain_graph=True)
    yt.backward(torch.tensor(seed), retain_graph=True)
    y.backward(gradient=seed)
    yt.backward(gradient=torch.tensor(seed))
    same(x.grad, xt.grad)


def test_backward_inputs_accumulates_into_the_named_nodes_only():
    W, Wt = pair(RNG.normal(size=(3, 2)))
    b, bt = pair(RNG.normal(size=(1, 2)))
    X = RNG.normal(size=(4, 3))
    hidden, hidden_t = X @ W + b, torch.tensor(X) @ Wt + bt
    loss, loss_t = mf.sum(mf.tanh(hidden)), torch.tanh(hidden_t).sum()
    loss.backward(inputs=[W, hidden], retain_graph=True)
    loss_t.backward(inputs=[Wt, hidden_t], retain_graph=True)
    same(W.grad, Wt.grad)
    same(hidden.grad, hidden_t.grad)  # a node inside the tree, named in inputs, gathers too
    assert b.grad is None and bt.grad is None
    loss.backward(inputs=b)  # one Node, as torch takes one tensor
    loss_t.backward(inputs=bt)
    same(b.grad, bt.grad)
    same(W.grad, Wt.grad)  # unchanged by the second walk


def test_backward_inputs_that_the_root_does_not_reach_keep_their_grad():
    x, xt = pair(RNG.normal(size=(2, 2)))
    u, ut = pair(RNG.normal(size=(2, 2)))
    (x * x).sum().backward(inputs=[x, u])
    (xt * xt).sum().backward(inputs=[xt, ut])
    same(x.grad, xt.grad)
    assert u.grad is None and ut.grad is None


def test_backward_inputs_refused_when_empty_or_not_requiring_grad_as_in_torch():
    x, xt = pair(RNG.normal(size=(2, 2)))
    c, ct = pair(RNG.normal(size=(2, 2)), requires_grad=False)
    for node_inputs, torch_inputs in (([], []), ([c], [ct])):
        with pytest.raises(RuntimeError):
            (xt * ct).sum().backward(inputs=torch_inputs)
        with pytest.raises(RuntimeError, match="inputs="):
            (x * c).sum().backward(inputs=node_inputs)
    assert x.grad is None  # nothing written by a refused walk


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")  # torch's own
def test_backward_create_graph_gives_grads_that_differentiate_again():
    x, xt = pair(RNG.normal(size=(2, 3)))
    (x ** 3).sum().backward(create_graph=True)
    (xt ** 3).sum().backward(create_graph=True)
    assert isinstance(x.grad, mf.Node) and x.grad.requires_grad
    same(x.grad, xt.grad)  # 3x²
    x.grad.sum().backward()
    xt.grad.sum().backward()
    same(x.grad, xt.grad)  # 3x² + 6x, the second walk adding into the first


# ---- clone -------------------------------------------------------------------------------------
def test_clone_copies_the_memory_and_keeps_the_tree():
    x, xt = pair(RNG.normal(size=(2, 2)))
    y, yt = x.clone(), xt.clone()
    assert not y.is_leaf and not yt.is_leaf
    assert not np.shares_memory(y.data, x.data)
    (mf.clone(y) * y).sum().backward()
    (yt.clone() * yt).sum().backward()
    same(x.grad, xt.grad)


# ---- constructors ------------------------------------------------------------------------------
@pytest.mark.parametrize("build, args", [
    ("zeros", (2, 3)), ("zeros", ((2, 3),)), ("ones", (3, 1)), ("ones", ((1, 4),)),
    ("eye", (3,)), ("eye", (2, 4)), ("full", ((2, 3), 1.5)),
])
def test_constructors_give_torchs_values_flags_and_grads(build, args):
    node = getattr(mf, build)(*args, requires_grad=True)
    tensor = getattr(torch, build)(*args, dtype=torch.float64, requires_grad=True)
    same(node, tensor)
    assert node.is_leaf and node.requires_grad and node.dtype == np.float64
    weights = RNG.normal(size=node.shape)
    (mf.exp(node) * weights).sum().backward()
    (torch.exp(tensor) * torch.tensor(weights)).sum().backward()
    same(node.grad, tensor.grad)


def test_constructors_take_dtype_and_name_and_refuse_what_is_not_a_matrix():
    assert mf.ones(2, 2, dtype=np.float32).dtype == np.float32
    assert mf.zeros(1, 1, name="b").name == "b"
    assert not mf.eye(2).requires_grad
    with pytest.raises(ValueError, match="2-D"):
        mf.zeros(2, 3, 4)
    with pytest.raises(TypeError, match="integers"):
        mf.ones(2.5, 1)
    with pytest.raises(TypeError, match="float64 or float32"):
        mf.zeros(2, 2, dtype=np.int64)


# ---- where -------------------------------------------------------------------------------------
@pytest.mark.parametrize("a_shape, b_shape", [((3, 4), (3, 4)), ((3, 4), (1, 4)),
                                              ((3, 1), (1, 4))])
def test_where_values_and_both_gradients_as_torch(a_shape, b_shape):
    a, at = pair(RNG.normal(size=a_shape))
    b, bt = pair(RNG.normal(size=b_shape))
    condition = RNG.normal(size=(3, 4)) > 0
    weights = RNG.normal(size=(3, 4))
    y, yt = mf.where(condition, a, b), torch.where(torch.tensor(condition), at, bt)
    same(y, yt)
    (y * weights).sum().backward()
    (yt * torch.tensor(weights)).sum().backward()
    same(a.grad, at.grad)  # summed over the broadcast axes
    same(b.grad, bt.grad)


def test_where_takes_a_comparison_of_nodes_and_a_number_as_torch():
    x, xt = pair(RNG.normal(size=(4, 3)))
    y, yt = mf.where(x > 0, x, 0.0), torch.where(xt > 0, xt, 0.0)
    same(y, yt)
    (y * y).sum().backward()
    (yt * yt).sum().backward()
    same(x.grad, xt.grad)


def test_where_refuses_a_condition_that_is_not_boolean():
    x = mf.Node(np.ones((2, 2)), requires_grad=True)
    with pytest.raises(TypeError, match="boolean"):
        mf.where(np.ones((2, 2)), x, x)
    with pytest.raises(ValueError, match="broadcast"):
        mf.where(np.ones((3, 3), dtype=bool), x, x)


# ---- clamp -------------------------------------------------------------------------------------
@pytest.mark.parametrize("low, high", [(-0.5, 0.5), (None, 0.25), (-0.25, None), (0.5, -0.5)])
def test_clamp_values_and_gradient_as_torch_bounds_included(low, high):
    values = RNG.normal(size=(4, 5))
    values[0, :3] = [-0.5, 0.5, 0.25]  # on the bounds: the gradient passes, as in torch
    values[1, 0] = -0.25
    x, xt = pair(values)
    weights = RNG.normal(size=(4, 5))
    y, yt = mf.clamp(x, low, high), torch.clamp(xt, low, high)
    same(y, yt)
    (y * weights).sum().backward()
    (yt * torch.tensor(weights)).sum().backward()
    same(x.grad, xt.grad)


def test_clamp_passes_nan_on_with_no_gradient_as_torch():
    x, xt = pair([[np.nan, 2.0, -3.0]])
    y, yt = mf.clamp(x, min=-1, max=1), torch.clamp(xt, min=-1, max=1)
    same(y, yt)
    y.sum().backward()
    yt.sum().backward()
    same(x.grad, xt.grad)


def test_clamp_needs_a_bound_that_is_a_number():
    x = mf.Node(np.ones((2, 2)))
    with pytest.raises(ValueError, match="min, max or both"):
        mf.clamp(x)
    with pytest.raises(TypeError, match=r"mf\.where"):
        mf.clamp(x, min=np.zeros((2, 2)))


# ---- norm --------------------------------------------------------------------------------------
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_norm_values_and_gradient_as_torch(axis):
    x, xt = pair(RNG.normal(size=(3, 4)))
    y = mf.norm(x, axis)
    yt = (torch.linalg.norm(xt).reshape(1, 1) if axis is None
          else torch.linalg.vector_norm(xt, dim=axis, keepdim=True))
    same(y, yt)
    weights = RNG.normal(size=y.shape)
    (y * weights).sum().backward()
    (yt * torch.tensor(weights)).sum().backward()
    same(x.grad, xt.grad)


def test_norm_is_checked_against_finite_differences():
    x = mf.Node(RNG.normal(size=(3, 2)), requires_grad=True)
    assert mf.gradcheck(lambda x: mf.norm(x), [x])
    assert mf.gradcheck(lambda x: mf.norm(x, axis=0), [x])


# ---- comparisons -------------------------------------------------------------------------------
def test_comparisons_give_torchs_masks_and_build_no_tree():
    x, xt = pair(RNG.normal(size=(3, 3)))
    other = RNG.normal(size=(3, 3))
    for node_mask, tensor_mask in ((x > 0, xt > 0), (x >= other, xt >= torch.tensor(other)),
                                   (x < x * 0.5, xt < xt * 0.5), (x <= 0.1, xt <= 0.1)):
        assert node_mask.dtype == bool
        np.testing.assert_array_equal(node_mask, tensor_mask.numpy())
    assert x == x and x != x.detach()  # identity, as nodes are keys of the walk's sets
