"""The image ops (im2col, col2im, max_pool) and the layer ops (dropout, batch_norm) beyond the
op table's cases: their layout, their PyTorch semantics (ties, masks, running statistics) and
their errors."""

import numpy as np
import pytest
import torch

import matrixflow as mf


def test_im2col_rows_are_patches_by_position_then_image_and_columns_by_channel_then_kernel():
    rng = np.random.default_rng(0)
    n, (c, h, w), (kh, kw) = 2, (2, 3, 4), (2, 3)
    x = rng.standard_normal((n, c * h * w))
    cols = mf.im2col(x, (c, h, w), (kh, kw))
    images = x.reshape(n, c, h, w)
    rows_out, cols_out = h - kh + 1, w - kw + 1
    assert cols.shape == (rows_out * cols_out * n, c * kh * kw)
    for i in range(rows_out):
        for j in range(cols_out):
            for image in range(n):
                patch = images[image, :, i:i + kh, j:j + kw].reshape(-1)
                np.testing.assert_array_equal(cols[(i * cols_out + j) * n + image], patch)


def test_col2im_is_the_adjoint_of_im2col():
    """⟨im2col(X), G⟩ = ⟨X, col2im(G)⟩ for strided, padded, overlapping windows."""
    rng = np.random.default_rng(1)
    geometry = dict(image_shape=(3, 5, 6), kernel_size=(3, 2), stride=(2, 1), padding=(1, 2))
    x = rng.standard_normal((4, 90))
    cols = mf.im2col(x, **geometry)
    g = rng.standard_normal(cols.shape)
    np.testing.assert_allclose(np.sum(cols * g), np.sum(x * mf.col2im(g, **geometry)),
                               rtol=1e-12)


def test_a_convolution_is_im2col_times_the_weight_as_pytorchs_conv2d():
    rng = np.random.default_rng(2)
    n, image, out = 3, (2, 6, 5), 4
    x = rng.standard_normal((n, 60))
    weight = rng.standard_normal((2 * 3 * 3, out))
    cols = mf.im2col(x, image, 3, stride=2, padding=1)       # (H'·W'·N) × (C·kh·kw)
    positions = cols.shape[0] // n
    y = (cols @ weight).reshape(positions, n * out).T.reshape(n, out * positions)
    expected = torch.nn.functional.conv2d(torch.from_numpy(x.reshape(n, *image)),
                                          torch.from_numpy(weight.T.reshape(out, 2, 3, 3)),
                                          stride=2, padding=1)
    np.testing.assert_allclose(y, expected.reshape(n, -1).numpy(), rtol=1e-12)


def test_max_pool_sends_a_tie_to_the_first_maximum_as_pytorch():
    x = np.zeros((2, 2 * 4 * 4))  # every window ties: all zeros, as after a ReLU
    x[0, 5] = 1.0
    x[1, 17:19] = -1.0
    seed = np.random.default_rng(3).standard_normal((2, 2 * 2 * 2))
    node = mf.Node(x, requires_grad=True)
    mf.max_pool(node, (2, 4, 4), 2).backward(seed)
    tensor = torch.tensor(x.reshape(2, 2, 4, 4), requires_grad=True)
    torch.nn.functional.max_pool2d(tensor, 2).reshape(2, -1).backward(torch.from_numpy(seed))
    np.testing.assert_array_equal(node.grad, tensor.grad.reshape(2, -1).numpy())


def test_max_pool_propagates_nan_as_pytorch():
    x = np.arange(16.0).reshape(1, 16)
    x[0, 0] = np.nan
    pooled = mf.max_pool(x, (1, 4, 4), 2)
    expected = torch.nn.functional.max_pool2d(torch.from_numpy(x.reshape(1, 1, 4, 4)), 2)
    np.testing.assert_array_equal(pooled, expected.reshape(1, -1).numpy())


