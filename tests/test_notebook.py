"""The teacher's notebook, executed headless as Jupyter would (nbclient and a real kernel):
closed forms come back typeset (text/latex), derivations as math, trees as SVG pictures, and
`print` still gives text."""

import xml.dom.minidom
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "trace-trick.ipynb"


@pytest.fixture(scope="module")
def executed():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def _output(cell, kind="execute_result"):
    found = [o for o in cell.outputs if o.output_type == kind]
    assert found, f"no {kind} in {cell.source!r}: {cell.outputs}"
    return found[0]


def _cell(cells, text):
    return next(cell for cell in cells if text in cell.source)


def test_no_cell_fails(executed):
    errors = [o for cell in executed for o in cell.outputs if o.output_type == "error"]
    assert not errors, errors


def test_a_derivation_renders_as_math(executed):
    data = _output(_cell(executed, 'mf.derivation("matmul")')).data
    assert data["text/latex"].startswith("$$\\begin{align*}")
    assert r"\bar{A}" in data["text/latex"]
    assert data["text/plain"].startswith("matmul: Y = A·B")  # the text, not a quoted string
    assert "\\n" not in data["text/plain"]


def test_a_closed_form_renders_as_math(executed):
    data = _output(_cell(executed, "mf.closed_form(mf.trace")).data
    assert data["text/latex"] == r"$\left(A + A^{\top}\right)X$"
    assert data["text/plain"] == "Sym((A + Aᵀ)X, shape 3×2)"
    data = _output(_cell(executed, "mf.hessian(")).data
    assert data["text/latex"] == r"$A + A^{\top}$"


def test_a_worked_derivation_renders_as_math_and_prints_as_text(executed):
    data = _output(_cell(executed, "worked = mf.derive")).data
    latex = data["text/latex"]
    assert latex.startswith("$$\\begin{align*}") and latex.endswith("\\end{align*}$$")
    assert r"\frac{\partial f}{\partial X} = \left(a \odot \exp(Xb)\right)b^{\top}" in latex
    printed = _output(_cell(executed, "print(worked)"), "stream").text
    assert "= tr(b·(a ⊙ exp(Xb))ᵀ dX)      cyclic permutation" in printed


def test_trees_render_as_svg_pictures(executed):
    for marker, text in (("worked.picture()", "∂f/∂· = (a ⊙ exp(Xb))bᵀ"),
                         ("y = mf.sum(mf.exp(x) * x)", "exp: Y = e^A"),
                         ("mf.picture(y, show_grad=True)", "grad = [")):
        outputs = _cell(executed, marker).outputs
        svg = next(o.data["image/svg+xml"] for o in outputs if "image/svg+xml" in o.get("data", {}))
        xml.dom.minidom.parseString(svg)
        assert text in svg, (marker, text)
    # a Node still has its text form beside the picture
    data = _output(_cell(executed, "y = mf.sum(mf.exp(x) * x)")).data
    assert data["text/plain"].startswith("Node(")


def test_an_explained_walk_renders_preformatted(executed):
    data = _output(_cell(executed, "mf.explain(y)")).data
    assert data["text/html"].startswith('<pre class="matrixflow-walk">Backward walk from Y')
    assert data["text/plain"].startswith("Backward walk from Y")


def test_the_gradient_check_prints_its_verdict(executed):
    printed = _output(_cell(executed, "mf.check_gradient("), "stream").text
    assert printed.startswith("wrong: missing term")
