"""Derivations assembled from each op's fields, explain(), to_dot()."""

import re

import numpy as np
import pytest

import matrixflow as mf
from matrixflow.ops.base import IDENTITIES, REGISTRY
from matrixflow.teaching.derivation import _bar, to_latex


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_op_has_a_complete_derivation(name):
    op = REGISTRY[name]
    text = mf.derivation(name)
    assert op.summary in text and op.shapes in text and op.differential in text
    for rule in op.rules:
        assert rule.steps, f"{name}: no steps for {rule.operand}"
        assert rule.steps[0][1] is None
        assert all(identity in IDENTITIES for _, identity in rule.steps[1:])
        last = rule.steps[-1][0]
        assert re.fullmatch(rf"tr\((.+)ᵀ d{rule.operand}\)", last), (
            f"{name}: the last step for {rule.operand} is not of the form "
            f"tr(({rule.operand}̄)ᵀ d{rule.operand}): {last}")
        assert rule.result.startswith(_bar(rule.operand) + " = ")
        for expression, identity in rule.steps:
            assert expression in text
            if identity:
                assert IDENTITIES[identity] in text
        assert f"⇒ {rule.result}" in text


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_derivation_has_a_latex_form(name):
    latex = mf.derivation(name, fmt="latex")
    assert latex.count("{") == latex.count("}")
    assert r"\begin{align*}" in latex and r"\end{align*}" in latex
    leftovers = sorted({c for c in latex if ord(c) > 127})
    assert not leftovers, f"{name}: characters LaTeX math will not take: {leftovers}"


def test_latex_of_the_notation():
    assert to_latex("Ā = −Ȳᵀ·B ⊙ A⁻ᵀ") == r"\bar{A} = -\bar{Y}^{\top}\cdot B \odot A^{-\top}"
    assert to_latex("tr((Ȳ·Bᵀ)ᵀ dA)") == r"\operatorname{tr}((\bar{Y}\cdot B^{\top})^{\top} dA)"


def test_derivation_refuses_unknown_ops_and_formats():
    with pytest.raises(KeyError, match="no op named 'matmult'"):
        mf.derivation("matmult")
    with pytest.raises(ValueError, match="fmt must be"):
        mf.derivation("add", fmt="html")


def test_a_step_naming_an_unknown_identity_is_refused():
    from matrixflow.ops.base import Rule

    with pytest.raises(ValueError, match="unknown identity 'magic'"):
        Rule("A", "tr(Ȳᵀ dA) ={magic} tr(Ȳᵀ dA)", "Ā = Ȳ", lambda G, Y, A: G)


def test_explain_walks_back_op_by_op_with_names_shapes_and_rules():
    X = mf.Node(np.ones((3, 2)), requires_grad=True, name="X")
    A = mf.Node(np.eye(3), name="A")
    text = mf.explain(mf.trace(X.T @ A @ X))
    blocks = re.findall(r"\[(\d)\] (\w+) = (\w+)\(", text)
    assert [op for _, _, op in blocks] == ["trace", "matmul", "matmul", "transpose"]
    # the op's letters beside the graph's names, which may be letters too
    assert "B is 'A' (3×3, constant)" in text
    assert "B ('A') is constant: its rule is skipped" in text
    assert "rule B̄ = Aᵀ·Ȳ  →  ∂L/∂'X': 3×2" in text
    assert "Leaves: X (3×2) gets its .grad" in text


def test_explain_refuses_what_has_no_walk():
    with pytest.raises(ValueError, match="does not require grad"):
        mf.explain(mf.Node([[1.0]]) * 2.0)
    with pytest.raises(TypeError):
        mf.explain(np.ones((1, 1)))


def test_to_dot_draws_the_tree_with_shapes_and_gradients():
    x = mf.Node([[1.0, 2.0]], requires_grad=True, name="x")
    y = mf.sum(mf.exp(x) * 3.0)
    y.backward()
    dot = mf.to_dot(y, show_grad=True)
    assert dot.startswith("digraph matrixflow {") and dot.endswith("}")
    assert dot.count("->") == 4  # x→exp, exp→mul, const→mul, mul→sum
    # a leaf by its name and role, its gradient as the small matrix it is
    assert 'label="x\\n1×2, variable\\ngrad = [ 8.155  22.17 ]"' in dot
    # an op by its name and rule; edges by the operand's role and name
    assert 'label="sum: Y = sum of A\'s entries over an axis\\nY  1×1"' in dot
    assert 'n0 -> n1 [label="A: x"]' in dot and '[label="B: 3"]' in dot
    assert "grad" not in mf.to_dot(y)


