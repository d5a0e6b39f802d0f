"""matrixflow.nn: layers against PyTorch with copied weights, Module bookkeeping, initialisers."""

import math

import numpy as np
import pytest
import torch

import matrixflow as mf
from matrixflow import nn


def test_linear_matches_torch_linear_with_the_weight_transposed():
    layer = nn.Linear(4, 3, rng=0)
    layer.bias.data[...] = np.random.default_rng(1).standard_normal((1, 3))
    twin = torch.nn.Linear(4, 3).double()
    with torch.no_grad():
        twin.weight.copy_(torch.from_numpy(layer.weight.data.T))
        twin.bias.copy_(torch.from_numpy(layer.bias.data.ravel()))
    x = np.random.default_rng(2).standard_normal((5, 4))
    y = layer(x)
    mf.sum(mf.tanh(y)).backward()
    yt = twin(torch.from_numpy(x))
    torch.tanh(yt).sum().backward()
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer.weight.grad, twin.weight.grad.numpy().T, rtol=1e-12)
    np.testing.assert_allclose(layer.bias.grad, twin.bias.grad.numpy()[None, :], rtol=1e-12)


def _copy_rnn_to_torch(rnn, twin):
    with torch.no_grad():
        for layer, cell in enumerate(rnn.cells):
            getattr(twin, f"weight_ih_l{layer}").copy_(torch.from_numpy(cell.weight_ih.data.T))
            getattr(twin, f"weight_hh_l{layer}").copy_(torch.from_numpy(cell.weight_hh.data.T))
            getattr(twin, f"bias_ih_l{layer}").copy_(torch.from_numpy(cell.bias.data.ravel()))
            getattr(twin, f"bias_hh_l{layer}").zero_()


@pytest.mark.parametrize("nonlinearity, num_layers, truncate", [
    ("tanh", 1, None), ("tanh", 2, None), ("relu", 2, None), ("tanh", 3, None),
])
def test_rnn_values_and_gradients_match_torch_nn_rnn(nonlinearity, num_layers, truncate):
    rng = np.random.default_rng(3)
    batch, steps, features, hidden = 4, 7, 3, 5
    x = rng.standard_normal((batch, steps, features))
    h0 = rng.standard_normal((num_layers, batch, hidden))
    rnn = nn.RNN(features, hidden, num_layers, nonlinearity, rng=4)
    twin = torch.nn.RNN(features, hidden, num_layers, nonlinearity, batch_first=True).double()
    _copy_rnn_to_torch(rnn, twin)
    seed = rng.standard_normal((batch, steps, hidden))

    outputs, last = rnn([x[:, t, :] for t in range(steps)], h0=[mf.Node(h) for h in h0])
    loss = mf.sum(mf.concat([o * seed[:, t, :] for t, o in enumerate(outputs)], axis=1))
    loss = loss + mf.sum(last[0])  # gradient through the first layer's last state too
    loss.backward()
    out_t, last_t = twin(torch.from_numpy(x), torch.from_numpy(h0))
    ((out_t * torch.from_numpy(seed)).sum() + last_t[0].sum()).backward()

    np.testing.assert_allclose(np.stack([o.numpy() for o in outputs], axis=1),
                               out_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    for layer, cell in enumerate(rnn.cells):
        for mine, theirs in ((cell.weight_ih.grad, getattr(twin, f"weight_ih_l{layer}").grad.T),
                             (cell.weight_hh.grad, getattr(twin, f"weight_hh_l{layer}").grad.T),
                             (cell.bias.grad, getattr(twin, f"bias_ih_l{layer}").grad[None, :])):
            np.testing.assert_allclose(mine, theirs.numpy(), rtol=1e-9, atol=1e-12)


def test_truncated_bptt_passes_no_gradient_past_k_steps():
    rng = np.random.default_rng(5)
    xs = [mf.Node(rng.standard_normal((2, 3)), requires_grad=True) for _ in range(9)]
    rnn = nn.RNN(3, 4, rng=6)
    outputs, _ = rnn(xs, truncate=3)
    mf.sum(outputs[-1]).backward()
    assert all(x.grad is None for x in xs[:6])  # only the last 3 steps reach the loss
    assert all(np.abs(x.grad).sum() > 0 for x in xs[6:])
    # the values are the same as without truncation
    full, _ = rnn(xs)
    np.testing.assert_allclose(full[-1].numpy(), outputs[-1].numpy())


def test_rnn_cell_is_one_step_of_the_recurrence():
    cell = nn.RNNCell(3, 2, rng=0)
    x, h = np.ones((1, 3)), np.full((1, 2), 0.5)
    expected = np.tanh(x @ cell.weight_ih.data + h @ cell.weight_hh.data + cell.bias.data)
    np.testing.assert_allclose(cell(x, h).numpy(), expected)
    bound = 1 / math.sqrt(2)
    assert np.abs(cell.weight_hh.data).max() <= bound


def test_module_finds_parameters_in_order_and_shares_them_once():
    shared = nn.Linear(2, 2, rng=0)
    model = nn.Sequential(nn.Linear(3, 2, rng=1), nn.Tanh(), shared, shared)
    names = [name for name, _ in model.named_parameters()]
    assert names == ["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"]
    assert len(model.parameters()) == 4
    rnn = nn.RNN(3, 4, num_layers=2)
    assert [n for n, _ in rnn.named_parameters()] == [
        "cells.0.weight_ih", "cells.0.weight_hh", "cells.0.bias",
        "cells.1.weight_ih", "cells.1.weight_hh", "cells.1.bias"]


def test_train_eval_and_zero_grad_reach_every_child():
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Sequential(nn.Linear(2, 1)))
    assert model.eval() is model
    assert not model.training and not model[2].training and not model[2][0].training
    model.train()
    assert model[2][0].training
    mf.sum(model(np.ones((3, 2)))).backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_state_dict_round_trip_copies_in_place():
    a, b = nn.Linear(3, 2, rng=0), nn.Linear(3, 2, rng=1)
    state = a.state_dict()
    state["weight"][0, 0] = 99.0  # a copy: changing it leaves a alone
    assert a.weight.data[0, 0] != 99.0
    weight_array = b.weight.data
    b.load_state_dict(a.state_dict())
    assert b.weight.data is weight_array
    np.testing.assert_array_equal(b.weight.data, a.weight.data)
    with pytest.raises(KeyError, match="missing"):
        b.load_state_dict({"weight": a.weight.data})
    with pytest.raises(ValueError, match=r"weight has shape \(3, 2\)"):
        b.load_state_dict({"weight": np.ones((2, 2)), "bias": np.ones((1, 2))})
    b.load_state_dict({"bias": np.ones((1, 2))}, strict=False)
    np.testing.assert_array_equal(b.bias.data, np.ones((1, 2)))


