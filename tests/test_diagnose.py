"""Localising gradcheck and mf.verify: the broken op is named, the report is complete."""

import json

import numpy as np
import pytest

import matrixflow as mf
from matrixflow.ops.base import Rule, apply1, apply2, defop

# tests-only ops, outside the registry, each with one planted mistake
MISSING_TRANSPOSE = defop(
    "matmul_missing_transpose", family="matrix", summary="A·B whose Ā forgets a transpose",
    forward=np.matmul, differential="dY = dA·B + A·dB",
    rules=(Rule("A", "tr(Ȳᵀ dA·B) ={cyclic} tr(B·Ȳᵀ dA) ={transpose} tr((Ȳ·Bᵀ)ᵀ dA)",
                "Ā = Ȳ·Bᵀ", lambda G, Y, A, B: G @ B),  # the bug: B, not Bᵀ
           Rule("B", "tr(Ȳᵀ A·dB) ={transpose} tr((Aᵀ·Ȳ)ᵀ dB)", "B̄ = Aᵀ·Ȳ",
                lambda G, Y, A, B: A.T @ G)),
    register=False)
SIGN_ERROR = defop(
    "sin_sign_error", family="element-wise", summary="sin with the sign of its rule flipped",
    forward=np.sin, differential="dY = cos(A) ⊙ dA",
    rules=(Rule("A", "tr(Ȳᵀ (cos(A) ⊙ dA)) ={hadamard} tr((Ȳ ⊙ cos(A))ᵀ dA)",
                "Ā = Ȳ ⊙ cos(A)", lambda G, Y, A: -G * np.cos(A)),),
    register=False)


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    return (mf.Node(rng.standard_normal((3, 3)), requires_grad=True, name="W"),
            mf.Node(rng.standard_normal((4, 3)), requires_grad=True, name="X"))


def larger_graph_with_missing_transpose(W, X):
    hidden = mf.tanh(X @ W + 1.0)
    return mf.sum(apply2(MISSING_TRANSPOSE, hidden, W) ** 2) + mf.logdet(W @ W.T + np.eye(3))


def larger_graph_with_sign_error(W, X):
    return mf.mean(mf.softmax(apply1(SIGN_ERROR, X @ W.T @ W)) * X) + mf.trace(W)


@pytest.mark.parametrize("fn, op, operand", [
    (larger_graph_with_missing_transpose, "matmul_missing_transpose", "A"),
    (larger_graph_with_sign_error, "sin_sign_error", "A"),
])
def test_gradcheck_names_the_planted_wrong_rule(fn, op, operand):
    with pytest.raises(mf.GradcheckError) as caught:
        mf.gradcheck(fn, _inputs())
    culprit = caught.value.culprit
    assert culprit is not None and culprit.op == op and culprit.operand == operand
    assert f"the bug: op {op!r}" in str(caught.value)
    shapes = (4, 3), (3, 3)
    assert culprit.operand_shapes[0] == shapes[0]


def test_a_broadcast_operand_on_the_way_is_not_blamed():
    # (sin(X) + b) with b a 1×3 row: add's rule gives b a Ȳ-shaped gradient that the local
    # check must sum back to b's shape before comparing, as the walk does
    rng = np.random.default_rng(0)
    W = mf.Node(rng.standard_normal((3, 1)), requires_grad=True)
    b = mf.Node(rng.standard_normal((1, 3)), requires_grad=True)
    X = mf.Node(rng.standard_normal((2, 3)), requires_grad=True)
    with pytest.raises(mf.GradcheckError) as caught:
        mf.gradcheck(lambda W, b, X: mf.sum((apply1(SIGN_ERROR, X) + b) @ W), [W, b, X])
    assert caught.value.culprit is not None and caught.value.culprit.op == "sin_sign_error"


def test_every_registry_op_passes_the_local_check():
    from matrixflow.verification.localise import first_bad_op

    def fn(W, X):
        return mf.sum(mf.sigmoid(X @ W) * mf.exp(X[:, 0:3])) + mf.logdet(W @ W.T + np.eye(3))

    assert first_bad_op(fn, list(_inputs())) is None


def test_a_mismatch_no_op_explains_is_said_so():
    x = mf.Node([[0.5, 1.0]], requires_grad=True)
    with pytest.raises(mf.GradcheckError) as caught:  # x.data is invisible to backward
        mf.gradcheck(lambda x: mf.sum(x * x.data), [x])
    assert caught.value.culprit is None
    assert "every op's own rule agrees" in str(caught.value)


def test_a_kink_is_found_at_the_op_that_has_it():
    x = mf.Node([[0.0, 1.0]], requires_grad=True)  # relu has no derivative at 0
    with pytest.raises(mf.GradcheckError) as caught:
        mf.gradcheck(lambda x: mf.sum(mf.relu(x) * 2.0), [x])
    culprit = caught.value.culprit
    assert culprit.op == "relu" and culprit.kink and culprit.entry == (0, 0)
    assert "the cause: op 'relu'" in str(caught.value) and "no derivative" in str(caught.value)


HALF_EXP = defop(
    "exp_half_rule", family="element-wise", summary="exp whose rule is half the right one",
    forward=np.exp, differential="dY = Y ⊙ dA",
    rules=(Rule("A", "tr(Ȳᵀ (Y ⊙ dA)) ={hadamard} tr((Ȳ ⊙ Y)ᵀ dA)", "Ā = Ȳ ⊙ Y",
                lambda G, Y, A: G * Y * 0.5),),
    register=False)


