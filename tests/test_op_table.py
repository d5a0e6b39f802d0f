"""The registry itself: every op has its texts, its checks and a PyTorch twin, and each case
really exercises its op.  A new op without them fails here."""

import pytest

from matrixflow import REGISTRY
from matrixflow.verification import op_checks as opcheck
from matrixflow.verification.op_table import FAMILIES

EXPECTED_OPS = {
    "add", "sub", "neg", "mul", "div", "pow", "rpow",
    "matmul", "transpose", "trace", "inv", "det", "logdet", "solve",
    "exp", "log", "sqrt", "abs", "sin", "cos", "tanh", "sigmoid", "relu", "leaky_relu", "softplus",
    "sum", "mean", "max", "broadcast_to",
    "concat", "getitem", "scatter_add", "reshape", "clone", "where", "clamp",
    "softmax", "log_softmax", "mse_loss", "l1_loss", "huber_loss", "cross_entropy",
    "binary_cross_entropy_with_logits",
    "dropout", "batch_norm",
    "im2col", "col2im", "max_pool",
}


def test_the_registry_holds_every_op_of_the_design_table():
    assert set(REGISTRY) == EXPECTED_OPS


def test_every_op_has_cases_and_every_builder_names_an_op():
    assert set(opcheck.BUILDERS) == set(REGISTRY)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_op_has_its_texts_and_one_or_two_rules(name):
    op = REGISTRY[name]
    assert op.family in FAMILIES
    assert op.summary.strip() and op.differential.strip().startswith("dY")
    assert op.arity in (1, 2) and len(op.rules) == op.arity
    for rule in op.rules:
        assert rule.operand and rule.trace.startswith(("tr(", "Ȳ"))
        assert "=" in rule.result and callable(rule.fn)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_op_is_checked_on_several_cases_with_a_pytorch_twin(name):
    cases = opcheck.cases_for(name)
    assert len(cases) >= 3
    for case in cases:
        assert callable(case.twin)
        assert any(case.differentiable)
        assert len(case.inputs) == len(case.differentiable)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_each_case_builds_a_node_of_its_op(name):
    for case in opcheck.cases_for(name):
        output = case.run(*opcheck.leaves(case))
        assert output.op is REGISTRY[name], case.label


def test_cases_cover_1x1_rows_columns_and_broadcasting():
    labels = " ".join(c.label for c in opcheck.cases_for("add"))
    for pattern in ("3×4 + 1×4", "3×4 + 3×1", "3×4 + 1×1", "1×4 + 3×1", "1×1 + 1×1"):
        assert pattern in labels
    shapes = {c.inputs[0].shape for c in opcheck.cases_for("exp")}
    assert {(1, 1), (1, 4), (4, 1), (4, 2), (2, 5)} <= shapes


def test_cases_are_reproducible_from_the_seed():
    first, again = opcheck.cases_for("matmul", seed=3), opcheck.cases_for("matmul", seed=3)
    other = opcheck.cases_for("matmul", seed=4)
    assert all((a.inputs[0] == b.inputs[0]).all() for a, b in zip(first, again))
    assert not (first[0].inputs[0] == other[0].inputs[0]).all()
