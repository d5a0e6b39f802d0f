"""LSTM and GRU layers against PyTorch's nn.LSTM and nn.GRU with copied weights (values and
gradients, float64), over 20 Adam steps, and as compositions the rest of matrixflow can read."""

import math

import numpy as np
import pytest
import torch

import matrixflow as mf
from matrixflow import nn

BATCH, STEPS, FEATURES, HIDDEN = 4, 6, 3, 5


def copy_to_torch(layer, twin):
    """matrixflow's X·W layout (gates as column blocks) into PyTorch's W·x (row blocks)."""
    with torch.no_grad():
        for k, cell in enumerate(layer.cells):
            getattr(twin, f"weight_ih_l{k}").copy_(torch.from_numpy(cell.weight_ih.data.T))
            getattr(twin, f"weight_hh_l{k}").copy_(torch.from_numpy(cell.weight_hh.data.T))
            if cell.bias_ih is not None:
                getattr(twin, f"bias_ih_l{k}").copy_(torch.from_numpy(cell.bias_ih.data[0]))
                getattr(twin, f"bias_hh_l{k}").copy_(torch.from_numpy(cell.bias_hh.data[0]))


def grads_from_torch(layer, twin):
    """Pairs (matrixflow's gradient, PyTorch's in matrixflow's layout) for every parameter."""
    pairs = []
    for k, cell in enumerate(layer.cells):
        pairs.append((cell.weight_ih.grad, getattr(twin, f"weight_ih_l{k}").grad.numpy().T))
        pairs.append((cell.weight_hh.grad, getattr(twin, f"weight_hh_l{k}").grad.numpy().T))
        if cell.bias_ih is not None:
            pairs.append((cell.bias_ih.grad, getattr(twin, f"bias_ih_l{k}").grad.numpy()[None]))
            pairs.append((cell.bias_hh.grad, getattr(twin, f"bias_hh_l{k}").grad.numpy()[None]))
    return pairs


def build(kind, num_layers, bias, seed=4):
    layer = getattr(nn, kind)(FEATURES, HIDDEN, num_layers, bias, rng=seed)
    twin = getattr(torch.nn, kind)(FEATURES, HIDDEN, num_layers, bias=bias,
                                   batch_first=True).double()
    copy_to_torch(layer, twin)
    return layer, twin


