"""Shared by the tensor-core tests (test_tensor_core.py, test_tensor_kernels.py,
test_tensor_indexing_and_python.py): inputs of every dtype and layout, conversions between
chaingrad, PyTorch and numpy, and the comparison helpers."""

from __future__ import annotations

from typing import Any, Callable, Optional, Tuple

import chaingrad
import numpy as np
import pytest

torch = pytest.importorskip("torch")

DTYPES = ["bool", "int64", "float32", "float64"]
NUMERIC = ["int64", "float32", "float64"]
FLOATS = ["float32", "float64"]
RNG = np.random.default_rng(1234)


def cg(a: Any) -> chaingrad.Tensor:
    """A chaingrad tensor owning a copy of numpy array ``a``."""
    return chaingrad.from_numpy(np.array(a, copy=True))


def th(a: Any) -> torch.Tensor:
    return torch.from_numpy(np.array(a, copy=True))


def npy(t: Any) -> np.ndarray:
    return t.detach().numpy() if hasattr(t, "detach") else np.asarray(t)


def dname(t: Any) -> str:
    return str(t.dtype).split(".")[-1]


def data(dtype: str, shape: Tuple[int, ...], low: int = -5, high: int = 6) -> np.ndarray:
    """Random values of a numpy dtype; floats avoid exact ties, ints stay small."""
    if dtype == "bool":
        return RNG.random(shape) > 0.5
    if dtype == "int64":
        return RNG.integers(low, high, shape).astype(np.int64)
    return (RNG.standard_normal(shape) * 2).astype(dtype)


def strided(a: np.ndarray) -> chaingrad.Tensor:
    """The values of ``a`` as a non-contiguous chaingrad view (every other element of a buffer
    twice as large in each dim, made by chaingrad's own slicing)."""
    if a.ndim == 0:
        return cg(a)
    big = chaingrad.zeros(*[2 * s for s in a.shape], dtype=getattr(chaingrad, a.dtype.name))
    view = big[tuple(slice(None, None, 2) for _ in a.shape)]
    view.copy_(cg(a))
    assert a.size <= 1 or not view.is_contiguous()
    return view


def transposed(a: np.ndarray) -> chaingrad.Tensor:
    """The values of ``a`` as a permuted (column-major) chaingrad view."""
    if a.ndim < 2:
        return strided(a)
    t = cg(np.ascontiguousarray(np.transpose(a))).permute(*reversed(range(a.ndim)))
    assert a.size <= 1 or not t.is_contiguous() or 1 in a.shape
    return t


LAYOUTS = {"contiguous": cg, "strided": strided, "transposed": transposed}


def outcome(fn: Callable[[], Any]) -> Tuple[str, Any]:
    """("ok", result) or (exception type name, message)."""
    try:
        return "ok", fn()
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        # chaingrad keeps PyTorch's message in str(e) and adds culprit details as notes.
        return type(e).__name__, "\n".join([str(e), *getattr(e, "__notes__", [])])


def same_storage_torch(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()


def assert_close(actual: Any, expected: Any, dtype: Optional[str] = None, rtol: float = 1e-5,
                 atol: float = 1e-6) -> None:
    a, e = npy(actual), np.asarray(expected)
    assert a.shape == e.shape, (a.shape, e.shape)
    if dtype is not None:
        assert dname(actual) == dtype
    if a.dtype.kind in "biu" and e.dtype.kind in "biu":
        np.testing.assert_array_equal(a, e)
    else:
        np.testing.assert_allclose(a.astype(np.float64), e.astype(np.float64), rtol=rtol, atol=atol,
                                   equal_nan=True)

