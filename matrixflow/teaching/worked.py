"""The worked derivation of an expression: the trace trick node by node, in the user's symbols.

`derive(f, X)` follows backward's own walk over f's tree, from the root down to X.  At the root,
f is 1×1, so df = tr(Ȳᵀ df) with Ȳ = ∂f/∂f = 1.  At each node v = op(M, N) on a path to X, with
V̄ = ∂f/∂v already complete (every node built from v has been visited), it prints

  - the op's differential with its operands written out: d exp(Xb) = exp(Xb) ⊙ d(Xb);
  - for each operand M that depends on X, the op table's own trace steps, instantiated:
    tr(V̄ᵀ dv) ={identity} … = tr(M̄ᵀ dM), each step naming the identity it uses;
  - ⇒ ∂f/∂M = M̄, the adjoint the op's rule computes, simplified (a contribution, when M feeds
    several nodes: the contributions are summed and simplified once all have arrived).

The adjoints are the rules' own results, run on symbols (as `closed_form` runs them), so the
derivation and the gradient backward computes cannot disagree; the instantiated steps are the
op table's derivation text with the formal names (A, B, Y, Ȳ) replaced by the user's
expressions, so no op's formal name is ever printed beside the user's own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ..grad_mode import enable_grad
from ..graph import all_nodes, leading_to, topological_order
from ..node import Node
from ..ops.base import IDENTITIES
from .instantiate import atomic as _atomic
from .instantiate import differential as _differential
from .instantiate import instantiate as _instantiate
from .instantiate import rule_steps as _rule_steps
from .instantiate import wrap as _wrap
from .symbolic import Sym, simplify, symbolic_twin
from .symbolic import expr as sx
from .symbolic.printing import latex_or_note


@dataclass(frozen=True)
class Step:
    """One line of a worked derivation.

    kind: "start" (the seed), "node" (an op and its differential), "term" (a trace step;
    `identity` names the IDENTITIES entry it uses, None for the first of a rule), "adjoint"
    (⇒ ∂f/∂v = …, `expression` the adjoint), "collect" (contributions summed), "result".
    `node` is the text of the tree node the line is about.
    """

    kind: str
    text: str
    identity: str | None = None
    expression: Sym | None = None
    node: str | None = None
    tree_node: Node | None = field(default=None, repr=False, compare=False)
    latex: str | None = field(default=None, repr=False)

    def as_dict(self) -> dict:
        """The step for a front end: text, LaTeX, the identity's statement, the expression."""
        return {"kind": self.kind, "text": self.text, "latex": _latex_line(self),
                "identity": self.identity,
                "identity_text": IDENTITIES.get(self.identity) if self.identity else None,
                "expression": None if self.expression is None else str(self.expression),
                "expression_latex": (None if self.expression is None
                                     else latex_or_note(self.expression)),
                "node": self.node}


