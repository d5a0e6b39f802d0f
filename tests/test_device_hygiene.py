"""Device hygiene on a CPU: everything matrixflow computes for GPU data stays on the "GPU".

The stand-in for CuPy (tests/fake_cupy.py) is NumPy underneath and raises wherever a host array
meets device data, as CuPy does.  So on a CPU-only machine these tests run every op of the
registry, higher-order graphs, gradcheck, each optimizer and the layers on its fake device, and
check two things: the results equal the NumPy backend's, and every array along the way
(outputs, .grad, optimizer state, buffers) is where it should be.  A stray `np.zeros` or
`np.arange` meeting device data fails here; the GPU's arithmetic is not checked (that needs
tests/test_gpu.py on a machine with CuPy and a GPU).  The estimators: test_estimators_on_device.py.
"""

import fake_cupy
import numpy as np
import pytest
from op_cases import ALL_CASES

import matrixflow as mf
from matrixflow import nn, optim
from matrixflow.backend import DeviceMismatchError

on_device, host = fake_cupy.on_device, fake_cupy.host  # the `cp` fixture is in conftest.py


def leaves(case, device_array=None):
    """The case's inputs as fresh float64 leaves, moved with `device_array` when given."""
    move = device_array or (lambda a: a)
    return [mf.Node(move(np.array(x, dtype=np.float64)), requires_grad=d)
            for x, d in zip(case.inputs, case.differentiable)]


# ---- every op ---------------------------------------------------------------------------------
@pytest.mark.parametrize("case", ALL_CASES)
def test_every_op_runs_on_the_device_as_on_numpy(cp, case):
    on_cpu, on_gpu = leaves(case), leaves(case, cp.asarray)
    expected, output = case.run(*on_cpu), case.run(*on_gpu)
    assert on_device(output.data) and output.device == "cuda:0"
    seed = np.random.default_rng(7).standard_normal(output.shape)
    expected.backward(seed)
    output.backward(cp.asarray(seed))
    np.testing.assert_allclose(output.numpy(), expected.numpy(), rtol=1e-13, atol=1e-15)
    for cpu_leaf, gpu_leaf in zip(on_cpu, on_gpu):
        if cpu_leaf.requires_grad:
            assert on_device(gpu_leaf.grad)
            np.testing.assert_allclose(gpu_leaf.grad.get(), cpu_leaf.grad, rtol=1e-13,
                                       atol=1e-15)


@pytest.mark.parametrize("case", ALL_CASES)
def test_every_op_builds_its_gradient_graph_on_the_device(cp, case):
    """create_graph=True: the rules run on Nodes, and every constant they make (1 − Y², p·A^(p−1),
    an identity, a mask) must be made on the device; then a second backward through them."""
    results = []
    for move in (None, cp.asarray):
        nodes = leaves(case, move)
        output = case.run(*nodes)
        seed = np.random.default_rng(3).standard_normal(output.shape)
        wrt = [x for x in nodes if x.requires_grad]
        grads = mf.grad(output, wrt, seed if move is None else move(seed), create_graph=True)
        total = mf.sum(grads[0] * grads[0])
        for g in grads[1:]:
            total = total + mf.sum(g * g)
        second = mf.grad(total, wrt, allow_unused=True) if total.requires_grad else []
        results.append(([g.data for g in grads], [None if s is None else s.data for s in second]))
    (cpu_first, cpu_second), (gpu_first, gpu_second) = results
    for expected, got in zip(cpu_first + cpu_second, gpu_first + gpu_second):
        if expected is None:
            assert got is None
            continue
        assert on_device(got)
        np.testing.assert_allclose(got.get(), expected, rtol=1e-12, atol=1e-14)


def test_a_planted_host_constant_is_caught(cp):
    """The checks above can fail: an op whose rule makes a NumPy constant is refused."""
    from matrixflow.ops.base import Rule, apply1, defop

    bad = defop("planted_host_constant", family="test", summary="Y = 2A",
                forward=lambda A: A * 2.0, differential="dY = 2 dA", register=False,
                rules=(Rule("A", "tr(Ȳᵀ 2 dA)", "Ā = 2Ȳ",
                            lambda G, Y, A: G * np.full((1, 1), 2.0)),))
    x = mf.Node(cp.ones((2, 2)), requires_grad=True)
    with pytest.raises(TypeError, match=r"host numpy\.ndarray"):
        mf.sum(apply1(bad, x)).backward()