@pytest.mark.parametrize("at", [0.0, 3e-7])  # on the kink, and within ε of it
def test_a_kink_on_the_way_does_not_hide_the_wrong_rule_below_it(at):
    # relu meets exp(0) − 1 = 0 (or a hair above) before backward reaches the wrong rule
    Z = mf.Node(np.array([[np.log1p(at), 1.0], [2.0, -1.0]]), requires_grad=True)
    with pytest.raises(mf.GradcheckError) as caught:
        mf.gradcheck(lambda Z: mf.sum(mf.relu(apply1(HALF_EXP, Z) - 1.0)), [Z])
    culprit = caught.value.culprit
    assert culprit.op == "exp_half_rule" and not culprit.kink
    assert [(k.op, k.entry) for k in culprit.kinks_passed] == [("relu", (0, 0))]
    message = str(caught.value)
    assert "the bug: op 'exp_half_rule'" in message
    assert "passed over op 'relu'" in message and "no derivative" in message


def test_verify_reports_everything_side_by_side():
    W, X = _inputs(1)
    report = mf.verify(lambda W, X: mf.sum(mf.tanh(X @ W)) + mf.logdet(W @ W.T + np.eye(3)),
                       [W, X])
    json.dumps(report)  # serialisable as promised
    assert report["finite_differences_vs_backward"]["agree"]
    assert report["pytorch"]["available"] and report["pytorch"]["agree"]
    assert report["pytorch"]["max_abs_error"] < 1e-12
    np.testing.assert_allclose(report["backward"][0], report["pytorch"]["gradients"][0])
    sweep = [s["max_abs_error"] for s in report["eps_sweep"]]
    best = int(np.argmin(sweep))
    assert 0 < best < len(sweep) - 1  # truncation error on one side, rounding on the other
    assert sweep[0] > 100 * sweep[best] and sweep[-1] > 100 * sweep[best]
    assert report["first_bad_op"] is None and "agree" in report["verdict"]


def test_verify_names_the_wrong_rule_and_pytorch_disagrees_too():
    W, X = _inputs(2)
    report = mf.verify(lambda W, X: mf.sum(apply1(SIGN_ERROR, X @ W)), [W, X], use_torch=False)
    assert not report["finite_differences_vs_backward"]["agree"]
    assert report["first_bad_op"]["op"] == "sin_sign_error"
    assert "first wrong rule: op 'sin_sign_error'" in report["verdict"]


def test_verify_with_defaults_on_an_op_without_a_pytorch_twin():
    # the default use_torch=True used to raise KeyError: the graph has an op PyTorch cannot
    # replay, so PyTorch is unavailable for it, and the rest of the report stands
    W, X = _inputs(3)
    report = mf.verify(lambda W, X: mf.sum(apply1(SIGN_ERROR, X @ W)), [W, X])
    json.dumps(report)
    assert report["pytorch"]["available"] is False
    assert report["pytorch"]["reason"] == "op 'sin_sign_error' has no PyTorch twin"
    assert not report["finite_differences_vs_backward"]["agree"]
    assert report["first_bad_op"]["op"] == "sin_sign_error"
    verdict = report["verdict"]
    assert "PyTorch unavailable for this graph: op 'sin_sign_error' has no PyTorch twin" in verdict
    assert "first wrong rule: op 'sin_sign_error'" in verdict
    # the sweep cannot say where finite differences are 'most accurate' against a wrong
    # gradient: it says no step makes them agree
    assert "most accurate" not in verdict and "closest" not in verdict
    assert "no eps from 0.1 to 1e-10 makes them agree" in verdict
    assert not any(step["agree"] for step in report["eps_sweep"])


def test_verify_of_a_right_custom_op_agrees_without_pytorch():
    good = defop("tanh_again", family="element-wise", summary="tanh", forward=np.tanh,
                 differential="dY = (1 − Y ⊙ Y) ⊙ dA",
                 rules=(Rule("A", "tr(Ȳᵀ dA)", "Ā = Ȳ ⊙ (1 − Y ⊙ Y)",
                             lambda G, Y, A: G * (1 - Y * Y)),), register=False)
    W, _ = _inputs(4)
    report = mf.verify(lambda W: mf.sum(apply1(good, W @ W)), [W])
    assert report["finite_differences_vs_backward"]["agree"] and report["first_bad_op"] is None
    assert "PyTorch unavailable for this graph: op 'tanh_again'" in report["verdict"]
    assert "come closest to backward near eps" in report["verdict"]


def test_every_op_has_a_pytorch_replay_that_matches_its_twin():
    import torch

    from matrixflow import REGISTRY
    from matrixflow.graph import all_nodes as _all_nodes
    from matrixflow.verification import op_checks as opcheck
    from matrixflow.verification.torch_twins import TORCH_OPS, replay

    assert set(TORCH_OPS) == set(REGISTRY)
    for name in REGISTRY:
        for case in opcheck.cases_for(name):
            output = case.run(*opcheck.leaves(case))
            replayed = replay([output], torch, _all_nodes(output))[id(output)]
            twin = case.twin(torch, *(torch.tensor(np.array(x)) for x in case.inputs))
            np.testing.assert_allclose(replayed.detach().numpy(), twin.detach().numpy(),
                                       rtol=1e-12, atol=1e-14, err_msg=f"{name}: {case.label}")
