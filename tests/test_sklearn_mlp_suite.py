"""scikit-learn's own MLP tests, run against matrixflow's estimators: a regression guard for
the drop-in promise.

The installed scikit-learn's `sklearn/neural_network/tests/test_mlp.py` is read, its one
import of the estimators is swapped for `from matrixflow.models import MLPClassifier,
MLPRegressor`, and the result is compiled (under the original file's name, so a failure's
traceback points into it) and executed into this module, where pytest collects its tests.
Nothing of it is copied into this repository.  `test_gradient` calls scikit-learn's private
`_loss_grad_lbfgs`, which matrixflow has no reason to have (its gradients come from the
backward walk): it is the one expected failure, strict, so it is noticed if it ever passes.
"""

import importlib.util
import inspect
import re
from pathlib import Path

import matrixflow.models
import pytest

SPEC = importlib.util.find_spec("sklearn.neural_network.tests.test_mlp")
SOURCE_PATH = Path(SPEC.origin)
SKLEARN_IMPORT = "from sklearn.neural_network import MLPClassifier, MLPRegressor"
OUR_IMPORT = "from matrixflow.models import MLPClassifier, MLPRegressor"
ORIGINAL = SOURCE_PATH.read_text(encoding="utf-8")
# the suite as scikit-learn 1.9.1 ships it: 43 test functions, 59 tests once parametrized
EXPECTED_FUNCTIONS = 43


def _swapped(source):
    count = source.count(SKLEARN_IMPORT)
    if count != 1:  # the tests would otherwise run scikit-learn's own estimators, and pass
        raise RuntimeError(f"{SOURCE_PATH}: expected the line {SKLEARN_IMPORT!r} once, found "
                           f"it {count} times; update tests/test_sklearn_mlp_suite.py")
    return source.replace(SKLEARN_IMPORT, OUR_IMPORT)


exec(compile(_swapped(ORIGINAL), str(SOURCE_PATH), "exec"), globals())

test_gradient = pytest.mark.xfail(  # the function the exec above defined
    raises=AttributeError, strict=True,
    reason="calls scikit-learn's private MLP._loss_grad_lbfgs; matrixflow's gradients come "
           "from its backward walk, tested against finite differences and PyTorch instead",
)(globals()["test_gradient"])


@pytest.fixture
def global_random_seed():
    """scikit-learn's conftest fixture (SKLEARN_TESTS_GLOBAL_RANDOM_SEED unset): seed 42."""
    return 42


def test_the_suite_runs_matrixflows_estimators():
    # the names the executed tests see are matrixflow's, not scikit-learn's
    assert globals()["MLPClassifier"] is matrixflow.models.MLPClassifier
    assert globals()["MLPRegressor"] is matrixflow.models.MLPRegressor
    assert "from sklearn.neural_network import" not in _swapped(ORIGINAL)


def test_the_whole_suite_was_collected():
    # a test file that stops collecting must fail loudly (HIPS autograd #401)
    tests = [name for name, value in globals().items()
             if name.startswith("test_") and inspect.isfunction(value)
             and value.__code__.co_filename == str(SOURCE_PATH)]
    assert len(tests) == len(re.findall(r"^def test_", ORIGINAL, flags=re.MULTILINE))
    assert len(tests) >= EXPECTED_FUNCTIONS, tests


def test_a_changed_import_line_is_refused():
    with pytest.raises(RuntimeError, match="expected the line"):
        _swapped(ORIGINAL.replace(SKLEARN_IMPORT, "from sklearn.neural_network import *"))
