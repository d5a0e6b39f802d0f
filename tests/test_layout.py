"""The layout shows the architecture: the engine imports no room above it, the rooms import only
downward, the install holds `matrixflow.models` and no top-level `models`, and no module grows
past the size where a file holds two ideas."""

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "matrixflow"

# Each room, by its top-level name inside matrixflow; the engine is everything else but the
# command (cli, __main__, __init__), which may import every room.
ROOMS = {
    "verification": {"verification"},
    "teaching": {"teaching"},
    "training": {"nn", "optim", "data", "models"},
    "web": {"web"},
    "testing": {"testing"},
}
COMMAND = {"cli", "__main__", "__init__"}
# What each room may import besides the engine: teaching uses the verifier's numeric checks;
# the page (web) sits above teaching and shows its work. No room imports web. The helpers for
# users' test suites (testing) sit above verification; nothing in matrixflow imports them.
MAY_IMPORT = {"verification": set(), "teaching": {"verification"}, "training": set(),
              "web": {"teaching", "verification"}, "testing": {"verification"}}


def _room_of(top: str) -> str:
    for room, names in ROOMS.items():
        if top in names:
            return room
    return "command" if top in COMMAND else "engine"


def _sources():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path, path.relative_to(PACKAGE).parts
    for path in sorted((ROOT / "models").rglob("*.py")):  # installed as matrixflow.models
        yield path, ("models", *path.relative_to(ROOT / "models").parts)


def _imported_tops(path: Path, parts: tuple) -> set[str]:
    """The top-level matrixflow names a module imports, lazily inside functions too."""
    package = ["matrixflow", *parts[:-1]]
    tops = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                names = base + (node.module.split(".") if node.module else [])
            else:
                names = (node.module or "").split(".")
            if names[0] != "matrixflow":
                continue
            if len(names) > 1:
                tops.add(names[1])
            else:  # from matrixflow import nn, optim / from . import ops
                tops.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                names = alias.name.split(".")
                if names[0] == "matrixflow":
                    tops.add(names[1] if len(names) > 1 else "__init__")
    return tops


def _imports_by_module():
    found = {}
    for path, parts in _sources():
        top = parts[0].removesuffix(".py")
        found[path] = (top, _imported_tops(path, parts))
    return found


def test_the_engine_imports_no_room_above_it():
    offences = []
    for path, (top, imported) in _imports_by_module().items():
        if _room_of(top) != "engine":
            continue
        for name in imported:
            if _room_of(name) not in ("engine",):
                offences.append(f"{path.relative_to(ROOT)} imports matrixflow.{name}")
    assert not offences, "the engine must not import the rooms built on it:\n" + "\n".join(
        offences)


def test_each_room_imports_only_downward():
    offences = []
    for path, (top, imported) in _imports_by_module().items():
        room = _room_of(top)
        if room in ("engine", "command"):
            continue
        for name in imported:
            other = _room_of(name)
            if other == "command" and name == "__init__" and room == "training":
                continue  # `import matrixflow as mf` in the estimators: the public API
            if other not in ("engine", room) and other not in MAY_IMPORT[room]:
                offences.append(f"{path.relative_to(ROOT)} ({room}) imports matrixflow.{name} "
                                f"({other})")
    assert not offences, "\n".join(offences)


def test_only_the_pages_server_imports_flask():
    # `matrixflow.web.api` and everything else must work without the web extra
    offences = []
    for path, _ in _sources():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n.split(".")[0] in ("flask", "werkzeug") for n in names):
                offences.append(str(path.relative_to(ROOT)))
    assert set(offences) <= {"matrixflow/web/server.py"}, offences


def test_nothing_in_matrixflow_imports_the_testing_helpers():
    # not even the command or the public API: `import matrixflow` must not need Hypothesis
    offences = [f"{path.relative_to(ROOT)}" for path, (top, imported) in
                _imports_by_module().items() if top != "testing" and "testing" in imported]
    assert not offences, offences


