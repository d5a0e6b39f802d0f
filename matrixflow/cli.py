"""The `matrixflow` command.

    matrixflow verify [--op NAME ...] [--seed N] [--no-torch]
        check every op of the table: backward against central finite differences (first and
        second order, float64) and, when PyTorch is importable, values and gradients against
        PyTorch in float64; one row per op; exit status 1 on any failure.
    matrixflow ops
        print the op table (differential and rules) as Markdown.
    matrixflow explain "EXPR" --wrt X [--shape X=3x2 ...] [--seed N] [--answer "EXPR"]
        the derivative of a scalar expression (trace(X.T @ A @ X), a.T @ inv(X) @ b, ...):
        how backward gets it, op by op; its closed form, simplified (Unicode and LaTeX);
        and a check of that closed form on random numbers inside the expression's domain
        (finite differences on at most 200 entries). Exit status 2 for a mistake in the
        expression or the options.
    matrixflow demo [--png PATH]
        train MLPRegressor and RNNRegressor on the yearly sunspot numbers and print their
        held-out R² and RMSE beside the persistence forecast and a linear autoregression (a PNG of
        the loss curves and forecasts when matplotlib is installed).
"""

from __future__ import annotations

import argparse
import os
import sys

from .ops import REGISTRY
from .teaching.explain_command import explain_expression
from .verification.op_table import ops_in_table_order, verify


def _parse_shapes(items):
    shapes = {}
    for item in items or []:
        name, _, text = item.partition("=")
        parts = text.lower().replace("×", "x").split("x")
        if not name or len(parts) != 2 or not all(p.isdigit() for p in parts):
            raise ValueError(f"--shape wants NAME=ROWSxCOLS, got {item!r}")
        if name in shapes:
            raise ValueError(f"--shape gives {name} twice ({name}={shapes[name][0]}x"
                             f"{shapes[name][1]} and {item}); give it once")
        rows, cols = int(parts[0]), int(parts[1])
        if rows < 1 or cols < 1:
            raise ValueError(f"--shape {item}: a matrix needs at least one row and one "
                             "column")
        shapes[name] = (rows, cols)
    return shapes


def _non_negative(text):
    """argparse type of --seed: NumPy seeds are integers ≥ 0."""
    try:
        number = int(text)
    except ValueError:
        number = -1
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be an integer ≥ 0 (a NumPy seed), got {text!r}")
    return number


def op_table_markdown() -> str:
    """The op table as Markdown: op, differential, rule per operand."""
    lines = ["| family | op | Y | differential | gradients |", "| --- | --- | --- | --- | --- |"]
    for op in ops_in_table_order():
        rules = "; ".join(rule.result for rule in op.rules)
        cells = [op.family, f"`{op.name}`", op.summary, op.differential, rules]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="matrixflow", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("verify", help="check every op's gradient (finite differences, "
                                               "PyTorch when importable)")
    check.add_argument("--op", action="append", choices=sorted(REGISTRY), metavar="NAME",
                       help="check only this op (repeatable)")
    check.add_argument("--seed", type=_non_negative, default=0,
                       help="seed of the random inputs")
    check.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    commands.add_parser("ops", help="print the op table as Markdown")
    explain = commands.add_parser("explain", help="derive a scalar expression's gradient, "
                                                  "step by step, in closed form, checked")
    explain.add_argument("expression", help='e.g. "trace(X.T @ A @ X)"')
    explain.add_argument("--wrt", required=True, help="the matrix to differentiate by")
    explain.add_argument("--shape", action="append", metavar="NAME=RxC",
                         help="a matrix's shape (default 3×1 for lower-case names, 3×3 else)")
    explain.add_argument("--seed", type=_non_negative, default=0,
                         help="seed of the numeric check")
    explain.add_argument("--answer", metavar="EXPR",
                         help="your gradient, checked against the true one (exit status 1 "
                              "when wrong), e.g. \"A @ X + A.T @ X\"")
    demo = commands.add_parser("demo", help="train both estimators on real data and score "
                                            "them against a naive forecast")
    demo.add_argument("--png", default="matrixflow-demo.png",
                      help="where to save the plot: a file, or a folder to save "
                           "matrixflow-demo.png in")
    args = parser.parse_args(argv)
    try:
        if args.command == "verify":
            return verify(args.op, args.seed, args.no_torch)
        if args.command == "explain":
            from .teaching.expression import ExpressionError

            try:
                return explain_expression(args.expression, args.wrt,
                                          _parse_shapes(args.shape), args.seed,
                                          answer=args.answer)
            except OverflowError:  # 9 ** 9 ** 9: no float holds it
                print("matrixflow explain: a number in the expression is too large for a "
                      "float (above about 1.8e308)", file=sys.stderr)
                return 2
            except (ExpressionError, ValueError, KeyError, TypeError, IndexError) as exc:
                # a mistake in the expression or the shapes: one line, no traceback
                message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
                print(f"matrixflow explain: {message}", file=sys.stderr)
                return 2
        if args.command == "demo":
            from .models import demo as demo_module  # scikit-learn: loaded only for the demo

            try:
                demo_module.run(args.png)
            except (OSError, ValueError) as exc:
                print(f"matrixflow demo: {str(exc).removeprefix('demo: ')}", file=sys.stderr)
                return 1
            return 0
        print(op_table_markdown())
        return 0
    except BrokenPipeError:  # `matrixflow verify | head`: the reader left; stop quietly
        sys.stdout = open(os.devnull, "w")
        return 1


if __name__ == "__main__":
    sys.exit(main())
