"""Which op_db entries compute their forward-mode tangent natively (a JVP rule next to the op's VJP)
and which through the double-VJP fallback (engine/jvp.cpp): every differentiable entry of
``tests/op_db.py`` is run under a dual level with the native/fallback counters of
``_forward_ad_counts()``. An entry not in ``FALLBACK`` must never reach the fallback; an entry in it
must still reach it (so the list stays honest when a rule is added). Values are checked elsewhere
(``test_forward_ad.py``: reverse-mode Jacobian, finite differences, PyTorch)."""

from __future__ import annotations

from typing import Any, Dict, List

import numpy as np
import pytest

pytest.importorskip("chaingrad._C")
import chaingrad  # noqa: E402
import chaingrad.autograd.forward_ad as fwAD  # noqa: E402
from op_db import OPS  # noqa: E402
from test_forward_ad import _forward, _tangents  # noqa: E402
from test_ops import GRAD_CASES, Call  # noqa: E402

try:
    import torch
    import torch.autograd.forward_ad as torch_fwAD
except ImportError:  # the PyTorch comparisons are skipped
    torch = None

# The entries that still use the double-VJP fallback for at least one sample, each with a one-line
# reason (name: reason). None today: all 148 differentiable entries have native rules (70 used the
# fallback before; costs of both in forward_ad.py's docstring). Nodes with no rule are never asked
# for one: CopySlices (the in-place write sets the base's tangent itself) and the zero-derivative
# links of fused gradients (ZeroGradBackward, recorded without tangents).
FALLBACK: Dict[str, str] = {
}

_BY_OP: Dict[str, List[Any]] = {}
for _case in GRAD_CASES:
    _BY_OP.setdefault(_case.values[0].name, []).append(_case.values[1])


def _counts(name: str) -> Dict[str, int]:
    op = next(o for o in OPS if o.name == name)
    total = {"native": 0, "fallback": 0}
    for sample in _BY_OP[name]:
        call = Call(chaingrad, sample)
        chaingrad._C._reset_forward_ad_counts()
        _forward(chaingrad, fwAD, call, op.primary(), _tangents(call, op.name))
        for k, v in chaingrad._C._forward_ad_counts().items():
            total[k] += v
    return total


@pytest.mark.parametrize("name", sorted(_BY_OP))
def test_jvp_is_native_unless_allowed(name: str) -> None:
    counts = _counts(name)
    if name in FALLBACK:
        assert counts["fallback"] > 0, f"{name} no longer uses the fallback: remove it from FALLBACK"
    else:
        assert counts["fallback"] == 0, f"{name} uses the double-VJP fallback {counts['fallback']} times"


def test_allow_list_names_real_entries() -> None:
    assert set(FALLBACK) <= set(_BY_OP)
    assert all(reason.strip() for reason in FALLBACK.values())


# ---- ops outside op_db whose nodes have a native rule too: forward mode vs the reverse-mode Jacobian
def _a(*shape: int, seed: int = 0, lo: float = 0.5, hi: float = 2.0) -> Any:
    rng = np.random.default_rng(seed)
    return rng.uniform(lo, hi, size=shape)


_IDX = np.array([2, 0, 3])
_GIDX = np.array([[0, 2], [1, 0], [2, 1]])  # no duplicate targets per row
EXTRA = {
    "atan2": (lambda lib, a, b: lib.atan2(a, b), [_a(3, 4), _a(4, seed=1, lo=-2.0)]),
    "remainder": (lambda lib, a, b: lib.remainder(a, b), [_a(3, 4) * 3, _a(3, 4, seed=1) + 0.3]),
    "index_add": (lambda lib, x, s: x.index_add(0, lib.tensor(_IDX), s), [_a(4, 3), _a(3, 3, seed=1)]),
    "index_copy": (lambda lib, x, s: x.index_copy(0, lib.tensor(_IDX), s), [_a(4, 3), _a(3, 3, seed=1)]),
    "scatter": (lambda lib, x, s: x.scatter(1, lib.tensor(_GIDX), s), [_a(3, 3), _a(3, 2, seed=1)]),
    "fill_": (lambda lib, x: x * x.clone().fill_(2.0) + x.clone()[1:].fill_(1.0).sum(), [_a(3, 2)]),
}


def _jt(lib: Any, fn: Any, arrays: List[np.ndarray], tangents: List[np.ndarray]) -> np.ndarray:
    """J t by reverse mode: one backward per output element."""
    xs = [lib.tensor(a, requires_grad=True) for a in arrays]
    out = fn(lib, *xs).reshape(-1)
    rows = []
    for k in range(out.numel()):
        grads = lib.autograd.grad(out[k], xs, retain_graph=True, allow_unused=True)
        rows.append(sum(float((g.numpy() * t).sum()) for g, t in zip(grads, tangents) if g is not None))
    return np.array(rows)


