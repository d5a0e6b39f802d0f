"""The page's server without a browser: POST /api/derive through Flask's test client.

Every mistake a user can make is a 400 with one clear sentence, and the server answers the next
request as if nothing had happened."""

import json
import re
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

pytest.importorskip("flask")

from matrixflow.web import api
from matrixflow.web.server import create_app

POST = {"expression": "a.T @ exp(X @ b)", "wrt": "X", "shapes": "a=3x1 b=2x1 X=3x2"}


@pytest.fixture(scope="module")
def client():
    return create_app().test_client()


def derive(client, body):
    response = client.post("/api/derive", json=body)
    return response.status_code, response.get_json()


def test_the_posts_example(client):
    status, reply = derive(client, POST)
    assert status == 200 and reply["ok"]
    assert reply["closed_form"]["text"] == "(a ⊙ exp(Xb))bᵀ"
    assert reply["closed_form"]["latex"] == r"\left(a \odot \exp(Xb)\right)b^{\top}"
    assert reply["check"]["agree"] and "they agree" in reply["check"]["text"]
    assert reply["steps"][0]["kind"] == "start"
    assert reply["steps"][-1]["expression"] == "(a ⊙ exp(Xb))bᵀ"
    assert {"cyclic", "transpose", "hadamard"} <= {(s["identity"] or "").lower()
                                                   for s in reply["steps"]}
    assert reply["tree_svg"].startswith("<svg") and "exp" in reply["tree_svg"]
    assert reply["verdict"] is None
    assert reply["shapes"] == {"a": [3, 1], "X": [3, 2], "b": [2, 1]}


def test_a_right_answer_is_right(client):
    status, reply = derive(client, {**POST, "answer": "(a * exp(X @ b)) @ b.T"})
    assert status == 200 and reply["verdict"]["right"]


def test_a_wrong_answer_is_graded_with_its_slip(client):
    body = {"expression": "trace(X.T @ A @ X)", "wrt": "X", "shapes": "X=3x2",
            "answer": "A @ X"}
    status, reply = derive(client, body)
    assert status == 200
    verdict = reply["verdict"]
    assert not verdict["right"] and verdict["kind"] == "missing term"
    assert verdict["gradient"]["text"] == "(A + Aᵀ)X"
    assert verdict["difference"]["text"] == "−AᵀX"
    assert set(verdict["counterexample"]["values"]) == {"X", "A"}
    assert verdict["text"].startswith("wrong: missing term")


def test_shapes_written_loosely(client):
    status, reply = derive(client, {**POST, "shapes": "a = 3 x 1; b=2×1,X=3X2"})
    assert status == 200 and reply["shapes"] == {"a": [3, 1], "X": [3, 2], "b": [2, 1]}


def test_shapes_as_a_dict_and_the_seed(client):
    body = {**POST, "shapes": {"a": [3, 1], "b": "2x1", "X": [3, 2]}, "seed": 7}
    status, reply = derive(client, body)
    assert status == 200 and "seed 7" in reply["check"]["text"]


BAD = [
    ({**POST, "expression": "a.T @"}, "cannot parse"),
    ({**POST, "expression": "a.T @ expo(X @ b)"}, "unknown function 'expo'"),
    ({**POST, "wrt": "Y"}, "'Y' does not appear"),
    ({"expression": "sum(X @ X)", "wrt": "X", "shapes": "X=3x2"}, "inner dimensions"),
    ({"expression": "sum(X + Y)", "wrt": "X", "shapes": "X=3x2"}, "the shapes were X 3×2, Y 3×3"),
    ({"expression": "sum(X[5, 0])", "wrt": "X"}, "out of range"),
    ({**POST, "shapes": "a=3by1"}, "NAME=ROWSxCOLS"),
    ({**POST, "shapes": "a=3x1 a=3x1"}, "twice"),
    ({**POST, "shapes": "Z=3x1"}, "does not use"),
    ({**POST, "shapes": "X=3x200"}, "at most 50"),
    ({"expression": "X @ b", "wrt": "X", "shapes": "X=3x2 b=2x1"}, "not a scalar"),
    ({"expression": "sum(" + "+".join(["X"] * 200) + ")", "wrt": "X"}, "characters long"),
    ({"expression": "sum(" + "exp(" * 41 + "X" + ")" * 42, "wrt": "X"}, "operations"),
    ({"wrt": "X"}, "type an expression"),
    ({"expression": "sum(X)"}, "which variable"),
    ({**POST, "seed": -1}, "seed"),
    ({**POST, "answer": "a @ "}, "in your answer"),
    ({**POST, "answer": "Q @ b.T"}, "your answer uses Q"),
    ({**POST, "answer": "a @ b"}, "in your answer: matmul"),
    ({"expression": "sum(X ** 9 ** 9 ** 9)", "wrt": "X"}, "too large"),
    ({**POST, "expression": "__import__('os').system('true')"}, "unknown function"),
]


