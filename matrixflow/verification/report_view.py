"""Reports one can read and keep: the same dict shown as text, as JSON and as a notebook table.

A check's result stays a plain JSON-serialisable dict (so it can be stored, diffed and compared
with `==`), but a dict printed by Python is a wall of nested lists. `Report` is a `dict`
subclass that keeps every dict behaviour and adds the three views a reader wants: `str(report)`
(text, verdict first), `report.to_json()` (to keep) and `_repr_html_` (a table in Jupyter;
`_repr_pretty_` gives IPython's plain display the text instead of the dict's repr). Every view
is computed from the dict alone, so a report loaded back from its JSON renders the same.

Helpers that any report type may reuse (the hand-written backward check among them):

    text_table(headers, rows, align=None) -> str
        a plain-text table: `headers` a sequence of str, `rows` sequences of cells (any value,
        shown with str()), `align` one 'l' or 'r' per column (default: first column left, the
        rest right, as numbers read best); a rule of dashes under the header.
    html_table(headers, rows, caption=None) -> str
        the same table as one escaped, self-contained <table> (no CSS or JS: notebooks and
        the nbviewer sanitiser strip them), with an optional <caption>.
    html_block(parts) -> str
        HTML fragments (already escaped) inside one <div>, so the whole is well-formed.
    html_paragraph(text, strong=False) -> str
        one escaped <p>, bold when `strong`.
    format_error(value) -> str
        an error for a table: '—' for None, '0' for 0, '1.2e-07' otherwise ('inf', 'nan').
    format_shape(shape) -> str
        [3, 2] as '3×2'.

and the base class `Report(dict)`: a subclass defines `text()` and `html()`; `Report` turns them
into `__str__`, `_repr_html_` and `_repr_pretty_`, and gives `to_json(indent=2)`.
"""

from __future__ import annotations

import html
import json
import math
import textwrap

import numpy as np

WIDTH = 96  # text reports wrap here: a terminal or a CI log shows them without scrolling


# ---- helpers any report may reuse -------------------------------------------------------------
def format_error(value) -> str:
    if value is None:
        return "—"
    value = float(value)
    if math.isnan(value) or math.isinf(value):
        return str(value)
    return "0" if value == 0 else f"{value:.1e}"


def format_shape(shape) -> str:
    return "×".join(str(n) for n in shape)


def text_table(headers, rows, align=None) -> str:
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    align = align or "l" + "r" * (len(headers) - 1)
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row):
        return "  ".join(c.ljust(w) if a == "l" else c.rjust(w)
                         for c, w, a in zip(row, widths, align)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule] + [line(row) for row in cells[1:]])


def html_table(headers, rows, caption=None) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>"
                   for row in rows)
    title = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f"<table>{title}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def html_paragraph(text, strong=False) -> str:
    escaped = html.escape(str(text))
    return f"<p><strong>{escaped}</strong></p>" if strong else f"<p>{escaped}</p>"


def html_block(parts) -> str:
    return "<div>" + "".join(parts) + "</div>"


def _wrap(text, indent="  ") -> str:
    return textwrap.fill(text, WIDTH, initial_indent=indent, subsequent_indent=indent + "  ")


class Report(dict):
    """A dict that renders itself; subclasses say how (`text`, `html`). The dict's own repr,
    equality and JSON stay untouched, so code that treated the result as a dict still works."""

    def text(self) -> str:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def html(self) -> str:  # pragma: no cover
        raise NotImplementedError

    def __str__(self) -> str:
        return self.text()

    def to_json(self, indent=2) -> str:
        """The report as JSON, to keep or to compare later (non-ASCII names kept readable)."""
        return json.dumps(self, indent=indent, ensure_ascii=False)

    def _repr_html_(self) -> str:
        return self.html()

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(f"{type(self).__name__}(…)" if cycle else self.text())


# ---- mf.verify's report -----------------------------------------------------------------------
def _errors(actual, reference):
    """(max abs, max rel) as in report.py: relative error only where |reference| > 1e-8."""
    actual, reference = np.asarray(actual, dtype=float), np.asarray(reference, dtype=float)
    difference = np.abs(actual - reference)
    scale = np.abs(reference)
    large = scale > 1e-8
    return (float(difference.max(initial=0.0)),
            float((difference[large] / scale[large]).max(initial=0.0)))


def _input_rows(report):
    """One row per differentiated input: its errors against finite differences and PyTorch."""
    wrt = [x for x in report["inputs"] if x["requires_grad"]]
    torch_part = report.get("pytorch") or {}
    theirs = torch_part.get("gradients") if torch_part.get("available") else None
    rows = []
    for k, x in enumerate(wrt):
        backward = report["backward"][k]
        fd_abs, fd_rel = _errors(backward, report["finite_differences"][k])
        agree = bool(np.allclose(backward, report["finite_differences"][k],
                                 atol=report["atol"], rtol=report["rtol"]))
        t_abs, t_rel = _errors(backward, theirs[k]) if theirs is not None else (None, None)
        name = x["name"] if x.get("name") else f"input {x['index']}"
        rows.append([name, format_shape(x["shape"]), format_error(fd_abs), format_error(fd_rel),
                     "agree" if agree else "DISAGREE", format_error(t_abs),
                     format_error(t_rel)])
    return rows