@pytest.mark.parametrize("matrix", [[[1.0, 2.0], [2.0, 4.0]], [[0.0, 1.0], [1.0, 0.0]]],
                         ids=["det at a singular matrix", "logdet where det < 0"])
def test_the_rules_special_cases_stay_on_the_device(cp, matrix):
    function = mf.det if matrix[0][0] else mf.logdet
    expected = mf.Node(np.array(matrix), requires_grad=True)
    got = mf.Node(cp.asarray(np.array(matrix)), requires_grad=True)
    function(expected).backward()
    function(got).backward()
    assert on_device(got.grad)
    np.testing.assert_allclose(got.grad.get(), expected.grad, rtol=1e-12, equal_nan=True)
    if function is mf.logdet:  # its NaN gradient, built as a graph
        (graph,) = mf.grad(mf.logdet(got), [got], create_graph=True)
        assert on_device(graph.data) and np.isnan(graph.numpy()).all()


def test_gradcheck_checks_device_inputs_on_the_device(cp):
    seen = []

    def function(a):
        seen.append(on_device(a.data))
        return mf.tanh(a) * 2.0 + mf.sum(a * a)

    x = mf.Node(cp.asarray(np.random.default_rng(0).standard_normal((3, 2))), requires_grad=True)
    assert mf.gradcheck(function, [x]) and mf.gradgradcheck(function, [x])
    assert seen and all(seen)


def test_verify_and_the_culprit_search_take_device_inputs(cp):
    """They work on host copies (a rule's math is the same everywhere): a wrong rule is still
    named when the inputs are on the device."""
    from matrixflow.ops.base import Rule, apply1, defop

    x = mf.Node(cp.asarray(np.random.default_rng(1).standard_normal((3, 2))), requires_grad=True)
    assert mf.verify(lambda a: mf.tanh(a @ a.T), [x])["finite_differences_vs_backward"]["agree"]
    wrong = defop("wrong_on_purpose", family="test", summary="Y = 2A", forward=lambda A: A * 2.0,
                  differential="dY = 2 dA", register=False,
                  rules=(Rule("A", "tr(Ȳᵀ 2 dA)", "Ā = 3Ȳ", lambda G, Y, A: G * 3.0),))
    with pytest.raises(mf.GradcheckError, match="the bug: op 'wrong_on_purpose'"):
        mf.gradcheck(lambda a: mf.sum(apply1(wrong, a)), [x])


# ---- the rules for what lives on two devices -----------------------------------------------------
def test_python_numbers_and_lists_take_the_device_of_what_they_meet(cp):
    x = mf.Node(cp.asarray(np.arange(4.0).reshape(2, 2)), requires_grad=True)
    y = mf.sum(2.0 * x - 1 + x / 3 + x * [[1.0, 2.0]] + 0.5 ** x)
    y.backward()
    assert on_device(y.data) and on_device(x.grad)


@pytest.mark.parametrize("combine", [
    lambda a, b: a @ b, lambda a, b: b + a, lambda a, b: mf.mse_loss(a, b),
    lambda a, b: mf.concat([a, b], 0), lambda a, b: a * b.data,
], ids=["matmul", "add", "mse_loss", "concat", "mul by an array"])
def test_operands_on_two_devices_raise_naming_the_op_and_both(cp, combine):
    a = mf.Node(cp.ones((2, 2)))
    b = mf.Node(np.ones((2, 2)))
    with pytest.raises(DeviceMismatchError, match=r"cuda:0 and cpu|cpu and cuda:0") as error:
        combine(a, b)
    assert "matmul add mse_loss concat mul".split().count(str(error.value).split(":")[0]) == 1
    with cp.cuda.Device(1):
        c = mf.Node(cp.ones((2, 2)))
    with pytest.raises(DeviceMismatchError, match=r"cuda:0 and cuda:1|cuda:1 and cuda:0"):
        combine(a, c)


