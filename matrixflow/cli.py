"""The `matrixflow` command.

    matrixflow verify [--op NAME ...] [--seed N] [--no-torch]
        check every op of the table: backward against central finite differences (first and
        second order, float64) and, when PyTorch is importable, values and gradients against
        PyTorch in float64; one row per op; exit status 1 on any failure.
    matrixflow ops
        print the op table (differential and rules) as Markdown.
    matrixflow explain "EXPR" --wrt X [--shape X=3x2 ...] [--seed N]
        the derivative of a scalar expression (trace(X.T @ A @ X), a.T @ inv(X) @ b, ...):
        how backward gets it, op by op; its closed form, simplified (Unicode and LaTeX);
        and a check of that closed form on random numbers.
    matrixflow demo [--png PATH]
        train MLPRegressor and RNNRegressor on the yearly sunspot numbers and print their
        held-out R² and RMSE beside the persistence forecast and a linear autoregression (a PNG of
        the loss curves and forecasts when matplotlib is installed).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time

from . import opcheck
from .ops import REGISTRY

FAMILIES = ("arithmetic", "matrix", "element-wise", "reduce", "structure", "losses", "layers",
            "images")


def ops_in_table_order():
    """Registry ops grouped by family, in the README's order."""
    return sorted(REGISTRY.values(), key=lambda op: FAMILIES.index(op.family))


def _load_torch(disabled: bool):
    if disabled:
        return None, "skipped (--no-torch)"
    try:
        torch = importlib.import_module("torch")
    except ImportError:
        return None, "not installed: values and gradients checked by finite differences only"
    return torch, f"PyTorch {torch.__version__}"


def _format_error(value):
    if value is None:
        return "—"
    return "0" if value == 0 else f"{value:.1e}"


def _shapes_tried(labels, width=44):
    text = "; ".join(labels)
    return text if len(text) <= width else text[: width - 1] + "…"


def verify(names=None, seed=0, no_torch=False, out=None) -> int:
    """Run every check of the named ops (all by default); print the table; 0 when all pass."""
    out = out or sys.stdout
    torch, torch_status = _load_torch(no_torch)
    selected = ops_in_table_order() if not names else [REGISTRY[n] for n in names]
    print("matrixflow verify: each op's backward against central differences (ε = "
          f"{opcheck.FD_EPS:g}, atol {opcheck.FD_ATOL:g}, rtol {opcheck.FD_RTOL:g}; first and "
          "second order, float64)", file=out)
    print(f"and against PyTorch (float64, atol {opcheck.TORCH_ATOL:g}, rtol "
          f"{opcheck.TORCH_RTOL:g}): {torch_status}", file=out)
    print("Relative errors count only the entries whose reference exceeds atol.\n", file=out)
    header = (f"{'op':<34} {'shapes tried':<44} {'FD abs':>8} {'FD rel':>8} {'2nd ord':>7} "
              f"{'torch abs':>9} {'torch rel':>9}  result")
    print(header, file=out)
    print("-" * len(header), file=out)
    failed = []
    started = time.perf_counter()
    for op in selected:
        outcomes = [opcheck.check_case(case, torch) for case in opcheck.cases_for(op.name, seed)]
        ok = all(o.ok for o in outcomes)
        torch_abs = max((o.torch_abs for o in outcomes if o.torch_abs is not None), default=None)
        torch_rel = max((o.torch_rel for o in outcomes if o.torch_rel is not None), default=None)
        print(f"{op.name:<34} {_shapes_tried([o.case.label for o in outcomes]):<44} "
              f"{_format_error(max(o.fd_abs for o in outcomes)):>8} "
              f"{_format_error(max(o.fd_rel for o in outcomes)):>8} "
              f"{'pass' if all(o.second_order_ok for o in outcomes) else 'FAIL':>7} "
              f"{_format_error(torch_abs):>9} {_format_error(torch_rel):>9}  "
              f"{'pass' if ok else 'FAIL'}", file=out)
        for outcome in outcomes:
            if not outcome.ok:
                checks = [name for name, good in (("finite differences", outcome.fd_ok),
                                                  ("second order", outcome.second_order_ok),
                                                  ("PyTorch", outcome.torch_ok))
                          if good is False]
                detail = f" ({outcome.problem})" if outcome.problem else ""
                print(f"    ✗ {outcome.case.label}: {', '.join(checks)}{detail}", file=out)
        if not ok:
            failed.append(op.name)
    cases = sum(len(opcheck.cases_for(op.name, seed)) for op in selected)
    print(f"\n{len(selected)} ops, {cases} cases, {time.perf_counter() - started:.1f} s: "
          + (f"{len(failed)} FAILED: {', '.join(failed)}" if failed else "all passed"), file=out)
    return 1 if failed else 0