@pytest.mark.parametrize("name, variance", [
    ("xavier_uniform", lambda fi, fo: 2 / (fi + fo)),
    ("xavier_normal", lambda fi, fo: 2 / (fi + fo)),
    ("he_uniform", lambda fi, fo: 2 / fi),
    ("he_normal", lambda fi, fo: 2 / fi),
])
def test_initialisers_have_the_variance_of_their_papers(name, variance):
    w = nn.INITIALISERS[name]((400, 300), rng=0)
    assert w.shape == (400, 300)
    np.testing.assert_allclose(w.var(), variance(400, 300), rtol=0.03)
    np.testing.assert_array_equal(w, nn.INITIALISERS[name]((400, 300), rng=0))


def test_xavier_uniform_bound_is_torchs():
    w = nn.xavier_uniform((30, 20), rng=0)
    assert np.abs(w).max() <= math.sqrt(6 / 50)
    assert np.abs(w).max() > 0.95 * math.sqrt(6 / 50)


def test_activation_modules_apply_their_function():
    x = mf.Node([[-1.0, 0.5]])
    for module, fn in ((nn.ReLU(), mf.relu), (nn.Tanh(), mf.tanh), (nn.Sigmoid(), mf.sigmoid),
                       (nn.Softplus(), mf.softplus)):
        np.testing.assert_array_equal(module(x).numpy(), fn(x).numpy())
    np.testing.assert_array_equal(nn.LeakyReLU(0.2)(x).numpy(), [[-0.2, 0.5]])
    assert nn.Identity()(x) is x


def test_bad_layer_arguments_say_what_is_wrong():
    with pytest.raises(ValueError, match="init must be one of"):
        nn.Linear(2, 2, init="orthogonal")
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu'"):
        nn.RNNCell(2, 2, "sigmoid")
    with pytest.raises(TypeError, match="Sequential takes Modules"):
        nn.Sequential(nn.Linear(2, 2), mf.relu)
    with pytest.raises(ValueError, match="one state per layer"):
        nn.RNN(2, 3, num_layers=2)([np.ones((1, 2))], h0=[np.zeros((1, 3))])


def test_repr_shows_the_tree():
    text = repr(nn.Sequential(nn.Linear(3, 2), nn.LeakyReLU(0.1)))
    assert "(layers.0): Linear(in_features=3, out_features=2, bias=True)" in text
    assert "LeakyReLU(negative_slope=0.1)" in text


def test_a_slice_of_a_sequential_is_a_sequential_sharing_its_layers():
    """As torch: `model[:-1]` runs the first layers (the features under the head)."""
    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.Tanh(), nn.Linear(4, 1, rng=1))
    x = np.random.default_rng(0).standard_normal((5, 3))
    body = model[:-1]
    assert isinstance(body, nn.Sequential) and len(body) == 2
    assert body[0] is model[0]  # the same parameters, not copies
    np.testing.assert_allclose(model[-1](body(x)).numpy(), model(x).numpy())
    assert list(model) == model.layers


@pytest.mark.parametrize("build, message", [
    (lambda: nn.Linear(2.5, 3), "Linear: in_features must be a positive integer"),
    (lambda: nn.Linear(2, 0), "Linear: out_features must be ≥ 1"),
    (lambda: nn.RNNCell(3, 4.0), "RNNCell: hidden_size must be a positive integer"),
    (lambda: nn.RNN(3, 4, num_layers=0), "RNN: num_layers must be ≥ 1"),
])
def test_layer_sizes_are_refused_not_truncated(build, message):
    with pytest.raises((TypeError, ValueError), match=message):
        build()


def test_slicing_a_sequential_leaves_its_parameter_names_alone():
    model = nn.Sequential(nn.Linear(2, 3, rng=0), nn.ReLU(), nn.Linear(3, 1, rng=1))
    names = [p.name for p in model.parameters()]
    tail = model[2:]
    assert [p.name for p in model.parameters()] == names
    assert names == ["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"]
    x = np.ones((4, 3))
    np.testing.assert_array_equal(tail(x).data, model.layers[2](x).data)
