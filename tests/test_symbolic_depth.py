"""Deep expressions in the symbolic layer: no recursion anywhere, so a chain of 1 000 ops gets its
closed form, a check on numbers, and either its text or a clear note of how large it would be.

Each chain is built by one function from nodes, symbolic or numeric, so the closed form is
checked against backward's numeric gradient of the very same expression.
"""

import sys

import numpy as np
import pytest

import matrixflow as mf
from matrixflow.teaching.symbolic.printing import MAX_TEXT, TooLargeToPrint, to_text


def sin_chain(x, depth=1000):
    for _ in range(depth):
        x = mf.sin(x)
    return mf.sum(x)


def mixed_chain(X, depth=100):
    y = X
    for i in range(depth):
        y = mf.sin(y) @ X if i % 2 else mf.exp(y) + X
    return mf.sum(y)


def affine_chain(A, y, depth=1000):
    start = y
    for _ in range(depth):
        start = A @ start + start
    return mf.sum(start)


def _check_on_numbers(build, shapes, wrt, values):
    """closed_form(build(symbols), wrt) evaluated on `values` equals backward's gradient of
    build(numbers)."""
    symbols = mf.symbols(" ".join(shapes), shapes=shapes)
    symbols = symbols if isinstance(symbols, tuple) else (symbols,)
    closed = mf.closed_form(build(*symbols), symbols[list(shapes).index(wrt)])
    nodes = {name: mf.Node(values[name], requires_grad=name == wrt) for name in shapes}
    build(*nodes.values()).backward()
    np.testing.assert_allclose(closed.evaluate(values), nodes[wrt].grad, rtol=1e-10)
    return closed


def test_a_chain_of_1000_sines_gets_its_closed_form():
    values = {"x": np.random.default_rng(0).uniform(-1, 1, (3, 1))}
    closed = _check_on_numbers(sin_chain, {"x": (3, 1)}, "x", values)
    with pytest.raises(TooLargeToPrint, match=r"too large to print: .* nodes, about .* "
                                               r"characters"):
        to_text(closed)  # cos(x) ⊙ cos(sin(x)) ⊙ … : a text quadratic in the depth
    with pytest.raises(ValueError, match="too large to print"):
        closed.latex()


def test_a_100_level_mixed_expression_prints_or_says_how_large_it_is():
    values = {"X": np.random.default_rng(1).uniform(-0.3, 0.3, (3, 3))}
    closed = _check_on_numbers(mixed_chain, {"X": (3, 3)}, "X", values)
    text = str(closed)  # str and repr never raise: a REPL can always show a Sym
    assert text.startswith("<too large to print: ") and "evaluate it with .evaluate" in text
    assert repr(closed).startswith("Sym(<too large to print: ")
    assert len(text) < 300


def test_a_shallow_chain_still_prints_in_full():
    X = mf.symbols("X", shape=(3, 3))
    text = str(mf.closed_form(mixed_chain(X, depth=3), X))
    assert "too large" not in text and len(text) < MAX_TEXT
    assert text.count("exp(") >= 2


def test_a_1000_deep_chain_of_sums_and_products():
    rng = np.random.default_rng(2)
    values = {"A": rng.uniform(-1e-3, 1e-3, (3, 3)), "y": rng.uniform(-1, 1, (3, 1))}
    closed = _check_on_numbers(affine_chain, {"A": (3, 3), "y": (3, 1)}, "y", values)
    assert "·10" in str(closed)  # its tree has about 2¹⁰⁰⁰ nodes: the note says so, briefly


def _depth():
    frame, depth = sys._getframe(), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1
    return depth


def test_no_recursion_however_deep_the_expression():
    # 1 000 levels with 100 frames to spare above the test's own: any recursion over the
    # expression would need one frame per level
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(min(limit, _depth() + 100))
    try:
        x = mf.symbols("x", shape=(3, 1))
        closed = mf.closed_form(sin_chain(x), x)
        value = closed.evaluate(x=np.full((3, 1), 0.5))
        assert "too large to print" in str(closed)
    finally:
        sys.setrecursionlimit(limit)
    assert np.all(np.isfinite(value))


def test_the_explain_command_notes_a_closed_form_too_large_to_print():
    import io

    from matrixflow.teaching.explain_command import explain_expression

    text = "X"
    for _ in range(95):  # about as deep as Python's parser nests parentheses
        text = f"sin({text})"
    out = io.StringIO()
    assert explain_expression(f"sum({text})", "X", {"X": (3, 1)}, out=out) == 0
    output = out.getvalue()
    assert "∂f/∂X = <too large to print: " in output and "LaTeX: <too large to print: " in output
    assert "they agree" in output  # the closed form still checks out on numbers
