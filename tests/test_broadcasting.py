"""Property tests: element-wise ops broadcast like NumPy and sum gradients back exactly."""

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import matrixflow as mf

OPS = {
    "add": (lambda a, b: a + b, lambda a, b: a + b),
    "sub": (lambda a, b: a - b, lambda a, b: a - b),
    "mul": (lambda a, b: a * b, lambda a, b: a * b),
    "div": (lambda a, b: a / b, lambda a, b: a / b),
}


@st.composite
def broadcastable_shapes(draw):
    """Two 2-D shapes NumPy can broadcast: each axis equal, or 1 on one side."""
    rows, cols = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    def side():
        return (draw(st.sampled_from([rows, 1])), draw(st.sampled_from([cols, 1])))
    return side(), side()


@settings(max_examples=60, deadline=None)
@given(shapes=broadcastable_shapes(), op=st.sampled_from(sorted(OPS)), seed=st.integers(0, 2**16))
def test_broadcast_result_and_gradients_match_pytorch(shapes, op, seed):
    (shape_a, shape_b) = shapes
    rng = np.random.default_rng(seed)
    a0 = rng.standard_normal(shape_a)
    b0 = rng.uniform(0.5, 2.0, shape_b) * rng.choice([-1, 1], shape_b)
    mine, theirs = OPS[op]
    a, b = mf.Node(a0, requires_grad=True), mf.Node(b0, requires_grad=True)
    y = mine(a, b)
    assert y.shape == np.broadcast_shapes(shape_a, shape_b)
    seed_gradient = rng.standard_normal(y.shape)
    y.backward(seed_gradient)
    at, bt = torch.tensor(a0, requires_grad=True), torch.tensor(b0, requires_grad=True)
    theirs(at, bt).backward(torch.from_numpy(seed_gradient))
    assert a.grad.shape == shape_a and b.grad.shape == shape_b
    np.testing.assert_allclose(y.data, theirs(torch.tensor(a0), torch.tensor(b0)).numpy(),
                               rtol=1e-12)
    np.testing.assert_allclose(a.grad, at.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b.grad, bt.grad.numpy(), rtol=1e-10, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(shapes=broadcastable_shapes(), seed=st.integers(0, 2**16))
def test_sum_to_is_the_adjoint_of_broadcast_to(shapes, seed):
    """⟨broadcast(a), G⟩ = ⟨a, sum_to(G)⟩ for every pattern: the two rules are adjoint."""
    small, other = shapes
    target = np.broadcast_shapes(small, other)
    rng = np.random.default_rng(seed)
    a, G = rng.standard_normal(small), rng.standard_normal(target)
    lhs = np.sum(mf.broadcast_to(a, target) * G)
    rhs = np.sum(a * mf.ops.sum_to(G, small))
    # The two sums add the same products in different orders: they agree to rounding of the
    # products' magnitudes, not of the (possibly cancelling) total.
    scale = np.sum(np.abs(mf.broadcast_to(a, target) * G))
    np.testing.assert_allclose(lhs, rhs, rtol=1e-12, atol=1e-13 * scale)


@settings(max_examples=40, deadline=None)
@given(shapes=broadcastable_shapes(), seed=st.integers(0, 2**16))
def test_broadcast_gradients_pass_gradcheck(shapes, seed):
    rng = np.random.default_rng(seed)
    a = mf.Node(rng.standard_normal(shapes[0]), requires_grad=True)
    b = mf.Node(rng.uniform(0.5, 2.0, shapes[1]), requires_grad=True)
    assert mf.gradcheck(lambda a, b: mf.tanh(a * b + a / b - b), [a, b])


@settings(max_examples=30, deadline=None)
@given(rows=st.integers(1, 4), cols=st.integers(2, 4), other=st.integers(2, 5))
def test_incompatible_shapes_always_raise_naming_both(rows, cols, other):
    if other == cols:  # two column counts, neither 1: never broadcastable
        other = cols + 1
    a, b = mf.Node(np.ones((rows, cols))), mf.Node(np.ones((rows, other)))
    for op in OPS.values():
        try:
            op[0](a, b)
        except ValueError as error:
            assert str((rows, cols)) in str(error) and str((rows, other)) in str(error)
        else:
            raise AssertionError("incompatible shapes were accepted")
