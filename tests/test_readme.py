"""The README tells the truth: its Python blocks run, and its gradcheck report is real."""

import re
import sys
from pathlib import Path

import matrixflow as mf

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import sync_readme  # the script that regenerates the README's blocks

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_python_block_of_the_readme_runs():
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {"__name__": "__main__"})  # as a script


def test_the_readme_gradcheck_report_is_what_gradcheck_prints():
    shown = README.split("<!-- gradcheck-report -->\n```\n")[1].split("\n```")[0]
    assert shown == sync_readme.gradcheck_report_example()
    assert mf.REGISTRY["sin"].rules[0].result == "Ā = Ȳ ⊙ cos(A)"  # restored afterwards


def test_the_readme_test_command_is_what_ci_runs():
    command = README.split("<!-- test-command -->\n```sh\n")[1].split("\n```")[0]
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert command in ci