def _pool_gradients(x, image, kernel, stride, padding, create_graph=False):
    """max_pool's gradient for Ȳ = 1 (mf.grad, so create_graph is tried too) and PyTorch's."""
    node = mf.Node(x, requires_grad=True)
    y = mf.max_pool(node, image, kernel, stride, padding)
    (gradient,) = mf.grad(y, [node], gradient=np.ones(y.shape), create_graph=create_graph)
    tensor = torch.tensor(x.reshape(x.shape[0], *image), requires_grad=True)
    pooled = torch.nn.functional.max_pool2d(tensor, kernel, stride, padding)
    pooled.backward(torch.ones_like(pooled))
    return gradient.numpy(), tensor.grad.reshape(x.shape[0], -1).numpy()


@pytest.mark.parametrize("x, image, kernel, stride, padding", [
    (np.full((1, 9), -np.inf), (1, 3, 3), 2, 2, 1),    # padded windows of −∞ pixels only
    (np.full((1, 4), -np.inf), (1, 2, 2), 3, 1, 1),    # each window: all four pixels, −∞
    (np.array([[-np.inf, 1.0, -np.inf, -np.inf, 2.0, -np.inf]]), (1, 2, 3), 2, 1, 1),
    (np.array([[np.nan, np.nan, 1.0, 2.0]]), (1, 2, 2), 2, None, 0),  # two NaNs: the last
    (np.array([[1.0, np.nan, 5.0, np.nan, 7.0, np.nan, 2.0, 3.0, np.nan]]), (1, 3, 3), 2, 1,
     0),
    (np.array([[np.inf, np.nan, np.inf, 1.0, -np.inf, np.nan, np.inf, np.inf]]), (2, 2, 2), 2,
     1, 1),
])
@pytest.mark.parametrize("create_graph", [False, True])
def test_max_pool_routes_the_gradient_of_special_windows_as_pytorch(x, image, kernel, stride,
                                                                     padding, create_graph):
    ours, theirs = _pool_gradients(x, image, kernel, stride, padding, create_graph)
    np.testing.assert_array_equal(ours, theirs)