def test_pictures_of_a_symbolic_tree_name_its_values_and_adjoints():
    import xml.dom.minidom

    from matrixflow.teaching.tree_picture import to_text

    A, X = mf.symbols("A X", shapes={"A": (3, 3), "X": (3, 2)})
    f = mf.trace(X.T @ A @ X)
    text = to_text(f)
    assert text.splitlines()[0] == "trace: Y = tr(A)"
    assert "XᵀAX  2×2" in text and "B ─ X  (as above)" in text  # X drawn once, used twice
    worked = mf.derive(f, X)
    svg = worked.tree_svg()
    xml.dom.minidom.parseString(svg)  # well-formed
    assert svg.count('<g class="node') == 6  # trace, two matmuls, transpose, X and A
    assert "∂f/∂· = (A + Aᵀ)X" in svg and "∂f/∂· = XᵀAᵀ" in svg  # each node's adjoint


def test_render_says_what_it_needs():
    try:
        import graphviz  # noqa: F401
    except ImportError:
        with pytest.raises(RuntimeError, match="pip install graphviz"):
            mf.render(mf.Node([[1.0]], requires_grad=True) * 2.0, "tree.png")
    else:  # pragma: no cover - only where graphviz is installed
        pytest.skip("graphviz is installed: rendering depends on the dot binary")


def _math_rows(latex):
    """The rows of a derivation's align* block, as plain math (no & or line breaks)."""
    body = latex.split("\\begin{align*}\n")[1].split("\n\\end{align*}")[0]
    return [row.replace("&", " ") for row in body.split(" \\\\\n")]


@pytest.fixture(scope="module")
def mathtext():
    """matplotlib's TeX math parser: it refuses what LaTeX would (a double subscript T_i_j,
    an unknown command) without a TeX installation."""
    parser = pytest.importorskip("matplotlib.mathtext").MathTextParser("path")
    return lambda math: parser.parse(f"${math}$")


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_derivation_is_math_that_tex_parses(name, mathtext):
    latex = mf.derivation(name, fmt="latex")
    assert not re.search(r"_[A-Za-z0-9]_", latex), f"{name}: a double subscript"
    for row in _math_rows(latex):
        mathtext(row)  # raises on an error


def test_english_in_a_derivation_is_text_not_math():
    add = mf.derivation("add", fmt="latex")
    assert r"\bar{Y} (\text{summed over broadcast axes})" in add
    assert r"\text{ copied down the rows } (\text{axis } 0)" in mf.derivation("sum", fmt="latex")
    header = mf.derivation("cross_entropy", fmt="latex").splitlines()[0]
    assert "T_{ij}" in header and "T_i_j" not in header
    assert r"\text{ one-hot labels or probabilities}" in header
    assert r"\operatorname{sum}(P \odot dA)" in mf.derivation("cross_entropy", fmt="latex")


def test_closed_forms_in_latex_are_ascii_math_that_tex_parses(mathtext):
    X, T, Y = mf.symbols("X T Y", shape=(3, 3))
    x = mf.symbols("x", shape=(3, 1))
    cases = {
        "sigmoid": (mf.binary_cross_entropy_with_logits(X, T), X, r"\sigma(X)"),
        "power": (mf.sum(x ** -1), x, r"x^{\circ -2}"),
        "rpow": (mf.sum(2 ** mf.trace(X)), X, r"\ln 2 \cdot 2^{\operatorname{tr}(X)}"),
        "where": (mf.huber_loss(X, Y), X, r"\operatorname{where}("),
        "absolute": (mf.huber_loss(X, Y), X, r"\left|X - Y\right|"),
        "attrs": (mf.cross_entropy(X, T), X, r"\operatorname{softmax}(X, \text{axis}=1)"),
        "fraction": (mf.cross_entropy(X, T), X, r"\frac{1}{3} \cdot"),
        "max": (mf.max(X), X, r"\max(X, \text{axis}=\text{None})"),
    }
    for label, (f, wrt, piece) in cases.items():
        latex = mf.closed_form(f, wrt).latex()
        assert piece in latex, (label, latex)
        assert all(ord(c) < 128 for c in latex), (label, latex)
        mathtext(latex)


