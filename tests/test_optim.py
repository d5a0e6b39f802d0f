"""matrixflow.optim against torch.optim: the same start, the same gradients, the same parameters
after every step; schedules, clipping, bookkeeping and bad arguments."""

import inspect
import math

import numpy as np
import pytest
import torch

import matrixflow as mf
from matrixflow import optim

RTOL, ATOL = 1e-12, 1e-14  # float64
RTOL32, ATOL32 = 2e-5, 1e-6  # float32: the same operations, rounded to single precision

CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.05)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.05, weight_decay=0.1)),
    ("Adam", dict(lr=0.05, amsgrad=True)),
    ("Adam", dict(lr=0.02, betas=(0.5, 0.9), eps=1e-3, weight_decay=0.05, amsgrad=True)),
    ("AdamW", dict()),
    ("AdamW", dict(lr=0.05, weight_decay=0.3)),
    ("AdamW", dict(lr=0.05, weight_decay=0.3, amsgrad=True)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.1, eps=1e-4)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.1, initial_accumulator_value=0.5)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, eps=1e-3)),
]
IDS = [f"{name}({', '.join(f'{k}={v}' for k, v in kwargs.items())})" for name, kwargs in CASES]
NAMES = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"]
SHAPES = [(3, 4), (1, 4), (2, 1)]


def _twins(name, kwargs, arrays, dtype=np.float64):
    """The same parameters as Nodes and as tensors, each with its optimizer."""
    nodes = [mf.Node(np.array(a, dtype=dtype), requires_grad=True) for a in arrays]
    tensors = [torch.tensor(np.array(a, dtype=dtype), requires_grad=True) for a in arrays]
    mine = getattr(optim, name)(nodes, **kwargs)
    theirs = getattr(torch.optim, name)(tensors, foreach=False, **kwargs)
    return nodes, tensors, mine, theirs


def _set_grads(nodes, tensors, rng, scale=1.0, skip=()):
    grads = []
    for i, (node, tensor) in enumerate(zip(nodes, tensors)):
        if i in skip:
            node.grad = tensor.grad = None
            grads.append(None)
            continue
        grad = (scale * rng.standard_normal(node.shape)).astype(node.dtype)
        node.grad = grad.copy()
        tensor.grad = torch.from_numpy(grad.copy())
        grads.append(grad)
    return grads


def _assert_same(nodes, tensors, rtol=RTOL, atol=ATOL):
    for node, tensor in zip(nodes, tensors):
        np.testing.assert_allclose(node.data, tensor.detach().numpy(), rtol=rtol, atol=atol)


def _assert_same_state(mine, theirs, nodes, tensors, rtol=RTOL, atol=ATOL):
    """The state has torch's keys and values (so a torch user can read it)."""
    for node, tensor in zip(nodes, tensors):
        state, expected = mine.state.get(node, {}), theirs.state.get(tensor, {})
        assert set(state) == set(expected)
        for key, value in state.items():
            if key == "step":
                assert value == float(expected[key])
            else:
                assert value.dtype == node.dtype
                np.testing.assert_allclose(value, expected[key].numpy(), rtol=rtol, atol=atol)


