"""`matrixflow explain "EXPR" --wrt X`: walk, closed form and numeric check, on expressions."""

import io
import subprocess
import sys

import pytest

from matrixflow import cli, expression


def run(text, wrt, *shapes, seed=0):
    out = io.StringIO()
    code = cli.explain_expression(text, wrt, cli._parse_shapes(shapes), seed, out=out)
    return code, out.getvalue()


@pytest.mark.parametrize("text, wrt, shapes, closed", [
    ("trace(X.T @ A @ X)", "X", ["X=3x2"], "(A + Aᵀ)X"),
    ("a.T @ inv(X) @ b", "X", [], "−X⁻ᵀabᵀX⁻ᵀ"),
    ("logdet(X)", "X", [], "X⁻ᵀ"),
    ("sum((X @ w - y) ** 2)", "w", ["X=5x3", "y=5x1"], "2Xᵀ(Xw − y)"),
    ("a.T @ exp(X @ b)", "X", ["X=3x2", "b=2x1"], "(a ⊙ exp(Xb))bᵀ"),
])
def test_the_readme_examples(text, wrt, shapes, closed):
    code, output = run(text, wrt, *shapes)
    assert code == 0
    assert f"∂f/∂{wrt} = {closed}\n" in output
    assert "LaTeX: " in output and "How backward gets there:" in output
    assert "they agree" in output


@pytest.mark.parametrize("text, wrt, shapes", [
    ("trace(A @ inv(X) @ B)", "X", []),
    ("sum(log(sigmoid(X @ w)))", "w", ["X=6x3"]),
    ("det(X @ X.T)", "X", ["X=3x3"]),
    ("sum(softmax(X) * A)", "X", ["X=2x4", "A=2x4"]),
    ("-0.5 * logdet(S) - 0.5 * (x - m).T @ solve(S, x - m)", "S", []),
    ("sum(tanh(W @ x + b) ** 2)", "W", ["W=4x3", "b=4x1"]),
    ("trace(X.T @ X) / 2 + sum(abs(X))", "X", ["X=2x2"]),
])
def test_expressions_from_elsewhere_check_out(text, wrt, shapes):
    code, output = run(text, wrt, *shapes, seed=3)
    assert code == 0, output
    assert "they agree" in output


@pytest.mark.parametrize("text, wrt, message", [
    ("trace(X @ Y", "X", "cannot parse"),
    ("__import__('os').system('true')", "X", "unknown function"),
    ("X.shape", "X", "only .T is allowed"),
    ("X @ Y", "X", "not a scalar"),
    ("trace(X)", "Y", "'Y' does not appear"),
    ("trace([X][0])", "X", "is not allowed in an expression"),
    ("trace", "trace", "is a function"),
])
def test_bad_expressions_are_refused_with_a_reason(text, wrt, message):
    with pytest.raises((expression.ExpressionError, ValueError), match=message):
        run(text, wrt)


def test_the_console_command(capsys):
    assert cli.main(["explain", "trace(X.T @ A @ X)", "--wrt", "X", "--shape", "X=3x2"]) == 0
    assert "∂f/∂X = (A + Aᵀ)X" in capsys.readouterr().out
    assert cli.main(["explain", "X @ X", "--wrt", "X"]) == 2
    assert "not a scalar" in capsys.readouterr().err
    result = subprocess.run([sys.executable, "-m", "matrixflow", "explain", "logdet(X)",
                             "--wrt", "X", "--shape", "X=bad"], capture_output=True, text=True)
    assert result.returncode != 0 and "NAME=ROWSxCOLS" in result.stderr + result.stdout
