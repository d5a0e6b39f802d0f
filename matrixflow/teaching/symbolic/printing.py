"""Printing a symbolic matrix the way a matrix-calculus text writes it: Unicode or LaTeX.

Products are juxtaposed (AX) when every symbol is one letter, and joined with · otherwise;
⊙ is the element-wise product; Aᵀ, A⁻¹, A⁻ᵀ; 1 is a column (or matrix) of ones and 1ᵀ a row;
[A > 0] is the matrix with 1 where A > 0 and 0 elsewhere; X⊙² is X ⊙ X.
"""

from __future__ import annotations

import math
from fractions import Fraction

from .expr import Sym, postorder

MAX_TEXT = 20_000
"""Characters (estimated, see `text_size`) beyond which to_text and to_latex refuse to print:
a closed form of a deep chain can spell millions of characters — shared subexpressions
written out again wherever they occur — which no reader reads and which would take minutes and
gigabytes to build.  str() and repr() then say so instead, with the size."""


class TooLargeToPrint(ValueError):
    """The expression's text would exceed MAX_TEXT characters."""

_SUM, _HADAMARD, _PRODUCT, _ATOM = 0, 1, 2, 3
_SUPERSCRIPT = str.maketrans("0123456789-.", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻·")
_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_FUNCTIONS = {"exp": "exp", "log": "ln", "sin": "sin", "cos": "cos", "tanh": "tanh",
              "sigmoid": "σ", "softplus": "softplus", "relu": "relu", "sign": "sign",
              "softmax": "softmax", "log_softmax": "log_softmax", "max": "max"}


def _plain_number(c: float) -> str:
    """2, 0.5, -1.5: ASCII, as an exponent is written; never rounded — a number six digits
    cannot write (0.9999950000374997) gets the shortest decimal that is exactly it."""
    if float(c).is_integer():
        return str(int(c))
    short = f"{c:g}"
    return short if float(short) == c else repr(float(c))


def _exact(c: float):
    """("ln", k) when c = ±ln k for an integer k ≤ 100, ("fraction", p, q) when c = p/q with
    q ≤ 100 and six digits cannot write c exactly (1/3, not 0.333333); else None."""
    magnitude = abs(c)
    for k in range(2, 101):
        if math.isclose(magnitude, math.log(k), rel_tol=1e-14):
            return "ln", k
    if float(f"{c:g}") == c:
        return None  # 0.5, 0.25, 0.2: the decimal is exact already
    fraction = Fraction(magnitude).limit_denominator(100)
    if fraction.denominator > 1 and math.isclose(magnitude, float(fraction), rel_tol=1e-14):
        return "fraction", fraction.numerator, fraction.denominator
    return None


def _number(c: float, latex: bool = False) -> str:
    """A coefficient as a text writes it: 2, 0.5, 1/3, ln 2 (Unicode or LaTeX)."""
    c = float(c)
    minus = "" if c >= 0 else ("-" if latex else "−")
    exact = None if c.is_integer() else _exact(c)
    if exact is None:
        text = _plain_number(abs(c))
    elif exact[0] == "ln":
        text = (r"\ln " if latex else "ln ") + str(exact[1])
    else:
        p, q = exact[1:]
        text = rf"\frac{{{p}}}{{{q}}}" if latex else f"{p}/{q}"
    return minus + text


def _constant_names(expr: Sym, latex: bool) -> dict:
    """{key: name printed} for the named constant matrices of `expr` that would print alike:
    two different masks both called M, or a constant called like a symbol, are numbered
    M₁, M₂ in order of appearance; the others are left to their own names."""
    symbols, by_name, seen, stack = expr.symbols(), {}, set(), [expr]
    while stack:
        x = stack.pop()
        if id(x) in seen:
            continue
        seen.add(id(x))
        if x.kind == "matrix":
            keys = by_name.setdefault(x.attrs[0], [])
            if x.key not in keys:
                keys.append(x.key)
        stack.extend(reversed(x.args))
    names = {}
    for name, keys in by_name.items():
        if len(keys) > 1 or name in symbols:
            for number, key in enumerate(keys, start=1):
                names[key] = (f"{name}_{{{number}}}" if latex else
                              name + str(number).translate(_SUBSCRIPTS))
    return names


class _Printer:
    def __init__(self, expr: Sym | None, latex: bool, compact: bool | None = None):
        """A printer for `expr`; or, with expr None, one for any expression whose symbols are
        all one letter (or not, as `compact` says) and which holds no named constant — its
        texts depend on nothing else, so simplify sorts all such terms with one printer."""
        self.latex = latex
        self.compact = all(len(name) == 1 for name in expr.symbols()) if expr is not None \
            else compact
        self.constants = _constant_names(expr, latex) if expr is not None else {}
        self.memo = {}  # key → (text, precedence): a function of the structure alone

    def render(self, x: Sym) -> tuple[str, int]:
        """(text, precedence) of x.  Each distinct subexpression is rendered once, operands
        first, in a loop: a handler's render of an operand is then a lookup, so no depth of
        expression meets Python's recursion limit."""
        memo = self.memo
        if x.key not in memo:
            for node in postorder(x, skip=lambda n: n.key in memo):
                memo[node.key] = getattr(self, f"_{node.kind}")(node)
        return memo[x.key]

    def wrap(self, x: Sym, level: int) -> str:
        text, own = self.render(x)
        if own >= level:
            return text
        return r"\left(" + text + r"\right)" if self.latex else f"({text})"

    # leaves
    def _symbol(self, x):
        return x.attrs, _ATOM

    def _const(self, x):
        text = _number(x.attrs, self.latex)
        return text, (_HADAMARD if "/" in text else _ATOM)  # 1/3 in a product: (1/3)

    def _identity(self, x):
        return "I", _ATOM

    def _ones(self, x):
        one = r"\mathbf{1}" if self.latex else "1"
        if x.shape[0] == 1 and x.shape[1] > 1:
            return one + (r"^{\top}" if self.latex else "ᵀ"), _ATOM
        return one, _ATOM

    def _zeros(self, x):
        return "0", _ATOM

    def _matrix(self, x):
        return self.constants.get(x.key, x.attrs[0]), _ATOM

    # algebra
    def _add(self, x):
        pieces = []
        for index, term in enumerate(x.args):
            negative = term.kind == "scale" and term.attrs < 0
            if negative:
                body = term.args[0] if term.attrs == -1 else Sym(
                    "scale", term.args, -term.attrs, term.shape)
                text = self.wrap(body, _HADAMARD)
                pieces.append(("−" if index == 0 else " − ") + text if not self.latex else
                              ("-" if index == 0 else " - ") + text)
            else:
                pieces.append(("" if index == 0 else " + ") + self.wrap(term, _HADAMARD))
        return "".join(pieces), _SUM

    def _scale(self, x):
        c, inner = x.attrs, x.args[0]
        text = self.wrap(inner, _PRODUCT if inner.kind != "scale" else _ATOM)
        if c == -1:
            return ("-" if self.latex else "−") + text, _PRODUCT
        juxtapose = (float(c).is_integer() and self.compact and not text[:1].isdigit()
                     and not text.startswith(r"\mathbf{1}"))
        separator = "" if juxtapose else (r" \cdot " if self.latex else "·")
        number = _number(c, self.latex)
        if "/" in number:  # (1/3)·X, not 1/3·X (which reads as 1/(3X))
            number = f"{number[:1]}({number[1:]})" if number[0] == "−" else f"({number})"
        return f"{number}{separator}{text}", _PRODUCT

    def _matmul(self, x):
        joiner = ("" if self.compact else r" \cdot ") if self.latex else (
            "" if self.compact else "·")
        return joiner.join(self.wrap(f, _ATOM) for f in x.args), _PRODUCT

    def _hadamard(self, x):
        scalars = [f for f in x.args if f.shape == (1, 1)]
        matrices = [f for f in x.args if f.shape != (1, 1)]
        joiner = r" \odot " if self.latex else " ⊙ "
        if not scalars or not matrices:
            return joiner.join(self.wrap(f, _ATOM) for f in matrices or scalars), _HADAMARD
        # s ⊙ M is the scalar multiple s·M: write it so, the scalars first
        if len(matrices) == 1:
            rest = self.wrap(matrices[0], _PRODUCT)
        else:
            rest = joiner.join(self.wrap(f, _ATOM) for f in matrices)
            rest = r"\left(" + rest + r"\right)" if self.latex else f"({rest})"
        dot = r" \cdot " if self.latex else "·"
        return dot.join([self.wrap(f, _ATOM) for f in scalars] + [rest]), _PRODUCT

    def _div(self, x):
        a, b = x.args
        if self.latex:
            return r"\frac{" + self.render(a)[0] + "}{" + self.render(b)[0] + "}", _ATOM
        return f"{self.wrap(a, _ATOM)} / {self.wrap(b, _ATOM)}", _HADAMARD

    def _transpose(self, x):
        inner = x.args[0]
        if inner.kind == "apply" and inner.attrs[0] == "inv":
            base = self.wrap(inner.args[0], _ATOM)
            return base + (r"^{-\top}" if self.latex else "⁻ᵀ"), _ATOM
        return self.wrap(inner, _ATOM) + (r"^{\top}" if self.latex else "ᵀ"), _ATOM

    def _power(self, x):
        p = _plain_number(x.attrs)  # ASCII minus: the superscript table maps "-" to "⁻"
        base = self.wrap(x.args[0], _ATOM)
        scalar = x.args[0].shape == (1, 1)  # a 1×1 power is the ordinary one: det(X)²
        if self.latex:
            return base + "^{" + ("" if scalar else r"\circ ") + p + "}", _ATOM
        return base + ("" if scalar else "⊙") + p.translate(_SUPERSCRIPT), _ATOM

    def _compare(self, x):
        a, b = (self.render(arg)[0] for arg in x.args)
        op = {"≤": r"\leq", "≥": r"\geq", "≠": r"\ne"}.get(x.attrs, x.attrs) if self.latex \
            else x.attrs
        return (r"\left[" + f"{a} {op} {b}" + r"\right]" if self.latex else f"[{a} {op} {b}]",
                _ATOM)

    def _where(self, x):
        c, a, b = (self.render(arg)[0] for arg in x.args)
        word = r"\operatorname{where}" if self.latex else "where"
        return f"{word}({c}, {a}, {b})", _ATOM

    def _apply(self, x):
        name, attrs = x.attrs
        args = x.args
        if name == "inv":
            return self.wrap(args[0], _ATOM) + (r"^{-1}" if self.latex else "⁻¹"), _ATOM
        if name == "trace":
            word = r"\operatorname{tr}" if self.latex else "tr"
            return f"{word}({self.render(args[0])[0]})", _ATOM
        if name in ("det", "logdet"):
            word = (r"\det" if self.latex else "det") if name == "det" else (
                r"\ln\det" if self.latex else "ln det")
            return f"{word}({self.render(args[0])[0]})", _ATOM
        if name == "sqrt":
            return (r"\sqrt{" + self.render(args[0])[0] + "}" if self.latex
                    else "√" + self.wrap(args[0], _ATOM)), _ATOM
        if name in ("abs", "absolute"):  # np.abs in a rule is NumPy's absolute
            inner = self.render(args[0])[0]
            return (r"\left|" + inner + r"\right|" if self.latex else f"|{inner}|"), _ATOM
        if name == "getitem":
            return f"{self.wrap(args[0], _ATOM)}[{_index(attrs['index'])}]", _ATOM
        if name == "concat":
            joiner = "; " if attrs["axis"] == 0 else ", "
            return "[" + joiner.join(self.render(a)[0] for a in args) + "]", _ATOM
        if name == "rpow":
            base = _plain_number(attrs["base"])
            if self.latex:
                return f"{base}^{{{self.render(args[0])[0]}}}", _ATOM
            return f"{base}^{self.wrap(args[0], _ATOM)}", _ATOM
        word = _FUNCTIONS.get(name, name)
        if self.latex and word in ("exp", "ln", "sin", "cos", "tanh", "max"):
            word = "\\" + word
        elif self.latex and word == "σ":
            word = r"\sigma"
        elif self.latex:
            word = r"\operatorname{" + word.replace("_", r"\_") + "}"
        extras = []
        for key, setting in attrs.items():
            if key == "index":
                continue
            shown = _number(setting, self.latex) if isinstance(setting, float) else setting
            if setting is None and self.latex:
                shown = r"\text{None}"
            label = r"\text{" + key.replace("_", r"\_") + "}" if self.latex else key
            extras.append(f"{label}={shown}")
        inside = ", ".join([self.render(a)[0] for a in args] + extras)
        return f"{word}({inside})", _ATOM


def _index(index):
    parts = []
    for part in index:
        if isinstance(part, slice):
            start, stop, step = part.start, part.stop, part.step
            if stop is not None and start is not None and stop == start + 1 and step is None:
                parts.append(str(start))
                continue
            text = f"{'' if start is None else start}:{'' if stop is None else stop}"
            parts.append(text + (f":{step}" if step is not None else ""))
        else:
            parts.append(str(list(map(int, part))))
    return ", ".join(parts)


def to_text(x: Sym) -> str:
    """Unicode text: (A + Aᵀ)X, (a ⊙ exp(Xb))bᵀ, X⁻ᵀ."""
    _check_size(x, latex=False)
    return _Printer(x, latex=False).render(x)[0]


def to_latex(x: Sym) -> str:
    """LaTeX: \\left(A + A^\\top\\right)X."""
    _check_size(x, latex=True)
    return _Printer(x, latex=True).render(x)[0]


# ---- how large a text would be, without writing it -----------------------------------------
# Characters a kind writes around its operands, on average (parentheses included, as a wrap
# adds them to some nodes), and between them (" + ", " ⊙ ", ", "); fitted to deep closed forms'
# Unicode text, within a factor of 1.6.  LaTeX's is about 1.3 times longer.
_OWN = {"identity": 1, "ones": 2, "zeros": 1, "add": 1, "scale": 1, "matmul": 1,
        "hadamard": 1, "transpose": 1, "div": 1, "power": 2, "compare": 3, "where": 9,
        "apply": 1}
_PER_OPERAND = {"add": 2, "hadamard": 3, "div": 3, "compare": 3, "where": 2, "apply": 1}


def _own_chars(x: Sym) -> int:
    own = _OWN.get(x.kind, 2) + _PER_OPERAND.get(x.kind, 0) * len(x.args)
    if x.kind == "symbol":
        own += len(x.attrs)
    elif x.kind == "matrix":
        own += len(x.attrs[0] or "C")
    elif x.kind in ("const", "scale"):
        own += len(_number(x.attrs))
    elif x.kind == "apply":
        name, attrs = x.attrs
        own += len(name) + sum(len(k) + len(str(v)) + 3 for k, v in attrs.items())
    return own


def text_size(x: Sym, latex: bool = False) -> tuple[int, int]:
    """(nodes, characters) of x's text, about: the text writes a shared subexpression out
    wherever it occurs, so both count the tree the DAG spells — exponentially larger, at
    worst, hence Python ints — summed over the DAG, each distinct node once (and remembered
    by key: simplify sizes every term of every sum, most of them met before)."""
    for node in postorder(x, skip=lambda n: n.key in _SIZES):
        nodes = 1 + sum(_SIZES[a.key][0] for a in node.args)
        _SIZES[node.key] = nodes, _own_chars(node) + sum(_SIZES[a.key][1] for a in node.args)
    nodes, chars = _SIZES[x.key]
    return nodes, chars * 13 // 10 if latex else chars


_SIZES: dict = {}  # key → (nodes, characters)


def _grouped(n: int) -> str:
    """4 618 as the README writes numbers; 4.8·10³⁰¹ for one too long to read (a chain's tree
    can have 2¹⁰⁰⁰ nodes)."""
    if n < 10**15:
        return f"{n:,}".replace(",", " ")
    exponent = int((n.bit_length() - 1) * math.log10(2))  # not str(n): over 4 300 digits,
    while n >= 10 ** (exponent + 1):                       # Python refuses to write an int
        exponent += 1
    tenths = n * 10 // 10**exponent  # 10 … 99, truncated: never 10.0·10ᵏ
    return f"{tenths // 10}.{tenths % 10}·10" + str(exponent).translate(_SUPERSCRIPT)


def _check_size(x: Sym, latex: bool) -> None:
    nodes, chars = text_size(x, latex)
    if chars > MAX_TEXT:
        raise TooLargeToPrint(
            f"too large to print: {_grouped(nodes)} nodes, about {_grouped(chars)} characters "
            f"(more than MAX_TEXT = {_grouped(MAX_TEXT)}); evaluate it with .evaluate(...) or "
            "print a part of it (its .args)")


def describe(x: Sym, latex: bool = False) -> str:
    """to_text(x) (to_latex with `latex`), or — never raising, as str() and repr() must not —
    a short note of why it is not printed and how large it is."""
    try:
        return to_latex(x) if latex else to_text(x)
    except TooLargeToPrint as exc:
        return f"<{exc}>"


def latex_or_note(x: Sym) -> str:
    """to_latex(x), or for one too large to print a LaTeX note of its size — for a page or a
    notebook that typesets a whole derivation and must not fail on one of its lines."""
    try:
        return to_latex(x)
    except TooLargeToPrint as exc:
        return r"\text{(" + str(exc).split(";")[0].split(" (more")[0] + ")}"