@pytest.mark.parametrize("name, kwargs", CASES, ids=IDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_steps_match_torch_with_random_gradients(name, kwargs, dtype):
    rng = np.random.default_rng(0)
    nodes, tensors, mine, theirs = _twins(
        name, kwargs, [rng.standard_normal(s) for s in SHAPES], dtype)
    rtol, atol = (RTOL, ATOL) if dtype == np.float64 else (RTOL32, ATOL32)
    for step in range(12):
        # gradients of changing size (so amsgrad's running max matters); the last parameter
        # has no gradient in some steps and must be skipped there, state and all
        skip = (2,) if step in (0, 1, 2, 6) else ()
        grads = _set_grads(nodes, tensors, rng, scale=rng.uniform(0.1, 3.0), skip=skip)
        mine.step()
        theirs.step()
        _assert_same(nodes, tensors, rtol, atol)
        for node, grad in zip(nodes, grads):
            assert node.data.dtype == dtype
            if grad is not None:
                np.testing.assert_array_equal(node.grad, grad)  # the gradient is not touched
    _assert_same_state(mine, theirs, nodes, tensors, rtol, atol)


def _tanh_model(arrays, lib):
    """loss = mse(tanh(X·W1 + b1)·W2, Y), built with matrixflow or with torch."""
    X, Y, W1, b1, W2 = arrays
    if lib == "torch":
        return torch.nn.functional.mse_loss(torch.tanh(X @ W1 + b1) @ W2, Y)
    return mf.mse_loss(mf.tanh(X @ W1 + b1) @ W2, Y)


@pytest.mark.parametrize("name, kwargs", CASES, ids=IDS)
def test_training_a_tanh_model_with_two_groups_matches_torch(name, kwargs):
    rng = np.random.default_rng(1)
    X, Y = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    start = [rng.standard_normal(s) for s in ((3, 4), (1, 4), (4, 2))]
    nodes = [mf.Node(a.copy(), requires_grad=True) for a in start]
    tensors = [torch.tensor(a, requires_grad=True) for a in start]
    # the first layer has its own lr; the second takes the optimizer's
    mine = getattr(optim, name)([{"params": nodes[:2], "lr": 0.03}, {"params": nodes[2:]}],
                                **kwargs)
    theirs = getattr(torch.optim, name)(
        [{"params": tensors[:2], "lr": 0.03}, {"params": tensors[2:]}], foreach=False, **kwargs)
    assert [g["lr"] for g in mine.param_groups] == [g["lr"] for g in theirs.param_groups]
    for _ in range(15):
        mine.zero_grad()
        theirs.zero_grad()
        loss = _tanh_model([X, Y, *nodes], "mf")
        loss.backward()
        expected = _tanh_model([torch.from_numpy(X), torch.from_numpy(Y), *tensors], "torch")
        expected.backward()
        np.testing.assert_allclose(loss.item(), expected.item(), rtol=1e-11)
        mine.step()
        theirs.step()
        _assert_same(nodes, tensors, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("name", NAMES)
def test_defaults_and_group_keys_match_torch(name):
    node = mf.Node(np.ones((2, 2)), requires_grad=True)
    tensor = torch.ones(2, 2, requires_grad=True)
    mine, theirs = getattr(optim, name)([node]), getattr(torch.optim, name)([tensor])
    group, expected = mine.param_groups[0], theirs.param_groups[0]
    assert group["params"] == [node]
    for key in inspect.signature(getattr(optim, name)).parameters:
        if key != "params":  # every hyper-parameter is in the group, with torch's default
            assert group[key] == expected[key], key
            assert mine.defaults[key] == expected[key], key


@pytest.mark.parametrize("name", NAMES)
def test_step_updates_the_data_array_in_place(name):
    node = mf.Node(np.ones((2, 3)), requires_grad=True)
    data, row = node.data, node.data[0]  # a view the user might hold
    opt = getattr(optim, name)([node], lr=0.1)
    node.grad = np.full((2, 3), 0.5)
    opt.step()
    assert node.data is data
    assert np.all(row < 1.0)  # the view sees the step


@pytest.mark.parametrize("name", NAMES)
def test_parameters_without_a_gradient_are_left_alone(name):
    a, b = (mf.Node(np.ones((2, 2)), requires_grad=True) for _ in range(2))
    opt = getattr(optim, name)([a, b], lr=0.1, weight_decay=0.1)
    a.grad = np.ones((2, 2))
    opt.step()
    np.testing.assert_array_equal(b.data, np.ones((2, 2)))  # not even weight decay
    assert b not in opt.state and a in opt.state
    assert np.all(a.data < 1.0)


def test_zero_grad_sets_none_or_zeros_in_place():
    a = mf.Node(np.ones((2, 2), np.float32), requires_grad=True)
    b = mf.Node(np.ones((1, 2)), requires_grad=True)
    opt = optim.SGD([a, b], lr=0.1)
    grad = a.grad = np.full((2, 2), 3.0, np.float32)
    opt.zero_grad(set_to_none=False)
    assert a.grad is grad and a.grad.dtype == np.float32
    np.testing.assert_array_equal(a.grad, np.zeros((2, 2)))
    assert b.grad is None  # a missing gradient stays missing
    opt.zero_grad()
    assert a.grad is None and b.grad is None


def test_step_calls_the_closure_and_returns_its_loss():
    x = mf.Node([[2.0]], requires_grad=True)
    opt = optim.SGD([x], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = mf.sum(x * x)
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == 4.0
    assert x.item() == 2.0 - 0.25 * 4.0


def test_aliases_name_the_same_classes():
    assert optim.RMSProp is optim.RMSprop
    assert optim.AdaGrad is optim.Adagrad
    assert optim.clip_grad_norm_ is optim.clip_grad_norm


def test_a_hyper_parameter_changed_in_the_group_is_used():
    nodes, tensors, mine, theirs = _twins("Adam", dict(lr=0.1), [np.ones((2, 2))])
    rng = np.random.default_rng(2)
    for step in range(4):
        if step == 2:
            mine.param_groups[0]["lr"] = theirs.param_groups[0]["lr"] = 0.01
            mine.param_groups[0]["betas"] = theirs.param_groups[0]["betas"] = (0.5, 0.6)
        _set_grads(nodes, tensors, rng)
        mine.step()
        theirs.step()
        _assert_same(nodes, tensors)


# ---- state_dict -----------------------------------------------------------------------------
def test_state_dict_round_trip_continues_the_same_run():
    rng = np.random.default_rng(3)
    start = [rng.standard_normal(s) for s in SHAPES]
    nodes = [mf.Node(a.copy(), requires_grad=True) for a in start]
    opt = optim.Adam(nodes, lr=0.05, amsgrad=True)
    grads = [[rng.standard_normal(s) for s in SHAPES] for _ in range(6)]
    for step_grads in grads[:3]:
        for node, grad in zip(nodes, step_grads):
            node.grad = grad.copy()
        opt.step()
    saved = opt.state_dict()
    assert saved["param_groups"][0]["params"] == [0, 1, 2]
    assert saved["state"][0]["step"] == 3
    saved_avg = saved["state"][0]["exp_avg"].copy()

    copies = [mf.Node(n.data.copy(), requires_grad=True) for n in nodes]
    restored = optim.Adam(copies, lr=1.0)  # hyper-parameters come from the saved dict
    restored.load_state_dict(saved)
    assert restored.param_groups[0]["lr"] == 0.05 and restored.param_groups[0]["params"] == copies
    for step_grads in grads[3:]:
        for node, copy, grad in zip(nodes, copies, step_grads):
            node.grad, copy.grad = grad.copy(), grad.copy()
        opt.step()
        restored.step()
    for node, copy in zip(nodes, copies):
        np.testing.assert_array_equal(node.data, copy.data)
    # the saved arrays are copies: neither optimizer wrote into them
    np.testing.assert_array_equal(saved["state"][0]["exp_avg"], saved_avg)


def test_load_state_dict_refuses_a_different_layout():
    a, b = (mf.Node(np.ones((2, 2)), requires_grad=True) for _ in range(2))
    saved = optim.SGD([a, b], lr=0.1).state_dict()
    with pytest.raises(ValueError, match=r"sizes \[2\].*\[1\]"):
        optim.SGD([mf.Node(np.ones((2, 2)), requires_grad=True)]).load_state_dict(saved)


# ---- gradient clipping ----------------------------------------------------------------------
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.5, math.inf])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_clip_grad_norm_matches_torch(norm_type, dtype):
    rng = np.random.default_rng(4)
    nodes, tensors, _, _ = _twins("SGD", {}, [rng.standard_normal(s) for s in SHAPES], dtype)
    _set_grads(nodes, tensors, rng, scale=3.0, skip=(1,))
    total = optim.clip_grad_norm(nodes, 1.5, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(tensors, 1.5, norm_type, foreach=False)
    assert isinstance(total, float)
    rtol = RTOL if dtype == np.float64 else RTOL32
    assert total == pytest.approx(expected.item(), rel=rtol)
    assert total > 1.5  # so the gradients were clipped
    for node, tensor in zip(nodes, tensors):
        if tensor.grad is None:
            assert node.grad is None
        else:
            assert node.grad.dtype == dtype
            np.testing.assert_allclose(node.grad, tensor.grad.numpy(), rtol=rtol, atol=ATOL)
    norms = [np.linalg.norm(n.grad.ravel(), norm_type) for n in nodes if n.grad is not None]
    assert np.linalg.norm(norms, norm_type) == pytest.approx(1.5, rel=1e-5)


def test_clip_grad_norm_leaves_small_gradients_alone():
    node = mf.Node(np.zeros((2, 2)), requires_grad=True)
    grad = node.grad = np.array([[3.0, 0.0], [0.0, -4.0]])
    assert optim.clip_grad_norm(node, 5.1) == 5.0  # a single Node is accepted, as torch
    assert node.grad is grad
    np.testing.assert_array_equal(grad, [[3.0, 0.0], [0.0, -4.0]])
    assert optim.clip_grad_norm([node], 1.0, norm_type="inf") == 4.0
    np.testing.assert_allclose(grad, np.array([[3.0, 0.0], [0.0, -4.0]]) / (4.0 + 1e-6))
    assert optim.clip_grad_norm([mf.Node(np.ones((1, 1)), requires_grad=True)], 1.0) == 0.0


def test_clip_grad_norm_with_a_nan_gradient_follows_torch():
    nodes, tensors, _, _ = _twins("SGD", {}, [np.ones((2, 2)), np.ones((1, 2))])
    _set_grads(nodes, tensors, np.random.default_rng(5))
    nodes[0].grad[0, 0] = tensors[0].grad[0, 0] = np.nan
    with pytest.raises(RuntimeError, match="is nan, not finite"):
        optim.clip_grad_norm(nodes, 1.0, error_if_nonfinite=True)
    assert not np.isnan(nodes[1].grad).any()  # the refused call changed nothing
    total = optim.clip_grad_norm(nodes, 1.0)
    expected = torch.nn.utils.clip_grad_norm_(tensors, 1.0, foreach=False)
    assert math.isnan(total) and math.isnan(expected.item())
    for node, tensor in zip(nodes, tensors):  # every gradient becomes NaN: nothing hides it
        np.testing.assert_array_equal(node.grad, tensor.grad.numpy())
        assert np.isnan(node.grad).all()


# ---- learning-rate schedules ----------------------------------------------------------------
SCHEDULES = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("StepLR", dict(step_size=1)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=5)),
    ("CosineAnnealingLR", dict(T_max=4, eta_min=0.01)),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.002)),
]
SCHEDULE_IDS = [f"{name}{kwargs}" for name, kwargs in SCHEDULES]


