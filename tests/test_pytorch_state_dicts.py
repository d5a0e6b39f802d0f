"""Weights to and from PyTorch (matrixflow.nn.pytorch_weights): every layer converted both ways
reproduces its PyTorch twin's outputs in float64, matrixflow → PyTorch → matrixflow is the
identity, and a PyTorch state dict handed to Module.load_state_dict is refused with the
converter's name instead of loading a square weight transposed."""

import numpy as np
import pytest
import torch

import matrixflow as mf
from matrixflow import nn

TOL = {"rtol": 1e-10, "atol": 1e-10}


def _numpy(torch_state):
    return {key: value.numpy() for key, value in torch_state.items()}


def _tensors(state):
    return {key: torch.from_numpy(value) for key, value in state.items()}


def _randomise_torch(twin, seed):
    """Every parameter and running statistic of `twin` drawn at random, so that no conversion
    passes because a bias is zero or a variance one (bias_hh included)."""
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for name, value in twin.state_dict().items():
            if name.endswith("num_batches_tracked"):
                value.fill_(7)
            elif name.endswith("running_var"):
                value.copy_(torch.from_numpy(rng.uniform(0.5, 2.0, value.shape)))
            else:
                value.copy_(torch.from_numpy(rng.standard_normal(value.shape)))
    return twin


def _randomise(module, seed):
    rng = np.random.default_rng(seed)
    for _, parameter in module.named_parameters():
        parameter.data[...] = rng.standard_normal(parameter.shape)
    for name, buffer in module.named_buffers():
        if name.endswith("running_var"):
            buffer[...] = rng.uniform(0.5, 2.0, buffer.shape)
        elif name.endswith("running_mean"):
            buffer[...] = rng.standard_normal(buffer.shape)
    return module


def _outputs(value):
    """A layer's output as one array: a Node, or a recurrent layer's list of states."""
    if isinstance(value, tuple):
        value = value[0]
    if isinstance(value, list):
        return np.stack([mf.Node(v).numpy() for v in value], axis=1)
    return mf.Node(value).numpy()


def _check_both_ways(make_mf, make_torch, run_mf, run_torch):
    """PyTorch → matrixflow and matrixflow → PyTorch give the twin's outputs; the round trip
    matrixflow → PyTorch → matrixflow is the identity."""
    twin = _randomise_torch(make_torch().double(), seed=1)
    layer = make_mf()
    nn.load_torch_state_dict(layer, twin.state_dict())  # tensors as they are
    with torch.no_grad():
        expected = run_torch(twin)
    np.testing.assert_allclose(run_mf(layer), expected, **TOL)
    other = make_mf()
    other.load_state_dict(nn.from_torch_state_dict(other, _numpy(twin.state_dict())))
    np.testing.assert_allclose(run_mf(other), expected, **TOL)

    layer = _randomise(make_mf(), seed=2)
    state = nn.to_torch_state_dict(layer)
    assert all(type(v) is np.ndarray and v.flags.c_contiguous for v in state.values())
    assert {k: v.shape for k, v in state.items()} == {k: tuple(v.shape) for k, v in
                                                      make_torch().state_dict().items()}
    twin = make_torch().double()
    twin.load_state_dict(_tensors(state))  # strict: PyTorch's keys and shapes exactly
    with torch.no_grad():
        np.testing.assert_allclose(run_torch(twin), run_mf(layer), **TOL)

    back = nn.from_torch_state_dict(make_mf(), state)
    original = layer.state_dict()
    assert back.keys() == original.keys()
    for key, value in original.items():
        assert back[key].shape == value.shape, key
        np.testing.assert_array_equal(back[key], value, err_msg=key)


X = np.random.default_rng(0).standard_normal((5, 72))


# ---- Linear -----------------------------------------------------------------------------------
@pytest.mark.parametrize("fan_in, fan_out, bias", [(3, 5, True), (4, 4, True), (6, 2, False),
                                                   (4, 4, False)])
def test_linear_both_ways(fan_in, fan_out, bias):
    x = X[:, :fan_in]
    _check_both_ways(lambda: nn.Linear(fan_in, fan_out, bias), lambda: torch.nn.Linear(
        fan_in, fan_out, bias), lambda m: m(x).numpy(), lambda t: t(torch.from_numpy(x)).numpy())


