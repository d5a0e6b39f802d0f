"""The `matrixflow` command: verify's table and exit status, and the op table in the README."""

import io
import subprocess
import sys
from pathlib import Path

import pytest

import matrixflow as mf
from matrixflow import REGISTRY, cli
from matrixflow.ops.base import Rule


def test_verify_prints_one_passing_row_per_op_and_exits_zero():
    out = io.StringIO()
    assert cli.verify(out=out) == 0
    text = out.getvalue()
    rows = [line for line in text.splitlines()
            if line.split(" ")[0] in REGISTRY and len(line.split()) >= 8]
    assert sorted(line.split()[0] for line in rows) == sorted(REGISTRY)
    assert all(line.endswith("pass") for line in rows)
    assert "PyTorch 2.13.0" in text and "all passed" in text
    for column in ("shapes tried", "FD abs", "FD rel", "torch abs", "torch rel", "result"):
        assert column in text


def test_verify_fails_with_a_wrong_rule_and_names_the_op(monkeypatch):
    op = REGISTRY["matmul"]
    wrong = Rule("B", "", "", lambda G, Y, A, B: -(A.T @ G))
    monkeypatch.setattr(op, "rules", (op.rules[0], wrong))
    out = io.StringIO()
    assert cli.verify(["matmul", "add"], out=out) == 1
    text = out.getvalue()
    assert "1 FAILED: matmul" in text
    matmul_row = next(line for line in text.splitlines() if line.startswith("matmul"))
    assert matmul_row.endswith("FAIL")
    assert "✗ 3×4 @ 4×2: finite differences, second order, PyTorch" in text


def test_verify_without_torch_still_checks_finite_differences():
    out = io.StringIO()
    assert cli.verify(["exp"], no_torch=True, out=out) == 0
    assert "skipped (--no-torch)" in out.getvalue()


def test_the_console_script_runs():
    result = subprocess.run([sys.executable, "-m", "matrixflow", "verify", "--op", "solve"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "solve" in result.stdout


def test_an_unknown_op_is_refused():
    with pytest.raises(SystemExit):
        cli.main(["verify", "--op", "no_such_op"])


def test_the_readme_op_table_is_the_registry():
    readme = Path(__file__).resolve().parents[1] / "README.md"
    assert cli.op_table_markdown() in readme.read_text(encoding="utf-8"), (
        "README's op table is out of date: paste the output of `matrixflow ops`"
    )


def test_every_public_function_is_documented():
    for name in mf.__all__:
        obj = getattr(mf, name)
        if callable(obj):
            assert obj.__doc__, name
