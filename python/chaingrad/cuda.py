"""``chaingrad.cuda``: chaingrad has no CUDA backend; these answer as a CPU-only PyTorch does."""

from __future__ import annotations

from typing import Any

__all__ = ["device_count", "is_available", "is_initialized", "manual_seed", "manual_seed_all", "synchronize"]


def is_available() -> bool:
    """False: no CUDA device can be used."""
    return False


def device_count() -> int:
    """0: no CUDA devices."""
    return 0


def is_initialized() -> bool:
    return False


def manual_seed(seed: int) -> None:
    """Seeding CUDA generators is silently ignored when CUDA is not available, as in PyTorch."""


def manual_seed_all(seed: int) -> None:
    """See :func:`manual_seed`."""


def synchronize(device: Any = None) -> None:
    raise AssertionError("Torch not compiled with CUDA enabled")
