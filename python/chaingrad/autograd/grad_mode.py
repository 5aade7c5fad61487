"""Grad modes: ``no_grad``, ``enable_grad``, ``set_grad_enabled`` and ``inference_mode``.

The state itself is thread-local and lives in the C++ core; these classes are context managers
and decorators around it, with PyTorch's semantics (``set_grad_enabled(False)`` called as a plain
function switches the mode at once; ``no_grad()`` alone does nothing until entered).
"""

from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

from .. import _C

F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["enable_grad", "inference_mode", "is_grad_enabled", "no_grad", "set_grad_enabled"]

is_grad_enabled = _C.is_grad_enabled


class _GradModeContext:
    """Base: sets grad mode on ``__enter__``, restores it on ``__exit__``; usable as a decorator."""

    _enabled = True

    def __init__(self) -> None:
        self._prev = _C.is_grad_enabled()

    def __enter__(self) -> None:
        self._prev = _C.is_grad_enabled()
        _C._set_grad_enabled(self._enabled)

    def __exit__(self, *exc: Any) -> None:
        _C._set_grad_enabled(self._prev)

    def __call__(self, fn: F) -> F:
        cls = type(self)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with cls():
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    def clone(self) -> _GradModeContext:
        return type(self)()


class no_grad(_GradModeContext):  # noqa: N801 - PyTorch's name
    """Disables gradient recording inside its block (or the decorated function)."""

    _enabled = False


class enable_grad(_GradModeContext):  # noqa: N801 - PyTorch's name
    """Enables gradient recording inside its block, even within ``no_grad``."""

    _enabled = True


class set_grad_enabled(_GradModeContext):  # noqa: N801 - PyTorch's name
    """Sets grad mode to ``mode`` immediately; as a context manager, restores it on exit."""

    def __init__(self, mode: bool) -> None:
        self._prev = _C.is_grad_enabled()
        self._enabled = bool(mode)
        _C._set_grad_enabled(self._enabled)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: Any) -> None:
        _C._set_grad_enabled(self._prev)

    def __call__(self, fn: F) -> F:
        _C._set_grad_enabled(self._prev)
        mode = self._enabled

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    def clone(self) -> set_grad_enabled:
        return set_grad_enabled(self._enabled)


class inference_mode(_GradModeContext):  # noqa: N801 - PyTorch's name
    """Like ``no_grad`` (nothing is recorded); ``inference_mode(False)`` leaves grad mode alone."""

    def __init__(self, mode: bool = True) -> None:
        super().__init__()
        self._mode = bool(mode)
        self._enabled = not self._mode

    def __enter__(self) -> None:
        self._prev = _C.is_grad_enabled()
        self._prev_inf = _C.is_inference_mode_enabled()
        if self._mode:
            _C._set_grad_enabled(False)
        _C._set_inference_mode(self._mode)

    def __exit__(self, *exc: Any) -> None:
        _C._set_grad_enabled(self._prev)
        _C._set_inference_mode(self._prev_inf)

    def __call__(self, fn: F) -> F:
        mode = self._mode

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with inference_mode(mode):
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]