def test_linear_weight_is_the_transpose_and_the_bias_a_row():
    twin = _randomise_torch(torch.nn.Linear(3, 2).double(), 0)
    state = nn.from_torch_state_dict(nn.Linear(3, 2), twin.state_dict())
    np.testing.assert_array_equal(state["weight"], twin.weight.detach().numpy().T)
    assert state["bias"].shape == (1, 2)


# ---- Conv2d -----------------------------------------------------------------------------------
CONVS = [  # in, out, kernel, stride, padding, image (C, H, W), bias
    (2, 3, 3, 1, 1, (2, 6, 6), True),
    (3, 3, (2, 3), (2, 1), (1, 0), (3, 5, 4), True),   # square weight count, non-square kernel
    (1, 4, 2, 2, 0, (1, 6, 8), False),
]


@pytest.mark.parametrize("c_in, c_out, kernel, stride, padding, image, bias", CONVS)
def test_conv2d_both_ways(c_in, c_out, kernel, stride, padding, image, bias):
    x = X[:, :int(np.prod(image))]
    _check_both_ways(
        lambda: nn.Conv2d(c_in, c_out, kernel, stride, padding, bias, image_shape=image),
        lambda: torch.nn.Conv2d(c_in, c_out, kernel, stride, padding, bias=bias),
        lambda m: m(x).numpy(),
        lambda t: t(torch.from_numpy(x.reshape(-1, *image))).reshape(len(x), -1).numpy())


def test_conv2d_weight_rows_run_over_channel_kernel_row_kernel_column():
    # matrixflow's W[(c·kh + i)·kw + j, o] is PyTorch's weight[o, c, i, j]
    twin = _randomise_torch(torch.nn.Conv2d(2, 3, (2, 4)).double(), 0)
    w = nn.from_torch_state_dict(nn.Conv2d(2, 3, (2, 4)), twin.state_dict())["weight"]
    pt = twin.weight.detach().numpy()
    assert w.shape == (2 * 2 * 4, 3)
    for o, c, i, j in np.ndindex(*pt.shape):
        assert w[(c * 2 + i) * 4 + j, o] == pt[o, c, i, j]


# ---- BatchNorm1d ------------------------------------------------------------------------------
@pytest.mark.parametrize("affine, track", [(True, True), (False, True), (True, False)])
def test_batch_norm1d_both_ways(affine, track):
    x = X[:, :4] * 3.0 + 1.0

    def run_mf(m):
        return _outputs(m.eval()(x))  # without affine, an array for an array

    def run_torch(t):
        return t.eval()(torch.from_numpy(x)).numpy()

    _check_both_ways(lambda: nn.BatchNorm1d(4, affine=affine, track_running_stats=track),
                     lambda: torch.nn.BatchNorm1d(4, affine=affine, track_running_stats=track),
                     run_mf, run_torch)


def test_batch_norm1d_counts_its_batches_across():
    layer = nn.BatchNorm1d(3)
    for _ in range(3):
        layer(X[:, :3])
    state = nn.to_torch_state_dict(layer)
    assert state["num_batches_tracked"].shape == () and int(state["num_batches_tracked"]) == 3
    assert state["running_mean"].shape == (3,)
    twin = torch.nn.BatchNorm1d(3).double()
    twin.load_state_dict(_tensors(state))
    assert int(twin.num_batches_tracked) == 3
    back = nn.BatchNorm1d(3)
    nn.load_torch_state_dict(back, twin.state_dict())
    assert int(back.num_batches_tracked) == 3


# ---- RNN --------------------------------------------------------------------------------------
def _sequence(batch, steps, features, seed=3):
    return np.random.default_rng(seed).standard_normal((batch, steps, features))


def _run_stack(xs_3d):
    def run_mf(m):
        return _outputs(m([xs_3d[:, t, :] for t in range(xs_3d.shape[1])]))

    def run_torch(t):
        return t(torch.from_numpy(xs_3d))[0].numpy()

    return run_mf, run_torch