@pytest.mark.parametrize(("body", "says"), BAD, ids=[says for _, says in BAD])
def test_bad_input_is_a_400_with_a_clear_message_and_the_server_answers_on(client, body, says):
    status, reply = derive(client, body)
    assert status == 400, reply
    assert reply["ok"] is False and says in reply["error"]
    assert "Traceback" not in reply["error"] and "status" not in reply
    status, reply = derive(client, POST)  # the next request is answered as usual
    assert status == 200 and reply["closed_form"]["text"] == "(a ⊙ exp(Xb))bᵀ"


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'"text"', b"null"])
def test_a_body_that_is_not_a_json_object_is_a_400(client, body):
    response = client.post("/api/derive", data=body, content_type="application/json")
    assert response.status_code == 400
    assert "JSON" in response.get_json()["error"]


def test_a_bug_is_a_500_with_a_plain_message_and_logged(client, monkeypatch, caplog):
    def broken(fields):
        raise RuntimeError("a bug")

    monkeypatch.setattr(api, "_answer", broken)
    response = client.post("/api/derive", json=POST)
    assert response.status_code == 500
    assert "bug" in response.get_json()["error"] and "Traceback" not in response.text
    assert "a request failed" in caplog.text


def test_a_request_past_the_time_budget_says_so(monkeypatch):
    release = threading.Event()
    monkeypatch.setattr(api, "_answer", lambda fields: release.wait(5) or {"ok": True})
    try:
        reply = api.answer(POST, budget=0.05)
    finally:
        release.set()
    assert reply["ok"] is False and reply["status"] == 503 and "longer than" in reply["error"]


def test_the_page_and_its_bundled_renderer_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and b'id="expression"' in page.data
    assert b"http" not in page.data.replace(b"http-equiv", b"")  # nothing from elsewhere
    for name in ("app.js", "style.css", "temml.min.js", "Temml-Local.css", "Temml.woff2"):
        assert client.get(f"/static/{name}").status_code == 200, name
    missing = client.get("/nowhere")
    assert missing.status_code == 404 and "the page is at /" in missing.get_json()["error"]
    assert client.get("/api/derive").status_code == 405


def test_concurrent_requests_each_get_their_own_answer(client):
    bodies = [{"expression": f"sum(X * {k})", "wrt": "X", "shapes": "X=2x2"} for k in range(2, 8)]
    replies = [None] * len(bodies)

    def ask(i):
        replies[i] = create_app().test_client().post("/api/derive", json=bodies[i]).get_json()

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for k, reply in zip(range(2, 8), replies):
        assert reply["ok"] and reply["closed_form"]["text"].startswith(str(k)), reply


def test_replies_are_json_with_the_math_symbols_as_themselves(client):
    response = client.post("/api/derive", json=POST)
    assert "⊙" in response.get_data(as_text=True)
    assert json.loads(response.data)["ok"]


def test_the_page_answers_an_expression_of_20_ops_in_under_a_second():
    from benchmarks.web_page import EXPRESSION, REQUEST

    assert api._count_ops(EXPRESSION) == 20
    api.answer(REQUEST)  # warm-up
    best = min(_seconds(lambda: api.answer(REQUEST)) for _ in range(3))
    assert best < 1.0, f"{best:.2f} s"


def _seconds(call):
    start = time.perf_counter()
    reply = call()
    assert reply["ok"], reply
    return time.perf_counter() - start


def test_matrixflow_serve_binds_to_localhost_and_prints_its_address():
    server = subprocess.Popen([sys.executable, "-m", "matrixflow", "serve", "--port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = server.stdout.readline()
        found = re.fullmatch(r"matrixflow page at (http://127\.0\.0\.1:(\d+)/) — Ctrl\+C "
                             r"stops it\n", line)
        assert found, line
        with urllib.request.urlopen(found.group(1), timeout=10) as page:
            assert b'id="expression"' in page.read()
        # a second server on the same port is refused with a clear message (Werkzeug's), exit 1
        taken = subprocess.run([sys.executable, "-m", "matrixflow", "serve", "--port",
                                found.group(2)], capture_output=True, text=True, timeout=60)
        assert taken.returncode == 1 and "in use" in taken.stderr
        assert "Traceback" not in taken.stderr
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.parametrize("port", ["-1", "65536", "http"])
def test_a_bad_port_is_refused_by_argparse(port, capsys):
    from matrixflow import cli

    with pytest.raises(SystemExit) as exit_:
        cli.main(["serve", "--port", port])
    assert exit_.value.code == 2 and "port from 0 to 65535" in capsys.readouterr().err


def test_without_flask_serve_names_the_extra_to_install(monkeypatch, capsys):
    from matrixflow import cli

    monkeypatch.setitem(sys.modules, "flask", None)  # import flask raises ImportError
    monkeypatch.delitem(sys.modules, "matrixflow.web.server", raising=False)
    assert cli.main(["serve", "--port", "0"]) == 2
    assert 'pip install "matrixflow[web]"' in capsys.readouterr().err
    import matrixflow.web.api  # the work itself needs no web library

    assert matrixflow.web.api.answer(POST)["ok"]
