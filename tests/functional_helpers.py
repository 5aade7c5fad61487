"""Shared by the function-transform tests (test_autograd_functional.py, test_func.py,
test_grads_batched.py): the optional PyTorch oracle, float64 inputs for either library, and
comparisons of nested results (same nesting, shapes and values)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

try:
    import torch
except ImportError:  # the PyTorch comparisons are skipped
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")


def t64(lib: Any, a: np.ndarray, **kw: Any) -> Any:
    """A float64 tensor of ``lib`` (chaingrad or torch) holding a copy of ``a``."""
    return lib.tensor(np.array(a, copy=True), dtype=lib.float64, **kw)


def to_numpy(v: Any, plain: bool = False) -> Any:
    """numpy arrays in the same nesting (tuples, lists, dicts); with ``plain``, every tensor must
    be outside any graph (the results of a non-nested transform)."""
    if isinstance(v, (tuple, list)):
        return type(v)(to_numpy(e, plain) for e in v)
    if isinstance(v, dict):
        return {k: to_numpy(e, plain) for k, e in v.items()}
    if plain:
        assert not v.requires_grad, "results of a non-nested transform are plain tensors"
    return np.asarray(v.detach().numpy())


def same(a: Any, e: Any, what: str = "result") -> None:
    """Same nesting (tuple, list or dict, as the expected value), shapes and values."""
    if isinstance(e, (tuple, list, dict)):
        assert type(a) is type(e), f"{what}: nesting {type(a)} != {type(e)}"
    if isinstance(e, dict):
        assert a.keys() == e.keys(), f"{what}: keys {a.keys()} != {e.keys()}"
        for k in e:
            same(a[k], e[k], f"{what}[{k}]")
        return
    if isinstance(e, (tuple, list)):
        assert len(a) == len(e), f"{what}: {len(a)} entries, expected {len(e)}"
        for i, (x, y) in enumerate(zip(a, e)):
            same(x, y, f"{what}[{i}]")
        return
    assert a.shape == e.shape, f"{what}: shape {a.shape} != {e.shape}"
    np.testing.assert_allclose(a, e, rtol=1e-10, atol=1e-12, err_msg=what)
