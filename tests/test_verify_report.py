"""mf.verify's report reads as text, keeps as JSON and shows as a notebook table; `matrixflow
verify --json` gives CI one parseable document. The report is still the dict it was."""

import json
from html.parser import HTMLParser
from xml.dom import minidom

import numpy as np

# the tests-only op with the sign of its rule flipped, and the inputs, of the localiser's tests
from test_diagnose import SIGN_ERROR, _inputs

import matrixflow as mf
from matrixflow import REGISTRY, cli
from matrixflow.ops.base import Rule, apply1
from matrixflow.verification.op_table import json_document
from matrixflow.verification.report_view import VerifyReport, html_table, text_table


def _right_report():
    W, X = _inputs(1)
    return mf.verify(lambda W, X: mf.sum(mf.tanh(X @ W)), [W, X])


def _wrong_report():
    W, X = _inputs(2)
    return mf.verify(lambda W, X: mf.sum(apply1(SIGN_ERROR, X @ W)), [W, X])


class _Cells(HTMLParser):
    """The text of every <th> and <td>, in order, and the tags seen."""

    def __init__(self):
        super().__init__()
        self.headers, self.cells, self.tags, self._in = [], [], [], None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self._in = tag if tag in ("th", "td") else None

    def handle_endtag(self, tag):
        self._in = None

    def handle_data(self, data):
        if self._in == "th":
            self.headers.append(data)
        elif self._in == "td":
            self.cells.append(data)


def test_the_report_is_still_the_dict():
    report = _right_report()
    assert isinstance(report, VerifyReport) and isinstance(report, dict)
    as_dict = json.loads(json.dumps(report))
    assert as_dict == report and report == as_dict  # equal to a plain dict both ways
    assert json.loads(report.to_json()) == as_dict
    assert report["finite_differences_vs_backward"]["agree"]
    assert repr(report) == repr(dict(report))  # the dict's repr, unchanged


def test_the_text_opens_with_the_verdict_and_shows_each_inputs_errors():
    report = _right_report()
    text = str(report)
    lines = text.splitlines()
    assert lines[0].startswith("mf.verify: right: backward agrees with finite differences")
    row_w = next(line for line in lines if line.startswith("W "))
    row_x = next(line for line in lines if line.startswith("X "))
    assert "3×3" in row_w and "4×3" in row_x and "agree" in row_w
    fd_abs = max(abs(np.array(report["backward"][0]) - report["finite_differences"][0]).max(),
                 0.0)
    assert f"{fd_abs:.1e}" in row_w
    assert "ε sweep" in text and "the ε used" in text and "closest" in text
    assert "vs PyTorch abs" in text and "first wrong rule" not in text
    assert all(len(line) <= 100 for line in lines)


def test_a_report_loaded_back_from_json_renders_the_same():
    report = _wrong_report()
    assert str(VerifyReport(json.loads(report.to_json()))) == str(report)


def test_the_notebook_table_is_well_formed_and_holds_the_numbers():
    report = _right_report()
    markup = report._repr_html_()
    document = minidom.parseString(markup)  # well-formed: one root, every tag closed
    assert document.documentElement.tagName == "div"
    assert len(document.getElementsByTagName("table")) == 2
    parser = _Cells()
    parser.feed(markup)
    assert {"input", "shape", "vs FD abs", "vs PyTorch abs", "ε", "max abs error"} <= set(
        parser.headers)
    assert "W" in parser.cells and "3×3" in parser.cells
    assert any(cell[0].isdigit() and "e-" in cell for cell in parser.cells)
    assert not {"script", "style", "link"} & set(parser.tags)


def test_ipython_plain_display_shows_the_text():
    report = _right_report()
    shown = []

    class Printer:
        def text(self, value):
            shown.append(value)

    report._repr_pretty_(Printer(), cycle=False)
    assert shown == [str(report)]


def test_a_planted_wrong_rule_is_named_in_text_and_html():
    report = _wrong_report()
    text = str(report)
    assert text.splitlines()[0] == ("mf.verify: WRONG: backward disagrees with finite "
                                    "differences; first wrong rule: op 'sin_sign_error', operand A")
    assert "DISAGREE" in text
    assert "first wrong rule: op 'sin_sign_error', operand A (operands 4×3, output 4×3)" in text
    assert "PyTorch: unavailable (op 'sin_sign_error' has no PyTorch twin)" in text
    assert "closest" not in text  # no ε is better than another against a wrong gradient
    markup = report._repr_html_()
    minidom.parseString(markup)
    assert "first wrong rule: op &#x27;sin_sign_error&#x27;, operand A" in markup


def test_helpers_escape_and_align():
    markup = html_table(["a<b", "n"], [["x & y", 1.5]], caption="<caption>")
    minidom.parseString(markup)
    assert "a&lt;b" in markup and "x &amp; y" in markup and "&lt;caption&gt;" in markup
    assert text_table(["name", "n"], [["a", 10], ["bbb", 2]]).splitlines() == [
        "name   n", "----  --", "a     10", "bbb    2"]


def test_verify_json_through_the_command(capsys):
    assert cli.main(["verify", "--json", "--op", "matmul", "--op", "exp", "--seed", "3"]) == 0
    document = json.loads(capsys.readouterr().out)  # nothing but the JSON on stdout
    assert document["ok"] is True and document["seed"] == 3 and document["torch"] is True
    assert [row["op"] for row in document["ops"]] == ["matmul", "exp"]
    for row in document["ops"]:
        assert set(row) >= {"op", "cases", "first_order", "second_order", "torch", "ok",
                            "failures"}
        assert row["ok"] and row["failures"] == [] and row["cases"] >= 1
        assert row["first_order"]["ok"] and row["first_order"]["max_abs_error"] < 1e-5
        assert row["second_order"]["ok"] and row["torch"]["max_abs_error"] < 1e-12


def test_verify_json_without_torch(capsys):
    assert cli.main(["verify", "--json", "--no-torch", "--op", "exp"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["torch"] is False and document["ops"][0]["torch"] is None


def test_verify_json_with_a_wrong_rule_fails(monkeypatch, capsys):
    op = REGISTRY["matmul"]
    wrong = Rule("B", "", "", lambda G, Y, A, B: -(A.T @ G))
    monkeypatch.setattr(op, "rules", (op.rules[0], wrong))
    assert cli.main(["verify", "--json", "--op", "matmul", "--op", "add"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["ok"] is False
    matmul, add = document["ops"]
    assert not matmul["ok"] and add["ok"]
    assert not matmul["first_order"]["ok"] and not matmul["torch"]["ok"]
    assert "3×4 @ 4×2: finite differences, second order, PyTorch" in matmul["failures"]


def test_the_json_document_is_strict_json_when_a_case_could_not_run():
    row = {"op": "broken", "cases": 1, "shapes": ["1×1"], "ok": False,
           "first_order": {"max_abs_error": float("inf"), "max_rel_error": float("inf"),
                           "ok": False},
           "second_order": {"ok": False}, "torch": None,
           "failures": ["1×1: finite differences, second order (the case builds a leaf)"]}
    document = json_document([row], seed=0, torch_status="skipped", torch_used=False)
    text = json.dumps(document, allow_nan=False)  # raises on inf or nan
    assert json.loads(text)["ops"][0]["first_order"]["max_abs_error"] is None
    assert document["ok"] is False