def test_a_seed_must_be_on_the_roots_device(cp):
    x = mf.Node(cp.ones((2, 2)), requires_grad=True)
    with pytest.raises(DeviceMismatchError, match="gradient= is on cpu but the root is on "
                                                  "cuda:0"):
        (x * x).backward(np.ones((2, 2)))
    (x * x).backward([[1.0, 1.0], [1.0, 1.0]])  # a list has no device: it goes to the root's
    assert on_device(x.grad)


def test_constants_of_a_node_are_copied_to_its_device(cp):
    """An index, integer labels, a dropout mask, running statistics in evaluation: not
    operands, so they follow the operand's device (once, when the node is made)."""
    data = np.random.default_rng(0).standard_normal((4, 3))
    x = mf.Node(cp.asarray(data), requires_grad=True)
    pieces = [x[[0, 2, 2]], x[np.array([True, False, True, True])], x[[0, 1], [2, 0]],
              mf.cross_entropy(x, np.array([0, 2, 1, 1])),
              mf.dropout(x, 0.5, mask=np.array(data > 0)),
              mf.batch_norm(x, np.zeros(3), np.ones(3))]
    total = pieces[0].sum()
    for piece in pieces[1:]:
        total = total + piece.sum()
    total.backward()
    assert all(on_device(p.data) for p in pieces) and on_device(x.grad)
    assert all(on_device(part) for part in pieces[0].attrs["index"] if not isinstance(part, slice))


# ---- moving ----------------------------------------------------------------------------------
def test_node_to_moves_between_devices_and_back(cp):
    x = mf.Node([[1.0, 2.0]], requires_grad=True, name="x")
    g = x.to("cuda")
    assert g.device == "cuda:0" and g.requires_grad and g.name == "x" and g.to("cuda:0") is g
    assert g.to("cuda:1").device == "cuda:1" and mf.device_of(g.to("cuda:1").data) == "cuda:1"
    back = g.to("cpu")
    assert host(back.data) and back.numpy().tolist() == [[1.0, 2.0]] and x.to("cpu") is x
    with pytest.raises(ValueError, match="no CUDA device 7"):
        x.to("cuda:7")
    with pytest.raises(ValueError, match="unknown device 'gpu'"):
        x.to("gpu")


def test_module_to_moves_parameters_and_buffers_in_place(cp):
    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 1))
    parameters = model.parameters()
    assert model.to("cuda") is model and model.parameters() == parameters  # the same Nodes
    assert all(on_device(p.data) for p in parameters)
    assert all(on_device(b) for _, b in model.named_buffers())
    state = model.state_dict()
    assert all(host(v) for v in state.values())  # state dicts are NumPy wherever the module is
    model.load_state_dict(state)
    assert all(on_device(p.data) for p in model.parameters())
    model.to("cpu")
    assert all(host(p.data) for p in parameters) and all(host(b) for _, b in
                                                         model.named_buffers())


def _train_layers(make, device_array):
    model = make()
    if device_array is not None:
        model.to("cuda")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 16))
    x = mf.Node(x if device_array is None else device_array(x))
    out = model(x)
    mf.mean(out * out).backward()
    return model, out


@pytest.mark.parametrize("make", [
    lambda: nn.Sequential(nn.Linear(16, 5, rng=0), nn.BatchNorm1d(5), nn.Tanh(), nn.Linear(5, 2,
                                                                                       rng=1)),
    lambda: nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, image_shape=(1, 4, 4), rng=0),
                          nn.MaxPool2d(2, image_shape=(2, 4, 4)), nn.Flatten(), nn.Sigmoid()),
], ids=["linear, batch norm", "convolution, pooling"])
def test_layers_on_the_device_train_as_on_numpy(cp, make):
    cpu_model, cpu_out = _train_layers(make, None)
    gpu_model, gpu_out = _train_layers(make, cp.asarray)
    np.testing.assert_allclose(gpu_out.numpy(), cpu_out.numpy(), rtol=1e-12)
    for p, q in zip(cpu_model.parameters(), gpu_model.parameters()):
        assert on_device(q.data) and on_device(q.grad)
        np.testing.assert_allclose(q.grad.get(), p.grad, rtol=1e-11, atol=1e-14)
    for (_, b), (_, c) in zip(cpu_model.named_buffers(), gpu_model.named_buffers()):
        assert on_device(c)  # the running statistics were updated in place, there
        np.testing.assert_allclose(c.get(), b, rtol=1e-12)


