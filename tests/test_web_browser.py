"""The page in a real browser: `matrixflow serve --port 0` started as a user would, driven in
headless Chromium (Debian's chromium, through Playwright's Python client).

`.ci/run` installs chromium when it is missing, so a fresh machine runs these; they are
skipped, with the reason, only where chromium or Playwright are not installed."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("flask")
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed "
                               "(pip install playwright, part of the test extra)")

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip("Debian's chromium is not installed at /usr/bin/chromium (apt-get install "
                "chromium; .ci/run does it)", allow_module_level=True)

WAIT = 20_000  # ms: the first derivation includes the server's imports


@pytest.fixture(scope="module")
def address(tmp_path_factory):
    log = tmp_path_factory.mktemp("serve") / "stderr.txt"
    with open(log, "w") as errors:
        server = subprocess.Popen([sys.executable, "-m", "matrixflow", "serve", "--port", "0"],
                                  stdout=subprocess.PIPE, stderr=errors, text=True)
    try:
        line = server.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert found, f"matrixflow serve printed {line!r}; stderr: {log.read_text()}"
        assert "Ctrl+C stops it" in line
        yield found.group(0)
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                              args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, address):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    outside = []
    page.on("request", lambda r: None if r.url.startswith(address) else outside.append(r.url))
    page.goto(address)
    yield page
    context.close()
    assert not errors, f"the page's script failed: {errors}"
    assert not outside, f"the page fetched from elsewhere: {outside}"


def derive(page, expression, wrt, shapes, answer=""):
    page.fill("#expression", expression)
    page.fill("#wrt", wrt)
    page.fill("#shapes", shapes)
    page.fill("#answer", answer)
    with page.expect_response("**/api/derive"):
        page.press("#expression", "Enter")
    page.wait_for_function("!document.getElementById('derive').disabled", timeout=WAIT)


def test_the_posts_example_is_typeset_worked_and_drawn(page):
    derive(page, "a.T @ exp(X @ b)", "X", "a=3x1 b=2x1 X=3x2")
    closed = page.locator("#closed-form math")
    closed.wait_for(timeout=WAIT)
    mathml = closed.inner_html()
    for symbol in ("⊙", "exp", "⊤", "a", "b", "X"):  # (a ⊙ exp(Xb))bᵀ as MathML
        assert symbol in mathml, (symbol, mathml)
    assert "<mfrac>" in mathml  # ∂f/∂X typeset as a fraction
    assert page.locator("#closed-form-text").inner_text() == "as text: (a ⊙ exp(Xb))bᵀ"
    steps = page.locator("#steps li")
    assert steps.count() >= 10
    assert page.locator("#steps li math").count() == steps.count()  # every step typeset
    identities = page.locator("#steps .identity").all_inner_texts()
    assert any(text.startswith("cyclic permutation") for text in identities)
    assert any(text.startswith("Hadamard") for text in identities)
    tree = page.locator("#tree svg")
    assert tree.is_visible() and tree.bounding_box()["width"] > 100
    assert "∂f/∂·" in tree.inner_html() and "(a ⊙ exp(Xb))bᵀ" in tree.inner_html()
    assert "they agree" in page.locator("#check").inner_text()
    assert page.locator("#verdict-panel").is_hidden()
    assert page.locator("#error").is_hidden()


def test_a_wrong_answer_is_graded(page):
    derive(page, "a.T @ exp(X @ b)", "X", "a=3x1 b=2x1 X=3x2", answer="b @ (a * exp(X @ b)).T")
    head = page.locator("#verdict-head")
    assert head.inner_text() == "wrong: transposed"
    verdict = page.locator("#verdict").inner_text()
    assert "counterexample" in verdict and "(the gradient)ᵀ" in verdict
    derive(page, "trace(X.T @ A @ X)", "X", "X=3x2", answer="A @ X")
    assert page.locator("#verdict-head").inner_text() == "wrong: missing term"
    verdict = page.locator("#verdict").inner_text()
    assert "AᵀX is missing" in verdict and "difference (yours − true)" in verdict
    derive(page, "trace(X.T @ A @ X)", "X", "X=3x2", answer="(A + A.T) @ X")
    assert page.locator("#verdict-head").inner_text() == "right"


@pytest.mark.parametrize(("expression", "wrt", "shapes", "says"), [
    ("a.T @ exp(X @", "X", "a=3x1 b=2x1 X=3x2", "cannot parse"),
    ("sum(X @ X)", "X", "X=3x2", "inner dimensions"),
    ("a.T @ expo(X @ b)", "X", "", "unknown function 'expo'"),
    ("sum(X)", "X", "X=three by two", "NAME=ROWSxCOLS"),
    ("sum(" + "exp(" * 45 + "X" + ")" * 46, "X", "", "operations"),
])
def test_bad_input_shows_a_message_and_the_page_still_works(page, expression, wrt, shapes, says):
    derive(page, "a.T @ exp(X @ b)", "X", "a=3x1 b=2x1 X=3x2")
    assert page.locator("#results").is_visible()
    derive(page, expression, wrt, shapes)
    alert = page.get_by_role("alert")
    assert alert.is_visible() and says in alert.inner_text()
    assert "Traceback" not in page.content()
    assert page.locator("#results").is_hidden()  # old results are cleared
    derive(page, "trace(X.T @ A @ X)", "X", "X=3x2")
    assert page.locator("#error").is_hidden()
    assert page.locator("#closed-form-text").inner_text() == "as text: (A + Aᵀ)X"
