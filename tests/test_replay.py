"""mf.replay: a traced step replayed gives bit for bit the eager step's loss and gradients.

Bit for bit, not close: every op of the table on its verification cases, networks of the
training room over several steps of changing weights, in float64 and float32; and the contract
around it — a new signature traces again, check mode catches a tree that depends on its data,
gradients handed out are the parameters' own, inputs and parameters are never written.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

import matrixflow as mf
from matrixflow.graph import OUTSIDE_THE_TREE, all_nodes
from matrixflow.ops.base import REGISTRY
from matrixflow.verification.op_checks import cases_for


def same_bits(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


# ---- every op of the table ---------------------------------------------------------------------
CASES = [(op, k) for op in sorted(REGISTRY) for k in range(len(cases_for(op)))]


@pytest.mark.parametrize(("op", "index"), CASES, ids=[f"{op}-{k}" for op, k in CASES])
def test_every_op_replays_bit_for_bit(op, index):
    case = cases_for(op)[index]
    def leaves():
        return [mf.Node(np.array(x, dtype=np.float64), requires_grad=d)
                for x, d in zip(case.inputs, case.differentiable)]

    def loss_of(nodes, data):
        fed = iter(data)
        out = case.run(*[x if x.requires_grad else next(fed) for x in nodes])
        return mf.sum(out * np.random.default_rng(7).standard_normal(out.shape))

    eager, replayed = leaves(), leaves()
    data = [x.data for x in replayed if not x.requires_grad]
    if not any(x.requires_grad for x in eager):
        pytest.skip("no differentiable input")
    step = mf.replay(lambda *fed: loss_of(replayed, fed))
    if op == "dropout":  # its mask is drawn outside the op: replaying would repeat it
        with pytest.raises(mf.ReplayError, match="dropout draws its mask"):
            step(*data)
        return
    expected = loss_of(eager, [x.data for x in eager if not x.requires_grad])
    expected.backward()
    if any(node in OUTSIDE_THE_TREE for node in all_nodes(expected)):  # integer labels
        with pytest.raises(mf.ReplayError, match="outside the tree"):
            step(*data)
        return
    step(*data)  # the trace: this call is the eager step itself
    for x in replayed:
        x.grad = None
    loss = step(*data)  # the replay
    assert step.traces == 1 and step.calls == 1
    assert same_bits(loss.data, expected.data)
    for a, b in zip(eager, replayed):
        assert (a.grad is None) == (b.grad is None)
        if a.grad is not None:
            assert same_bits(b.grad, a.grad), f"{op} {case.label}: gradient differs"


# ---- networks, over steps of changing weights ---------------------------------------------------
def _mlp(activation, dtype):
    rng = np.random.default_rng(0)
    layers = [mf.nn.Linear(6, 16, rng=rng, dtype=dtype), mf.nn.Linear(16, 8, rng=rng, dtype=dtype),
              mf.nn.Linear(8, 1, rng=rng, dtype=dtype)]
    act = {"relu": mf.relu, "tanh": mf.tanh, "sigmoid": mf.sigmoid}[activation]

    def loss(model, X, y):
        h = X
        for k, layer in enumerate(model):
            h = layer(h)
            if k < len(model) - 1:
                h = act(h)
        return mf.mse_loss(h, y) + 1e-3 * mf.sum(model[0].weight * model[0].weight)

    return layers, loss, lambda rng: (rng.standard_normal((12, 6)).astype(dtype),
                                      rng.standard_normal((12, 1)).astype(dtype))


def _recurrent(kind, dtype):
    rng = np.random.default_rng(1)
    cls = {"rnn": mf.nn.RNN, "lstm": mf.nn.LSTM, "gru": mf.nn.GRU}[kind]
    model = [cls(3, 5, num_layers=2, rng=rng, dtype=dtype), mf.nn.Linear(5, 1, rng=rng,
                                                                          dtype=dtype)]

    def loss(model, y, *xs):
        outputs, _ = model[0](list(xs), truncate=2)  # detached states: replayed as values
        losses = [mf.mse_loss(model[1](h), y) for h in outputs[-3:]]
        return losses[0] + losses[1] + losses[2]

    def data(rng):
        return (rng.standard_normal((4, 1)).astype(dtype),
                *(rng.standard_normal((4, 3)).astype(dtype) for _ in range(6)))

    return model, loss, data


def _parameters(model):
    return [p for part in model for p in part.parameters()]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("network", ["relu", "tanh", "sigmoid", "rnn", "lstm", "gru"])
def test_training_steps_replay_bit_for_bit(network, dtype):
    build = _mlp if network in ("relu", "tanh", "sigmoid") else _recurrent
    model, loss, draw = build(network, dtype)
    twin = copy.deepcopy(model)
    eager_params, replay_params = _parameters(twin), _parameters(model)
    step = mf.replay(lambda *data: loss(model, *data))
    rng = np.random.default_rng(2)
    for _ in range(4):  # the same batch shape: one trace, then replays on new data and weights
        data = draw(rng)
        expected = loss(twin, *data)
        expected.backward()
        got = step(*data)
        assert same_bits(got.data, expected.data)
        for p, q in zip(eager_params, replay_params):
            assert same_bits(q.grad, p.grad)
            p.data -= 0.1 * p.grad  # in place, as the optimizers do
            q.data = q.data - 0.1 * q.grad  # rebound: the replay reads .data at every call
            p.grad = q.grad = None
    assert step.traces == 1 and step.calls == 3


# ---- the contract around it ---------------------------------------------------------------------
def _linear_model():
    W = mf.Node(np.random.default_rng(0).standard_normal((3, 2)), requires_grad=True)
    b = mf.Node(np.zeros((1, 2)), requires_grad=True)
    return W, b, lambda X, y: mf.mse_loss(mf.tanh(X @ W + b), y)


def test_a_new_shape_or_dtype_traces_again_and_each_replays_exactly():
    W, b, fn = _linear_model()
    step = mf.replay(fn)
    rng = np.random.default_rng(3)
    for rows, dtype in [(5, np.float64), (2, np.float64), (5, np.float64), (2, np.float64)]:
        X, y = rng.standard_normal((rows, 3)).astype(dtype), rng.standard_normal((rows, 2))
        expected = fn(X, y)
        grads = mf.grad(expected, [W, b])
        step(X, y)
        assert same_bits(W.grad, grads[0].data) and same_bits(b.grad, grads[1].data)
        W.grad = b.grad = None
    assert step.traces == 2 and step.calls == 2
    assert "2 trace(s)" in repr(step)


def test_gradients_accumulate_into_existing_grad_as_backward_does():
    W, _, fn = _linear_model()
    X, y = np.ones((4, 3)), np.zeros((4, 2))
    step = mf.replay(fn)
    step(X, y)
    first = W.grad.copy()
    step(X, y)  # replayed: added to what is there
    assert same_bits(W.grad, first + first)


def test_gradients_handed_out_are_each_parameters_own():
    a = mf.Node(np.ones((2, 2)), requires_grad=True)
    b = mf.Node(np.ones((2, 2)), requires_grad=True)
    step = mf.replay(lambda: mf.sum(a + b))  # add passes Ȳ on to both: one array in the walk
    step()
    a.grad = b.grad = None
    loss = step()
    assert a.grad is not b.grad and not np.shares_memory(a.grad, b.grad)
    a.grad += 1.0
    assert same_bits(b.grad, np.ones((2, 2))) and loss.item() == 8.0


def test_a_replay_writes_nothing_it_was_given_and_keeps_earlier_results():
    W, b, fn = _linear_model()
    X, y = np.arange(12.0).reshape(4, 3) / 10, np.zeros((4, 2))
    kept = [a.copy() for a in (X, y, W.data, b.data)]
    step = mf.replay(fn)
    step(X, y)
    W.grad = b.grad = None
    first = step(X, y)
    value, handed = first.data.copy(), [W.grad, b.grad]
    copies = [g.copy() for g in handed]
    W.grad = b.grad = None
    step(X * 2, y)  # its buffers, reused, are none of what the last call handed out
    assert all(same_bits(a, k) for a, k in zip((X, y, W.data, b.data), kept))
    assert same_bits(first.data, value)
    assert all(same_bits(g, c) for g, c in zip(handed, copies))
    assert not any(np.shares_memory(g, h) for g in handed for h in (W.grad, b.grad))


def test_check_mode_catches_a_tree_that_depends_on_its_data():
    W, _, _ = _linear_model()

    def branching(X):  # a Python branch on a value: traced once, its other arm never replayed
        h = X @ W
        return mf.sum(mf.relu(h) if X.data.sum() > 0 else mf.exp(h))

    step = mf.replay(branching, check_every=2)
    step(np.ones((2, 3)))
    step(-np.ones((2, 3)))  # replayed, unchecked: the first call's tree
    with pytest.raises(mf.ReplayMismatch, match=r"depends on its data.*replay=False"):
        step(-np.ones((2, 3)))
    honest = mf.replay(lambda X: mf.sum(mf.relu(X @ W)), check_every=1)
    for sign in (1, -1, 1):
        honest(sign * np.ones((2, 3)))  # every call checked, all agree
    assert honest.calls == 2


def test_schedule_prints_one_numpy_call_per_line():
    _, _, fn = _linear_model()
    step = mf.replay(fn)
    assert "not traced yet" in step.schedule()
    step(np.ones((4, 3)), np.zeros((4, 2)))
    text = step.schedule()
    assert text.startswith("def replayed_step(inputs, parameters):")
    assert "np.matmul(" in text and "np.tanh(" in text and ".sum(keepdims=True)" in text
    compile(text, "schedule", "exec")  # it is the Python that runs


@pytest.mark.parametrize(("fn", "message"), [
    (lambda X: X @ X.T, "must be 1×1"),
    (lambda X: 3.0, "must return its loss Node"),
    (lambda X: mf.sum(X), "nothing below the loss requires grad"),
])
def test_steps_that_cannot_be_replayed_say_why(fn, message):
    with pytest.raises(mf.ReplayError, match=message):
        mf.replay(fn)(np.ones((2, 2)))


def test_a_view_of_an_input_taken_outside_the_tree_is_refused():
    W = mf.Node(np.ones((2, 2)), requires_grad=True)
    with pytest.raises(mf.ReplayError, match="view of an input"):
        mf.replay(lambda X: mf.sum(mf.Node(X.data[:, :2]) @ W))(np.ones((3, 3)))


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match="function that builds"):
        mf.replay(42)
    with pytest.raises(ValueError, match="check_every"):
        mf.replay(lambda X: X, check_every=0)
    _, _, fn = _linear_model()
    with pytest.raises((TypeError, ValueError), match="input 1"):
        mf.replay(fn)(np.ones((4, 3)), "not a matrix")


def test_an_op_failing_in_a_replay_is_named():
    A = mf.Node(np.eye(2), requires_grad=True)
    step = mf.replay(lambda X: mf.sum(mf.inv(X + A)))
    step(np.zeros((2, 2)))
    with pytest.raises(np.linalg.LinAlgError, match=r"inv \(replayed\)"):
        step(-np.eye(2))  # X + A singular


def test_a_step_that_changes_things_outside_its_tree_is_refused():
    norm = mf.nn.BatchNorm1d(3)
    W = mf.Node(np.ones((3, 1)), requires_grad=True)
    with pytest.raises(mf.ReplayError, match="running_mean and running_var"):
        mf.replay(lambda X: mf.sum(norm(X) @ W))(np.arange(12.0).reshape(4, 3))
    norm.eval()  # normalising with the running statistics changes nothing: it replays
    step = mf.replay(lambda X: mf.sum(norm(X) @ W))
    step(np.ones((4, 3)))
    step(np.ones((4, 3)))
    assert step.calls == 1


def test_a_parameter_rebound_to_another_precision_traces_again():
    W, b, fn = _linear_model()
    X, y = np.ones((4, 3)), np.zeros((4, 2))
    step = mf.replay(fn)
    step(X, y)
    W.data, b.data = W.data.astype(np.float32), b.data.astype(np.float32)
    W.grad = b.grad = None
    step(X.astype(np.float32), y.astype(np.float32))
    assert step.traces == 2 and W.grad.dtype == np.float32


def test_inside_no_grad_the_error_says_so():
    _, _, fn = _linear_model()
    with mf.no_grad(), pytest.raises(mf.ReplayError, match=r"inside mf\.no_grad"):
        mf.replay(fn)(np.ones((4, 3)), np.zeros((4, 2)))


def test_calling_backward_on_a_replayed_loss_says_it_already_ran():
    _, _, fn = _linear_model()
    step = mf.replay(fn)
    loss = step(np.ones((4, 3)), np.zeros((4, 2)))
    assert isinstance(loss, mf.Node) and loss.shape == (1, 1)
    with pytest.raises(RuntimeError, match="already run its backward"):
        loss.backward()


def test_a_pickled_replay_traces_again_where_it_lands():
    import pickle

    step = mf.replay(_module_level_step)
    X = np.ones((4, 3))
    step(X)
    again = pickle.loads(pickle.dumps(step))
    assert again.programs == {} and again.traces == 1
    again(X)  # its own parameters (unpickled copies): traced again, then replayed
    again(X)
    assert again.traces == 2 and again.calls == 1


_PICKLED_W = mf.Node(np.ones((3, 1)), requires_grad=True)


def _module_level_step(X):
    return mf.sum(mf.tanh(X @ _PICKLED_W))


def test_integer_labels_are_refused_with_the_one_hot_way():
    W = mf.Node(np.ones((3, 2)), requires_grad=True)
    labels = np.array([0, 1, 1, 0])
    with pytest.raises(mf.ReplayError, match=r"one-hot targets from integer labels.*np\.eye"):
        mf.replay(lambda X: mf.cross_entropy(X @ W, labels))(np.ones((4, 3)))  # baked in
    with pytest.raises(TypeError, match=r"input 1 is a int64 array.*one-hot"):
        mf.replay(lambda X, y: mf.cross_entropy(X @ W, y))(np.ones((4, 3)), labels[:, None])
    step = mf.replay(lambda X, T: mf.cross_entropy(X @ W, T))  # one-hot floats: replayed
    step(np.ones((4, 3)), np.eye(2)[labels])
    step(np.ones((4, 3)), np.eye(2)[labels[::-1]])
    assert step.calls == 1