def _scheduled_twins(name, kwargs):
    rng = np.random.default_rng(6)
    start = [rng.standard_normal(s) for s in SHAPES]
    nodes = [mf.Node(a.copy(), requires_grad=True) for a in start]
    tensors = [torch.tensor(a, requires_grad=True) for a in start]
    mine = optim.SGD([{"params": nodes[:2]}, {"params": nodes[2:], "lr": 0.03}], lr=0.1,
                     momentum=0.9)
    theirs = torch.optim.SGD([{"params": tensors[:2]}, {"params": tensors[2:], "lr": 0.03}],
                             lr=0.1, momentum=0.9, foreach=False)
    return (nodes, tensors, mine, theirs, getattr(optim, name)(mine, **kwargs),
            getattr(torch.optim.lr_scheduler, name)(theirs, **kwargs))


def _assert_same_schedule(schedule, expected):
    assert schedule.last_epoch == expected.last_epoch
    assert schedule.get_last_lr() == expected.get_last_lr()  # the same float operations
    assert [g["lr"] for g in schedule.optimizer.param_groups] == expected.get_last_lr()


@pytest.mark.parametrize("name, kwargs", SCHEDULES, ids=SCHEDULE_IDS)
def test_schedule_matches_torch_over_three_periods(name, kwargs):
    nodes, tensors, mine, theirs, schedule, expected = _scheduled_twins(name, kwargs)
    assert schedule.base_lrs == expected.base_lrs == [0.1, 0.03]
    assert [g["initial_lr"] for g in mine.param_groups] == [0.1, 0.03]
    _assert_same_schedule(schedule, expected)
    rng = np.random.default_rng(7)
    for epoch in range(3 * kwargs.get("T_max", 5)):
        if epoch == 4:  # someone else halves the lr: the recursive schedules follow it
            for group in (*mine.param_groups, *theirs.param_groups):
                group["lr"] *= 0.5
        _set_grads(nodes, tensors, rng)
        mine.step()
        theirs.step()
        schedule.step()
        expected.step()
        _assert_same_schedule(schedule, expected)
        _assert_same(nodes, tensors)  # and the optimizer used the scheduled lrs


