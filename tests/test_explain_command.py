"""`matrixflow explain "EXPR" --wrt X`: walk, closed form and numeric check, on expressions."""

import io
import subprocess
import sys

import pytest

from matrixflow import cli
from matrixflow.teaching import explain_command, expression


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
    assert "LaTeX: " in output and "How backward gets there, step by step" in output
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


@pytest.mark.parametrize("text, message", [
    ("tr(X, X)", "tr(X, X): tr takes 1 argument, tr(x); got 2"),
    ("solve(X)", "solve(X): solve takes 2 arguments, solve(a, b); got 1"),
    ("exp(X, X)", "exp(X, X): exp takes 1 argument, exp(x); got 2"),
    ("sum(exp(X), 0, 1)", "sum takes 1 or 2 arguments, sum(x[, axis]); got 3"),
    ("sum(leaky_relu(X, X))", "leaky_relu(…): negative_slope must be a number"),
    ("sum(X, 0.5)", "sum(…): axis must be 0 (down the rows) or 1 (across the columns)"),
    ("sum(X, X)", "sum(…): axis must be 0"),
    ("sum(softmax(X, X))", "softmax(…): axis must be 0"),
    ("mse_loss(X, X, 'avg')", "reduction must be 'mean', 'sum' or 'none'"),
    ("sum(concat(X, 0))", "nodes must be a list of matrices"),
    ("sum(reshape(X, 0, 9))", "rows must be a positive integer"),
    ("sum(X[0.5])", "an index is made of integers and slices"),
    ("1e400 * tr(X)", "1e400 is not a finite number"),
])
def test_wrong_arguments_are_one_line_errors_with_exit_status_2(text, message, capsys):
    assert cli.main(["explain", text, "--wrt", "X"]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"matrixflow explain: {captured.err.split(': ', 1)[1]}"
    assert message in captured.err and "Traceback" not in captured.err
    assert captured.err.count("\n") == 1 and captured.out == ""


@pytest.mark.parametrize("text, wrt, shapes", [
    ("sum(log(X))", "X", []),
    ("sum(sqrt(X))", "X", []),
    ("sum(log(x))", "x", []),
    ("sum(log(x - m))", "x", []),  # positive x and m, redrawn until x > m
    ("tr(X) ** 0.5", "X", []),
    ("logdet(A @ X @ B)", "X", []),
    ("sum(A / X)", "X", []),
])
def test_check_values_are_drawn_inside_every_functions_domain(text, wrt, shapes):
    code, output = run(text, wrt, *shapes)
    assert code == 0, output
    assert "they agree" in output


def test_values_outside_the_domain_are_said_so_not_called_a_disagreement():
    code, output = run("tr(X) / 0", "X")
    assert code == 1
    assert "Not checked" in output and "op 'div'" in output and "outside its domain" in output
    assert "DISAGREE" not in output


@pytest.mark.parametrize("text, wrt", [
    ("tr(A @ X)", "X"),                    # Aᵀ: a missing transpose shows only if A ≠ Aᵀ
    ("logdet(X)", "X"),                    # X⁻ᵀ against X⁻¹
    ("a.T @ inv(X) @ b", "X"),
    ("tr(X @ X @ A)", "X"),
])
def test_a_transposed_closed_form_is_caught(text, wrt, monkeypatch):
    from matrixflow.teaching.symbolic.expr import transpose

    assert run(text, wrt)[0] == 0
    right = explain_command.grad_of

    def transposed(f, x):  # a closed form with its transpose wrong, as a slip would leave it
        (gradient,) = right(f, x)
        gradient.data = transpose(gradient.data).simplify()
        return (gradient,)

    monkeypatch.setattr(explain_command, "grad_of", transposed)
    code, output = run(text, wrt)
    assert code == 1 and "THEY DISAGREE" in output


def test_a_large_matrix_gets_finite_differences_on_a_random_subset():
    code, output = run("sum(X * X) + tr(A @ X)", "X", "X=40x40", "A=40x40")
    assert code == 0 and "they agree" in output
    assert f"on {explain_command.FD_ENTRIES} of its 1600 entries, chosen at random" in output


@pytest.mark.parametrize("argv, message", [
    (["--shape", "X=0x3"], "--shape X=0x3: a matrix needs at least one row and one column"),
    (["--shape", "x=3x3"], "--shape names x, which the expression does not use; its names "
                           "are X, A"),
    (["--shape", "X=3x3", "--shape", "X=2x2"], "--shape gives X twice"),
])
def test_shape_arguments_are_checked_before_anything_runs(argv, message, capsys):
    assert cli.main(["explain", "tr(X @ A)", "--wrt", "X", *argv]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.out == ""


@pytest.mark.parametrize("command", [["explain", "tr(X @ X)", "--wrt", "X"], ["verify"]])
def test_a_negative_seed_is_refused_up_front_naming_the_option(command, capsys):
    with pytest.raises(SystemExit) as caught:
        cli.main([*command, "--seed", "-1"])
    assert caught.value.code == 2
    captured = capsys.readouterr()
    assert "argument --seed: must be an integer ≥ 0" in captured.err and captured.out == ""


def test_a_matrix_named_I_is_refused_as_the_identity_would_print_the_same():
    with pytest.raises(ValueError, match="the name I is the identity matrix"):
        run("tr(I @ X)", "X")


@pytest.mark.parametrize("text, wrt, shapes, closed", [
    ("cross_entropy(Z, T)", "Z", ["Z=4x3", "T=4x3"], None),
    ("binary_cross_entropy_with_logits(X, T)", "X", [], None),
    ("mse_loss(X @ w, y)", "w", ["X=5x3", "y=5x1"], None),
    ("l1_loss(X, Y, 'sum')", "X", [], "sign(X − Y)"),
    ("huber_loss(X, Y, 'mean', 0.5)", "X", [], None),
    ("sum(concat([A, B], 1) ** 2)", "A", ["A=3x2", "B=3x1"], None),
    ("sum(exp(reshape(X, 1, -1)))", "X", ["X=2x3"], None),
    ("sum(X[0:2, 1] ** 2)", "X", [], None),
    ("sum(exp(X[:, -1]))", "X", [], None),
    # the image and layer ops
    ("sum(max_pool(X, (1, 4, 4), 2) ** 2)", "X", ["X=2x16"], None),
    ("sum(max_pool(X, (2, 3, 3), (2, 1), 1, (1, 0)))", "X", ["X=3x18"], None),
    ("sum(im2col(X, (1, 4, 4), 3, 1, 1) @ W)", "X", ["X=2x16", "W=9x2"],
     "col2im(1Wᵀ, image_shape=(1, 4, 4), kernel=(3, 3), stride=(1, 1), padding=(1, 1))"),
    ("sum(col2im(P, (1, 4, 4), 2, 2) ** 2)", "P", ["P=8x4"], None),
    ("sum(dropout(X) * A)", "X", ["X=2x3", "A=2x3"], "2(A ⊙ M)"),
    ("sum(dropout(X, 0.25, 3) ** 2)", "X", ["X=4x5"], None),
    ("sum(batch_norm(X) * A)", "X", ["X=4x3", "A=4x3"], None),
    ("sum(batch_norm(X, 0.1) ** 3)", "X", ["X=5x2"], None),
])
def test_losses_structure_layer_and_image_functions_and_indexing_in_the_language(text, wrt,
                                                                                shapes, closed):
    code, output = run(text, wrt, *shapes)
    assert code == 0, output
    assert "they agree" in output
    if closed is not None:
        assert f"∂f/∂{wrt} = {closed}\n" in output


@pytest.mark.parametrize("text, message", [
    ("sum(max_pool(X, (1, 4), 2))", "max_pool(…): image_shape must be (channels, height, "
     "width), three positive integers"),
    ("sum(max_pool(X, (1, 4, 4), 0))", "max_pool(…): kernel_size must be a positive integer "
     "or a pair"),
    ("sum(im2col(X, (1, 4, 4), 2, 1, -1))", "im2col(…): padding must be an integer ≥ 0"),
    ("sum(im2col(X, (1, 4, 4), 2, X))", "im2col(…): stride must be a positive integer"),
    ("sum(col2im(X))", "col2im takes 3 to 5 arguments"),
    ("sum(dropout(X, 2))", "dropout(…): p must be a probability from 0 to 1"),
    ("sum(dropout(X, 0.5, 0.5))", "dropout(…): seed must be an integer ≥ 0"),
    ("sum(batch_norm(X, X))", "batch_norm(…): eps must be a number"),
    ("sum(max_pool(X, (1, 4, 4), 2))", "max_pool: image_shape (1, 4, 4) has 16 entries per "
     "image, but the matrix (3, 3) has 3 columns"),
])
def test_wrong_image_and_layer_arguments_are_one_line_errors(text, message, capsys):
    assert cli.main(["explain", text, "--wrt", "X"]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.err.count("\n") == 1 and captured.out == ""


def test_integer_powers_of_numbers_overflow_at_once_instead_of_hanging(capsys):
    from matrixflow.cli import main

    code = main(["explain", "sum(X) * 9 ** 9 ** 9", "--wrt", "X", "--shape", "X=2x2"])
    assert code == 2 and "too large for a float" in capsys.readouterr().err


@pytest.mark.parametrize("answer, code, verdict", [
    ("A @ X + A.T @ X", 0, "right: (A + Aᵀ)X is ∂f/∂X"),
    ("A @ X", 1, "wrong: missing term — the term AᵀX is missing"),
    ("X.T @ (A + A.T)", 1, "wrong: transposed — your answer is 2×3, the gradient 3×2"),
])
def test_an_answer_is_checked_after_the_derivation(answer, code, verdict):
    out = io.StringIO()
    got = cli.explain_expression("trace(X.T @ A @ X)", "X", cli._parse_shapes(["X=3x2"]), 0,
                                 out=out, answer=answer)
    assert got == code
    text = out.getvalue()
    assert "they agree" in text
    assert f"\nYour answer {answer}:\n{verdict}" in text


def test_the_answer_flag_through_the_command_line(capsys):
    assert cli.main(["explain", "logdet(X)", "--wrt", "X", "--answer", "inv(X)"]) == 1
    assert "wrong: transposed — your answer is (the gradient)ᵀ" in capsys.readouterr().out
    assert cli.main(["explain", "logdet(X)", "--wrt", "X", "--answer", "inv(X).T"]) == 0
    assert cli.main(["explain", "logdet(X)", "--wrt", "X", "--answer", "inv(Y)"]) == 2
    assert "--answer uses Y" in capsys.readouterr().err
