"""How long the page takes to answer: `python -m benchmarks.web_page [--runs N]`.

The expression is a small MLP's loss with weight decay, 20 ops (the page's count: + - * / @ **,
calls, .T and indexing), differentiated by the first layer's weights, with a wrong answer to
grade, so one request does all the page does: parse, build on symbols, the closed form, the
worked derivation, the tree's SVG, the numeric check (backward and finite differences) and the
verdict.  It times `api.answer` (the work) and a POST through Flask's test client (the work
plus JSON both ways, when Flask is installed); the median of the runs, after one warm-up run.
"""

from __future__ import annotations

import argparse
import statistics
import time

from matrixflow.web import api

EXPRESSION = ("sum((tanh(relu(X @ W1 + b1) @ W2 + b2) @ W3 - y) ** 2) + 0.1 * sum(W1 * W1) "
              "+ 0.1 * sum(W2 * W2) + sum(W3)")
REQUEST = {"expression": EXPRESSION, "wrt": "W1",
           "shapes": "X=10x3 W1=3x4 b1=1x4 W2=4x4 b2=1x4 W3=4x1 y=10x1",
           "answer": "2 * X.T @ (X @ W1 - y)"}


def _median_seconds(call, runs: int) -> float:
    call()  # warm-up: first imports and caches
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args(argv)
    ops = api._count_ops(EXPRESSION)
    reply = api.answer(REQUEST)
    assert reply["ok"] and reply["check"]["agree"], reply
    print(f"f = {EXPRESSION}  ({ops} ops), by W1, with an answer to grade")
    work = _median_seconds(lambda: api.answer(REQUEST), args.runs)
    print(f"api.answer: median {work * 1000:.0f} ms over {args.runs} runs")
    try:
        from matrixflow.web.server import create_app
    except ImportError:
        print("POST /api/derive: skipped, Flask is not installed (pip install \".[web]\")")
        return 0
    client = create_app().test_client()
    post = _median_seconds(lambda: client.post("/api/derive", json=REQUEST), args.runs)
    print(f"POST /api/derive (Flask test client): median {post * 1000:.0f} ms over "
          f"{args.runs} runs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