@pytest.mark.parametrize("features, hidden, layers, nonlinearity, bias", [
    (3, 5, 1, "tanh", True), (4, 4, 2, "relu", True), (3, 5, 3, "tanh", False),
    (5, 5, 1, "tanh", False)])
def test_rnn_both_ways(features, hidden, layers, nonlinearity, bias):
    xs = _sequence(4, 6, features)
    _check_both_ways(lambda: nn.RNN(features, hidden, layers, nonlinearity, bias),
                     lambda: torch.nn.RNN(features, hidden, layers, nonlinearity, bias,
                                          batch_first=True), *_run_stack(xs))


@pytest.mark.parametrize("features, hidden, bias", [(3, 5, True), (4, 4, False)])
def test_rnn_cell_both_ways(features, hidden, bias):
    x, h = X[:, :features], X[:, 10:10 + hidden]
    _check_both_ways(lambda: nn.RNNCell(features, hidden, bias=bias),
                     lambda: torch.nn.RNNCell(features, hidden, bias),
                     lambda m: m(x, h).numpy(),
                     lambda t: t(torch.from_numpy(x), torch.from_numpy(h)).numpy())


def test_rnn_bias_is_the_sum_toward_matrixflow_and_all_in_bias_ih_toward_pytorch():
    twin = _randomise_torch(torch.nn.RNN(3, 4, 2).double(), 0)
    state = nn.from_torch_state_dict(nn.RNN(3, 4, 2), twin.state_dict())
    np.testing.assert_array_equal(state["cells.1.bias"][0],
                                  (twin.bias_ih_l1 + twin.bias_hh_l1).detach().numpy())
    rnn = _randomise(nn.RNN(3, 4, 2), 1)
    back = nn.to_torch_state_dict(rnn)
    np.testing.assert_array_equal(back["bias_ih_l1"], rnn.cells[1].bias.data.ravel())
    np.testing.assert_array_equal(back["bias_hh_l1"], np.zeros(4))


# ---- LSTM and GRU ------------------------------------------------------------------------------
# A NumPy forward of PyTorch's equations on the converted state (cells.k.weight_ih in × G·H,
# weight_hh H × G·H, bias_ih/bias_hh 1 × G·H, gate blocks in PyTorch's order).
def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def _lstm_step(cell, x, h, c):
    s = cell.state_dict()
    gates = (x @ s["weight_ih"] + h @ s["weight_hh"] + s.get("bias_ih", 0.0)
             + s.get("bias_hh", 0.0))
    i, f, g, o = np.split(gates, 4, axis=1)
    c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
    return _sigmoid(o) * np.tanh(c), c


def _gru_step(cell, x, h):
    s = cell.state_dict()
    gi = x @ s["weight_ih"] + s.get("bias_ih", 0.0)
    gh = h @ s["weight_hh"] + s.get("bias_hh", 0.0)
    (ri, zi, ni), (rh, zh, nh) = np.split(gi, 3, axis=1), np.split(gh, 3, axis=1)
    r, z = _sigmoid(ri + rh), _sigmoid(zi + zh)
    n = np.tanh(ni + r * nh)
    return (1 - z) * n + z * h


def _run_reference(cells, xs, gru):
    hidden = cells[0].state_dict()["weight_hh"].shape[0]
    states = [(np.zeros((len(xs), hidden)),) * 2 for _ in cells]
    outputs = []
    for t in range(xs.shape[1]):
        x = xs[:, t, :]
        for k, cell in enumerate(cells):
            h, c = states[k]
            states[k] = (_gru_step(cell, x, h), None) if gru else _lstm_step(cell, x, h, c)
            x = states[k][0]
        outputs.append(x)
    return np.stack(outputs, axis=1)


GATED = [(3, 5, 1, True), (4, 4, 2, True), (3, 5, 3, False), (5, 5, 1, False)]


def test_gru_and_lstm_keep_both_biases_as_pytorch():
    for kind in ("GRU", "LSTM"):
        twin = _randomise_torch(getattr(torch.nn, kind)(2, 3).double(), 0)
        state = nn.from_torch_state_dict(getattr(nn, kind)(2, 3), twin.state_dict())
        for name in ("bias_ih", "bias_hh"):
            np.testing.assert_array_equal(state[f"cells.0.{name}"][0],
                                          getattr(twin, f"{name}_l0").detach().numpy())
    assert state["cells.0.weight_ih"].shape == (2, 12)