class WorkedDerivation:
    """∂f/∂X derived step by step: `steps` (a list of Step), `gradient` (the closed form, a
    Sym); str() is the text, `.latex()` an align* block, `.as_dicts()` the steps as dicts."""

    def __init__(self, function: str, variable: str, shape, steps, gradient: Sym):
        self.function = function
        self.variable = variable
        self.shape = shape
        self.steps = steps
        self.gradient = gradient

    def adjoints(self) -> list[tuple[str, Sym]]:
        """[(node text, ∂f/∂node)] for every node on a path to X, root first."""
        return [(step.node, step.expression) for step in self.steps
                if step.kind in ("adjoint", "collect", "start") and step.expression is not None
                and not step.text.lstrip().startswith("contribution")]

    def check(self, values=None, seed=0, rtol=1e-8) -> list[tuple[str, float]]:
        """Every adjoint of the derivation on numbers, against backward's gradient at that
        node of the numeric tree: [(node, relative error)], or an AssertionError naming the
        first adjoint that disagrees.  `values` {symbol: array} default to random numbers
        inside the expression's domain (as `matrixflow explain` draws them)."""
        from ..autograd import grad
        from ..ops.base import apply1, apply2

        stated = [s for s in self.steps if s.tree_node is not None and s.expression is not None
                  and not s.text.lstrip().startswith("⇒ contribution")]
        root = self.steps[0].tree_node
        values = dict(values or _random_values(root, np.random.default_rng(seed)))
        numeric = {}
        for node in all_nodes(root):  # operands first
            if node.op is None:
                data = node.data.evaluate(values) if type(node.data) is Sym else node.data
                numeric[id(node)] = Node(np.array(data, dtype=np.float64), requires_grad=True)
            else:
                args = [numeric[id(x)] for x in _operands(node)]
                numeric[id(node)] = (apply1(node.op, *args, attrs=node.attrs) if len(args) == 1
                                     else apply2(node.op, *args, attrs=node.attrs))
        targets = [numeric[id(step.tree_node)] for step in stated]
        gradients = grad(numeric[id(root)], targets)
        report = []
        for step, gradient in zip(stated, gradients):
            claimed = step.expression.evaluate(values)
            if claimed.shape != gradient.shape and claimed.shape != (1, 1):
                raise AssertionError(f"derive: ∂f/∂{step.node} = {step.expression} has shape "
                                     f"{claimed.shape}, the gradient {gradient.shape}")
            error = float(np.max(np.abs(claimed - gradient.data)) /
                          max(1.0, float(np.max(np.abs(gradient.data)))))
            if not error <= rtol:
                raise AssertionError(f"derive: ∂f/∂{step.node} = {step.expression} disagrees "
                                     f"with backward by {error:.3g} (relative) on these numbers")
            report.append((step.node, error))
        return report

    def tree_svg(self) -> str:
        """The expression's tree as SVG, each node on a path to X with its adjoint ∂f/∂v."""
        return self.picture().svg

    def picture(self):
        """The expression's tree with each node's adjoint: SVG in a notebook, text in print."""
        from .display import TreePicture

        return TreePicture(self.steps[0].tree_node, adjoints=self._adjoints_by_node())

    def _adjoints_by_node(self) -> dict:
        adjoints = {}
        for step in self.steps:  # a node's total replaces its contributions
            if step.tree_node is not None and step.expression is not None and \
                    not step.text.lstrip().startswith("⇒ contribution"):
                adjoints[id(step.tree_node)] = step.expression
        return adjoints

    def as_dicts(self) -> list[dict]:
        return [step.as_dict() for step in self.steps]

    def __str__(self) -> str:
        rows, cols = self.shape
        lines = [f"∂f/∂{self.variable} for f = {self.function}, {self.variable}: {rows}×{cols}"]
        width = 0
        for index, step in enumerate(self.steps):
            if step.kind != "term":
                lines.append(step.text)
                continue
            if index == 0 or self.steps[index - 1].kind != "term":  # a rule's steps align
                run = [s.text for s in self.steps[index:]]
                end = next((i for i, s in enumerate(self.steps[index:]) if s.kind != "term"),
                           len(run))
                width = max(len(text) for text in run[:end])
            reason = f"   {IDENTITIES[step.identity]}" if step.identity else ""
            lines.append(f"{step.text.ljust(width)}{reason}".rstrip())
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<worked derivation of ∂f/∂{self.variable}: {len(self.steps)} steps>"

    def _repr_latex_(self) -> str:  # a notebook shows the align* block, print the text
        return f"$${self.latex()}$$"

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self))

    def latex(self) -> str:
        rows = [_latex_line(step) for step in self.steps]
        return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}"


