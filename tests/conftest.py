"""Suite-wide guard: a test file that collects nothing fails the run.

HIPS autograd #401: a typo kept a test file from running and a wrong-sign gradient shipped.
When the whole suite runs, every tests/test_*.py must contribute tests, and the total must not
fall below a floor, so a broken file fails loudly instead of passing by silence.
"""

from pathlib import Path

import pytest
from hypothesis import settings

# The same examples on every run, so CI never fails by chance on a clean clone; run
# `pytest --hypothesis-profile=explore` to draw new ones.
settings.register_profile("default", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile("default")

TESTS = Path(__file__).parent


@pytest.fixture
def broken_rule(monkeypatch):
    """Replace one op's rule for one test (the registry is restored afterwards)."""
    from matrixflow.ops.base import REGISTRY, Rule

    def install(op_name, position, fn):
        op = REGISTRY[op_name]
        rules = list(op.rules)
        old = rules[position]
        rules[position] = Rule(old.operand, old.trace, old.result, fn)
        monkeypatch.setattr(op, "rules", tuple(rules))

    return install


@pytest.fixture
def cp():
    """The CPU stand-in for CuPy (tests/fake_cupy.py) as `cupy` for one test: matrixflow
    imports CuPy lazily, so inside the test a move to "cuda" lands on its fake device."""
    import fake_cupy

    with fake_cupy.installed() as module:
        yield module

# The suite collects about 5 400: 4 000 that run on every machine and 1 430 GPU cases of the op
# suite (each op case on CuPy), which a machine without CuPy and a GPU skips. A large drop means
# files or parametrizations stopped collecting.
MINIMUM_TESTS = 5600


def _whole_suite(config) -> bool:
    if config.getoption("keyword") or config.getoption("markexpr"):
        return False
    args = [Path(a.split("::")[0]).resolve() for a in config.args]
    return not args or all(a in (TESTS, TESTS.parent) for a in args)


def pytest_collection_modifyitems(session, config, items):
    if not _whole_suite(config):
        return
    ignored = {Path(p).resolve() for p in config.getoption("ignore") or []}
    per_file = {path.name: 0 for path in TESTS.glob("test_*.py") if path.resolve() not in ignored}
    for item in items:
        name = Path(str(item.fspath)).name
        if name in per_file:
            per_file[name] += 1
    empty = sorted(name for name, count in per_file.items() if count == 0)
    if empty:
        raise pytest.UsageError(f"these test files collected no tests: {', '.join(empty)}")
    if len(items) < MINIMUM_TESTS:
        raise pytest.UsageError(
            f"only {len(items)} tests collected, fewer than the {MINIMUM_TESTS} expected: "
            "a test file or parametrization has stopped collecting"
        )