@pytest.mark.parametrize("features, hidden, layers, bias", GATED)
def test_lstm_both_ways(features, hidden, layers, bias):
    xs = _sequence(4, 6, features)
    _check_both_ways(lambda: nn.LSTM(features, hidden, layers, bias=bias),
                     lambda: torch.nn.LSTM(features, hidden, layers, bias, batch_first=True),
                     *_run_stack(xs))


@pytest.mark.parametrize("features, hidden, layers, bias", GATED)
def test_gru_both_ways(features, hidden, layers, bias):
    xs = _sequence(4, 6, features)
    _check_both_ways(lambda: nn.GRU(features, hidden, layers, bias=bias),
                     lambda: torch.nn.GRU(features, hidden, layers, bias, batch_first=True),
                     *_run_stack(xs))


@pytest.mark.parametrize("kind, gru", [("LSTMCell", False), ("GRUCell", True)])
@pytest.mark.parametrize("bias", [True, False])
def test_gated_cells_both_ways(kind, gru, bias):
    xs = _sequence(4, 1, 3)
    _check_both_ways(lambda: getattr(nn, kind)(3, 5, bias=bias),
                     lambda: getattr(torch.nn, kind)(3, 5, bias),
                     lambda m: _run_reference([m], xs, gru)[:, 0],
                     lambda t: (t(torch.from_numpy(xs[:, 0])) if gru
                                else t(torch.from_numpy(xs[:, 0]))[0]).numpy())


# ---- containers -------------------------------------------------------------------------------
def test_a_sequential_of_image_layers_maps_its_indices():
    image = (2, 6, 6)

    def make_mf():
        conv = nn.Conv2d(2, 3, 3, padding=1, image_shape=image)
        return nn.Sequential(conv, nn.ReLU(), nn.MaxPool2d(2, image_shape=conv.output_shape),
                             nn.Flatten(), nn.BatchNorm1d(27), nn.Linear(27, 4))

    def make_torch():
        return torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3, padding=1), torch.nn.ReLU(),
                                   torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                                   torch.nn.BatchNorm1d(27), torch.nn.Linear(27, 4))

    x = X[:, :72]
    assert set(nn.to_torch_state_dict(make_mf())) == set(make_torch().state_dict())
    _check_both_ways(make_mf, make_torch, lambda m: m.eval()(x).numpy(),
                     lambda t: t.eval()(torch.from_numpy(x.reshape(-1, *image))).numpy())


class _Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(3, 4), nn.Tanh())
        self.rnn = nn.RNN(4, 4, 2)
        self.heads = [nn.Linear(4, 1), nn.Linear(4, 2, bias=False)]

    def forward(self, xs):
        outputs, _ = self.rnn([self.encoder(x) for x in xs])
        return mf.concat([head(outputs[-1]) for head in self.heads], axis=1)


class _TorchModel(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh())
        self.rnn = torch.nn.RNN(4, 4, 2, batch_first=True)
        self.heads = torch.nn.ModuleList([torch.nn.Linear(4, 1), torch.nn.Linear(4, 2, False)])

    def forward(self, x):
        outputs, _ = self.rnn(self.encoder(x))
        return torch.cat([head(outputs[:, -1]) for head in self.heads], dim=1)


def test_a_model_of_attributes_and_lists_keeps_their_names():
    xs = _sequence(3, 5, 3)
    assert set(nn.to_torch_state_dict(_Model())) == set(_TorchModel().state_dict())
    _check_both_ways(_Model, _TorchModel,
                     lambda m: m([xs[:, t] for t in range(5)]).numpy(),
                     lambda t: t(torch.from_numpy(xs)).numpy())


# ---- the square-weight trap: load_state_dict refuses PyTorch's layout -------------------------
CONVERTER = r"nn\.load_torch_state_dict\(model, state\)"


