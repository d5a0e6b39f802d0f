"""`matrixflow verify`: every op of the table checked, one row per op.

Each op's cases (`op_cases`) are checked by `op_checks`: backward against central finite
differences (first and second order, float64) and, when PyTorch is importable, values and
gradients against PyTorch in float64.  Exit status 1 on any failure.
"""

from __future__ import annotations

import importlib
import sys
import time

from ..ops import REGISTRY
from . import op_checks
from .op_checks import cases_for

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
          f"{op_checks.FD_EPS:g}, atol {op_checks.FD_ATOL:g}, rtol {op_checks.FD_RTOL:g}; first "
          "and second order, float64)", file=out)
    print(f"and against PyTorch (float64, atol {op_checks.TORCH_ATOL:g}, rtol "
          f"{op_checks.TORCH_RTOL:g}): {torch_status}", file=out)
    print("Relative errors count only the entries whose reference exceeds atol.\n", file=out)
    header = (f"{'op':<34} {'shapes tried':<44} {'FD abs':>8} {'FD rel':>8} {'2nd ord':>7} "
              f"{'torch abs':>9} {'torch rel':>9}  result")
    print(header, file=out)
    print("-" * len(header), file=out)
    failed = []
    started = time.perf_counter()
    for op in selected:
        outcomes = [op_checks.check_case(case, torch) for case in cases_for(op.name, seed)]
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
    cases = sum(len(cases_for(op.name, seed)) for op in selected)
    print(f"\n{len(selected)} ops, {cases} cases, {time.perf_counter() - started:.1f} s: "
          + (f"{len(failed)} FAILED: {', '.join(failed)}" if failed else "all passed"), file=out)
    return 1 if failed else 0