def test_max_pool_routes_random_windows_of_ties_infinities_and_nans_as_pytorch():
    rng = np.random.default_rng(11)
    values = [np.nan, -np.inf, np.inf, 0.0, 1.0, -1.0]
    for _ in range(40):
        channels, height, width = (int(v) for v in rng.integers(1, 6, 3))
        kernel = int(rng.integers(1, min(height, width) + 1))
        stride, padding = int(rng.integers(1, 3)), int(rng.integers(0, kernel // 2 + 1))
        x = rng.choice(values, size=(2, channels * height * width))
        ours, theirs = _pool_gradients(x, (channels, height, width), kernel, stride, padding)
        np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("call, words", [
    (lambda: mf.im2col(np.ones((2, 15)), (1, 4, 4), 3), "has 16 entries per image, but the "
     "matrix (2, 15) has 15 columns"),
    (lambda: mf.im2col(np.ones((2, 16)), (1, 4, 4), 5), "the kernel 5×5 is larger than the "
     "padded image 4×4"),
    (lambda: mf.im2col(np.ones((2, 16)), (1, 4, 4), 3, stride=0), "stride must be ≥ 1"),
    (lambda: mf.im2col(np.ones((2, 16)), (1, 4, 4), 3, padding=-1), "padding must be ≥ 0"),
    (lambda: mf.im2col(np.ones((2, 16)), (1, 4, 4), 2.5), "kernel_size must be an int or a "
     "pair"),
    (lambda: mf.im2col(np.ones((2, 16)), (4, 4), 2), "image_shape must be (channels, height, "
     "width)"),
    (lambda: mf.col2im(np.ones((8, 4)), (1, 4, 4), 3), "needs 9 columns (C·kh·kw) and a "
     "multiple of 4 rows"),
    (lambda: mf.max_pool(np.ones((1, 16)), (1, 4, 4), 2, padding=2), "padding (2, 2) must be "
     "at most half the kernel"),
    (lambda: mf.dropout(np.ones((2, 2)), 1.5), "must be in [0, 1], got 1.5"),
    (lambda: mf.dropout(np.ones((2, 2)), 0.5, mask=np.ones((2, 3))), "the mask has shape"),
    (lambda: mf.dropout(np.ones((2, 2)), 0.5, mask=np.full((2, 2), 2)), "only 0 and 1"),
    (lambda: mf.batch_norm(np.ones((1, 3)), training=True), "more than one row"),
    (lambda: mf.batch_norm(np.ones((4, 3))), "pass running_mean and running_var"),
    (lambda: mf.batch_norm(np.ones((4, 3)), np.zeros(2), np.ones(2)), "running_mean has 2 "
     "entries, the input 3 columns"),
    (lambda: mf.batch_norm(np.ones((4, 3)), np.zeros(3)), "both running_mean and running_var"),
])
def test_bad_arguments_say_what_is_wrong(call, words):
    with pytest.raises((ValueError, TypeError)) as caught:
        call()
    assert words in str(caught.value)


def test_dropout_matches_pytorchs_scaling_with_its_mask_and_is_the_identity_in_evaluation():
    torch.manual_seed(0)
    x = np.random.default_rng(4).standard_normal((50, 40))
    for p in (0.1, 0.5, 0.9):
        expected = torch.nn.functional.dropout(torch.from_numpy(x), p).numpy()
        kept = expected != 0
        np.testing.assert_array_equal(mf.dropout(x, p, mask=kept), expected)
    node = mf.Node(x, requires_grad=True)
    assert mf.dropout(node, 0.5, training=False) is node


def test_dropout_draws_its_mask_from_the_seed_at_rate_p():
    x = np.ones((200, 100))
    first, again = mf.dropout(x, 0.3, rng=7), mf.dropout(x, 0.3, rng=7)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, mf.dropout(x, 0.3, rng=8))
    assert abs((first == 0).mean() - 0.3) < 0.01
    assert set(np.unique(first)) == {0.0, 1.0 / 0.7}
    assert (mf.dropout(x, 1.0, rng=0) == 0).all()


def test_batch_norm_moves_the_running_statistics_as_pytorch():
    rng = np.random.default_rng(5)
    mean, var = np.zeros(3), np.ones(3)
    torch_mean, torch_var = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
    for _ in range(3):
        x = 2.0 + 3.0 * rng.standard_normal((6, 3))
        y = mf.batch_norm(x, mean, var, gamma, beta, training=True, momentum=0.2)
        expected = torch.nn.functional.batch_norm(
            torch.from_numpy(x), torch_mean, torch_var, torch.from_numpy(gamma),
            torch.from_numpy(beta), training=True, momentum=0.2)
        np.testing.assert_allclose(y, expected.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(mean, torch_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(var, torch_var.numpy(), rtol=1e-12)
    x = rng.standard_normal((4, 3))
    evaluated = torch.nn.functional.batch_norm(torch.from_numpy(x), torch_mean, torch_var,
                                               training=False)
    np.testing.assert_allclose(mf.batch_norm(x, mean, var), evaluated.numpy(), rtol=1e-12)


def test_batch_norm_with_running_statistics_keeps_a_copy_of_them():
    mean, var = np.zeros((1, 2)), np.ones((1, 2))
    x = mf.Node(np.arange(6.0).reshape(3, 2), requires_grad=True)
    y = mf.batch_norm(x, mean, var)
    mean += 10.0  # a later update of the layer must not change this node's backward
    y.backward(np.ones((3, 2)))
    np.testing.assert_allclose(x.grad, np.full((3, 2), 1 / np.sqrt(1 + 1e-5)))
    np.testing.assert_allclose(y.numpy(), x.numpy() / np.sqrt(1 + 1e-5))


def test_batch_norm_updates_running_statistics_of_any_layout_in_place():
    storage = np.zeros((3, 2))
    mean, var = storage[:, 0], np.ones((3, 1))  # a strided view, and a column
    x = np.array([[1.0, 2.0, 3.0], [3.0, 6.0, 9.0]])
    mf.batch_norm(x, mean, var, training=True, momentum=0.5)
    np.testing.assert_allclose(storage[:, 0], [1.0, 2.0, 3.0])  # ½·(column means 2, 4, 6)
    np.testing.assert_allclose(var.ravel(), [1.5, 4.5, 9.5])    # ½·1 + ½·(2, 8, 18)