def test_a_square_pytorch_linear_is_refused_by_load_state_dict_and_converts():
    twin = _randomise_torch(torch.nn.Linear(4, 4).double(), 0)
    layer = nn.Linear(4, 4)
    before = layer.state_dict()
    with pytest.raises(TypeError, match=f"torch tensors.*{CONVERTER}"):
        layer.load_state_dict(twin.state_dict())
    with pytest.raises(ValueError, match=f"bias is 1-D \\(4,\\).*{CONVERTER}"):
        layer.load_state_dict(_numpy(twin.state_dict()))
    for key, value in before.items():  # nothing loaded, not even the weight before the bias
        np.testing.assert_array_equal(layer.state_dict()[key], value)
    nn.load_torch_state_dict(layer, twin.state_dict())
    x = X[:, :4]
    with torch.no_grad():
        np.testing.assert_allclose(layer(x).numpy(), twin(torch.from_numpy(x)).numpy(), **TOL)


@pytest.mark.parametrize("make_mf, make_torch, match", [
    (lambda: nn.Linear(3, 5), lambda: torch.nn.Linear(3, 5),
     r"weight has shape \(3, 5\), the state gives \(5, 3\) — its transpose"),
    (lambda: nn.Conv2d(2, 3, 3), lambda: torch.nn.Conv2d(2, 3, 3), r"a 4-D weight"),
    (lambda: nn.RNN(3, 3, 2), lambda: torch.nn.RNN(3, 3, 2), r"'bias_hh_l0'.* PyTorch's names"),
    (lambda: nn.RNNCell(3, 3), lambda: torch.nn.RNNCell(3, 3), r"'bias_hh'.* PyTorch's names"),
    (lambda: nn.Sequential(nn.Linear(2, 2)), lambda: torch.nn.Sequential(torch.nn.Linear(2, 2)),
     r"'0.bias'.* PyTorch's names"),
])
@pytest.mark.parametrize("strict", [True, False])
def test_load_state_dict_names_the_converter_for_pytorch_layouts(make_mf, make_torch, match,
                                                                   strict):
    with pytest.raises(ValueError, match=f"{match}.*{CONVERTER}"):
        make_mf().load_state_dict(_numpy(make_torch().double().state_dict()), strict=strict)


def test_batch_norm1d_still_loads_pytorch_1_d_entries_and_a_gru_cell_its_two_biases():
    twin = _randomise_torch(torch.nn.BatchNorm1d(3).double(), 0)
    layer = nn.BatchNorm1d(3)
    layer.load_state_dict(_numpy(twin.state_dict()))  # the same numbers in both layouts
    np.testing.assert_array_equal(layer.running_var.ravel(), twin.running_var.numpy())
    cell = nn.GRUCell(2, 3)  # bias_ih is a matrixflow name for a GRU cell
    cell.load_state_dict({"weight_ih": np.ones((2, 9)), "weight_hh": np.ones((3, 9)),
                          "bias_ih": np.ones((1, 9)), "bias_hh": np.ones((1, 9))})
    assert cell.bias_hh.data.sum() == 9


# ---- bad inputs to the converter --------------------------------------------------------------
def test_a_missing_or_extra_key_is_named():
    state = _numpy(torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Linear(3, 1)).state_dict())
    model = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    with pytest.raises(KeyError, match=r"lacks \['1.bias'\] and has nothing besides"):
        nn.from_torch_state_dict(model, {k: v for k, v in state.items() if k != "1.bias"})
    with pytest.raises(KeyError, match=r"lacks nothing and has \['2.weight'\] besides"):
        nn.from_torch_state_dict(model, {**state, "2.weight": np.ones((1, 1))})


def test_a_wrong_shape_names_the_key_and_both_shapes():
    state = _numpy(torch.nn.Linear(3, 5).state_dict())
    with pytest.raises(ValueError, match=r"'weight' has shape \(5, 4\), but PyTorch's twin of "
                                         r"the Linear has \(5, 3\)"):
        nn.from_torch_state_dict(nn.Linear(3, 5), {**state, "weight": np.ones((5, 4))})
    with pytest.raises(ValueError, match=r"its transpose.*module.load_state_dict"):
        nn.from_torch_state_dict(nn.Linear(3, 5), nn.Linear(3, 5).state_dict())
    with pytest.raises(ValueError, match=r"a 1 × C row is matrixflow's"):
        nn.from_torch_state_dict(nn.Linear(4, 4), nn.Linear(4, 4).state_dict())


