"""Grad modes: ``no_grad``, ``enable_grad``, ``set_grad_enabled`` and ``inference_mode``.

The state itself is thread-local and lives in the C++ core; these classes are context managers
and decorators around it, with PyTorch's semantics (``set_grad_enabled(False)`` called as a plain
function switches the mode at once; ``no_grad()`` alone does nothing until entered).
"""

from __future__ import annotations

import functools
import inspect
import sys
from typing import Any, Callable, TypeVar

from .. import _C

F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["enable_grad", "inference_mode", "is_grad_enabled", "no_grad", "set_grad_enabled"]

is_grad_enabled = _C.is_grad_enabled


def _decorate(make_context: Callable[[], Any], fn: F) -> F:
    """Wraps ``fn`` so that it runs inside a fresh ``make_context()``; a generator function gets the
    mode back on every resume (and the caller's mode between resumes), as in PyTorch."""
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def generator(*args: Any, **kwargs: Any) -> Any:
            gen = fn(*args, **kwargs)
            try:
                with make_context():
                    response = gen.send(None)
                while True:
                    try:
                        request = yield response
                    except GeneratorExit:
                        with make_context():
                            gen.close()
                        raise
                    except BaseException:
                        with make_context():
                            response = gen.throw(*sys.exc_info())
                    else:
                        with make_context():
                            response = gen.send(request)
            except StopIteration as stop:
                return stop.value

        return generator  # type: ignore[return-value]

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with make_context():
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


class _GradModeContext:
    """Base: sets grad mode on ``__enter__``, restores it on ``__exit__``; usable as a decorator,
    with or without parentheses (``@no_grad`` and ``@no_grad()``)."""

    _enabled = True

    def __new__(cls, orig_func: Any = None) -> Any:
        if orig_func is None or cls is set_grad_enabled:
            return super().__new__(cls)
        if not callable(orig_func):
            raise TypeError(f"{cls.__name__}() takes no arguments, got {type(orig_func).__name__}")
        return cls()(orig_func)  # bare decorator: @no_grad

    def __init__(self) -> None:
        self._prev = _C.is_grad_enabled()

    def __enter__(self) -> None:
        self._prev = _C.is_grad_enabled()
        _C._set_grad_enabled(self._enabled)

    def __exit__(self, *exc: Any) -> None:
        _C._set_grad_enabled(self._prev)

    def __call__(self, fn: F) -> F:
        return _decorate(self.clone, fn)

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
        return _decorate(lambda: set_grad_enabled(mode), fn)

    def clone(self) -> set_grad_enabled:
        return set_grad_enabled(self._enabled)


class inference_mode(_GradModeContext):  # noqa: N801 - PyTorch's name
    """Like ``no_grad`` (nothing is recorded); ``inference_mode(False)`` leaves grad mode alone."""

    def __new__(cls, mode: Any = True) -> Any:
        if isinstance(mode, bool):
            return object.__new__(cls)
        if not callable(mode):
            raise TypeError(f"inference_mode() expects a bool, got {type(mode).__name__}")
        return cls(True)(mode)  # bare decorator: @inference_mode

    def __init__(self, mode: bool = True) -> None:
        self._prev = _C.is_grad_enabled()
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
        return _decorate(lambda: inference_mode(mode), fn)

    def clone(self) -> inference_mode:
        return inference_mode(self._mode)