@pytest.mark.parametrize("eta_min", [0.0, 0.01])
def test_cosine_annealing_reaches_eta_min_and_comes_back(eta_min):
    node = mf.Node(np.ones((1, 1)), requires_grad=True)
    schedule = optim.CosineAnnealingLR(optim.SGD([node], lr=0.1), T_max=6, eta_min=eta_min)
    lrs = [schedule.get_last_lr()[0]]
    for _ in range(12):
        schedule.step()
        lrs.append(schedule.get_last_lr()[0])
    closed_form = [eta_min + (0.1 - eta_min) * (1 + math.cos(math.pi * t / 6)) / 2
                   for t in range(13)]
    np.testing.assert_allclose(lrs, closed_form, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name, kwargs", SCHEDULES, ids=SCHEDULE_IDS)
def test_a_resumed_schedule_matches_torch(name, kwargs):
    _, _, mine, theirs, schedule, expected = _scheduled_twins(name, kwargs)
    for _ in range(4):
        mine.step()
        theirs.step()
        schedule.step()
        expected.step()
    resumed = getattr(optim, name)(mine, last_epoch=4, **kwargs)
    expected = getattr(torch.optim.lr_scheduler, name)(theirs, last_epoch=4, **kwargs)
    _assert_same_schedule(resumed, expected)
    for _ in range(6):
        mine.step()
        theirs.step()
        resumed.step()
        expected.step()
        _assert_same_schedule(resumed, expected)


def test_a_second_schedule_keeps_the_first_initial_lr():
    _, _, mine, theirs, schedule, expected = _scheduled_twins("StepLR", dict(step_size=2))
    for _ in range(3):
        mine.step()
        theirs.step()
        schedule.step()
        expected.step()
    assert schedule.get_last_lr() == [0.1 * 0.1, 0.03 * 0.1]
    second = optim.ExponentialLR(mine, gamma=0.5)
    expected = torch.optim.lr_scheduler.ExponentialLR(theirs, gamma=0.5)
    assert second.base_lrs == expected.base_lrs == [0.1, 0.03]  # as torch: setdefault
    _assert_same_schedule(second, expected)


# ---- bad arguments --------------------------------------------------------------------------
def _params():
    return [mf.Node(np.ones((2, 2)), requires_grad=True, name="w")]


@pytest.mark.parametrize("make, error, words", [
    (lambda p: optim.SGD(p, lr=-0.1), ValueError, ["SGD", "lr=-0.1"]),
    (lambda p: optim.SGD(p, lr=float("nan")), ValueError, ["SGD", "lr=nan"]),
    (lambda p: optim.SGD(p, lr="0.1"), TypeError, ["SGD", "lr", "'0.1'"]),
    (lambda p: optim.SGD(p, momentum=-0.9), ValueError, ["SGD", "momentum=-0.9"]),
    (lambda p: optim.SGD(p, weight_decay=-1e-4), ValueError, ["SGD", "weight_decay=-0.0001"]),
    (lambda p: optim.SGD(p, nesterov=True), ValueError, ["SGD", "nesterov", "momentum=0"]),
    (lambda p: optim.SGD(p, momentum=0.9, dampening=0.1, nesterov=True), ValueError,
     ["SGD", "nesterov", "dampening=0.1"]),
    (lambda p: optim.SGD([{"params": p, "lr": -2.0}]), ValueError, ["SGD", "lr=-2.0"]),
    (lambda p: optim.Adam(p, betas=(1.0, 0.999)), ValueError, ["Adam", "betas=(1.0, 0.999)"]),
    (lambda p: optim.Adam(p, betas=(0.9, -0.1)), ValueError, ["Adam", "betas=(0.9, -0.1)"]),
    (lambda p: optim.Adam(p, betas=(0.9,)), ValueError, ["Adam", "betas=(0.9,)"]),
    (lambda p: optim.Adam(p, eps=-1e-8), ValueError, ["Adam", "eps=-1e-08"]),
    (lambda p: optim.AdamW(p, lr=-1e-3), ValueError, ["AdamW", "lr=-0.001"]),
    (lambda p: optim.AdamW(p, betas=(0.9, 1.5)), ValueError, ["AdamW", "betas=(0.9, 1.5)"]),
    (lambda p: optim.RMSprop(p, alpha=-0.5), ValueError, ["RMSprop", "alpha=-0.5"]),
    (lambda p: optim.RMSProp(p, momentum=-0.1), ValueError, ["RMSprop", "momentum=-0.1"]),
    (lambda p: optim.RMSprop(p, eps=-1.0), ValueError, ["RMSprop", "eps=-1.0"]),
    (lambda p: optim.Adagrad(p, lr_decay=-0.1), ValueError, ["Adagrad", "lr_decay=-0.1"]),
    (lambda p: optim.AdaGrad(p, initial_accumulator_value=-1), ValueError,
     ["Adagrad", "initial_accumulator_value=-1"]),
    (lambda p: optim.Adagrad(p, weight_decay=-1), ValueError, ["Adagrad", "weight_decay=-1"]),
])
def test_bad_hyper_parameters_are_refused(make, error, words):
    with pytest.raises(error) as caught:
        make(_params())
    for word in words:
        assert word in str(caught.value)


@pytest.mark.parametrize("params, error, words", [
    ([], ValueError, ["Adam", "empty parameter list"]),
    ([np.ones((2, 2))], TypeError, ["Adam", "parameter 0", "ndarray", "Node"]),
    ([mf.Node(np.ones((2, 2)), name="frozen")], ValueError,
     ["Adam", "'frozen'", "does not require grad", "requires_grad=True"]),
    ([mf.Node(np.ones((2, 2)), requires_grad=True) * 2.0], ValueError,
     ["Adam", "'mul'", "leaf"]),
    (mf.Node(np.ones((2, 2)), requires_grad=True), TypeError, ["Adam", "single Node", "[node]"]),
    ({mf.Node(np.ones((2, 2)), requires_grad=True)}, TypeError, ["Adam", "set"]),
    ([{"lr": 0.1}], TypeError, ["Adam", "'params'"]),
])
def test_bad_parameters_are_refused(params, error, words):
    with pytest.raises(error) as caught:
        optim.Adam(params)
    for word in words:
        assert word in str(caught.value)


def test_the_same_node_twice_is_refused():
    w, b = _params()[0], mf.Node(np.ones((1, 2)), requires_grad=True, name="b")
    with pytest.raises(ValueError, match=r"Adam: parameter 1 \('w'\) appears twice"):
        optim.Adam([w, w])
    with pytest.raises(ValueError, match=r"Adam: parameter 0 \('b'\) appears twice"):
        optim.Adam([{"params": [w, b]}, {"params": [b]}])


@pytest.mark.parametrize("make, error, words", [
    (lambda opt: optim.StepLR(opt, step_size=0), ValueError, ["StepLR", "step_size", "0"]),
    (lambda opt: optim.StepLR(opt, step_size=2.5), ValueError, ["StepLR", "integer", "2.5"]),
    (lambda opt: optim.CosineAnnealingLR(opt, T_max=0), ValueError, ["CosineAnnealingLR",
                                                                      "T_max"]),
    (lambda opt: optim.ExponentialLR(torch.optim.SGD([torch.ones(1)]), 0.9), TypeError,
     ["ExponentialLR", "SGD", "not a matrixflow.optim Optimizer"]),
    (lambda opt: optim.ExponentialLR(opt, 0.9, last_epoch=3), KeyError,
     ["ExponentialLR", "initial_lr", "last_epoch=3"]),
    (lambda opt: optim.clip_grad_norm(opt.param_groups[0]["params"], -1.0), ValueError,
     ["clip_grad_norm", "max_norm", "-1.0"]),
])
def test_bad_schedule_and_clipping_arguments_are_refused(make, error, words):
    with pytest.raises(error) as caught:
        make(optim.SGD(_params(), lr=0.1))
    for word in words:
        assert word in str(caught.value)


def test_a_gradient_of_the_wrong_shape_is_refused():
    (w,) = _params()
    opt = optim.SGD([w], lr=0.1)
    w.grad = np.ones((1, 2))
    with pytest.raises(ValueError, match=r"SGD: a parameter of shape \(2, 2\) has a \.grad of"):
        opt.step()
    np.testing.assert_array_equal(w.data, np.ones((2, 2)))