def derive(f: Node, wrt: Node) -> WorkedDerivation:
    """The worked trace-trick derivation of ∂f/∂wrt (f 1×1, built from `mf.symbols`)."""
    _check_arguments(f, wrt)
    (root,), twin, _ = symbolic_twin([f])
    x = twin.get(id(wrt), wrt)
    wanted = leading_to([root], {x})
    if x not in wanted:
        raise ValueError(f"derive: f does not depend on {wrt.name or 'the variable'}; "
                         "its gradient is 0")
    order = [node for node in topological_order([root]) if node in wanted]
    consumers = _consumers(order, wanted)
    text = {id(node): _text(node) for node in order}
    for node in order:
        for operand in _operands(node):
            text.setdefault(id(operand), _text(operand))
    known = _names(root)
    seed = sx.const(1.0)
    steps = [Step("start", "f is 1×1, so df = tr(df) = tr(Ȳᵀ df): start at f with "
                           "Ȳ = ∂f/∂f = 1", expression=seed, node=text[id(root)],
                  tree_node=root,
                  latex=r"&df = \operatorname{tr}(\bar{Y}^{\top} df),\ \bar{Y} = "
                        r"\frac{\partial f}{\partial f} = 1")]
    arrived = {root: [seed]}
    number = 0
    for node in reversed(order):
        parts = arrived.pop(node)
        adjoint = parts[0] if len(parts) == 1 else simplify(sx.add(*parts))
        name = text[id(node)]
        if len(parts) > 1:
            total = " + ".join(f"({p})" if re.search(" [+−] ", str(p)) else str(p)
                               for p in parts).replace("+ −", "− ")
            steps.append(Step("collect", f"∂f/∂{_wrap(name, known)} sums its {len(parts)} "
                                         f"contributions: {total} = {adjoint}",
                              expression=adjoint, node=name, tree_node=node,
                              latex=rf"&{_partial(_sym(node), known)}"
                                    f" = {' + '.join(latex_or_note(p) for p in parts)} = "
                                    f"{latex_or_note(adjoint)}"))
        if node.op is None:
            continue
        number += 1
        steps.extend(_node_steps(number, node, adjoint, text, wanted, consumers, arrived,
                                 known))
    gradient = arrived.get(x, [None])[0] if x in arrived else adjoint
    steps.append(Step("result", f"⇒ ∂f/∂{wrt.name or 'X'} = {gradient}", expression=gradient,
                      node=text[id(x)], tree_node=x,
                      latex=rf"&\Rightarrow {_partial(x.data, known)} = "
                            f"{latex_or_note(gradient)}"))
    return WorkedDerivation(text[id(root)], wrt.name or "X", wrt.shape, steps, gradient)


def _check_arguments(f, wrt):
    if not isinstance(f, Node) or not isinstance(wrt, Node):
        raise TypeError("derive: give the expression and the variable as Nodes built from "
                        "mf.symbols, e.g. mf.derive(mf.trace(X.T @ A @ X), X)")
    if type(f.data) is not Sym or type(wrt.data) is not Sym:
        raise TypeError("derive: the expression and the variable must be built from "
                        "mf.symbols (numbers have no derivation to print); for numbers use "
                        "mf.grad")
    if f.shape != (1, 1):
        raise ValueError(f"derive: f must be 1×1 (a scalar), got {f.shape[0]}×{f.shape[1]}; "
                         "reduce it first (mf.sum, mf.trace), or take mf.jacobian")
    if not wrt.requires_grad:
        raise ValueError("derive: the variable does not require grad; make it with "
                         "mf.symbols(..., requires_grad=True)")


def _operands(node):
    return [x for x in (node.left, node.right) if x is not None]


def _consumers(order, wanted):
    """How many nodes on a path to X each node feeds (a node used twice counts twice)."""
    count = {}
    for node in order:
        for operand in _operands(node):
            if operand in wanted:
                count[operand] = count.get(operand, 0) + 1
    return count


def _random_values(root, rng) -> dict:
    """Random values inside the expression's domain, as `matrixflow explain` draws them: entries
    > 0 under log, sqrt and divisions, invertible matrices under inv, det and solve, and square
    ones never symmetric."""
    from .domains import numbers_for, sym_domains

    shapes = {x.data.attrs: x.shape for x in all_nodes(root)
              if x.op is None and type(x.data) is Sym and x.data.kind == "symbol"}
    positive, invertible = sym_domains(root.data)
    return numbers_for(shapes, rng, positive, invertible)


