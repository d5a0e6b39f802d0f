"""The README tells the truth: its Python blocks run, and its gradcheck report is real."""

import re
from pathlib import Path

import numpy as np

import matrixflow as mf
from matrixflow import REGISTRY
from matrixflow.ops.base import Rule

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_python_block_of_the_readme_runs():
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})


def sin_report(monkeypatch):
    op = REGISTRY["sin"]
    rule = op.rules[0]
    monkeypatch.setattr(op, "rules", (Rule(rule.operand, rule.trace, rule.result,
                                           lambda G, Y, A: G * mf.cos(A) * 1.01),))
    rng = np.random.default_rng(1)
    X = mf.Node(rng.standard_normal((2, 3)), requires_grad=True, name="X")
    W = mf.Node(rng.standard_normal((3, 2)), requires_grad=True)
    try:
        mf.gradcheck(lambda W, X: mf.sum(mf.sin(X) @ W), [W, X])
    except mf.GradcheckError as error:
        return f"GradcheckError: {error}"
    raise AssertionError("gradcheck passed a wrong rule")


def test_the_readme_gradcheck_report_is_what_gradcheck_prints(monkeypatch):
    shown = README.split("<!-- gradcheck-report -->\n```\n")[1].split("\n```")[0]
    assert shown == sin_report(monkeypatch)


def test_the_readme_test_command_is_what_ci_runs():
    command = README.split("<!-- test-command -->\n```sh\n")[1].split("\n```")[0]
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert command in ci
