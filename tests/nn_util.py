"""Shared by the chaingrad.nn tests (test_nn.py, test_nn_functional.py): conversions between
numpy, chaingrad and PyTorch (the oracle, skipped when missing)."""

import chaingrad
import numpy as np
import pytest


def cg(a, requires_grad=False):
    t = chaingrad.from_numpy(np.array(a, copy=True))
    return t.requires_grad_() if requires_grad else t


def npy(t):
    return t.detach().numpy().copy()


def th(a, requires_grad=False):
    torch = pytest.importorskip("torch")
    t = torch.from_numpy(np.array(a, copy=True))
    return t.requires_grad_() if requires_grad else t


def copy_weights(src_cg, dst_torch):
    """Copy a chaingrad module's parameters into a torch module with the same structure."""
    torch = pytest.importorskip("torch")
    with torch.no_grad():
        for (n1, p1), (n2, p2) in zip(src_cg.named_parameters(), dst_torch.named_parameters()):
            assert n1 == n2
            p2.copy_(torch.from_numpy(npy(p1)))
