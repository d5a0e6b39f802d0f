"""A hand-written backward's check as text and as a notebook table (handwritten.py's report)."""

from __future__ import annotations

from html import escape

import numpy as np


def _number(x) -> str:
    return "—" if x is None else ("inf" if x == float("inf") else f"{x:.3g}")


def _rows(report):
    rows = []
    for check in report.inputs:
        worst = "—" if check.worst is None else (
            f"[{', '.join(map(str, check.worst[0]))}]: yours {check.worst[1]:.6g}, "
            f"reference {check.worst[2]:.6g}")
        rows.append([check.name, "×".join(map(str, check.shape)) or "scalar",
                     "right" if check.right else f"WRONG: {check.diagnosis.kind}",
                     _number(check.max_abs_error), worst,
                     _number(check.finite_differences_error), _number(check.torch_error)])
    return rows


HEADERS = ["input", "shape", "verdict", "max |error|", "worst entry",
           "reference vs FD", "reference vs PyTorch"]


def report_text(report) -> str:
    """The verdict, a table of the inputs, and for each wrong one its slip in words."""
    wrong = report.wrong()
    head = ("your backward is right: every gradient agrees with " if not wrong else
            f"your backward is wrong for {', '.join(c.name for c in wrong)}; the reference is ")
    lines = [f"{head}{report.reference} on {report.draws} draws of the inputs and Ȳ"]
    rows = [HEADERS, *_rows(report)]
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(HEADERS))]
    for index, row in enumerate(rows):
        lines.append("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths))
                     .rstrip())
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    for check in wrong:
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
    lines += [f"note: {note}" for note in report.notes]
    return "\n".join(lines)


def report_html(report) -> str:
    """The same as an HTML table, for a notebook."""
    cells = "".join(f"<th>{escape(h)}</th>" for h in HEADERS)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>"
                   for row in _rows(report))
    details = "".join(f"<li><b>{escape(c.name)}</b>: {escape(c.diagnosis.kind)} — "
                      f"{escape(c.diagnosis.message)}</li>" for c in report.wrong())
    verdict = escape(report_text(report).splitlines()[0])
    return (f'<div class="matrixflow-backward-check"><p>{verdict}</p><table><thead><tr>{cells}'
            f"</tr></thead><tbody>{body}</tbody></table>"
            + (f"<ul>{details}</ul>" if details else "") + "</div>")
