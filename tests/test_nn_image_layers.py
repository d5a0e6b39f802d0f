"""Conv2d, MaxPool2d, BatchNorm1d, Dropout and Flatten against PyTorch's layers with copied
weights: values and gradients in float64, images stored as rows (PyTorch's x.reshape(N, -1))."""

import numpy as np
import pytest
import torch

import matrixflow as mf
from matrixflow import nn


def _conv_twin(conv):
    twin = torch.nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                           conv.padding, bias=conv.bias is not None).double()
    kh, kw = conv.kernel_size
    with torch.no_grad():
        twin.weight.copy_(torch.from_numpy(conv.weight.data.T.reshape(
            conv.out_channels, conv.in_channels, kh, kw)))
        if conv.bias is not None:
            twin.bias.copy_(torch.from_numpy(conv.bias.data.ravel()))
    return twin


@pytest.mark.parametrize("in_channels, out_channels, kernel, stride, padding, image", [
    (1, 4, 3, 1, 0, (1, 6, 6)),
    (3, 2, (3, 2), 2, 1, (3, 7, 5)),
    (2, 5, 1, 1, 0, (2, 3, 4)),
    (2, 3, 4, (2, 1), (1, 2), (2, 6, 6)),
])
def test_conv2d_matches_pytorch_values_and_gradients(in_channels, out_channels, kernel, stride,
                                                     padding, image):
    rng = np.random.default_rng(0)
    conv = nn.Conv2d(in_channels, out_channels, kernel, stride, padding, image_shape=image,
                     rng=1)
    conv.bias.data[...] = rng.standard_normal(conv.bias.shape)
    twin = _conv_twin(conv)
    n = 3
    x = mf.Node(rng.standard_normal((n, int(np.prod(image)))), requires_grad=True)
    y = conv(x)
    assert y.shape == (n, int(np.prod(conv.output_shape)))
    seed = rng.standard_normal(y.shape)
    y.backward(seed)
    xt = torch.tensor(x.data.reshape(n, *image), requires_grad=True)
    yt = twin(xt)
    assert tuple(yt.shape[1:]) == conv.output_shape
    yt.reshape(n, -1).backward(torch.from_numpy(seed))
    np.testing.assert_allclose(y.numpy(), yt.detach().reshape(n, -1).numpy(), rtol=1e-12,
                               atol=1e-13)
    np.testing.assert_allclose(x.grad, xt.grad.reshape(n, -1).numpy(), rtol=1e-12, atol=1e-13)
    kh, kw = conv.kernel_size
    np.testing.assert_allclose(conv.weight.grad, twin.weight.grad.numpy().reshape(
        out_channels, in_channels * kh * kw).T, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(conv.bias.grad.ravel(), twin.bias.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("kernel, stride, padding", [(2, None, 0), (3, 2, 1), (3, 1, 0)])
def test_max_pool2d_after_relu_matches_pytorch_ties_included(kernel, stride, padding):
    rng = np.random.default_rng(2)
    image = (3, 6, 6)
    x = mf.Node(rng.standard_normal((4, 108)), requires_grad=True)
    pool = nn.MaxPool2d(kernel, stride, padding, image_shape=image)
    y = pool(mf.relu(x))  # many windows of zeros: the tie rule decides their gradient
    seed = rng.standard_normal(y.shape)
    y.backward(seed)
    xt = torch.tensor(x.data.reshape(4, *image), requires_grad=True)
    yt = torch.nn.MaxPool2d(kernel, stride, padding)(torch.relu(xt))
    assert tuple(yt.shape[1:]) == pool.output_shape
    yt.reshape(4, -1).backward(torch.from_numpy(seed))
    np.testing.assert_array_equal(y.numpy(), yt.detach().reshape(4, -1).numpy())
    # overlapping windows add their gradients in another order: equal to rounding
    np.testing.assert_allclose(x.grad, xt.grad.reshape(4, -1).numpy(), rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("momentum, affine", [(0.1, True), (None, True), (0.3, False)])
def test_batch_norm1d_trains_and_evaluates_as_pytorch(momentum, affine):
    rng = np.random.default_rng(3)
    layer = nn.BatchNorm1d(4, momentum=momentum, affine=affine)
    twin = torch.nn.BatchNorm1d(4, momentum=momentum, affine=affine).double()
    if affine:
        layer.weight.data[...] = rng.uniform(0.5, 2.0, (1, 4))
        layer.bias.data[...] = rng.standard_normal((1, 4))
        with torch.no_grad():
            twin.weight.copy_(torch.from_numpy(layer.weight.data.ravel()))
            twin.bias.copy_(torch.from_numpy(layer.bias.data.ravel()))
    for _ in range(3):  # training: batch statistics, the running ones move
        x = mf.Node(1.5 + 2.0 * rng.standard_normal((8, 4)), requires_grad=True)
        seed = rng.standard_normal((8, 4))
        y = layer(x)
        y.backward(seed)
        xt = torch.tensor(x.data, requires_grad=True)
        yt = twin(xt)
        yt.backward(torch.from_numpy(seed))
        np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
        if affine:
            np.testing.assert_allclose(layer.weight.grad.ravel(), twin.weight.grad.numpy(),
                                       rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(layer.bias.grad.ravel(), twin.bias.grad.numpy(),
                                       rtol=1e-12)
            layer.zero_grad()
            twin.zero_grad()
    np.testing.assert_allclose(layer.running_mean.ravel(), twin.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer.running_var.ravel(), twin.running_var.numpy(), rtol=1e-12)
    assert int(layer.num_batches_tracked) == int(twin.num_batches_tracked) == 3
    layer.eval()
    twin.eval()
    x = mf.Node(rng.standard_normal((5, 4)), requires_grad=True)
    seed = rng.standard_normal((5, 4))
    layer(x).backward(seed)
    xt = torch.tensor(x.data, requires_grad=True)
    twin(xt).backward(torch.from_numpy(seed))
    np.testing.assert_allclose(layer(x).numpy(), twin(xt).detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-12)


def test_batch_norm1d_without_running_statistics_uses_the_batch_in_evaluation():
    layer = nn.BatchNorm1d(2, track_running_stats=False).eval()
    x = np.random.default_rng(4).standard_normal((6, 2))
    twin = torch.nn.BatchNorm1d(2, track_running_stats=False).double().eval()
    np.testing.assert_allclose(layer(x).numpy(), twin(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-12)
    assert layer.state_dict().keys() == {"weight", "bias"}


def test_batch_norm_state_dict_carries_the_running_statistics():
    layer = nn.BatchNorm(3)
    layer(np.random.default_rng(5).standard_normal((10, 3)))
    copy = nn.BatchNorm(3)
    copy.load_state_dict(layer.state_dict())
    np.testing.assert_array_equal(copy.running_var, layer.running_var)
    assert int(copy.num_batches_tracked) == 1
    x = np.random.default_rng(6).standard_normal((4, 3))
    np.testing.assert_array_equal(copy.eval()(x).numpy(), layer.eval()(x).numpy())


def test_dropout_layer_is_seeded_and_the_identity_in_evaluation():
    x = mf.Node(np.ones((20, 30)), requires_grad=True)
    first, again = nn.Dropout(0.4, rng=3), nn.Dropout(0.4, rng=3)
    y = first(x)
    np.testing.assert_array_equal(y.numpy(), again(x).numpy())
    assert not np.array_equal(y.numpy(), first(x).numpy())  # a new mask each call
    mf.sum(y).backward()
    np.testing.assert_array_equal(x.grad, y.numpy())  # Ȳ = 1: the gradient is M/(1 − p)
    assert first.eval()(x) is x
    with pytest.raises(ValueError, match="must be in"):
        nn.Dropout(-0.1)


def test_a_small_convolutional_network_matches_pytorch_end_to_end():
    rng = np.random.default_rng(7)
    conv = nn.Conv2d(1, 4, 3, padding=1, image_shape=(1, 8, 8), rng=8)
    pool = nn.MaxPool2d(2, image_shape=conv.output_shape)
    linear = nn.Linear(int(np.prod(pool.output_shape)), 10, rng=9)
    model = nn.Sequential(conv, nn.ReLU(), pool, nn.Flatten(), linear)
    twin_linear = torch.nn.Linear(linear.in_features, 10).double()
    with torch.no_grad():
        twin_linear.weight.copy_(torch.from_numpy(linear.weight.data.T))
        twin_linear.bias.zero_()
    twin = torch.nn.Sequential(_conv_twin(conv), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                               torch.nn.Flatten(), twin_linear)
    x, labels = rng.standard_normal((6, 64)), rng.integers(0, 10, 6)
    mf.cross_entropy(model(x), labels).backward()
    loss = torch.nn.functional.cross_entropy(twin(torch.from_numpy(x.reshape(6, 1, 8, 8))),
                                             torch.from_numpy(labels))
    loss.backward()
    np.testing.assert_allclose(conv.weight.grad, twin[0].weight.grad.numpy().reshape(4, 9).T,
                               rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(linear.weight.grad, twin_linear.weight.grad.numpy().T,
                               rtol=1e-11, atol=1e-14)
    assert [name for name, _ in model.named_parameters()] == [
        "layers.0.weight", "layers.0.bias", "layers.4.weight", "layers.4.bias"]


def test_image_layers_say_what_shape_they_need():
    with pytest.raises(ValueError, match="with 3 channels"):
        nn.Conv2d(3, 4, 3, image_shape=(1, 8, 8))
    with pytest.raises(ValueError, match="larger than the padded image 2×2"):
        nn.Conv2d(1, 4, 3, image_shape=(1, 2, 2))
    conv = nn.Conv2d(2, 4, 3)  # no image_shape: square images
    assert conv(np.ones((1, 2 * 25))).shape == (1, 4 * 9)
    with pytest.raises(ValueError, match="not 2 square image channel"):
        conv(np.ones((1, 2 * 24)))
    with pytest.raises(ValueError, match="give image_shape"):
        conv.output_shape  # noqa: B018
    with pytest.raises(ValueError, match="has 16 entries per image, but the matrix"):
        nn.MaxPool2d(2, image_shape=(1, 4, 4))(np.ones((3, 15)))


def test_conv2d_and_max_pool2d_on_an_empty_batch_return_an_empty_batch_as_pytorch():
    conv = nn.Conv2d(1, 2, 3, image_shape=(1, 4, 4), rng=0)
    x = mf.Node(np.ones((0, 16)), requires_grad=True)
    y = conv(x)
    expected = _conv_twin(conv)(torch.ones(0, 1, 4, 4, dtype=torch.float64))
    assert y.shape == (0, int(np.prod(expected.shape[1:]))) == (0, 8)
    y.backward(np.ones(y.shape))
    np.testing.assert_array_equal(conv.weight.grad, np.zeros(conv.weight.shape))
    assert x.grad.shape == (0, 16)
    pool = nn.MaxPool2d(3, 2, 1, image_shape=(1, 4, 4))  # padded windows, none to pool
    pooled = pool(x)
    twin = torch.nn.functional.max_pool2d(torch.ones(0, 1, 4, 4), 3, 2, 1)
    assert pooled.shape == (0, int(np.prod(twin.shape[1:])))
    pooled.backward(np.ones(pooled.shape))


def test_conv2d_takes_a_nested_list_as_the_other_layers_do():
    conv = nn.Conv2d(1, 3, 2, image_shape=(1, 2, 3), rng=0)
    rows = [[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [0.5, 0.0, -1.0, 2.0, 1.0, 3.0]]
    np.testing.assert_array_equal(conv(rows).numpy(), conv(np.array(rows)).numpy())


@pytest.mark.parametrize("call, kind, start, words", [
    (lambda: nn.Conv2d(0, 2, 3), ValueError, "Conv2d:", "in_channels must be ≥ 1, got 0"),
    (lambda: nn.Conv2d(1.5, 2, 3), TypeError, "Conv2d:", "in_channels must be a positive "
     "integer, got 1.5"),
    (lambda: nn.Conv2d(1, 2.0, 3), TypeError, "Conv2d:", "out_channels must be a positive "
     "integer, got 2.0"),
    (lambda: nn.Conv2d(1, 2, 3, image_shape=(1, 4.0, 4)), TypeError, "Conv2d:",
     "image_shape must be (channels, height, width), three integers"),
    (lambda: mf.im2col(np.ones((2, 48)), (3, 4.5, 4), 2), TypeError, "im2col:",
     "three integers, got (3, 4.5, 4)"),
    (lambda: nn.Conv2d(1, 2, 3, image_shape=(1, 4, 4))(np.ones(16)), ValueError, "Conv2d:",
     "the input is a 1-D array of shape (16,), but images are the rows of a matrix, "
     "N × (C·H·W), as PyTorch's x.reshape(N, -1): for one image use x.reshape(1, -1)"),
    (lambda: mf.im2col(np.ones(16), (1, 4, 4), 3), ValueError, "im2col:", "1-D array"),
    (lambda: mf.max_pool(np.ones(16), (1, 4, 4), 2), ValueError, "max_pool:", "1-D array"),
    (lambda: mf.col2im(np.ones(9), (1, 4, 4), 3), ValueError, "col2im:", "1-D array"),
    (lambda: nn.Conv2d(1, 1, 2, image_shape=(1, 2, 2))(np.ones((3, 1, 2, 2))), ValueError,
     "Conv2d:", "a 4-D array of shape (3, 1, 2, 2), but images are the rows of a matrix, "
     "N × (C·H·W), as PyTorch's x.reshape(N, -1): use x.reshape(3, -1)"),
    (lambda: mf.max_pool(np.ones((3, 1, 4, 4)), (1, 4, 4), 2), ValueError, "max_pool:",
     "use x.reshape(3, -1)"),
    (lambda: nn.Conv2d(3, 2, 5)(np.ones((2, 48))), ValueError, "Conv2d:",
     "the kernel 5×5 is larger than the padded image 4×4"),
    (lambda: nn.Conv2d(3, 2, 3, image_shape=(3, 5, 5))(np.ones((2, 48))), ValueError,
     "Conv2d:", "image_shape (3, 5, 5) has 75 entries per image, but the matrix (2, 48)"),
    (lambda: nn.Conv2d(1, 2, 3, image_shape=(1, 4, 4))(torch.ones(1, 16)), TypeError,
     "Conv2d:", "does not take torch tensors"),
    (lambda: nn.MaxPool2d(2, image_shape=(3, 5, 5))(np.ones((2, 48))), ValueError,
     "MaxPool2d:", "has 75 entries per image"),
    (lambda: nn.MaxPool2d(2, image_shape=None), TypeError, "MaxPool2d:",
     "image_shape=(channels, height, width) is required"),
    (lambda: nn.MaxPool2d(3, padding=2, image_shape=(1, 6, 6)), ValueError, "MaxPool2d:",
     "padding (2, 2) must be at most half the kernel"),
    (lambda: nn.BatchNorm1d(3)(np.ones((4, 3, 2))), ValueError, "BatchNorm1d:",
     "a 3-D array of shape (4, 3, 2), but batch norm takes an N × C matrix"),
    (lambda: nn.BatchNorm1d(3)(np.ones((4, 3, 2))), ValueError, "BatchNorm1d:",
     "x.transpose(0, 2, 1).reshape(-1, C)"),
    (lambda: nn.BatchNorm1d(3).eval()(np.ones((4, 5))), ValueError, "BatchNorm1d(3):",
     "the input has 5 columns (features), the layer normalises 3"),
    (lambda: nn.BatchNorm1d(3)(np.ones((1, 3))), ValueError, "BatchNorm1d:",
     "training needs more than one row"),
    (lambda: nn.BatchNorm1d(3, momentum="a"), ValueError, "BatchNorm1d:",
     "momentum must be a number in [0, 1] or None (a cumulative average), got 'a'"),
    (lambda: nn.BatchNorm1d(3, eps="small"), ValueError, "BatchNorm1d:",
     "eps must be a number ≥ 0, got 'small'"),
    (lambda: nn.BatchNorm1d(2.5), TypeError, "BatchNorm1d:",
     "num_features must be a positive integer, got 2.5"),
    (lambda: mf.batch_norm(np.ones((4, 3, 2)), training=True), ValueError, "batch_norm:",
     "a 3-D array"),
    (lambda: mf.batch_norm(np.random.rand(3, 3), training=True, weight=np.ones(4)), ValueError,
     "batch_norm:", "weight has shape (4,), but the input has 3 columns; give one entry per "
     "column, (3,) or (1, 3)"),
    (lambda: mf.batch_norm(np.random.rand(3, 3), training=True, bias=np.ones((3, 1))),
     ValueError, "batch_norm:", "bias has shape (3, 1)"),
    (lambda: mf.batch_norm(np.random.rand(3, 3), training=True, momentum="a"), ValueError,
     "batch_norm:", "momentum must be a number in [0, 1]"),
])
def test_layer_and_op_errors_name_what_the_user_called_and_say_what_to_do(call, kind, start,
                                                                          words):
    with pytest.raises(kind) as caught:
        call()
    message = str(caught.value)
    assert message.startswith(start) and words in message, message


def test_flatten_takes_pytorchs_signature_and_flattens_each_sample_into_a_row():
    x = np.random.default_rng(8).standard_normal((3, 2, 4, 5))
    for layer, twin in ((nn.Flatten(), torch.nn.Flatten()), (nn.Flatten(1), torch.nn.Flatten(1)),
                        (nn.Flatten(start_dim=1, end_dim=-1),
                         torch.nn.Flatten(start_dim=1, end_dim=-1))):
        assert repr(layer) == repr(twin)
        np.testing.assert_array_equal(mf.Node(layer(x)).numpy(), twin(torch.from_numpy(x)).numpy())
        rows = mf.Node(x.reshape(3, -1), requires_grad=True)
        assert layer(rows) is rows  # images are rows already
    for start_dim, end_dim in ((0, -1), (2, -1), (1, 2), (1.0, -1)):
        with pytest.raises(ValueError, match="only start_dim=1, end_dim=-1"):
            nn.Flatten(start_dim, end_dim)


def test_batch_norm1d_loads_a_pytorch_state_dict_with_its_1_d_entries():
    rng = np.random.default_rng(9)
    twin = torch.nn.BatchNorm1d(3).double()
    with torch.no_grad():
        twin.weight.copy_(torch.from_numpy(rng.uniform(0.5, 2.0, 3)))
        twin.bias.copy_(torch.from_numpy(rng.standard_normal(3)))
    for _ in range(2):
        twin(torch.from_numpy(1.0 + 2.0 * rng.standard_normal((8, 3))))
    state = {name: value.numpy() for name, value in twin.state_dict().items()}
    assert state["running_mean"].shape == (3,)
    layer = nn.BatchNorm1d(3)
    layer.load_state_dict(state)
    assert layer.running_mean.shape == layer.weight.shape == (1, 3)  # kept as rows
    assert int(layer.num_batches_tracked) == 2
    x = rng.standard_normal((5, 3))
    np.testing.assert_allclose(layer.eval()(x).numpy(),
                               twin.eval()(torch.from_numpy(x)).detach().numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match=r"running_var has shape \(1, 3\), the state gives "
                                         r"\(4,\)"):
        layer.load_state_dict({**state, "running_var": np.ones(4)})


def test_im2col_always_returns_memory_of_its_own():
    # a kernel covering the whole image makes the patches a plain reshape of the input
    X = np.random.default_rng(0).random((2, 16))
    P = mf.im2col(X, (1, 4, 4), 4)
    assert not np.shares_memory(P, X) and P.flags.writeable
    np.testing.assert_array_equal(P, X)
