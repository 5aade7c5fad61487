"""grad_fn._saved_<name> on every node, as in PyTorch: for every op of ``op_db.OPS`` the node
exposes saved values wherever PyTorch's does, under PyTorch's names with PyTorch's values; a
saved tensor freed by backward raises PyTorch's error; graph pictures list the saved tensors."""

from __future__ import annotations

import zlib
from typing import Any, Dict, List

import numpy as np
import pytest

pytest.importorskip("chaingrad._C")
import chaingrad  # noqa: E402
from op_db import OPS, Sample  # noqa: E402
from test_ops import Call  # noqa: E402

try:
    import torch
except ImportError:  # the PyTorch comparisons are skipped
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")

_PREFIX = "_saved_"


def _saved(fn: Any) -> Dict[str, Any]:
    """Every ``_saved_*`` attribute of a node (``dir()`` lists them), by name without the prefix."""
    out: Dict[str, Any] = {}
    for attr in dir(fn):
        if attr.startswith(_PREFIX) and not callable(getattr(type(fn), attr, None)):
            out[attr[len(_PREFIX):]] = getattr(fn, attr)
    return out


def _as_array(v: Any) -> Any:
    if hasattr(v, "detach"):
        return np.asarray(v.detach().numpy())
    return np.asarray(v)


def _same_int(ours: Any, theirs: Any) -> bool:
    # PyTorch keeps a negative dim as given (shown as its unsigned 64-bit wraparound); chaingrad
    # keeps it wrapped into [0, ndim): both name the same dim.
    if theirs >= 2**63:
        theirs -= 2**64
        return ours == theirs or (0 <= ours and 0 < ours - theirs <= 8)
    return ours == theirs


def _same(ours: Any, theirs: Any) -> bool:
    if theirs is None or ours is None:
        return ours is None and theirs is None
    if isinstance(theirs, (tuple, list)) and isinstance(ours, (tuple, list)):
        return len(ours) == len(theirs) and all(_same(a, b) for a, b in zip(ours, theirs))
    if isinstance(theirs, str) or isinstance(ours, str):
        return ours == theirs
    if isinstance(theirs, bool) or isinstance(ours, bool):
        return bool(ours) == bool(theirs)
    if isinstance(theirs, int) and isinstance(ours, int):
        return _same_int(ours, theirs)
    a, b = _as_array(ours), _as_array(theirs)
    if hasattr(ours, "detach") and hasattr(theirs, "detach") and a.shape != b.shape:
        return False
    return bool(np.allclose(a.astype(np.float64), b.astype(np.float64), rtol=1e-6, atol=1e-9, equal_nan=True))


# Saved values that differ from PyTorch's by construction (the names still match).
KNOWN = {
    "einsum": "chaingrad contracts through other intermediate views than PyTorch",
    "nll_loss.options": "chaingrad saves the target with ignored entries replaced by class 0",
}


def _samples(op: Any) -> List[Sample]:
    return op.samples(np.random.default_rng(zlib.crc32(op.name.encode())))


CASES = [pytest.param(op, s, id=f"{op.name}-{i}") for op in OPS if op.grad
         for i, s in enumerate(_samples(op)[:2]) if s.differentiable()]


@needs_torch
@pytest.mark.parametrize("op,sample", CASES)
def test_saved_names_and_values_match_torch(op: Any, sample: Sample) -> None:
    form = next(iter(op.forms().values()))
    ours = Call(chaingrad, sample).run(form)
    theirs = Call(torch, sample).run(form)
    for k, (o, t) in enumerate(zip(ours, theirs)):
        t_fn, o_fn = getattr(t, "grad_fn", None), getattr(o, "grad_fn", None)
        if t_fn is None or o_fn is None or o_fn.name() != t_fn.name().replace("torch::autograd::", ""):
            continue  # no node, or a different one (test_ops checks the names)
        t_saved, o_saved = _saved(t_fn), _saved(o_fn)
        what = f"output {k} ({o_fn.name()})"
        if t_saved:
            assert o_saved, f"{what}: PyTorch saves {sorted(t_saved)}, chaingrad shows nothing"
        if op.name in KNOWN:
            continue
        for name in sorted(set(t_saved) & set(o_saved)):
            assert _same(o_saved[name], t_saved[name]), (
                f"{what}._saved_{name}: {o_saved[name]!r}, PyTorch gives {t_saved[name]!r}")


def test_saved_tensor_access_after_backward_raises_freed_error() -> None:
    x = chaingrad.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    fn = y.grad_fn
    np.testing.assert_allclose(fn._saved_self.detach().numpy(), [1.0, 2.0])
    y.sum().backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        _ = fn._saved_self


def test_saved_values_survive_retain_graph_and_scalars_survive_release() -> None:
    x = chaingrad.tensor([1.0, 2.0], requires_grad=True)
    y = x ** 3
    y.sum().backward(retain_graph=True)
    assert y.grad_fn._saved_exponent == 3
    np.testing.assert_allclose(y.grad_fn._saved_self.detach().numpy(), [1.0, 2.0])
    y.sum().backward()
    assert y.grad_fn._saved_exponent == 3  # numbers are not freed, as in PyTorch
    with pytest.raises(RuntimeError, match="Trying to backward"):
        _ = y.grad_fn._saved_self


def test_unsaved_tensor_is_none() -> None:
    x = chaingrad.tensor([1.0, 2.0], requires_grad=True)
    y = x * chaingrad.tensor([3.0, 4.0])  # `self` is only needed for the other's gradient
    assert y.grad_fn._saved_self is None
    np.testing.assert_allclose(y.grad_fn._saved_other.numpy(), [3.0, 4.0])


def test_graph_picture_lists_saved_tensors_of_every_node() -> None:
    x = chaingrad.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    w = chaingrad.tensor([[0.5], [0.25]], requires_grad=True)
    y = (x @ w).tanh().pow(2).sum()
    dot = chaingrad.autograd.graph.to_dot(y, params={"x": x, "w": w})
    for node in chaingrad.autograd.graph.nodes(y):
        saved = chaingrad.autograd.graph.saved_tensors(node)
        for name, (shape, _) in saved.items():
            assert name in dot, f"{node.name()}: saved {name} {shape} missing from the picture"
    assert "mat2" in dot and "result" in dot and "self" in dot
