"""The backward walk: iterative, each rule once, shared sub-expressions in O(nodes)."""

import gc
import threading
import time
import weakref

import numpy as np
import pytest
import torch

import matrixflow as mf
from matrixflow import graph


def test_a_chain_of_100_000_ops_backpropagates_without_recursion():
    x = mf.Node([[1.0]], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.00001 + 0.0
    y = mf.sum(y)
    y.backward()
    np.testing.assert_allclose(x.grad, [[1.00001**100_000]], rtol=1e-9)


def test_the_tree_of_a_100_000_op_chain_is_freed_when_dropped():
    x = mf.Node([[1.0]], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = mf.tanh(y)
    probe = weakref.ref(y.left.left)
    del y  # deallocation must not recurse either
    assert probe() is None


def test_sixty_levels_of_shared_subexpressions_take_well_under_a_second():
    """y = y·a + y·b sixty times: 2⁶⁰ paths from root to x, 180 nodes."""
    x = mf.Node([[1.0]], requires_grad=True)
    a = mf.Node([[0.5]], requires_grad=True)
    b = mf.Node([[0.25]], requires_grad=True)
    y = x
    started = time.perf_counter()
    for _ in range(60):
        y = y * a + y * b
    y.backward()
    elapsed = time.perf_counter() - started
    assert elapsed < 0.5
    np.testing.assert_allclose(x.grad, [[0.75**60]], rtol=1e-12)
    # ∂y/∂a = 60·(a+b)⁵⁹·x
    np.testing.assert_allclose(a.grad, [[60 * 0.75**59]], rtol=1e-12)
    np.testing.assert_allclose(b.grad, [[60 * 0.75**59]], rtol=1e-12)


def _count_rule_calls(monkeypatch, *names):
    """Wrap the rules of the named ops so that each call is recorded in the returned list."""
    from matrixflow.ops.base import Rule

    calls = []
    for name in names:
        op = mf.REGISTRY[name]

        def wrap(rule, name=name):
            def counted(*args, **kwargs):
                calls.append(name)
                return rule.fn(*args, **kwargs)

            return Rule(rule.operand, rule.trace, rule.result, counted)

        monkeypatch.setattr(op, "rules", tuple(wrap(rule) for rule in op.rules))
    return calls


def test_each_rule_runs_once_however_many_consumers_a_node_has(monkeypatch):
    calls = _count_rule_calls(monkeypatch, "exp")
    x = mf.Node(np.ones((2, 2)), requires_grad=True)
    h = mf.exp(x)  # one node, 50 consumers
    y = mf.sum(mf.concat([h * float(k) for k in range(50)], axis=0))
    y.backward()
    assert calls.count("exp") == 1
    np.testing.assert_allclose(x.grad, sum(range(50)) * np.exp(np.ones((2, 2))))


def test_a_leaf_reused_on_many_paths_gets_the_sum_of_all_of_them():
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((3, 3))
    W = mf.Node(w0, requires_grad=True)
    h = mf.Node(np.ones((1, 3)))
    for _ in range(10):
        h = mf.tanh(h @ W + W[0])
    loss = mf.sum(h * h)
    loss.backward()
    Wt = torch.tensor(w0, requires_grad=True)
    ht = torch.ones(1, 3, dtype=torch.float64)
    for _ in range(10):
        ht = torch.tanh(ht @ Wt + Wt[0:1])
    (ht * ht).sum().backward()
    np.testing.assert_allclose(W.grad, Wt.grad.numpy(), rtol=1e-11)


def test_backward_twice_accumulates_and_zero_grad_resets():
    x = mf.Node([[1.0, 2.0]], requires_grad=True)
    y = mf.sum(x * x)
    y.backward()
    y.backward()
    np.testing.assert_allclose(x.grad, 2 * 2 * x.data)
    x.zero_grad()
    assert x.grad is None
    y.backward()
    np.testing.assert_allclose(x.grad, 2 * x.data)


def test_leaves_never_share_a_gradient_array():
    a = mf.Node(np.ones((2, 2)), requires_grad=True)
    b = mf.Node(np.ones((2, 2)), requires_grad=True)
    (a + b).backward(np.ones((2, 2)))  # add hands the same Ȳ to both operands
    assert a.grad is not b.grad
    a.grad *= 10
    np.testing.assert_array_equal(b.grad, np.ones((2, 2)))


def test_the_seed_array_is_not_kept_by_the_gradients():
    x = mf.Node(np.ones((2, 2)), requires_grad=True)
    seed = np.full((2, 2), 3.0)
    (x + 0.0).backward(seed)
    seed[:] = 0
    np.testing.assert_array_equal(x.grad, np.full((2, 2), 3.0))


def test_intermediate_gradients_are_kept_only_after_retain_grad():
    x = mf.Node([[2.0]], requires_grad=True)
    h = x * x
    k = h * 3.0
    h.retain_grad()
    mf.sum(k).backward()
    np.testing.assert_allclose(h.grad, [[3.0]])
    assert k.grad is None
    assert h.retains_grad and not k.retains_grad
    np.testing.assert_allclose(x.grad, [[12.0]])


def test_constant_subtrees_are_skipped():
    x = mf.Node(np.ones((2, 2)), requires_grad=True)
    constant = mf.exp(mf.Node(np.ones((2, 2))))
    y = mf.sum(x @ constant)
    assert not constant.requires_grad and y.requires_grad
    order = graph.topological_order([y])
    assert constant not in order
    y.backward()
    assert constant.grad is None


def test_mf_grad_leaves_dot_grad_alone_and_prunes_unrelated_branches(monkeypatch):
    x = mf.Node([[1.0, 2.0]], requires_grad=True)
    w = mf.Node([[3.0], [4.0]], requires_grad=True)
    other = mf.Node([[1.0, 1.0]], requires_grad=True)
    y = x @ w + mf.sum(mf.exp(other))
    seen = _count_rule_calls(monkeypatch, "exp", "sum", "matmul")
    (gx,) = mf.grad(y, [x])
    np.testing.assert_allclose(gx.numpy(), w.data.T)
    assert x.grad is None and w.grad is None
    assert "exp" not in seen and "sum" not in seen  # no path from them to x
    assert seen == ["matmul"]


def test_mf_grad_of_an_intermediate_node():
    x = mf.Node([[1.0, 2.0]], requires_grad=True)
    h = x * 2.0
    y = mf.sum(h * h)
    gh, gx = mf.grad(y, [h, x])
    np.testing.assert_allclose(gh.numpy(), 2 * h.data)
    np.testing.assert_allclose(gx.numpy(), 8 * x.data)


def test_mf_grad_of_several_outputs_sums_their_vector_jacobian_products():
    x = mf.Node([[1.0, 2.0]], requires_grad=True)
    y1, y2 = x * 3.0, mf.exp(x)
    (g,) = mf.grad([y1, y2], [x], gradient=[np.ones((1, 2)), np.full((1, 2), 2.0)])
    np.testing.assert_allclose(g.numpy(), 3.0 + 2.0 * np.exp(x.data))


def test_unused_inputs_raise_unless_allowed():
    x = mf.Node([[1.0]], requires_grad=True)
    unused = mf.Node([[1.0]], requires_grad=True)
    y = x * 2.0
    with pytest.raises(ValueError, match="not used"):
        mf.grad(y, [x, unused])
    assert mf.grad(y, [x, unused], allow_unused=True)[1] is None
    zeros = mf.grad(y, [x, unused], materialize_grads=True)[1]
    np.testing.assert_array_equal(zeros.numpy(), [[0.0]])


def test_no_grad_builds_no_tree_and_restores_on_exit():
    x = mf.Node([[1.0]], requires_grad=True)
    with mf.no_grad():
        y = x * 2.0
        assert not mf.is_grad_enabled()
        with mf.enable_grad():
            z = x * 2.0
    assert mf.is_grad_enabled()
    assert y.op is None and not y.requires_grad and y.left is None
    assert z.requires_grad and z.op is not None


def test_no_grad_is_restored_after_an_error_and_works_as_a_decorator():
    with pytest.raises(ZeroDivisionError), mf.no_grad():
        raise ZeroDivisionError
    assert mf.is_grad_enabled()

    @mf.no_grad()
    def predict(x):
        return x * 2.0

    assert not predict(mf.Node([[1.0]], requires_grad=True)).requires_grad
    assert mf.is_grad_enabled()


def test_no_grad_in_one_thread_does_not_leak_into_another():
    inside = threading.Event()
    done = threading.Event()
    results = {}

    def quiet():
        with mf.no_grad():
            inside.set()
            done.wait(5)
            results["quiet"] = (mf.Node([[1.0]], requires_grad=True) * 2.0).requires_grad

    def busy():
        inside.wait(5)
        results["busy"] = (mf.Node([[1.0]], requires_grad=True) * 2.0).requires_grad
        done.set()

    threads = [threading.Thread(target=quiet), threading.Thread(target=busy)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == {"quiet": False, "busy": True}


def test_a_graph_is_freed_when_its_root_is_dropped_with_gc_disabled():
    gc.disable()
    try:
        x = mf.Node(np.ones((3, 3)), requires_grad=True)
        h = mf.tanh(x @ x)
        loss = mf.sum(h * h)
        loss.backward()
        probes = [weakref.ref(h), weakref.ref(loss)]
        del h, loss
        assert all(p() is None for p in probes)  # reference counting alone freed them
        assert x.grad is not None
    finally:
        gc.enable()


def test_nodes_hold_no_reference_to_what_is_built_from_them():
    x = mf.Node([[1.0]], requires_grad=True)
    y = x * 2.0
    assert all(getattr(x, slot, None) is not y for slot in type(x).__slots__
               if slot != "__weakref__")


def test_the_walk_adds_in_place_only_into_arrays_it_owns():
    """Gradients meeting at a node are summed in place when the walk holds the only reference
    (here the two products' gradients at x), never into an array another gradient shares."""
    x = mf.Node(np.full((3, 3), 2.0), requires_grad=True)
    y = mf.sum(x * 3.0 + x * 5.0 + x)  # add hands the same Ȳ to both operands
    y.backward()
    np.testing.assert_array_equal(x.grad, np.full((3, 3), 9.0))
    a = mf.Node(np.ones((2, 2)), requires_grad=True)
    b = mf.Node(np.ones((2, 2)), requires_grad=True)
    (a + b + a).backward(np.ones((2, 2)))  # a's two gradients are both Ȳ, also b's
    np.testing.assert_array_equal(a.grad, np.full((2, 2), 2.0))
    np.testing.assert_array_equal(b.grad, np.ones((2, 2)))


def test_private_counts_the_references_it_is_told_to():
    from matrixflow.autograd import _private

    pending = {"x": np.ones(3)}
    earlier = pending.get("x")
    assert _private(earlier, 4)  # the dict, this local, the argument, getrefcount's
    other = earlier  # a second name: someone else could see a change
    assert not _private(earlier, 4)
    del other
    assert not _private(earlier[:2], 10)  # a view never owns its memory


def test_a_failed_backward_changes_no_gradient():
    x = mf.Node(np.ones((2, 2)), requires_grad=True)
    singular = mf.Node(np.ones((2, 2)), requires_grad=True)  # ln det = −∞, A⁻¹ does not exist
    y = mf.sum(x * 2.0) + mf.logdet(singular)
    with pytest.raises(np.linalg.LinAlgError, match=r"logdet \(backward\)"):
        y.backward()
    assert x.grad is None and singular.grad is None


@pytest.mark.parametrize("second_use",
                         ["a + b", "a.T + b", "mf.reshape(a, 1, 4).reshape(2, 2) + b"])
def test_an_array_the_walk_hands_to_two_operands_is_never_added_into(second_use):
    # add gives its operands one and the same Ȳ (transpose and reshape a view of it); when a
    # later rule adds into what a has gathered, b's gradient must not change with it
    a = mf.Node(np.ones((2, 2)), requires_grad=True)
    b = mf.Node(np.ones((2, 2)), requires_grad=True)
    v = a * 2.0  # a's second consumer, visited after the add
    u = eval(second_use)
    (mf.sum(u * 3.0) + mf.sum(v)).backward()
    np.testing.assert_array_equal(b.grad, np.full((2, 2), 3.0))
    np.testing.assert_array_equal(a.grad, np.full((2, 2), 5.0))
