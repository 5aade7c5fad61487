"""Plumbing shared by the differential fuzz suites: the two libraries side by side, a progress
file so a crash names its case, outcome classes and value comparison.

The suites (``fuzz_*.py``) run in a child process started by ``tests/test_fuzz.py``: a segfault
or abort there fails one test with the case that caused it instead of killing the whole run.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Tuple

import chaingrad
import numpy as np
import torch
from hypothesis import HealthCheck, settings

# Deterministic by construction: the same examples on every machine and every run, no database.
settings.register_profile(
    "differential",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    max_examples=int(os.environ.get("CHAINGRAD_FUZZ_EXAMPLES", "150")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
settings.load_profile("differential")

LIBS = (chaingrad, torch)
_PROGRESS = os.environ.get("CHAINGRAD_FUZZ_PROGRESS")


def note_case(desc: str) -> None:
    """Record the case about to run, flushed to disk, so the parent can name it after a crash."""
    if _PROGRESS:
        with open(_PROGRESS, "w") as f:
            f.write(desc)
            f.flush()
            os.fsync(f.fileno())


class Findings:
    """Every difference a suite finds (not just the first), keyed so known ones can be named.

    ``check(key, f)`` runs one case; an AssertionError is recorded under `key` instead of stopping
    the suite. ``report(known)`` fails with every finding whose key is not in `known`, and with
    prints the entries of `known` that did not happen (fixed, or not reached by this run)."""

    def __init__(self) -> None:
        self.found: dict = {}

    def check(self, key: str, f: Callable[[], None]) -> None:
        try:
            f()
        except AssertionError as e:
            self.found.setdefault(key, str(e).split("\n")[0][:300])

    def report(self, known: dict) -> None:
        new = {k: v for k, v in self.found.items() if k not in known}
        lines = [f"  {k}: {v}" for k, v in sorted(new.items())]
        assert not new, f"{len(new)} difference(s) from PyTorch:\n" + "\n".join(lines)
        stale = sorted(set(known) - set(self.found))
        if stale:  # not reached with fewer examples, or fixed: worth a look, not a failure
            print("known differences not seen in this run:", ", ".join(stale))


def outcome(f: Callable[[], Any]) -> Tuple[str, Any]:
    """('ok', value) or (exception class name, message)."""
    try:
        return "ok", f()
    except Exception as e:  # noqa: BLE001 - the class itself is what is compared
        return _exc_class(e), str(e).split("\n")[0]


# PyTorch raises some subclasses (torch.OutOfMemoryError, NotImplementedError subclasses ...):
# they are compared by the builtin class users catch.
_BUILTIN = (IndexError, ZeroDivisionError, TypeError, ValueError, NotImplementedError, RuntimeError,
            AttributeError, KeyError, OverflowError)


def _exc_class(e: BaseException) -> str:
    for cls in _BUILTIN:
        if isinstance(e, cls):
            return cls.__name__
    return type(e).__name__


def to_numpy(t: Any) -> np.ndarray:
    if t is None:
        return None  # type: ignore[return-value]
    t = t.detach()
    if isinstance(t, torch.Tensor):
        return t.numpy(force=True)  # PyTorch's gradients may be ZeroTensors, which refuse plain numpy()
    return np.asarray(t.numpy())


def dtype_name(t: Any) -> str:
    return str(t.dtype).rsplit(".", 1)[-1]


def assert_same(a: Any, b: Any, what: str, rtol: float = 1e-6, atol: float = 1e-9) -> None:
    """chaingrad value `a` equals PyTorch value `b`: None-ness, shape, dtype, values (NaN equal)."""
    assert (a is None) == (b is None), f"{what}: chaingrad {a!r} vs torch {b!r}"
    if a is None:
        return
    assert tuple(a.shape) == tuple(b.shape), f"{what}: shape {tuple(a.shape)} vs {tuple(b.shape)}"
    assert dtype_name(a) == dtype_name(b), f"{what}: dtype {dtype_name(a)} vs {dtype_name(b)}"
    np.testing.assert_allclose(to_numpy(a), to_numpy(b), rtol=rtol, atol=atol, equal_nan=True, err_msg=what)
