"""What the page asks and what it is told: `answer(request) -> dict`, with no web library in it.

The request is the page's form as JSON — `expression` and `wrt` (the `matrixflow explain`
language), `shapes` ("X=3x2, a=3x1" or {"X": [3, 2]}), an optional `answer` (your gradient) and
`seed` — and the reply is plain data: the closed form (Unicode and LaTeX), the worked
derivation's steps, the tree as SVG, the numeric check and the verdict on your answer.  The
work is `matrixflow explain`'s own (`teaching.explain_command.prepare`, `check_closed_form`),
so the page and the command cannot drift apart.

Every mistake a user can make comes back as {"ok": False, "error": one sentence}, never as an
exception: the server turns it into a 400 and stays up.  Each call builds its own symbols and
keeps nothing, so concurrent users never see each other's work.  Limits keep one request from
holding the server: the text's length, its number of ops, each matrix's size, and a time budget
(a call that runs past it is answered "took too long"; its thread finishes in the background,
and at most WORKERS such calls run at once).
"""

from __future__ import annotations

import ast
import concurrent.futures
import re

import numpy as np

from ..teaching import expression
from ..teaching.check_gradient import _matrix, check_gradient
from ..teaching.explain_command import (
    _default_shape,
    check_answer_names,
    check_closed_form,
    parse_shapes,
    prepare,
)
from ..teaching.symbolic.printing import latex_or_note
from ..teaching.worked import derive

MAX_CHARS = 400  # characters of the expression (and of the answer)
MAX_OPS = 40  # operations: + - * / @ ** unary minus, .T, indexing, function calls
MAX_SIZE = 50  # rows or columns of any matrix
MAX_SEED = 2**32 - 1
TIME_BUDGET = 10.0  # seconds one request may take
WORKERS = 4  # requests computed at once; the rest wait their turn

# the inputs' mistakes: what `matrixflow explain` reports as one line with exit status 2
INPUT_ERRORS = (expression.ExpressionError, ValueError, KeyError, TypeError, IndexError,
                OverflowError, ZeroDivisionError, np.linalg.LinAlgError, RecursionError)

_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS,
                                              thread_name_prefix="matrixflow-page")


class InputError(ValueError):
    """A mistake in the request; the message is what the page shows."""


def answer(request, budget: float = TIME_BUDGET) -> dict:
    """The reply to one request of the page (see the module's docstring): {"ok": True, ...} or
    {"ok": False, "error": "...", "status": 400 (a mistake in the input) or 503 (too long)}.
    A bug of matrixflow's is raised, for the server to log and answer with a 500."""
    try:
        fields = _fields(request)
    except InputError as exc:
        return _error(str(exc))
    future = _POOL.submit(_answer, fields)
    try:
        return future.result(timeout=budget)
    except concurrent.futures.TimeoutError:
        return _error(f"this took longer than {budget:g} s, the page's limit; try a smaller "
                      "expression or smaller shapes", status=503)


def _error(message: str, status: int = 400) -> dict:
    return {"ok": False, "error": message, "status": status}


def _fields(request) -> dict:
    """The request's fields, checked: a clear InputError for each way they can be wrong."""
    if not isinstance(request, dict):
        raise InputError("the request must be a JSON object with the fields expression, wrt, "
                         "shapes and answer")
    text = request.get("expression")
    wrt = request.get("wrt")
    if not isinstance(text, str) or not text.strip():
        raise InputError("type an expression, e.g. a.T @ exp(X @ b)")
    if not isinstance(wrt, str) or not wrt.strip():
        raise InputError("say which variable to differentiate by (e.g. X)")
    text, wrt = text.strip(), wrt.strip()
    if not wrt.isidentifier():
        raise InputError(f"the variable {wrt!r} is not a name; give one of the expression's "
                         "matrices, e.g. X")
    mine = request.get("answer")
    if mine is not None and not isinstance(mine, str):
        raise InputError("your answer must be text, an expression such as A @ X + A.T @ X")
    mine = (mine or "").strip() or None
    for label, value in (("the expression", text), ("your answer", mine)):
        if value is not None and len(value) > MAX_CHARS:
            raise InputError(f"{label} is {len(value)} characters long, more than the page's "
                             f"{MAX_CHARS}; try a shorter one")
    seed = request.get("seed", 0)
    if isinstance(seed, str) and seed.strip().isdigit():
        seed = int(seed)
    if seed in (None, ""):
        seed = 0
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise InputError(f"the seed must be a whole number from 0 to {MAX_SEED}, got {seed!r}")
    return {"text": text, "wrt": wrt, "shapes": _shapes(request.get("shapes")),
            "answer": mine, "seed": seed}


