"""Gaps in the verifier, each closed with a planted bug (part of issue 17): a rule that crashes
is a failing row of `matrixflow verify`, not a traceback; a rule that drops its graph under
create_graph is named by gradgradcheck's localiser; the same root given twice to mf.grad sums
its seeds, as PyTorch does."""

import numpy as np
import pytest

import matrixflow as mf
from matrixflow.cli import main

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("bad", [
    lambda G, Y, A: (G * Y).T,                         # the wrong shape
    lambda G, Y, A: 1 / 0,                             # an exception of its own
    lambda G, Y, A: G * np.nan,                        # NaN
])
def test_a_broken_rule_is_a_failing_row_never_a_crash(broken_rule, capsys, bad):
    broken_rule("exp", 0, bad)
    status = main(["verify", "--op", "exp", "--op", "sin", "--no-torch"])
    out = capsys.readouterr().out
    assert status == 1
    rows = {line.split()[0]: line for line in out.splitlines() if line.split()
            and line.split()[0] in ("exp", "sin")}
    assert set(rows) == {"exp", "sin"}  # every op checked, the table printed
    assert "FAIL" in rows["exp"].upper() and "FAIL" not in rows["sin"].upper()


def test_json_names_the_crash(broken_rule, capsys):
    import json

    broken_rule("exp", 0, lambda G, Y, A: 1 / 0)
    assert main(["verify", "--json", "--op", "exp", "--no-torch"]) == 1
    document = json.loads(capsys.readouterr().out)
    (row,) = document["ops"]
    assert not row["ok"] and any("ZeroDivisionError" in f for f in row["failures"])


def test_the_localiser_names_a_rule_that_drops_its_graph(broken_rule):
    # right on arrays; under create_graph it returns a raw array: nothing to differentiate
    broken_rule("sin", 0, lambda G, Y, A: np.asarray(mf.ops.base.value(G)) *
                np.cos(mf.ops.base.value(A)))
    x = mf.Node([[0.3, -0.7], [1.1, 0.4]], requires_grad=True)
    assert mf.gradcheck(lambda x: mf.sin(x), [x])
    with pytest.raises(mf.GradcheckError) as caught:
        mf.gradgradcheck(lambda x: mf.sum(mf.sin(x @ x)), [x])
    culprit = caught.value.culprit
    assert culprit is not None and culprit.op == "sin" and culprit.dropped_graph
    assert "op 'sin'" in str(caught.value)


def test_the_same_root_twice_sums_its_seeds_as_pytorch_does():
    rng = np.random.default_rng(0)
    data, g1, g2 = (rng.standard_normal((2, 3)) for _ in range(3))
    x = mf.Node(data, requires_grad=True)
    y = mf.sin(x) * x
    (ours,) = mf.grad([y, y], [x], [g1, g2])
    t = torch.tensor(data, requires_grad=True)
    ty = torch.sin(t) * t
    (theirs,) = torch.autograd.grad([ty, ty], [t], [torch.tensor(g1), torch.tensor(g2)])
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
    (single,) = mf.grad(y, [x], g1 + g2)
    np.testing.assert_allclose(ours.numpy(), single.numpy(), rtol=1e-12)


def test_verify_checks_second_order_against_pytorch(broken_rule, capsys):
    """logdet's rule without its transpose: right wherever A is symmetric (its cases are SPD),
    and its graph's derivative agrees with finite differences of that same rule — only
    PyTorch's Hessian-vector products show it."""
    broken_rule("logdet", 0, lambda G, Y, A: G * mf.inv(A))
    status = main(["verify", "--op", "logdet"])
    out = capsys.readouterr().out
    assert status == 1 and "Hessian-vector products differ from PyTorch's" in out


# ---- the points where a derivative is a convention (op_edges.py) ---------------------------
from matrixflow.ops.base import value  # noqa: E402
from matrixflow.verification.op_edges import EDGE_CASES, check_edge  # noqa: E402