def _parse_shapes(items):
    shapes = {}
    for item in items or []:
        name, _, text = item.partition("=")
        parts = text.lower().replace("×", "x").split("x")
        if not name or len(parts) != 2 or not all(p.isdigit() for p in parts):
            raise SystemExit(f"matrixflow explain: --shape wants NAME=ROWSxCOLS, got {item!r}")
        shapes[name] = (int(parts[0]), int(parts[1]))
    return shapes


def _default_shape(name, size=3):
    """A lower-case name is a column (3×1), an upper-case one a square matrix (3×3)."""
    return (size, 1) if name[:1].islower() else (size, size)


def _numbers_for(shapes, seed):
    """Random values: square matrices symmetric positive definite (so inv and logdet apply),
    the rest standard normal."""
    import numpy as np

    rng = np.random.default_rng(seed)
    values = {}
    for name, (rows, cols) in shapes.items():
        if rows == cols and rows > 1:
            r = rng.standard_normal((rows, rows))
            values[name] = r @ r.T / rows + np.eye(rows)
        else:
            values[name] = rng.standard_normal((rows, cols))
    return values


def explain_expression(text, wrt, shapes=None, seed=0, out=None) -> int:
    """Print the derivative of `text` with respect to `wrt`: the walk, the closed form, a check.
    Returns 0 when the closed form agrees with backward and finite differences."""
    import numpy as np

    from . import calculus, expression
    from .gradcheck import numerical_grad
    from .node import Node
    from .symbolic import symbols

    out = out or sys.stdout
    used = expression.names(text)
    if wrt not in used:
        raise ValueError(f"explain: {wrt!r} does not appear in {text!r} (names: {used})")
    shapes = {name: (shapes or {}).get(name, _default_shape(name)) for name in used}
    leaves = {name: symbols(name, shape=shape, requires_grad=name == wrt)
              for name, shape in shapes.items()}
    f = expression.evaluate(text, leaves)
    if f.shape != (1, 1):
        raise ValueError(f"explain: {text!r} is {f.shape[0]}×{f.shape[1]}, not a scalar; "
                         "wrap it in trace(...) or sum(...)")
    (gradient,) = grad_of(f, leaves[wrt])
    closed = gradient.data
    listing = ", ".join(f"{n}: {r}×{c}" for n, (r, c) in shapes.items())
    print(f"f = {text}   with {listing}", file=out)
    print(f"∂f/∂{wrt} = {closed}", file=out)
    print(f"LaTeX: {closed.latex()}", file=out)
    print("\nHow backward gets there:", file=out)
    print(calculus.explain(f), file=out)

    values = _numbers_for(shapes, seed)
    nodes = {name: Node(value, requires_grad=name == wrt) for name, value in values.items()}
    numeric_f = expression.evaluate(text, nodes)
    numeric_f.backward()
    backward = nodes[wrt].grad
    formula = closed.evaluate(values)
    order = list(values)
    finite = numerical_grad(lambda *xs: expression.evaluate(text, dict(zip(order, xs))),
                            [values[n] for n in order])[order.index(wrt)]
    vs_backward = float(np.abs(formula - backward).max())
    vs_finite = float(np.abs(formula - finite).max())
    agree = np.allclose(formula, backward, rtol=1e-9, atol=1e-12) and np.allclose(
        formula, finite, rtol=1e-4, atol=1e-6)
    print(f"\nChecked on random numbers (seed {seed}): the closed form against backward, max "
          f"|difference| {vs_backward:.1e}; against finite differences, {vs_finite:.1e}: "
          f"{'they agree' if agree else 'THEY DISAGREE'}", file=out)
    return 0 if agree else 1


def grad_of(f, x):
    from .autograd import grad

    return grad(f, [x])


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
    check.add_argument("--seed", type=int, default=0, help="seed of the random inputs")
    check.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    commands.add_parser("ops", help="print the op table as Markdown")
    explain = commands.add_parser("explain", help="derive a scalar expression's gradient, "
                                                  "step by step, in closed form, checked")
    explain.add_argument("expression", help='e.g. "trace(X.T @ A @ X)"')
    explain.add_argument("--wrt", required=True, help="the matrix to differentiate by")
    explain.add_argument("--shape", action="append", metavar="NAME=RxC",
                         help="a matrix's shape (default 3×1 for lower-case names, 3×3 else)")
    explain.add_argument("--seed", type=int, default=0, help="seed of the numeric check")
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
            from .expression import ExpressionError

            try:
                return explain_expression(args.expression, args.wrt,
                                          _parse_shapes(args.shape), args.seed)
            except (ExpressionError, ValueError, KeyError) as exc:
                print(f"matrixflow explain: {exc}", file=sys.stderr)
                return 2
        if args.command == "demo":
            from models import demo as demo_module  # scikit-learn: loaded only for the demo

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