def _jvp(lib: Any, fw: Any, fn: Any, arrays: List[np.ndarray], tangents: List[np.ndarray]) -> np.ndarray:
    with fw.dual_level():
        duals = [fw.make_dual(lib.tensor(a), lib.tensor(t)) for a, t in zip(arrays, tangents)]
        return fw.unpack_dual(fn(lib, *duals)).tangent.detach().numpy().reshape(-1)


@pytest.mark.parametrize("name", sorted(EXTRA))
def test_native_jvp_of_ops_outside_op_db(name: str) -> None:
    fn, arrays = EXTRA[name]
    rng = np.random.default_rng(len(name))
    tangents = [rng.standard_normal(a.shape) for a in arrays]
    chaingrad._C._reset_forward_ad_counts()
    ours = _jvp(chaingrad, fwAD, fn, arrays, tangents)
    assert chaingrad._C._forward_ad_counts()["fallback"] == 0
    np.testing.assert_allclose(ours, _jt(chaingrad, fn, arrays, tangents), rtol=1e-10, atol=1e-12)
    if torch is not None:
        np.testing.assert_allclose(ours, _jvp(torch, torch_fwAD, fn, arrays, tangents), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", ["avg_pool2d", "slice", "max_pool2d", "layer_norm"])
def test_forward_over_reverse_is_native(case: str) -> None:
    # The VJPs' own ops (avg_pool's adjoint, a slice's window scatter, ...) have native rules too:
    # hvp by forward over reverse never reaches the fallback and equals PyTorch's.
    def f(lib: Any, x: Any) -> Any:
        if case == "avg_pool2d":
            return (lib.nn.functional.avg_pool2d(x * x, 2, 1) ** 2).sum()
        if case == "max_pool2d":
            return (lib.nn.functional.max_pool2d(x.sin(), 2, 1) ** 2).sum()
        if case == "layer_norm":
            return (lib.nn.functional.layer_norm(x, (4,)) * x).sum()
        return (x[:, 1:3] ** 3).sum()

    x0 = _a(1, 2, 4, 4)
    v = np.random.default_rng(1).standard_normal(x0.shape)

    def hvp(lib: Any, fw: Any) -> np.ndarray:
        p = lib.tensor(x0, requires_grad=True)
        with fw.dual_level():
            d = fw.make_dual(p, lib.tensor(v))
            (g,) = lib.autograd.grad(f(lib, d), d, create_graph=True)
            return fw.unpack_dual(g).tangent.detach().numpy()

    chaingrad._C._reset_forward_ad_counts()
    ours = hvp(chaingrad, fwAD)
    assert chaingrad._C._forward_ad_counts()["fallback"] == 0
    _, ref = chaingrad.autograd.functional.hvp(lambda x: f(chaingrad, x), chaingrad.tensor(x0), chaingrad.tensor(v))
    np.testing.assert_allclose(ours, ref.numpy(), rtol=1e-9, atol=1e-12)
    if torch is not None:
        np.testing.assert_allclose(ours, hvp(torch, torch_fwAD), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("loss", ["binary_cross_entropy", "binary_cross_entropy_with_logits", "nll_loss"])
def test_a_tangent_on_the_loss_weight_only(loss: str) -> None:
    # The loss nodes' rules leave the weight alone (as their VJPs do); a tangent given to the weight
    # alone raises nothing and, where one comes out, it is the weight's derivative (finite differences).
    x = chaingrad.tensor(_a(3, 4, lo=0.1, hi=0.9))
    w0 = _a(4, seed=1) if loss == "nll_loss" else _a(3, 1, seed=1)
    fn = getattr(chaingrad.nn.functional, loss)
    target = chaingrad.tensor([0, 3, 1]) if loss == "nll_loss" else chaingrad.tensor(_a(3, 4, seed=2, lo=0.0, hi=1.0))

    def f(w: Any) -> Any:
        return fn(x, target, weight=w)

    with fwAD.dual_level():
        dual = fwAD.make_dual(chaingrad.tensor(w0), chaingrad.ones(*w0.shape, dtype=chaingrad.float64))
        t = fwAD.unpack_dual(f(dual)).tangent
    eps = 1e-6
    fd = (f(chaingrad.tensor(w0 + eps)).item() - f(chaingrad.tensor(w0 - eps)).item()) / (2 * eps)
    assert t is None or abs(t.item() - fd) < 1e-6