def test_explain_keeps_the_ops_letters_apart_from_nodes_named_with_letters():
    A = mf.Node(np.ones((2, 2)), name="A")
    B = mf.Node(np.ones((2, 2)), requires_grad=True, name="B")
    text = mf.explain(mf.sum(B @ A))
    assert "A is 'B' (2×2), B is 'A' (2×2, constant)  →  Y is 'v1' (2×2)" in text
    assert "B ('A') is constant" in text and "B = A" not in text


@pytest.mark.parametrize("name", sorted(n for n in REGISTRY if len(REGISTRY[n].rules) == 2))
def test_the_trace_trick_line_shows_each_operands_own_term(name):
    op = REGISTRY[name]
    first, second = (rule.steps[0][0] for rule in op.rules)
    assert first != second, f"{name}: both operands start from the same term {first}"
    assert f"{first} + {second}".replace("+ −", "− ") in mf.derivation(name)


def test_trace_accepts_and_says_it_accepts_non_square_matrices():
    assert "Shapes: A: m×n → Y: 1×1" in mf.derivation("trace")
    X = mf.Node(np.arange(6.0).reshape(2, 3), requires_grad=True)
    mf.trace(X).backward()
    np.testing.assert_array_equal(X.grad, np.eye(2, 3))


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_latex_writes_adjoints_as_superscripts_and_the_image_ops_upright(name):
    latex = mf.derivation(name, fmt="latex").split("\n", 1)[1]  # after the "% name:" comment
    assert "*(" not in latex, latex  # S*(Ȳ) is S^{*}(\bar{Y})
    for word in re.finditer(r"(?:im2col|col2im)", latex):
        assert latex[:word.start()].endswith(r"\operatorname{"), latex
    assert to_latex("S*(Ȳ) = col2im(Ȳ); im2col is linear") == \
        r"S^{*}(\bar{Y}) = \operatorname{col2im}(\bar{Y}); \operatorname{im2col} \text{ is linear}"


def test_explain_shows_the_rule_variant_a_batch_norm_node_uses():
    x = mf.Node(np.random.default_rng(0).standard_normal((4, 3)), requires_grad=True)
    for node, used, unused in ((mf.batch_norm(x, training=True), "batch", "running"),
                               (mf.batch_norm(x, np.zeros(3), np.ones(3)), "running", "batch")):
        rule = next(line for line in mf.explain(mf.sum(node)).splitlines()
                    if line.startswith("    rule") and "1·s" in line)
        assert f"({used} statistics)" in rule and f"({unused} statistics)" not in rule
    # the op table keeps both
    assert "(batch statistics); Ā = Ȳ ⊙ 1·s (running statistics)" in \
        REGISTRY["batch_norm"].rules[0].result


def test_explain_shows_an_image_ops_geometry_and_names_each_layers_parameters():
    from matrixflow import nn

    conv = nn.Conv2d(1, 2, 3, padding=1, image_shape=(1, 4, 4), rng=0)
    alone = conv.weight.name
    pool = nn.MaxPool2d(2, image_shape=conv.output_shape)
    model = nn.Sequential(conv, nn.ReLU(), pool, nn.Flatten(), nn.Linear(8, 3, rng=0))
    x = mf.Node(np.random.default_rng(1).standard_normal((2, 16)), requires_grad=True)
    text = mf.explain(mf.cross_entropy(model(x), np.array([0, 2])))
    assert "    with image_shape=(1, 4, 4), kernel=(3, 3), stride=(1, 1), padding=(1, 1)" in text
    assert "    with image_shape=(2, 4, 4), kernel=(2, 2), stride=(2, 2), padding=(0, 0)" in text
    leaves = text.rsplit("Leaves: ", 1)[1]
    for name in ("layers.0.weight (9×2)", "layers.0.bias (1×2)", "layers.4.weight (8×3)",
                 "layers.4.bias (1×3)"):
        assert name in leaves
    assert alone == "weight"  # a layer alone keeps its attribute's name

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Linear(3, 4, rng=0), nn.Tanh())
            self.head = nn.Linear(4, 1, rng=0)

    assert [p.name for p in Net().parameters()] == [name for name, _ in
                                                   Net().named_parameters()] == [
        "features.layers.0.weight", "features.layers.0.bias", "head.weight", "head.bias"]