def test_only_the_strategies_import_hypothesis():
    offences = []
    for path, _ in _sources():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n.split(".")[0] == "hypothesis" for n in names):
                offences.append(str(path.relative_to(ROOT)))
    assert set(offences) <= {"matrixflow/testing/strategies.py"}, offences


def test_the_checker_sees_a_forbidden_import(tmp_path):
    # the test above must be able to fail: a lazy import of a room inside a function counts
    source = tmp_path / "walk.py"
    source.write_text("def f():\n    from .teaching.symbolic import Sym\n    return Sym\n")
    assert _imported_tops(source, ("walk.py",)) == {"teaching"}
    source.write_text("from ..verification import gradcheck\n")
    assert _imported_tops(source, ("ops", "base.py")) == {"verification"}


def test_no_module_holds_two_ideas_by_size():
    long = [f"{path.relative_to(ROOT)}: {len(path.read_text().splitlines())} lines"
            for path, _ in _sources() if len(path.read_text().splitlines()) > 420]
    assert not long, "split these by idea (about 400 lines at most):\n" + "\n".join(long)


def test_pyproject_lists_every_package_of_the_tree():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11 and later
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    in_tree = {".".join(("matrixflow", *p.parent.relative_to(PACKAGE).parts)).rstrip(".")
               for p in PACKAGE.rglob("__init__.py")}
    in_tree.add("matrixflow.models")
    assert set(config["packages"]) == in_tree
    assert config["package-dir"] == {"matrixflow.models": "models"}
    assert not any(name == "models" or name.startswith("models.") for name in config["packages"])


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(folder),
                    str(ROOT)], check=True, capture_output=True)
    (built,) = folder.glob("matrixflow-*.whl")
    with zipfile.ZipFile(built) as archive:
        return archive.namelist()


def test_the_install_has_matrixflow_models_and_no_top_level_models(wheel):
    tops = {name.split("/")[0] for name in wheel}
    assert "models" not in tops  # a user's own models.py would shadow it
    assert {t for t in tops if not t.endswith((".dist-info", ".data"))} == {"matrixflow"}
    for part in ("models/__init__.py", "models/mlp.py", "models/data/sunspots_yearly.csv",
                 "verification/gradcheck.py", "teaching/symbolic/expr.py", "nn/recurrent.py",
                 "web/server.py", "testing/strategies.py", "web/static/index.html",
                 "web/static/temml.min.js",
                 "web/static/Temml.woff2", "web/static/temml-LICENSE.txt"):
        assert f"matrixflow/{part}" in wheel


def test_a_users_own_models_py_does_not_shadow_the_estimators(tmp_path):
    (tmp_path / "models.py").write_text("WHO = 'the user'\n")
    code = ("import models; from matrixflow.models import MLPRegressor, MLPClassifier, "
            "RNNRegressor, datasets; print(models.WHO, MLPRegressor.__module__)")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, check=True).stdout
    assert out.split() == ["the", "user", "matrixflow.models.mlp"]


SAVED = Path(__file__).parent / "data" / "saved_by_0.1"


def test_files_saved_before_the_move_still_load():
    # saved by matrixflow 0.1 (commit b867b72), when the estimators were a top-level `models`
    from matrixflow.models import MLPClassifier, MLPRegressor, RNNRegressor

    expected = np.load(SAVED / "expected.npz")
    mlp = MLPRegressor.load(SAVED / "mlp_regressor.npz")
    clf = MLPClassifier.load(SAVED / "mlp_classifier.npz")
    rnn = RNNRegressor.load(SAVED / "rnn_regressor.npz")
    # the same weights give the same predictions, up to the last bit a BLAS build may round
    # differently (a wrong or transposed weight would be off in the first digits)
    close = dict(rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(mlp.predict(expected["X"]), expected["mlp"], **close)
    np.testing.assert_allclose(clf.predict_proba(expected["X"]), expected["clf"], **close)
    np.testing.assert_allclose(rnn.predict(expected["S"]), expected["rnn"], **close)