def test_rnn_layers_start_from_zeros_on_the_device(cp):
    rnn = nn.RNN(3, 4, num_layers=2, rng=0).to("cuda")
    xs = [mf.Node(cp.asarray(np.full((2, 3), 0.1 * t))) for t in range(5)]
    outputs, last = rnn(xs)
    mf.sum(outputs[-1]).backward()
    assert all(on_device(h.data) for h in outputs + last)
    assert all(on_device(p.grad) for p in rnn.parameters())


def test_dropout_draws_its_masks_on_the_device(cp):
    layer = nn.Dropout(0.5, rng=0)
    x = mf.Node(cp.ones((50, 40)), requires_grad=True)
    first, second = layer(x), layer(x)
    mf.sum(first).backward()
    assert on_device(first.attrs["mask"]) and on_device(x.grad)
    assert not np.array_equal(first.numpy(), second.numpy())  # a new mask each call
    assert 0.4 < float((first.numpy() != 0).mean()) < 0.6
    again = nn.Dropout(0.5, rng=0)
    assert np.array_equal(again(x).numpy(), first.numpy())  # seeded: the same masks again


def test_batch_norm_refuses_running_statistics_on_another_device(cp):
    x = mf.Node(cp.ones((4, 3)))
    with pytest.raises(DeviceMismatchError, match="running_mean is on cpu, the input on cuda:0"):
        mf.batch_norm(x, np.zeros(3), np.ones(3), training=True)


# ---- optimizers --------------------------------------------------------------------------------
OPTIMIZERS = [
    (optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1)),
    (optim.SGD, dict(lr=0.1)),
    (optim.Adam, dict(lr=0.1, amsgrad=True, weight_decay=0.1)),
    (optim.AdamW, dict(lr=0.1)),
    (optim.RMSprop, dict(lr=0.1, momentum=0.9, centered=True, weight_decay=0.1)),
    (optim.Adagrad, dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1)),
]


def _steps(optimizer_class, options, move, steps=3):
    rng = np.random.default_rng(0)
    W = mf.Node(move(rng.standard_normal((3, 2))), requires_grad=True)
    b = mf.Node(move(rng.standard_normal((1, 2))), requires_grad=True)
    X = mf.Node(move(rng.standard_normal((5, 3))))
    optimizer = optimizer_class([W, b], **options)
    norms = []
    for _ in range(steps):
        optimizer.zero_grad()
        mf.mean(mf.tanh(X @ W + b) ** 2).backward()
        norms.append(optim.clip_grad_norm([W, b], 0.5))
        optimizer.step()
    return [W, b], optimizer, norms


@pytest.mark.parametrize("optimizer_class, options", OPTIMIZERS,
                         ids=[f"{c.__name__}{'+' if o.get('momentum') else ''}"
                              for c, o in OPTIMIZERS])
def test_each_optimizer_steps_on_the_device_as_on_numpy(cp, optimizer_class, options):
    cpu_params, cpu_optimizer, cpu_norms = _steps(optimizer_class, options, lambda a: a)
    gpu_params, gpu_optimizer, gpu_norms = _steps(optimizer_class, options, cp.asarray)
    np.testing.assert_allclose(gpu_norms, cpu_norms, rtol=1e-12)
    for p, q in zip(cpu_params, gpu_params):
        assert on_device(q.data) and on_device(q.grad)
        np.testing.assert_allclose(q.data.get(), p.data, rtol=1e-12)
        for key, value in gpu_optimizer.state[q].items():
            if hasattr(value, "shape"):
                assert on_device(value), key
                np.testing.assert_allclose(value.get(), cpu_optimizer.state[p][key], rtol=1e-12)
    # a checkpoint saved from host state loads onto the parameters' device
    saved = cpu_optimizer.state_dict()
    gpu_optimizer.load_state_dict(saved)
    assert all(on_device(v) for s in gpu_optimizer.state.values() for v in s.values()
               if hasattr(v, "shape"))
