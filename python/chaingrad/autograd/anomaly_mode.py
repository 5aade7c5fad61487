"""Anomaly detection: ``detect_anomaly()``, ``set_detect_anomaly(mode, check_nan=True)`` and the
cheaper ``set_nan_check(mode, check_inf=True)``.

Anomaly mode behaves as PyTorch's:

* every graph node created while it is on records the Python stack of the forward call that
  created it (``grad_fn._creation_trace``); nodes created during a backward pass (double
  backward) also record which node's backward created them;
* when the evaluation of a node fails in backward, a ``UserWarning`` "Error detected in
  MulBackward0. Traceback of forward call that caused the error: ..." shows that stack before the
  error propagates;
* with ``check_nan=True`` (the default) a node whose backward returns NaN raises
  ``RuntimeError: Function 'MulBackward0' returned nan values in its 0th output.`` (inf is not an
  anomaly, as in PyTorch: ``sqrt`` at 0 legitimately has an infinite gradient).

Like PyTorch's, the mode is process-wide, and it is slow: capturing a stack per node costs
microseconds. ``set_nan_check(True)`` is the cheap alternative for long runs: no stacks are
recorded; every node's gradients are checked for NaN and, unless ``check_inf=False``, for inf
(``... returned inf values in its 0th output.``), which costs one pass over each gradient. Both
errors carry a note naming the node, the input the bad gradient was for, its shape and dtype and
how many elements are bad.
"""

from __future__ import annotations

import linecache
import re
import warnings
from typing import Any

from .. import _C

__all__ = [
    "detect_anomaly",
    "is_anomaly_check_nan_enabled",
    "is_anomaly_enabled",
    "is_nan_check_enabled",
    "set_detect_anomaly",
    "set_nan_check",
]

_FRAME = re.compile(r'^  File "(?P<file>.*)", line (?P<line>\d+), in .*$')


def is_anomaly_enabled() -> bool:
    """Whether anomaly detection is on."""
    return _C._is_anomaly_enabled()


def is_anomaly_check_nan_enabled() -> bool:
    """Whether anomaly detection also checks backward results for NaN."""
    return _C._is_anomaly_check_nan_enabled()


def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    """Turns anomaly detection on or off (``torch.set_anomaly_enabled``)."""
    _C._set_anomaly_enabled(bool(enabled), bool(check_nan))


class detect_anomaly:  # noqa: N801 - PyTorch's name
    """Context manager that enables anomaly detection inside its block (see the module docs)."""

    def __init__(self, check_nan: bool = True) -> None:
        self.prev = is_anomaly_enabled()
        self.check_nan = check_nan
        self.prev_check_nan = is_anomaly_check_nan_enabled()
        warnings.warn(
            "Anomaly Detection has been enabled. This mode will increase the runtime and should "
            "only be enabled for debugging.",
            stacklevel=2,
        )

    def __enter__(self) -> None:
        set_anomaly_enabled(True, self.check_nan)

    def __exit__(self, *exc: Any) -> None:
        set_anomaly_enabled(self.prev, self.prev_check_nan)


class set_detect_anomaly:  # noqa: N801 - PyTorch's name
    """Turns anomaly detection on or off at once; as a context manager, restores it on exit."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self.prev = is_anomaly_enabled()
        self.prev_check_nan = is_anomaly_check_nan_enabled()
        set_anomaly_enabled(mode, check_nan)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: Any) -> None:
        set_anomaly_enabled(self.prev, self.prev_check_nan)


def is_nan_check_enabled() -> bool:
    """Whether the cheap NaN check (``set_nan_check``) is on."""
    return _C._is_nan_check_enabled()


class set_nan_check:  # noqa: N801 - named like set_detect_anomaly
    """Checks every node's backward results for NaN (and inf unless ``check_inf=False``) without
    recording stacks: ``RuntimeError: Function 'DivBackward0' returned nan values in its 1th
    output.`` at the first node that produces one. Takes effect at once; as a context manager,
    restores the previous setting on exit. chaingrad-only (PyTorch has anomaly mode only)."""

    def __init__(self, mode: bool = True, check_inf: bool = True) -> None:
        self.prev = (_C._is_nan_check_enabled(), _C._is_nan_check_inf_enabled())
        _C._set_nan_check(bool(mode), bool(check_inf))

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: Any) -> None:
        _C._set_nan_check(*self.prev)


def _format_trace(trace: str) -> str:
    """Adds the source lines to a recorded stack (they are looked up only when shown)."""
    out = []
    for line in trace.splitlines():
        out.append(line)
        m = _FRAME.match(line)
        if m:
            src = linecache.getline(m.group("file"), int(m.group("line"))).strip()
            if src:
                out.append("    " + src)
    return "\n".join(out) + ("\n" if trace.endswith("\n") else "")


def _warn(message: str) -> None:
    """Called by the engine (anomaly mode) to show a node's creation stack."""
    warnings.warn(_format_trace(message), UserWarning, stacklevel=2)


def _creation_trace(node: Any) -> str:
    """The stack of the forward call that created ``node`` ('' unless anomaly mode was on)."""
    return _format_trace(_C._node_creation_trace(node))


_C.Node._creation_trace = property(_creation_trace)
