"""A hand-written backward's check as text and as a notebook table (handwritten.py's report),
drawn with the tables every report shares (report_view.py)."""

from __future__ import annotations

import numpy as np

from .report_view import format_error, html_block, html_paragraph, html_table, text_table

HEADERS = ["input", "shape", "verdict", "max |error|", "worst entry",
           "reference vs FD", "reference vs PyTorch"]


def _rows(report):
    rows = []
    for check in report.inputs:
        worst = "—" if check.worst is None else (
            f"[{', '.join(map(str, check.worst[0]))}]: yours {check.worst[1]:.6g}, "
            f"reference {check.worst[2]:.6g}")
        rows.append([check.name, "×".join(map(str, check.shape)) or "scalar",
                     "right" if check.right else f"WRONG: {check.diagnosis.kind}",
                     format_error(check.max_abs_error), worst,
                     format_error(check.finite_differences_error),
                     format_error(check.torch_error)])
    return rows


def _headline(report) -> str:
    wrong = report.wrong()
    head = ("your backward is right: every gradient agrees with " if not wrong else
            f"your backward is wrong for {', '.join(c.name for c in wrong)}; the reference is ")
    return f"{head}{report.reference} on {report.draws} draws of the inputs and Ȳ"


def _slip_lines(report) -> list[str]:
    lines = []
    for check in report.wrong():
        d = check.diagnosis
        lines.append(f"{check.name}: {d.kind} — {d.message}")
        if d.counterexample is not None and d.counterexample.entry is not None:
            entry = d.counterexample.entry
            lines.append(f"  e.g. at [{', '.join(map(str, entry))}]: yours "
                         f"{float(np.asarray(d.counterexample.claimed)[entry]):.6g}, true "
                         f"{float(np.asarray(d.counterexample.true)[entry]):.6g}")
    positions = [k for k, c in enumerate(report.inputs)
                 if not c.right and c.diagnosis.kind != "shape"]
    if positions and report.reference.startswith("finite") and report.sweep:
        # the finite differences' step cannot be what disagrees: no ε brings them together
        best = min(report.sweep, key=lambda s: max(s["errors"][k] for k in positions))
        error = max(best["errors"][k] for k in positions)
        if error != float("inf"):
            lines.append(f"(no step hides it: the smallest error over ε = "
                         f"{report.sweep[0]['eps']:g} … {report.sweep[-1]['eps']:g} is "
                         f"{error:.3g}, at ε = {best['eps']:g})")
    return lines + [f"note: {note}" for note in report.notes]


def report_text(report) -> str:
    """The verdict, a table of the inputs, and for each wrong one its slip in words."""
    table = text_table(HEADERS, _rows(report), align="lllrlrr")
    return "\n".join([_headline(report), table, *_slip_lines(report)])


def report_html(report) -> str:
    """The same as an HTML table, for a notebook."""
    return html_block([html_paragraph(_headline(report), strong=True),
                       html_table(HEADERS, _rows(report)),
                       *(html_paragraph(line) for line in _slip_lines(report))])
