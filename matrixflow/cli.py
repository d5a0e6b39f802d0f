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


def _default_shape(name, size=3):
    """A lower-case name is a column (3×1), an upper-case one a square matrix (3×3)."""
    return (size, 1) if name[:1].islower() else (size, size)


# Functions whose argument must stay inside a domain: entries > 0, or det > 0 and
# well-conditioned (solve: its first argument).
_POSITIVE = ("log", "sqrt")
_INVERTIBLE = ("inv", "det", "logdet", "solve")


def _domains(text):
    """{name: set of reasons} for names that need positive entries, and for names that need
    invertible values, from where each name appears in the expression."""
    import ast

    from . import expression

    positive, invertible = {}, {}

    def mark(node, table, reason):
        for inner in ast.walk(node):
            if isinstance(inner, ast.Name) and inner.id not in expression.FUNCTIONS:
                table.setdefault(inner.id, set()).add(reason)

    for node in ast.walk(expression.parse(text).body):
        if isinstance(node, ast.Call):
            name = node.func.id
            if name in _POSITIVE:
                mark(node.args[0], positive, name)
            if name in _INVERTIBLE:
                mark(node.args[0], invertible, name)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            mark(node.right, positive, "a division")
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            exponent = expression._literal(node.right)
            if exponent is None or not float(exponent).is_integer() or exponent < 0:
                mark(node.left, positive, "a power")
    return positive, invertible


def _numbers_for(shapes, rng, positive=(), invertible=()):
    """Random values inside the expression's domains.  Square matrices are never symmetric,
    so a closed form with A where Aᵀ belongs (or X⁻¹ for X⁻ᵀ) disagrees on them:

    - names inside inv, det, logdet or solve: 2I + R/√n with R standard normal (its
      eigenvalues lie within about 1 of 2: det > 0, condition number ≲ 3);
    - names inside log, sqrt, a divisor or a fractional power: entries in [0.5, 2] (with a
      dominant diagonal when they must be invertible too);
    - the rest: standard normal."""
    import numpy as np

    values = {}
    for name, (rows, cols) in shapes.items():
        square = rows == cols
        if name in invertible and square and name in positive:
            values[name] = rng.uniform(0.1, 1.0, (rows, rows)) + rows * np.eye(rows)
        elif name in positive or (name in invertible and rows == cols == 1):
            values[name] = rng.uniform(0.5, 2.0, (rows, cols))
        elif name in invertible and square:
            values[name] = 2.0 * np.eye(rows) + rng.standard_normal((rows, rows)) / np.sqrt(rows)
        else:
            values[name] = rng.standard_normal((rows, cols))
    return values


def _describe_draws(shapes, positive, invertible):
    """What was asked of the check values: "x: entries > 0 (log); X: det > 0 (inv)"."""
    parts = []
    for name, (rows, cols) in shapes.items():
        needs = []
        if name in positive:
            needs.append(f"entries > 0 ({', '.join(sorted(positive[name]))})")
        if name in invertible and rows == cols:
            needs.append(f"det > 0, well-conditioned ({', '.join(sorted(invertible[name]))})")
        if needs:
            parts.append(f"{name}: {', '.join(needs)}")
    if any(r == c > 1 for r, c in shapes.values()):
        parts.append("square matrices not symmetric")
    return "; ".join(parts)


FD_ENTRIES = 200  # finite differences on at most this many entries of the matrix differentiated
CHECK_DRAWS = 50  # draws tried before saying the values keep leaving the domain


def _outside_domain(text, values, wrt):
    """None when the expression, backward and the rules are finite on `values`; else why not."""
    import numpy as np

    from . import expression
    from .diagnose import first_nonfinite
    from .node import Node

    order = list(values)
    nodes = [Node(values[n], requires_grad=n == wrt) for n in order]
    try:
        found = first_nonfinite(lambda *xs: expression.evaluate(text, dict(zip(order, xs))),
                                nodes)
    except np.linalg.LinAlgError as exc:
        return str(exc)
    return None if found is None else found.describe()


def _finite_differences(text, values, wrt, entries, eps=1e-6):
    """Central differences of the expression in the chosen flat entries of `wrt`."""
    import numpy as np

    from . import expression
    from .node import Node

    def f(point):
        nodes = {n: Node(point if n == wrt else v) for n, v in values.items()}
        return float(expression.evaluate(text, nodes).numpy()[0, 0])

    base = np.array(values[wrt], dtype=np.float64)
    flat = base.reshape(-1)
    result = np.empty(len(entries))
    for k, i in enumerate(entries):
        original = flat[i]
        flat[i] = original + eps
        plus = f(base)
        flat[i] = original - eps
        minus = f(base)
        flat[i] = original
        result[k] = (plus - minus) / (2 * eps)
    return result