def initial_states(kind, rng, num_layers):
    """h0 (and c0) as each library takes them: per layer for matrixflow, stacked for torch."""
    h0 = rng.standard_normal((num_layers, BATCH, HIDDEN))
    c0 = rng.standard_normal((num_layers, BATCH, HIDDEN))
    if kind == "LSTM":
        mine = [(mf.Node(h0[k], requires_grad=True), mf.Node(c0[k], requires_grad=True))
                for k in range(num_layers)]
        theirs = (torch.tensor(h0, requires_grad=True), torch.tensor(c0, requires_grad=True))
    else:
        mine = [mf.Node(h0[k], requires_grad=True) for k in range(num_layers)]
        theirs = torch.tensor(h0, requires_grad=True)
    return mine, theirs


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
@pytest.mark.parametrize("num_layers, bias", [(1, True), (2, True), (3, True), (2, False)])
def test_values_and_gradients_match_torch(kind, num_layers, bias):
    rng = np.random.default_rng(3)
    layer, twin = build(kind, num_layers, bias)
    x = rng.standard_normal((BATCH, STEPS, FEATURES))
    xs = [mf.Node(x[:, t, :], requires_grad=True) for t in range(STEPS)]
    x_t = torch.tensor(x, requires_grad=True)
    h0, h0_t = initial_states(kind, rng, num_layers)
    seed = rng.standard_normal((BATCH, STEPS, HIDDEN))

    outputs, last = layer(xs, h0=h0)
    out_t, last_t = twin(x_t, h0_t)
    first_layer_h = last[0][0] if kind == "LSTM" else last[0]
    first_layer_h_t = last_t[0][0] if kind == "LSTM" else last_t[0]
    loss = mf.sum(mf.concat([o * seed[:, t, :] for t, o in enumerate(outputs)], axis=1))
    (loss + mf.sum(mf.tanh(first_layer_h))).backward()
    ((out_t * torch.from_numpy(seed)).sum() + torch.tanh(first_layer_h_t).sum()).backward()

    close = dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.stack([o.numpy() for o in outputs], axis=1),
                               out_t.detach().numpy(), **close)
    if kind == "LSTM":  # the last cell states too
        np.testing.assert_allclose(np.stack([c.numpy() for _, c in last]),
                                   last_t[1].detach().numpy(), **close)
    for mine, theirs in grads_from_torch(layer, twin):
        np.testing.assert_allclose(mine, theirs, **close)
    np.testing.assert_allclose(np.stack([x.grad for x in xs], axis=1), x_t.grad.numpy(), **close)
    if kind == "LSTM":
        np.testing.assert_allclose(np.stack([h.grad for h, _ in h0]), h0_t[0].grad.numpy(),
                                   **close)
        np.testing.assert_allclose(np.stack([c.grad for _, c in h0]), h0_t[1].grad.numpy(),
                                   **close)
    else:
        np.testing.assert_allclose(np.stack([h.grad for h in h0]), h0_t.grad.numpy(), **close)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_twenty_adam_steps_leave_the_weights_of_torch(kind):
    rng = np.random.default_rng(8)
    layer, twin = build(kind, 2, True, seed=9)
    head = nn.Linear(HIDDEN, 1, rng=10)
    head_t = torch.nn.Linear(HIDDEN, 1).double()
    with torch.no_grad():
        head_t.weight.copy_(torch.from_numpy(head.weight.data.T))
        head_t.bias.copy_(torch.from_numpy(head.bias.data[0]))
    x = rng.standard_normal((8, STEPS, FEATURES))
    y = np.sin(x.sum(axis=(1, 2)))[:, None]
    opt = mf.optim.Adam(layer.parameters() + head.parameters(), lr=0.01)
    opt_t = torch.optim.Adam(list(twin.parameters()) + list(head_t.parameters()), lr=0.01)
    for _ in range(20):
        outputs, _ = layer([x[:, t, :] for t in range(STEPS)])
        loss = mf.mse_loss(head(outputs[-1]), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        out_t, _ = twin(torch.from_numpy(x))
        loss_t = torch.nn.functional.mse_loss(head_t(out_t[:, -1, :]), torch.from_numpy(y))
        opt_t.zero_grad()
        loss_t.backward()
        opt_t.step()
    assert abs(loss.item() - loss_t.item()) < 1e-9
    for k, cell in enumerate(layer.cells):
        np.testing.assert_allclose(cell.weight_ih.data,
                                   getattr(twin, f"weight_ih_l{k}").detach().numpy().T,
                                   rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(cell.weight_hh.data,
                                   getattr(twin, f"weight_hh_l{k}").detach().numpy().T,
                                   rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(head.weight.data, head_t.weight.detach().numpy().T, rtol=1e-9,
                               atol=1e-9)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_truncated_bptt_passes_no_gradient_past_k_steps(kind):
    rng = np.random.default_rng(5)
    xs = [mf.Node(rng.standard_normal((2, 3)), requires_grad=True) for _ in range(9)]
    layer = getattr(nn, kind)(3, 4, rng=6)
    outputs, _ = layer(xs, truncate=3)
    mf.sum(outputs[-1]).backward()
    assert all(x.grad is None for x in xs[:6])
    assert all(np.abs(x.grad).sum() > 0 for x in xs[6:])
    full, _ = layer(xs)
    np.testing.assert_allclose(full[-1].numpy(), outputs[-1].numpy())


def test_cells_are_one_step_of_pytorchs_equations():
    rng = np.random.default_rng(0)
    x, h, c = rng.standard_normal((2, 3)), rng.standard_normal((2, 4)), rng.standard_normal((2, 4))

    def sigmoid(v):
        return 1 / (1 + np.exp(-v))

    lstm = nn.LSTMCell(3, 4, rng=1)
    P = (x @ lstm.weight_ih.data + h @ lstm.weight_hh.data + lstm.bias_ih.data
         + lstm.bias_hh.data)
    i, f, g, o = (P[:, 4 * k:4 * k + 4] for k in range(4))
    c_next = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    h_next, c_mine = lstm(x, (h, c))
    np.testing.assert_allclose(c_mine.numpy(), c_next, rtol=1e-12)
    np.testing.assert_allclose(h_next.numpy(), sigmoid(o) * np.tanh(c_next), rtol=1e-12)

    gru = nn.GRUCell(3, 4, rng=2)
    A = x @ gru.weight_ih.data + gru.bias_ih.data
    B = h @ gru.weight_hh.data + gru.bias_hh.data
    r, z = sigmoid(A[:, :4] + B[:, :4]), sigmoid(A[:, 4:8] + B[:, 4:8])
    n = np.tanh(A[:, 8:] + r * B[:, 8:])
    np.testing.assert_allclose(gru(x, h).numpy(), (1 - z) * n + z * h, rtol=1e-12)


def test_parameters_have_pytorchs_shapes_transposed_and_its_draws():
    lstm, gru = nn.LSTM(3, 16, num_layers=2, rng=0), nn.GRU(3, 16, rng=0)
    assert {n: p.shape for n, p in lstm.named_parameters()} == {
        "cells.0.weight_ih": (3, 64), "cells.0.weight_hh": (16, 64),
        "cells.0.bias_ih": (1, 64), "cells.0.bias_hh": (1, 64),
        "cells.1.weight_ih": (16, 64), "cells.1.weight_hh": (16, 64),
        "cells.1.bias_ih": (1, 64), "cells.1.bias_hh": (1, 64)}
    assert [n for n, _ in gru.named_parameters()] == [
        "cells.0.weight_ih", "cells.0.weight_hh", "cells.0.bias_ih", "cells.0.bias_hh"]
    bound = 1 / math.sqrt(16)
    weights = lstm.cells[0].weight_hh.data
    assert np.abs(weights).max() <= bound and weights.std() > 0.8 * bound / math.sqrt(3)
    for cell in (*lstm.cells, *gru.cells):
        for p in cell.parameters():
            assert np.abs(p.data).max() <= bound


def test_gates_are_ops_of_the_table_so_gradcheck_and_symbols_reach_them():
    rng = np.random.default_rng(1)
    for layer in (nn.LSTM(2, 3, rng=2), nn.GRU(2, 3, rng=2)):
        xs = [mf.Node(rng.standard_normal((2, 2)), requires_grad=True) for _ in range(3)]
        weights = layer.parameters()
        assert mf.gradcheck(lambda *ps, layer=layer, xs=xs: mf.sum(layer(xs)[0][-1]), weights)
        outputs, _ = layer(xs)
        names = {node.op.name for node in mf.graph.all_nodes(outputs[-1]) if node.op}
        assert {"matmul", "sigmoid", "tanh", "mul", "getitem"} <= names
        picture = mf.to_dot(outputs[-1])  # the teaching room draws the gates like any tree
        assert "sigmoid" in picture and "tanh" in picture


def test_bad_sizes_and_states_are_refused_clearly():
    with pytest.raises(ValueError, match="LSTMCell: hidden_size"):
        nn.LSTMCell(3, 0)
    with pytest.raises(ValueError, match="GRU: num_layers"):
        nn.GRU(3, 4, num_layers=0)
    with pytest.raises(ValueError, match="LSTM: h0 needs one state per layer"):
        nn.LSTM(2, 3, num_layers=2)([np.ones((1, 2))], h0=[(np.zeros((1, 3)),) * 2])