def _names(root) -> set:
    """The names of the symbols and named constants in the tree: what prints as one factor."""
    names = set()
    for x in all_nodes(root):
        if x.op is None:
            names |= {x.name} if x.name else set()
            if type(x.data) is Sym:
                names |= x.data.symbols()
    return names


def _sym(node) -> Sym:
    return simplify(node.data) if type(node.data) is Sym else sx.lift(node.data)


def _text(node) -> str:
    return str(_sym(node))


def _node_steps(number, node, adjoint, text, wanted, consumers, arrived, known):
    """The lines of one node: its differential, and for each operand on a path to X the
    instantiated trace steps and the adjoint the rule gives."""
    op = node.op
    operands = _operands(node)
    names = {rule.operand: _sym(x) for rule, x in zip(op.rules, operands)}
    output = _sym(node)
    name = text[id(node)]

    def line(template, with_adjoint):
        adjoint_here = adjoint if with_adjoint else None
        return (_instantiate(template, names, output, adjoint_here, node.attrs, known),
                _instantiate(template, names, output, adjoint_here, node.attrs, known, True))

    differential, differential_latex = line(_differential(op, node.attrs), False)
    constant = [text[id(x)] for x in operands if x not in wanted]
    tail = f"; {', '.join(constant)} {'is' if len(constant) == 1 else 'are'} constant" \
        if constant else ""
    op_latex = op.name.replace("_", r"\_")  # mse_loss: in \text, _ is a subscript error
    steps = [Step("node", f"\n[{number}] {name}  ({op.name}): {differential}{tail}",
                  node=name, latex=rf"&\text{{[{number}] {op_latex}: }} {differential_latex}")]
    seed = Node(adjoint)
    for position, (rule, operand) in enumerate(zip(op.rules, operands)):
        if operand not in wanted:
            continue
        for index, (template, identity) in enumerate(_rule_steps(op, rule, node.attrs)):
            unicode, latex = line(template, True)
            steps.append(Step("term", ("      " if index == 0 else "    = ") + unicode, identity,
                              node=name, latex=("&= " if index else "& ") + latex +
                              (rf" && \text{{{identity}}}" if identity else "")))
        with enable_grad():
            contribution = op.gradient(position, seed, node, *operands, **(node.attrs or {}))
        contribution = simplify(sx.lift(contribution.data))
        target = _wrap(str(names[rule.operand]), known)
        if op.broadcasting and operand.shape != node.shape:
            rows, cols = operand.shape
            steps.append(Step("term", f"    summed back to the shape of {target} ({rows}×{cols}),"
                                      " where it was broadcast", "ones", node=name,
                              latex=rf"&\text{{summed back to {rows}$\times${cols}}} && "
                                    r"\text{ones}"))
        several = consumers.get(operand, 1) > 1
        label = f"    ⇒ contribution to ∂f/∂{target}: " if several else \
            f"    ⇒ ∂f/∂{target} = "
        latex_label = (r"&\Rightarrow \text{contribution to } " if several else
                       r"&\Rightarrow ") + _partial(names[rule.operand], known)
        steps.append(Step("adjoint", label + str(contribution), expression=contribution,
                          node=str(names[rule.operand]), tree_node=operand,
                          latex=f"{latex_label} = {latex_or_note(contribution)}"))
        arrived.setdefault(operand, []).append(contribution)
    return steps


def _partial(expression: Sym, known) -> str:
    """∂f/∂(expression) in LaTeX."""
    latex = latex_or_note(expression)
    latex = latex if _atomic(str(expression), known) else rf"\left({latex}\right)"
    return rf"\frac{{\partial f}}{{\partial {latex}}}"


def _latex_line(step: Step) -> str:
    return step.latex if step.latex is not None else rf"&\text{{{step.text.strip()}}}"
