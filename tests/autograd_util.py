"""Shared by the autograd engine tests (test_autograd.py, test_autograd_hooks_and_functions.py):
both libraries (chaingrad and, when installed, PyTorch as the oracle), float64 inputs, and the
gradient checks against central finite differences."""

from __future__ import annotations

import gc

import numpy as np
import pytest

pytest.importorskip("chaingrad._C")
import chaingrad as cg  # noqa: E402

try:  # the oracle; every comparison with it is skipped when it is missing
    import torch
except ImportError:  # pragma: no cover - depends on the environment
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
LIBS = [cg] + ([torch] if torch is not None else [])
both_libs = pytest.mark.parametrize("lib", LIBS, ids=lambda m: m.__name__)


def npy(t) -> np.ndarray:
    return t.detach().numpy()


def t64(lib, a, requires_grad=False):
    return lib.tensor(np.asarray(a, dtype=np.float64).tolist(), dtype=lib.float64, requires_grad=requires_grad)


def fd_grads(f, arrays, eps=1e-6):
    """Central finite differences of the scalar f(*chaingrad float64 tensors) w.r.t. each array."""
    arrays = [np.array(a, dtype=np.float64) for a in arrays]

    def value(arrs):
        with cg.no_grad():
            return f(*[t64(cg, a) for a in arrs]).item()

    grads = []
    for i, a in enumerate(arrays):
        g = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            plus = [b.copy() for b in arrays]
            minus = [b.copy() for b in arrays]
            plus[i][idx] += eps
            minus[i][idx] -= eps
            g[idx] = (value(plus) - value(minus)) / (2 * eps)
        grads.append(g)
    return grads


def lib_of(t):
    """The module a tensor belongs to (lets one test function run on both libraries)."""
    return cg if isinstance(t, cg.Tensor) else torch


def check_grads(f, arrays, atol=1e-6, rtol=1e-5):
    """Gradients of f from chaingrad's backward == finite differences (== PyTorch when installed).
    An input f does not use keeps .grad None (like PyTorch) and has a zero numerical gradient."""
    xs = [t64(cg, a, requires_grad=True) for a in arrays]
    f(*xs).backward()
    got = [None if x.grad is None else npy(x.grad) for x in xs]
    for g, want in zip(got, fd_grads(f, arrays)):
        np.testing.assert_allclose(np.zeros_like(want) if g is None else g, want, atol=atol, rtol=rtol)
    if torch is not None:
        ts = [t64(torch, a, requires_grad=True) for a in arrays]
        f(*ts).backward()
        for g, tt in zip(got, ts):
            assert (g is None) == (tt.grad is None)
            if g is not None:
                np.testing.assert_allclose(g, tt.grad.numpy(), atol=1e-10, rtol=1e-10)
    return got


def live_nodes() -> int:
    gc.collect()
    return cg._live_counts()["nodes"]