def test_a_state_of_another_kind_of_layer_is_told_apart():
    lstm = torch.nn.LSTM(3, 5, 2).state_dict()
    with pytest.raises(ValueError, match=r"'weight_ih_l0'.*4·hidden rows are a PyTorch LSTM's"):
        nn.from_torch_state_dict(nn.RNN(3, 5, 2), lstm)
    with pytest.raises(ValueError, match="3·hidden rows are a PyTorch GRU's"):
        nn.from_torch_state_dict(nn.LSTM(3, 5, 2), torch.nn.GRU(3, 5, 2).state_dict())
    with pytest.raises(ValueError, match=r"'weight' has shape \(4, 3\), but .* the Conv2d"):
        nn.from_torch_state_dict(nn.Conv2d(3, 4, 1), torch.nn.Linear(3, 4).state_dict())
    with pytest.raises(KeyError, match=r"lacks \['weight_ih_l1', .*same layers, sizes and bias="):
        nn.from_torch_state_dict(nn.RNN(3, 5, 2, bias=False), torch.nn.RNN(3, 5, 1).state_dict())


@pytest.mark.parametrize("make_torch, mf_bias, match", [
    (lambda: torch.nn.Linear(2, 2), False, "PyTorch's twin has biases that this module"),
    (lambda: torch.nn.Linear(2, 2, bias=False), True, "this module has biases that PyTorch's"),
])
def test_a_bias_on_one_side_only_says_bias_false(make_torch, mf_bias, match):
    with pytest.raises(KeyError, match=match):
        nn.from_torch_state_dict(nn.Linear(2, 2, bias=mf_bias), make_torch().state_dict())


def test_what_matrixflow_lacks_is_said():
    with pytest.raises(KeyError, match="bidirectional recurrent layers are not in matrixflow"):
        nn.from_torch_state_dict(nn.RNN(2, 3), torch.nn.RNN(2, 3, bidirectional=True)
                                 .state_dict())
    with pytest.raises(KeyError, match=r"matrixflow's names — load them with module.load_state"):
        nn.from_torch_state_dict(nn.RNN(2, 3), nn.RNN(2, 3).state_dict())


def test_values_that_are_not_host_arrays_are_refused():
    weight = torch.ones(2, 2, dtype=torch.float64, requires_grad=True)
    with pytest.raises(TypeError, match=r"'weight' cannot be read .*tensor.detach\(\).cpu\(\)"):
        nn.from_torch_state_dict(nn.Linear(2, 2, bias=False), {"weight": weight})
    with pytest.raises(TypeError, match="'weight' is a str"):
        nn.from_torch_state_dict(nn.Linear(2, 2, bias=False), {"weight": "W"})


def test_the_arguments_swapped_or_a_module_for_its_state_dict_are_refused():
    twin = torch.nn.Linear(2, 2)
    with pytest.raises(TypeError, match="the first argument is the matrixflow module"):
        nn.load_torch_state_dict(twin.state_dict(), nn.Linear(2, 2))
    with pytest.raises(TypeError, match=r"give the PyTorch module's state_dict\(\).*not a "
                                        "Linear"):
        nn.load_torch_state_dict(nn.Linear(2, 2), twin)
    with pytest.raises(TypeError, match="to_torch_state_dict: the first argument"):
        nn.to_torch_state_dict(twin)


def test_a_module_holding_its_own_parameter_has_no_known_layout():
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(2, 2))
            self.scale = mf.Node(np.ones((1, 2)), requires_grad=True)

    with pytest.raises(TypeError, match=r"no PyTorch layout is known for Scaled .*\['scale'\]"):
        nn.to_torch_state_dict(Scaled())


def test_the_converted_arrays_share_no_memory_with_the_tensors():
    twin = torch.nn.Linear(2, 3).double()
    state = nn.from_torch_state_dict(nn.Linear(2, 3), twin.state_dict())
    with torch.no_grad():
        twin.bias.fill_(5.0)
    assert not (state["bias"] == 5.0).any()
