"""The `matrixflow` command.

    matrixflow verify [--op NAME ...] [--seed N] [--no-torch] [--json]
        check every op of the table: backward against central finite differences (first and
        second order, float64) and, when PyTorch is importable, values and gradients against
        PyTorch in float64; one row per op (--json: one JSON document on stdout instead, for
        CI logs); exit status 1 on any failure.
    matrixflow ops
        print the op table (differential and rules) as Markdown.
    matrixflow explain "EXPR" --wrt X [--shape X=3x2 ...] [--seed N] [--answer "EXPR"]
        the derivative of a scalar expression (trace(X.T @ A @ X), a.T @ inv(X) @ b, ...):
        how backward gets it, op by op; its closed form, simplified (Unicode and LaTeX);
        and a check of that closed form on random numbers inside the expression's domain
        (finite differences on at most 200 entries). Exit status 2 for a mistake in the
        expression or the options.
    matrixflow serve [--host H] [--port N]
        the page (needs the web extra, Flask): type an expression, its shapes and a variable
        and see the closed form typeset, the worked derivation, the tree with each node's
        adjoint, the numeric check and a verdict on your own answer; one local server on
        127.0.0.1:8000 by default (--port 0 picks a free port), its address printed.
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
from .teaching.explain_command import parse_shapes as _parse_shapes
from .verification.op_table import ops_in_table_order, verify


def _non_negative(text):
    """argparse type of --seed: NumPy seeds are integers ≥ 0."""
    try:
        number = int(text)
    except ValueError:
        number = -1
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be an integer ≥ 0 (a NumPy seed), got {text!r}")
    return number


def _port(text):
    """argparse type of --port: 0 (any free port) to 65535."""
    try:
        number = int(text)
    except ValueError:
        number = -1
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port from 0 to 65535, got {text!r}")
    return number


def _serve(host, port) -> int:
    try:
        from .web.server import serve
    except ImportError as exc:  # Flask missing: say which extra to install
        print(f"matrixflow serve: {exc}", file=sys.stderr)
        return 2
    try:
        serve(host, port)
    except OSError as exc:  # the port is taken, the address is not this machine's
        print(f"matrixflow serve: cannot listen on {host}:{port}: {exc.strerror or exc}; "
              "try another --port (0 picks a free one)", file=sys.stderr)
        return 1
    return 0


def op_table_markdown() -> str:
    """The op table as Markdown: op, differential, rule per operand, and the conventions at the
    points where its derivative is a choice (verification/op_edges.py, checked by verify)."""
    from .verification.op_edges import edge_cases_for

    lines = ["| family | op | Y | differential | gradients | at its edges |",
             "| --- | --- | --- | --- | --- | --- |"]
    for op in ops_in_table_order():
        rules = "; ".join(rule.result for rule in op.rules)
        edges = "; ".join(f"{case.label}: {case.convention}"
                          + (f" ({case.torch_differs})" if case.torch_differs else "")
                          for case in edge_cases_for(op.name)) or "—"
        cells = [op.family, f"`{op.name}`", op.summary, op.differential, rules, edges]
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
    check.add_argument("--json", action="store_true",
                       help="print one JSON document (ok, seed, torch, one entry per op with "
                            "its errors and failures) instead of the table, for CI logs")
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
    page = commands.add_parser("serve", help="the page: derive and check gradients in a "
                                             "browser (needs matrixflow[web])")
    page.add_argument("--host", default="127.0.0.1",
                      help="the address to bind (default 127.0.0.1: this machine only)")
    page.add_argument("--port", type=_port, default=8000,
                      help="the port (default 8000; 0 picks a free one)")
    demo = commands.add_parser("demo", help="train both estimators on real data and score "
                                            "them against a naive forecast")
    demo.add_argument("--png", default="matrixflow-demo.png",
                      help="where to save the plot: a file, or a folder to save "
                           "matrixflow-demo.png in")
    args = parser.parse_args(argv)
    try:
        if args.command == "verify":
            return verify(args.op, args.seed, args.no_torch, as_json=args.json)
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
        if args.command == "serve":
            return _serve(args.host, args.port)
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