INPUT_HEADERS = ("input", "shape", "vs FD abs", "vs FD rel", "vs FD", "vs PyTorch abs",
                 "vs PyTorch rel")
SWEEP_HEADERS = ("ε", "max abs error", "agree", "note")


def _sweep_rows(report):
    errors = [s["max_abs_error"] for s in report["eps_sweep"]]
    finite = [e if math.isfinite(e) else math.inf for e in errors]
    # "closest" only when they agree: against a wrong gradient no ε is better than another
    agree = report["finite_differences_vs_backward"]["agree"]
    closest = int(np.argmin(finite)) if finite and agree else -1
    rows = []
    for i, step in enumerate(report["eps_sweep"]):
        notes = (["the ε used"] if math.isclose(step["eps"], report["eps"]) else []) + (
            ["closest"] if i == closest else [])
        rows.append([f"{step['eps']:g}", format_error(step["max_abs_error"]),
                     "yes" if step["agree"] else "no", ", ".join(notes)])
    return rows


def _culprit_lines(report):
    """The localised op, as lines of text (empty when none): what `first_bad_op` found."""
    bad = report.get("first_bad_op")
    if not bad:
        return []
    shapes = " and ".join(format_shape(s) for s in bad["operand_shapes"])
    where = (f"op {bad['op']!r}, operand {bad['operand']} (operands {shapes}, output "
             f"{format_shape(bad['output_shape'])}), number {bad['backward_index']} in "
             "backward order")
    if bad.get("second_order"):
        head = f"first wrong rule (its graph under create_graph=True): {where}"
    elif bad.get("kink"):
        head = (f"no wrong rule; op at a kink: {where}, entry "
                f"{list(bad['entry'])} = {bad['entry_value']:.6g}")
    else:
        head = (f"first wrong rule: {where}, off by up to {bad['max_abs_error']:.2e} from finite "
                "differences of its own forward")
    return [head] + [f"passed over op {k['op']!r} at a kink (entry {list(k['entry'])})"
                     for k in bad.get("kinks_passed", ())]


def _headline(report):
    fd = report["finite_differences_vs_backward"]
    torch_part = report.get("pytorch") or {}
    torch_known = torch_part.get("available")
    if not fd["agree"]:
        bad = report.get("first_bad_op")
        if bad and not bad.get("kink"):
            return (f"WRONG: backward disagrees with finite differences; first wrong rule: op "
                    f"{bad['op']!r}, operand {bad['operand']}")
        return "WRONG: backward disagrees with finite differences"
    if torch_known and not torch_part["agree"]:
        return "SUSPECT: backward agrees with finite differences but not with PyTorch"
    return "right: backward agrees with finite differences" + (
        " and PyTorch" if torch_known else "")


def _torch_line(report):
    torch_part = report.get("pytorch")
    if torch_part is None:
        return "PyTorch: not asked (use_torch=False)"
    if not torch_part.get("available"):
        return f"PyTorch: unavailable ({torch_part['reason']})"
    return (f"PyTorch {torch_part['version']}: {'agree' if torch_part['agree'] else 'DISAGREE'} "
            f"(gradients max abs error {format_error(torch_part['max_abs_error'])}, value "
            f"{format_error(torch_part['value_max_abs_error'])})")


def _setting_line(report):
    return (f"L = tr(Ȳᵀ Y), Y {format_shape(report['output_shape'])}; finite differences "
            f"ε = {report['eps']:g}, atol {report['atol']:g}, rtol {report['rtol']:g}")


class VerifyReport(Report):
    """What `mf.verify` returns: its JSON-serialisable dict, readable as text and in Jupyter.

    The text opens with the verdict (right / WRONG and the culprit), then a table per input of
    backward against finite differences and PyTorch, the ε sweep, and the localised op."""

    def text(self) -> str:
        lines = [f"mf.verify: {_headline(self)}", _wrap(self["verdict"]), "",
                 _setting_line(self), _torch_line(self), "",
                 text_table(INPUT_HEADERS, _input_rows(self), align="lrrrlrr"), "",
                 "ε sweep of the finite differences (backward as reference):",
                 text_table(SWEEP_HEADERS, _sweep_rows(self), align="rrll")]
        culprit = _culprit_lines(self)
        if culprit:
            lines += [""] + [_wrap(line, indent="") for line in culprit]
        return "\n".join(lines)

    def html(self) -> str:
        parts = [html_paragraph(f"mf.verify: {_headline(self)}", strong=True),
                 html_paragraph(self["verdict"]),
                 html_paragraph(f"{_setting_line(self)}. {_torch_line(self)}."),
                 html_table(INPUT_HEADERS, _input_rows(self),
                            caption="backward against finite differences and PyTorch"),
                 html_table(SWEEP_HEADERS, _sweep_rows(self),
                            caption="ε sweep of the finite differences")]
        parts += [html_paragraph(line, strong=i == 0)
                  for i, line in enumerate(_culprit_lines(self))]
        return html_block(parts)