def explain_expression(text, wrt, shapes=None, seed=0, out=None) -> int:
    """Print the derivative of `text` with respect to `wrt`: the walk, the closed form, a check.
    Returns 0 when the closed form agrees with backward and finite differences, 1 when it does
    not or when no check values inside the expression's domain were found."""
    import numpy as np

    with np.errstate(all="ignore"):  # an expression outside its domain is said so below
        return _explain(text, wrt, shapes, seed, out or sys.stdout)


def _explain(text, wrt, shapes, seed, out):
    from . import calculus, expression
    from .symbolic import symbols

    used = expression.names(text)
    if wrt not in used:
        raise ValueError(f"{wrt!r} does not appear in {text!r} (its names: {', '.join(used)})")
    if "I" in used:
        raise ValueError("the name I is the identity matrix in the closed forms printed; call "
                         "your matrix something else (e.g. J)")
    unused = [name for name in (shapes or {}) if name not in used]
    if unused:
        raise ValueError(f"--shape names {', '.join(unused)}, which the expression does not "
                         f"use; its names are {', '.join(used)}")
    shapes = {name: (shapes or {}).get(name, _default_shape(name)) for name in used}
    leaves = {name: symbols(name, shape=shape, requires_grad=name == wrt)
              for name, shape in shapes.items()}
    f = expression.evaluate(text, leaves)
    if f.shape != (1, 1):
        raise ValueError(f"{text!r} is {f.shape[0]}×{f.shape[1]}, not a scalar; "
                         "wrap it in trace(...) or sum(...)")
    (gradient,) = grad_of(f, leaves[wrt])
    closed = gradient.data
    listing = ", ".join(f"{n}: {r}×{c}" for n, (r, c) in shapes.items())
    print(f"f = {text}   with {listing}", file=out)
    print(f"∂f/∂{wrt} = {closed}", file=out)
    print(f"LaTeX: {closed.latex()}", file=out)
    print("\nHow backward gets there:", file=out)
    print(calculus.explain(f), file=out)

    return _check_closed_form(text, wrt, shapes, seed, closed, out)


def _check_closed_form(text, wrt, shapes, seed, closed, out):
    import numpy as np

    from . import expression
    from .node import Node

    positive, invertible = _domains(text)
    problem = None
    for attempt in range(CHECK_DRAWS):
        rng = np.random.default_rng(seed if attempt == 0 else [seed, attempt])
        values = _numbers_for(shapes, rng, positive, invertible)
        problem = _outside_domain(text, values, wrt)
        if problem is None:
            break
    drawn = _describe_draws(shapes, positive, invertible)
    if problem is not None:
        print(f"\nNot checked: {CHECK_DRAWS} draws of random numbers (seed {seed}"
              f"{'; ' + drawn if drawn else ''}) all leave the expression's domain — {problem}; "
              "the closed form above is unverified", file=out)
        return 1
    nodes = {name: Node(value, requires_grad=name == wrt) for name, value in values.items()}
    expression.evaluate(text, nodes).backward()
    backward = nodes[wrt].grad
    formula = closed.evaluate(values)
    size = backward.size
    entries = (np.arange(size) if size <= FD_ENTRIES else
               np.sort(rng.choice(size, FD_ENTRIES, replace=False)))
    finite = _finite_differences(text, values, wrt, entries)
    vs_backward = float(np.abs(formula - backward).max())
    vs_finite = float(np.abs(formula.reshape(-1)[entries] - finite).max())
    agree = np.allclose(formula, backward, rtol=1e-9, atol=1e-12) and np.allclose(
        formula.reshape(-1)[entries], finite, rtol=1e-4, atol=1e-6)
    which = ("" if size <= FD_ENTRIES else
             f" (on {FD_ENTRIES} of its {size} entries, chosen at random)")
    print(f"\nChecked on random numbers (seed {seed}{'; ' + drawn if drawn else ''}): the closed "
          f"form against backward, max |difference| {vs_backward:.1e}; against finite "
          f"differences{which}, {vs_finite:.1e}: {'they agree' if agree else 'THEY DISAGREE'}",
          file=out)
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
