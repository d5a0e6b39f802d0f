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


# expressions across the op table whose LaTeX (closed forms, every step, the verdicts) the
# bundled Temml must typeset without an error: what the page shows instead is the Unicode text
ACROSS_THE_TABLE = [
    ("trace(X.T @ A @ X)", "X", "X=3x2", "A @ X"),
    ("logdet(X) + det(X) + sum(inv(X))", "X", "", "inv(X)"),
    ("sum(sqrt(X * X + 1)) ** 0.5", "X", "", "X / sqrt(X * X + 1)"),
    ("mse_loss(X @ w, y) + l1_loss(X @ w, y)", "w", "X=10x3 w=3x1 y=10x1", "X.T @ (X @ w - y)"),
    ("cross_entropy(X @ W, y) + sum(log_softmax(X @ W, 0))", "W", "X=5x3 W=3x4 y=5x4", ""),
    ("sum(max(X, 0)) + sum(concat([X, A], 1)) + sum(reshape(X, 1, -1))", "X", "", ""),
    ("sum(max_pool(X, (1, 4, 4), 2)) + sum(im2col(X, (1, 4, 4), 3, 1, 1) @ W)", "X",
     "X=2x16 W=9x2", ""),
    ("sum(batch_norm(X) * A) + sum(dropout(X, 0.5, 0) ** 2)", "X", "", "A"),
    ("sum(tanh(X) + sigmoid(X) + softplus(X) + abs(X) + sin(X) + cos(X) + leaky_relu(X, 0.1))",
     "X", "", "X"),
    ("huber_loss(X, Y, 'sum', 2.0) + binary_cross_entropy_with_logits(X, Y)", "X", "", ""),
    ("a.T @ solve(X, b) + sum(X[0:2, 1]) + sum(transpose(X) / 3)", "X", "", "a @ b.T"),
    ("-0.5 * logdet(S) - 0.5 * ((x - m).T @ solve(S, x - m))", "S", "S=3x3 x=3x1 m=3x1", ""),
]


def test_temml_typesets_all_the_latex_the_page_shows(page):
    from matrixflow.web.api import answer

    corpus = set()
    for expression, wrt, shapes, mine in ACROSS_THE_TABLE:
        reply = answer({"expression": expression, "wrt": wrt, "shapes": shapes, "answer": mine})
        assert reply["ok"], (expression, reply)
        corpus.add(reply["closed_form"]["latex"])
        corpus.update(step["latex"].split("&&")[0].strip().lstrip("&") for step in reply["steps"])
        verdict = reply["verdict"] or {}
        corpus.update(verdict[k]["latex"] for k in ("gradient", "answer", "difference")
                      if verdict.get(k))
    page.wait_for_function("window.temml !== undefined")
    failures = page.evaluate("""(corpus) => corpus.flatMap((latex) => {
        try {
            const mathml = temml.renderToString(latex, {throwOnError: true});
            return mathml.includes("merror") ? [latex + " (merror)"] : [];
        } catch (error) { return [latex + " (" + error.message + ")"]; }
    })""", sorted(corpus))
    assert len(corpus) > 150 and not failures, failures
