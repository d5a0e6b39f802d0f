"""`matrixflow verify`: every op of the table checked, one row per op.

Each op's cases (`op_cases`) are checked by `op_checks`: backward against central finite
differences (first and second order, float64) and, when PyTorch is importable, values and
gradients against PyTorch in float64.  Exit status 1 on any failure.  Each op's results are
one dict (`op_row`), printed as a row of the table or, for CI logs, gathered into one JSON
document (`json_document`, `matrixflow verify --json`).
"""

from __future__ import annotations

import importlib
import json
import math
import sys
import time

from ..ops import REGISTRY
from . import op_checks
from .op_checks import cases_for
from .op_edges import check_edge, edge_cases_for

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


def _strict(value):
    """`value` with every non-finite float (a case that could not run) as None, so the document
    stays strict JSON that every CI tool parses; the failure message says what happened."""
    if isinstance(value, dict):
        return {key: _strict(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_strict(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _failure_messages(outcomes):
    """One line per failing case: its shapes, which checks failed, and why when known."""
    messages = []
    for outcome in outcomes:
        if not outcome.ok:
            checks = [name for name, good in (("finite differences", outcome.fd_ok),
                                              ("second order", outcome.second_order_ok),
                                              ("PyTorch", outcome.torch_ok))
                      if good is False]
            detail = f" ({outcome.problem})" if outcome.problem else ""
            messages.append(f"{outcome.case.label}: {', '.join(checks)}{detail}")
    return messages


def op_row(op_name, seed=0, torch=None) -> dict:
    """Every case of one op checked: the facts of its row of the table, as a JSON-ready dict."""
    outcomes = [op_checks.check_case(case, torch) for case in cases_for(op_name, seed)]
    edges = [check_edge(case, torch) for case in edge_cases_for(op_name)]
    torch_abs = max((o.torch_abs for o in outcomes if o.torch_abs is not None), default=None)
    torch_rel = max((o.torch_rel for o in outcomes if o.torch_rel is not None), default=None)
    return {
        "op": op_name, "cases": len(outcomes), "shapes": [o.case.label for o in outcomes],
        "first_order": {"max_abs_error": max(o.fd_abs for o in outcomes),
                        "max_rel_error": max(o.fd_rel for o in outcomes),
                        "ok": all(o.fd_ok for o in outcomes)},
        "second_order": {"ok": all(o.second_order_ok for o in outcomes)},
        "torch": None if torch is None else {
            "max_abs_error": torch_abs, "max_rel_error": torch_rel,
            "ok": all(o.torch_ok is not False for o in outcomes)},
        # the points where the derivative is a convention (op_edges.py): kinks, ties, zeros
        "edges": {"cases": len(edges), "ok": all(mine and theirs is not False
                                                 for mine, theirs, _ in edges)},
        "ok": all(o.ok for o in outcomes) and all(mine and theirs is not False
                                                  for mine, theirs, _ in edges),
        "failures": _failure_messages(outcomes) + [problem for _, _, problem in edges
                                                   if problem],
    }


def json_document(rows, seed, torch_status, torch_used, seconds=None) -> dict:
    """`matrixflow verify --json`: the rows and what they were checked with, for CI logs."""
    return {"ok": all(row["ok"] for row in rows), "seed": seed, "torch": torch_used,
            "torch_status": torch_status,
            "tolerances": {"fd_eps": op_checks.FD_EPS, "fd_atol": op_checks.FD_ATOL,
                           "fd_rtol": op_checks.FD_RTOL, "torch_atol": op_checks.TORCH_ATOL,
                           "torch_rtol": op_checks.TORCH_RTOL},
            "seconds": seconds, "ops": _strict(rows)}


def _print_header(torch_status, out):
    print("matrixflow verify: each op's backward against central differences (ε = "
          f"{op_checks.FD_EPS:g}, atol {op_checks.FD_ATOL:g}, rtol {op_checks.FD_RTOL:g}; first "
          "and second order, float64)", file=out)
    print(f"and against PyTorch (float64, atol {op_checks.TORCH_ATOL:g}, rtol "
          f"{op_checks.TORCH_RTOL:g}): {torch_status}", file=out)
    print("Relative errors count only the entries whose reference exceeds atol.\n", file=out)
    header = (f"{'op':<34} {'shapes tried':<44} {'FD abs':>8} {'FD rel':>8} {'2nd ord':>7} "
              f"{'torch abs':>9} {'torch rel':>9}  result")
    print(header, file=out)
    print("-" * len(header), file=out)


def _print_row(row, out):
    torch_part = row["torch"] or {}
    print(f"{row['op']:<34} {_shapes_tried(row['shapes']):<44} "
          f"{_format_error(row['first_order']['max_abs_error']):>8} "
          f"{_format_error(row['first_order']['max_rel_error']):>8} "
          f"{'pass' if row['second_order']['ok'] else 'FAIL':>7} "
          f"{_format_error(torch_part.get('max_abs_error')):>9} "
          f"{_format_error(torch_part.get('max_rel_error')):>9}  "
          f"{'pass' if row['ok'] else 'FAIL'}", file=out)
    for message in row["failures"]:
        print(f"    ✗ {message}", file=out)


def verify(names=None, seed=0, no_torch=False, out=None, as_json=False) -> int:
    """Run every check of the named ops (all by default); print the table (or, with `as_json`,
    one JSON document and nothing else on `out`); 0 when all pass."""
    out = out or sys.stdout
    torch, torch_status = _load_torch(no_torch)
    selected = ops_in_table_order() if not names else [REGISTRY[n] for n in names]
    if not as_json:
        _print_header(torch_status, out)
    rows = []
    started = time.perf_counter()
    for op in selected:
        rows.append(op_row(op.name, seed, torch))
        if not as_json:
            _print_row(rows[-1], out)
    seconds = time.perf_counter() - started
    failed = [row["op"] for row in rows if not row["ok"]]
    if as_json:
        document = json_document(rows, seed, torch_status, torch is not None, round(seconds, 3))
        print(json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False), file=out)
        return 1 if failed else 0
    cases = sum(row["cases"] for row in rows)
    print(f"\n{len(selected)} ops, {cases} cases, {seconds:.1f} s: "
          + (f"{len(failed)} FAILED: {', '.join(failed)}" if failed else "all passed"), file=out)
    return 1 if failed else 0
