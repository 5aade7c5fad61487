"""Anomaly detection: ``detect_anomaly()`` and ``set_detect_anomaly(mode, check_nan=True)``."""

from __future__ import annotations

from typing import Any

__all__ = ["detect_anomaly", "is_anomaly_enabled", "set_detect_anomaly"]

_state = {"enabled": False, "check_nan": True}


def is_anomaly_enabled() -> bool:
    """Whether anomaly detection is on."""
    return _state["enabled"]


class set_detect_anomaly:  # noqa: N801 - PyTorch's name
    """Turns anomaly detection on or off (immediately, and restores on exit as a context manager)."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self._prev = dict(_state)
        _state["enabled"] = bool(mode)
        _state["check_nan"] = bool(check_nan)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: Any) -> None:
        _state.update(self._prev)


class detect_anomaly:  # noqa: N801 - PyTorch's name
    """Context manager that enables anomaly detection inside its block."""

    def __init__(self, check_nan: bool = True) -> None:
        self._check_nan = check_nan

    def __enter__(self) -> None:
        self._prev = dict(_state)
        _state["enabled"] = True
        _state["check_nan"] = self._check_nan

    def __exit__(self, *exc: Any) -> None:
        _state.update(self._prev)
