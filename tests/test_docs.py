"""The README's and the guide's interactive examples print what they show (doctest)."""

import doctest
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("document", ["README.md", "docs/matrix-calculus.md"])
def test_every_example_prints_what_the_document_shows(document):
    text = (ROOT / document).read_text(encoding="utf-8")
    blocks = re.findall(r"```pycon\n(.*?)```", text, flags=re.S)
    assert blocks, f"{document} has no examples"
    test = doctest.DocTestParser().get_doctest("\n".join(blocks), {}, document, document, 0)
    assert len(test.examples) >= 15
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.failures == 0, f"{runner.failures} example(s) in {document} print otherwise"