def _shapes(given) -> dict:
    """"X=3x2, a=3x1" (commas, semicolons or spaces between) or {"X": [3, 2]} or {"X": "3x2"}."""
    if given is None or given == "":
        return {}
    if isinstance(given, dict):
        items = []
        for name, shape in given.items():
            if isinstance(shape, (list, tuple)) and len(shape) == 2:
                shape = "x".join(str(n) for n in shape)
            items.append(f"{name}={shape}")
    elif isinstance(given, str):
        text = re.sub(r"\s*=\s*", "=", given.strip())  # "X = 3 x 2" is X=3x2
        text = re.sub(r"(\d)\s*[xX×]\s*(\d)", r"\1x\2", text)
        items = [item for item in re.split(r"[,;\s]+", text) if item]
    else:
        raise InputError("shapes are text like X=3x2, a=3x1")
    try:
        shapes = parse_shapes(items, option="each shape")
    except ValueError as exc:
        raise InputError(f"{exc} (shapes are written like X=3x2, a=3x1)") from exc
    for name, (rows, cols) in shapes.items():
        if not name.isidentifier():
            raise InputError(f"{name!r} in the shapes is not a name; write them like X=3x2")
        if max(rows, cols) > MAX_SIZE:
            raise InputError(f"{name} is {rows}×{cols}; the page takes matrices of at most "
                             f"{MAX_SIZE} rows and columns")
    return shapes


def _count_ops(text: str) -> int:
    tree = expression.parse(text)
    kinds = (ast.BinOp, ast.UnaryOp, ast.Call, ast.Attribute, ast.Subscript)
    return sum(isinstance(node, kinds) for node in ast.walk(tree.body))


def _answer(fields) -> dict:
    try:
        return _derive(**fields)
    except InputError as exc:
        return _error(str(exc))
    except OverflowError:
        return _error("a number in the expression is too large for a float (above about "
                      "1.8e308); use smaller constants")
    except RecursionError:
        return _error("the expression is nested too deeply; write it with fewer brackets "
                      "inside brackets")
    except INPUT_ERRORS as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        return _error(str(message).strip() or "the expression could not be evaluated")


def _derive(text, wrt, shapes, answer, seed) -> dict:
    ops = _count_ops(text)
    if ops > MAX_OPS:
        raise InputError(f"the expression has {ops} operations, more than the page's "
                         f"{MAX_OPS}; try a smaller one")
    if answer is not None:
        try:
            expression.parse(answer)
        except ValueError as exc:
            raise InputError(f"in your answer: {exc}") from exc
        check_answer_names(answer, text, option="your answer")
    with np.errstate(all="ignore"):
        prepared = _prepare(text, wrt, shapes)
        worked = derive(prepared.f, prepared.leaves[wrt])
        check = check_closed_form(text, wrt, prepared.shapes, seed, prepared.closed)
        verdict = None
        if answer is not None:
            try:
                verdict = _verdict(check_gradient(prepared.f, prepared.leaves[wrt], answer,
                                                  seed=seed))
            except INPUT_ERRORS as exc:
                message = str(exc)
                if message.startswith("check_gradient: "):  # about f's domain, not the answer
                    raise InputError("your answer could not be graded: "
                                     f"{message.removeprefix('check_gradient: ')}") from exc
                raise InputError(f"in your answer: {message}") from exc
    closed = prepared.closed
    return {
        "ok": True,
        "expression": text,
        "wrt": wrt,
        "shapes": {name: list(shape) for name, shape in prepared.shapes.items()},
        "closed_form": {"text": str(closed), "latex": latex_or_note(closed)},
        "steps": worked.as_dicts(),
        "tree_svg": worked.tree_svg(),
        "check": {"agree": check.agree, "checked": check.checked, "text": check.text},
        "verdict": verdict,
    }


SHAPE_WORDS = ("dimension", "shape", "square", "broadcast", "entries", "out of range")


def _prepare(text, wrt, shapes):
    """`prepare`, with the shapes it used added to a message about shapes: the page's user
    may not have typed them (a name left out is 3×1 or 3×3)."""
    try:
        return prepare(text, wrt, shapes, option="the shapes")
    except expression.ExpressionError:
        raise
    except (ValueError, IndexError) as exc:
        message = str(exc.args[0] if isinstance(exc, KeyError) and exc.args else exc)
        if not any(word in message for word in SHAPE_WORDS) or "not a scalar" in message:
            raise
        used = {name: shapes.get(name, _default_shape(name)) for name in expression.names(text)}
        listing = ", ".join(f"{name} {r}×{c}" for name, (r, c) in used.items())
        raise InputError(f"{message} — the shapes were {listing}; change them in the "
                         "shapes box") from exc


def _verdict(verdict) -> dict:
    example = verdict.counterexample
    return {
        "right": verdict.right,
        "kind": verdict.slip.kind,
        "message": verdict.message,
        "text": str(verdict),
        "gradient": {"text": str(verdict.gradient), "latex": latex_or_note(verdict.gradient)},
        "answer": {"text": str(verdict.answer), "latex": latex_or_note(verdict.answer)},
        "difference": None if verdict.difference is None else {
            "text": str(verdict.difference), "latex": latex_or_note(verdict.difference)},
        "counterexample": None if example is None else {
            "values": {name: _matrix(value) for name, value in example.values.items()},
            "yours": _matrix(example.claimed),
            "true": _matrix(example.true),
            "entry": None if example.entry is None else [int(i) for i in example.entry],
        },
    }
