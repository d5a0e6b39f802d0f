"""Grad mode: whether ops record the tree, per thread and async context.

`no_grad()` switches graph building off for the current thread or async context (a ContextVar,
DeZero's `using_config` made safe for threads); `enable_grad()` switches it back on inside;
`set_grad_enabled(mode)` switches it now, as PyTorch's does.
"""

from __future__ import annotations

import functools
from contextvars import ContextVar

_grad_enabled: ContextVar[bool] = ContextVar("matrixflow_grad_enabled", default=True)


def is_grad_enabled() -> bool:
    """Whether ops record the tree (False inside `no_grad()`)."""
    return _grad_enabled.get()


class _GradMode:
    """Sets grad mode inside `with` and restores it after; reusable, nestable, and usable as a
    decorator with or without parentheses (`@mf.no_grad` and `@mf.no_grad()`)."""

    enabled = True

    def __new__(cls, func=None):
        if callable(func):  # bare @no_grad on a function
            return cls()(func)
        return super().__new__(cls)

    def __init__(self, func=None):
        self._tokens = []

    def __enter__(self):
        self._tokens.append(_grad_enabled.set(self.enabled))
        return self

    def __exit__(self, *exc_info):
        _grad_enabled.reset(self._tokens.pop())
        return False

    def __call__(self, func):
        mode = type(self)

        @functools.wraps(func)
        def run_in_mode(*args, **kwargs):
            with mode():
                return func(*args, **kwargs)

        return run_in_mode


class no_grad(_GradMode):  # lower case: used like a function, as torch.no_grad
    """`with mf.no_grad():` (or `@mf.no_grad`) builds no graph: results are constant leaves."""

    enabled = False


class enable_grad(_GradMode):
    """Turn graph building back on inside a `no_grad()` block."""

    enabled = True


class set_grad_enabled:  # as torch.set_grad_enabled
    """Switch graph building on or off now; as a context manager, restore the old mode on exit.

    `mf.set_grad_enabled(False)` takes effect at once, as in PyTorch, for the current thread or
    async context.
    """

    def __init__(self, mode: bool):
        self._previous = _grad_enabled.get()
        _grad_enabled.set(bool(mode))

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        _grad_enabled.set(self._previous)
        return False