@pytest.mark.parametrize("op, position, bad", [
    ("pow", 0, lambda G, Y, A, exponent: G * exponent * value(A) ** (exponent - 1)),  # 0·0⁻¹
    ("leaky_relu", 0, lambda G, Y, A, negative_slope:  # the slope at 0 taken from the right
     G * np.where(value(A) >= 0, 1.0, negative_slope)),
    ("max", 0, lambda G, Y, A, axis=None:  # every tie gets the whole gradient
     G * (value(A) == value(Y))),
    ("relu", 0, lambda G, Y, A: G * (value(A) >= 0)),  # the kink counted as the right side
])
def test_a_rule_wrong_only_at_its_edge_fails_verify(broken_rule, capsys, op, position, bad):
    with np.errstate(all="ignore"):
        broken_rule(op, position, bad)
        status = main(["verify", "--op", op])
    out = capsys.readouterr().out
    assert status == 1 and "where the convention says" in out, out


def test_every_op_with_a_convention_has_its_edge_cases():
    covered = {case.op for case in EDGE_CASES}
    assert {"pow", "relu", "abs", "leaky_relu", "clamp", "max", "max_pool", "det", "logdet",
            "sqrt"} <= covered


@pytest.mark.parametrize("case", EDGE_CASES, ids=[c.label for c in EDGE_CASES])
def test_each_convention_holds_and_is_pytorchs_where_it_says_so(case):
    mine, theirs, problem = check_edge(case, torch)
    assert mine and theirs is not False, problem
    assert (theirs is True) == (case.twin is not None)
    if case.twin is None:
        assert case.torch_differs  # a difference from PyTorch is written down, with why


@pytest.mark.parametrize("op, position, bad", [
    ("add", 1, lambda G, Y, A, B: G.T),                 # a broadcasting op, transposed
    ("mul", 0, lambda G, Y, A, B: (G * B)[:1]),         # broadcast-shaped, but not Ȳ's shape
    ("exp", 0, lambda G, Y, A: (G * Y).T),
    ("matmul", 0, lambda G, Y, A, B: (G @ B.T)[:, :1]),
])
def test_a_wrong_shape_rule_is_named_by_gradcheck_not_its_neighbour(broken_rule, op, position,
                                                                      bad):
    broken_rule(op, position, bad)
    rng = np.random.default_rng(0)
    x, w = (mf.Node(rng.standard_normal((3, 2)), requires_grad=True) for _ in range(2))
    with pytest.raises(mf.GradcheckError, match=rf"{op}: the rule for operand") as caught:
        mf.gradcheck(lambda x, w: mf.sum(mf.tanh(mf.exp(x) * w + x) @ np.ones((2, 2))), [x, w])
    assert caught.value.culprit.op == op


def test_without_pytorch_the_second_order_is_checked_by_the_forward(broken_rule, capsys):
    """The same planted logdet rule, with PyTorch left out: second differences of the forward
    (not of the rule) show that its graph has the wrong derivative."""
    broken_rule("logdet", 0, lambda G, Y, A: G * mf.inv(A))
    status = main(["verify", "--op", "logdet", "--no-torch"])
    out = capsys.readouterr().out
    assert status == 1 and "✗ 2×2: second order" in out


def test_the_cases_leave_no_room_for_a_hidden_transpose_or_a_normalised_target():
    from matrixflow.verification.op_checks import cases_for

    logdet = cases_for("logdet")
    assert any(c.inputs[0].shape[0] > 1 and not np.allclose(c.inputs[0], c.inputs[0].T)
               and np.linalg.det(c.inputs[0]) > 0 for c in logdet)
    soft = [c for c in cases_for("cross_entropy") if len(c.inputs) == 2]
    assert any(not np.allclose(c.inputs[1].sum(axis=1), 1.0) for c in soft)


def test_logdet_without_its_transpose_fails_on_the_non_symmetric_cases(broken_rule, capsys):
    broken_rule("logdet", 0, lambda G, Y, A: G * mf.inv(A))
    assert main(["verify", "--op", "logdet", "--no-torch"]) == 1
    out = capsys.readouterr().out
    assert "positive determinant: finite differences" in out


def test_cross_entropy_without_its_row_sums_fails_on_soft_targets(broken_rule, capsys):
    """P − T in place of P ⊙ (T·1·1ᵀ) − T: right wherever the rows of T sum to 1."""
    from matrixflow.ops.losses import _scale, softmax

    broken_rule("cross_entropy", 0, lambda G, Y, A, T, reduction, one_hot:
                _scale(G, reduction, A.shape[0]) * (softmax(A, 1) - T))
    assert main(["verify", "--op", "cross_entropy", "--no-torch"]) == 1
    assert "targets not summing to 1: finite differences" in capsys.readouterr().out
