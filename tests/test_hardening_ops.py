"""Hardening (issue 11): bad arguments to kernels, indexing, bindings, ``out=``, in-place ops and
second-order gradients behave as PyTorch 2.13's do. Each case runs against chaingrad and, when
it is installed, PyTorch: the outcome (value, or exception type and message) must match."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
from typing import Any, Callable, List, Tuple

import numpy as np
import pytest

pytest.importorskip("chaingrad._C")
import chaingrad  # noqa: E402

try:
    import torch
except ImportError:
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch (the oracle) is not installed")


def _value(r: Any) -> Any:
    """A comparable form of a result: arrays for tensors, recursively through containers."""
    if hasattr(r, "detach") and hasattr(r, "numpy"):
        return ("tensor", str(r.dtype).split(".")[-1], r.detach().numpy().copy())
    if isinstance(r, (list, tuple)):
        return type(r).__name__, [_value(v) for v in r]
    return r


def outcome(fn: Callable[[Any], Any], lib: Any) -> Tuple[str, Any]:
    try:
        return "ok", _value(fn(lib))
    except Exception as e:  # noqa: BLE001 - the exception is the outcome compared
        return type(e).__name__, str(e)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.shape(a) == np.shape(b) and np.allclose(a, b, rtol=1e-4, atol=1e-5, equal_nan=True)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-6) or (math.isnan(a) and math.isnan(b))
    return a == b


def check_like_torch(fn: Callable[[Any], Any]) -> None:
    ours = outcome(fn, chaingrad)
    theirs = outcome(fn, torch)
    assert ours[0] == theirs[0], f"chaingrad: {ours}\nPyTorch:   {theirs}"
    assert _same(ours[1], theirs[1]), f"chaingrad: {ours}\nPyTorch:   {theirs}"


def _ids(cases: List[Tuple[str, Any]]) -> List[str]:
    return [c[0] for c in cases]


# ------------------------------------------------------------------ 1. fused kernels and optimizer state
def _stepped(L: Any, opt: str, **kw: Any) -> Tuple[Any, Any]:
    p = L.nn.Parameter(L.ones(3))
    o = getattr(L.optim, opt)([p], lr=0.1, **kw)
    p.grad = L.ones(3)
    o.step()
    return p, o


def _load_then_step(opt: str, key: str, make: Callable[[Any], Any], **kw: Any) -> Callable[[Any], Any]:
    def run(L: Any) -> Any:
        p, o = _stepped(L, opt, **kw)
        sd = o.state_dict()
        sd["state"][0][key] = make(L)
        o.load_state_dict(sd)
        p.grad = L.ones(3)
        o.step()
        return p, o.state[p][key]

    return run


def _set_then_step(opt: str, key: str, make: Callable[[Any], Any], **kw: Any) -> Callable[[Any], Any]:
    def run(L: Any) -> Any:
        p, o = _stepped(L, opt, **kw)
        o.state[p][key] = make(L)
        p.grad = L.ones(3)
        o.step()
        return p, o.state[p][key]

    return run


_MOM = {"momentum": 0.9}
OPTIM_CASES = [
    ("sgd_buf_longer", _load_then_step("SGD", "momentum_buffer", lambda L: L.ones(5), **_MOM)),
    ("sgd_buf_shorter", _load_then_step("SGD", "momentum_buffer", lambda L: L.ones(2), **_MOM)),
    ("sgd_buf_row", _load_then_step("SGD", "momentum_buffer", lambda L: L.ones(1, 3), **_MOM)),
    ("sgd_buf_one", _load_then_step("SGD", "momentum_buffer", lambda L: L.ones(1), **_MOM)),
    ("sgd_buf_scalar", _load_then_step("SGD", "momentum_buffer", lambda L: L.tensor(2.0), **_MOM)),
    ("sgd_buf_empty", _load_then_step("SGD", "momentum_buffer", lambda L: L.ones(0), **_MOM)),
    ("sgd_buf_big", _load_then_step("SGD", "momentum_buffer", lambda L: L.ones(1000, 3), **_MOM)),
    ("sgd_buf_double", _load_then_step("SGD", "momentum_buffer", lambda L: L.ones(3, dtype=L.float64), **_MOM)),
    ("sgd_buf_long", _load_then_step("SGD", "momentum_buffer", lambda L: L.ones(3, dtype=L.int64), **_MOM)),
    ("sgd_buf_strided", _load_then_step("SGD", "momentum_buffer", lambda L: L.ones(6)[::2], **_MOM)),
    ("sgd_set_buf_long", _set_then_step("SGD", "momentum_buffer", lambda L: L.ones(3, dtype=L.int64), **_MOM)),
    ("sgd_set_buf_double", _set_then_step("SGD", "momentum_buffer", lambda L: L.ones(3, dtype=L.float64), **_MOM)),
    ("sgd_set_buf_strided", _set_then_step("SGD", "momentum_buffer", lambda L: L.arange(6.0)[::2], **_MOM)),
    ("sgd_set_buf_wrong", _set_then_step("SGD", "momentum_buffer", lambda L: L.ones(7), **_MOM)),
    ("sgd_nesterov_buf_wrong", _load_then_step("SGD", "momentum_buffer", lambda L: L.ones(4), momentum=0.9,
                                               nesterov=True)),
    ("adam_exp_avg_longer", _load_then_step("Adam", "exp_avg", lambda L: L.ones(5))),
    ("adam_exp_avg_one", _load_then_step("Adam", "exp_avg", lambda L: L.ones(1))),
    ("adam_exp_avg_2d", _load_then_step("Adam", "exp_avg", lambda L: L.ones(3, 3))),
    ("adam_exp_avg_sq_short", _load_then_step("Adam", "exp_avg_sq", lambda L: L.ones(2))),
    ("adam_exp_avg_sq_row", _load_then_step("Adam", "exp_avg_sq", lambda L: L.ones(1, 3))),
    ("adam_exp_avg_long", _load_then_step("Adam", "exp_avg", lambda L: L.ones(3, dtype=L.int64))),
    ("adam_exp_avg_double", _load_then_step("Adam", "exp_avg", lambda L: L.ones(3, dtype=L.float64))),
    ("adam_set_exp_avg_strided", _set_then_step("Adam", "exp_avg", lambda L: L.arange(6.0)[::2])),
    ("adam_set_exp_avg_wrong", _set_then_step("Adam", "exp_avg", lambda L: L.ones(30))),
    ("adam_amsgrad_max_wrong", _load_then_step("Adam", "max_exp_avg_sq", lambda L: L.ones(4), amsgrad=True)),
    ("adam_step_tensor", _load_then_step("Adam", "step", lambda L: L.tensor(3))),
    ("adam_step_float", _load_then_step("Adam", "step", lambda L: 3.0)),
    ("adamw_exp_avg_wrong", _load_then_step("AdamW", "exp_avg", lambda L: L.ones(4))),
    ("adamw_exp_avg_sq_wrong", _load_then_step("AdamW", "exp_avg_sq", lambda L: L.ones(6))),
]


@needs_torch
@pytest.mark.parametrize("case", OPTIM_CASES, ids=_ids(OPTIM_CASES))
def test_optimizer_state_like_torch(case: Tuple[str, Callable[[Any], Any]]) -> None:
    check_like_torch(case[1])


def _groups(L: Any, which: str) -> Any:
    p, q = L.nn.Parameter(L.ones(3)), L.nn.Parameter(L.ones(2))
    o = L.optim.SGD([p], lr=0.1)
    other = {
        "count": L.optim.SGD([{"params": [p]}, {"params": [q]}], lr=0.1),
        "size": L.optim.SGD([p, q], lr=0.1),
    }[which]
    o.load_state_dict(other.state_dict())


def _load_dtypes(L: Any) -> Any:
    p = L.nn.Parameter(L.ones(3, dtype=L.float64))
    o = L.optim.Adam([p], lr=0.1)
    p.grad = L.ones(3, dtype=L.float64)
    o.step()
    sd = o.state_dict()
    sd["state"][0]["exp_avg"] = sd["state"][0]["exp_avg"].float()
    sd["state"][0]["exp_avg_sq"] = L.ones(3, dtype=L.int64)
    o.load_state_dict(sd)
    st = o.state[p]
    return str(st["exp_avg"].dtype), str(st["exp_avg_sq"].dtype), str(st["step"].dtype)


LOAD_CASES = [
    ("group_count", lambda L: _groups(L, "count")),
    ("group_size", lambda L: _groups(L, "size")),
    ("not_a_dict", lambda L: L.optim.SGD([L.nn.Parameter(L.ones(1))]).load_state_dict([1])),
    ("missing_state", lambda L: L.optim.SGD([L.nn.Parameter(L.ones(1))]).load_state_dict({"param_groups": []})),
]


@needs_torch
@pytest.mark.parametrize("case", LOAD_CASES, ids=_ids(LOAD_CASES))
def test_load_state_dict_like_torch(case: Tuple[str, Callable[[Any], Any]]) -> None:
    check_like_torch(case[1])


@needs_torch
def test_load_state_dict_casts_state_to_param_dtype() -> None:
    ours = [s.replace("chaingrad.", "") for s in _load_dtypes(chaingrad)]
    assert ours == [s.replace("torch.", "") for s in _load_dtypes(torch)]


def test_wrong_state_shape_does_not_crash_the_process() -> None:
    """The bug was a segfault / heap corruption: run it where a crash is reported, not fatal."""
    code = textwrap.dedent(
        """
        import chaingrad as torch
        for key, opt, kw in [("momentum_buffer", torch.optim.SGD, {"momentum": 0.9}),
                             ("exp_avg", torch.optim.Adam, {}), ("exp_avg_sq", torch.optim.Adam, {})]:
            for shape in [(1,), (5,), (100000,), (0,), (3, 3)]:
                p = torch.nn.Parameter(torch.ones(3))
                o = opt([p], lr=0.1, **kw)
                p.grad = torch.ones(3)
                o.step()
                sd = o.state_dict()
                sd["state"][0][key] = torch.ones(*shape)
                o.load_state_dict(sd)
                try:
                    o.step()
                except RuntimeError:
                    pass
                else:
                    raise SystemExit(f"{key} of shape {shape} was accepted")
        print("done")
        """
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "done" in r.stdout, r.stderr


def test_fused_kernels_check_their_buffers() -> None:
    C = chaingrad._C
    p, g = chaingrad.ones(3), chaingrad.ones(3)
    with pytest.raises(RuntimeError, match="must match the size of tensor"):
        C._sgd_step_(p, chaingrad.ones(4), None, 0.1, 0.0, 0.0, False, 0.0, False, False)
    with pytest.raises(RuntimeError, match="must match the size of tensor"):
        C._adam_step_(p, g, chaingrad.ones(4), chaingrad.ones(3), None, 1, 0.1, 0.9, 0.99, 1e-8, 0, False, False,
                      False)
    with pytest.raises(TypeError, match="must be a Tensor"):
        C._adam_step_(p, g, 1.0, chaingrad.ones(3), None, 1, 0.1, 0.9, 0.99, 1e-8, 0, False, False, False)
    assert p.tolist() == [1.0, 1.0, 1.0]  # nothing was written before the check failed


# ------------------------------------------------------------------ 2. index validation
def _x(L: Any, *shape: int) -> Any:
    n = int(np.prod(shape)) if shape else 1
    return L.arange(float(n)).reshape(*shape)


def _ix(L: Any, v: Any) -> Any:
    return L.tensor(v)


def _grad_of(fn: Callable[[Any, Any], Any], *shape: int) -> Callable[[Any], Any]:
    def run(L: Any) -> Any:
        x = _x(L, *shape).requires_grad_()
        fn(L, x).sum().backward()
        return x.grad

    return run


INDEX_CASES = [
    ("gather_neg", lambda L: _x(L, 2, 3).gather(1, _ix(L, [[-1, 0], [0, 1]]))),
    ("gather_neg_dim0", lambda L: _x(L, 2, 3).gather(0, _ix(L, [[-1, 0, 0]]))),
    ("gather_big", lambda L: _x(L, 2, 3).gather(1, _ix(L, [[3, 0]]))),
    ("gather_1d_neg", lambda L: _x(L, 3).gather(0, _ix(L, [-1]))),
    ("gather_1d_neg_far", lambda L: _x(L, 3).gather(0, _ix(L, [-4]))),
    ("gather_ok", lambda L: _x(L, 2, 3).gather(1, _ix(L, [[2, 0, 1, 1]]))),
    ("gather_backward_neg", _grad_of(lambda L, x: x.gather(1, _ix(L, [[-1], [0]])), 2, 3)),
    ("gather_backward_ok", _grad_of(lambda L, x: x.gather(1, _ix(L, [[2, 2], [0, 1]])), 2, 3)),
    ("scatter_neg", lambda L: _x(L, 2, 3).scatter(1, _ix(L, [[-1, 0]]), 9.0)),
    ("scatter_src_neg", lambda L: _x(L, 2, 3).scatter(1, _ix(L, [[0, -2]]), L.ones(1, 2))),
    ("scatter_big", lambda L: _x(L, 2, 3).scatter(0, _ix(L, [[2, 0]]), L.ones(1, 2))),
    ("scatter_add_neg", lambda L: _x(L, 2, 3).scatter_add(1, _ix(L, [[-1, 0], [0, 1]]), L.ones(2, 2))),
    ("scatter_add_big", lambda L: _x(L, 4).scatter_add(0, _ix(L, [4]), L.ones(1))),
    ("scatter_add_backward_neg", _grad_of(lambda L, x: x.scatter_add(0, _ix(L, [-1]), L.ones(1)), 3)),
    ("scatter_add_src_grad_neg", lambda L: L.zeros(3).scatter_add(0, _ix(L, [-1]), L.ones(1).requires_grad_())),
    ("index_select_neg", lambda L: _x(L, 2, 3).index_select(1, _ix(L, [-1]))),
    ("index_select_neg_dim0", lambda L: _x(L, 2, 3).index_select(0, _ix(L, [-1]))),
    ("index_select_big_dim0", lambda L: _x(L, 2, 3).index_select(0, _ix(L, [2]))),
    ("index_select_big", lambda L: _x(L, 2, 3).index_select(1, _ix(L, [0, 3]))),
    ("index_select_1d_neg", lambda L: _x(L, 3).index_select(0, _ix(L, [-1]))),
    ("index_select_3d_neg", lambda L: _x(L, 2, 3, 4).index_select(1, _ix(L, [-1]))),
    ("index_select_0d_index", lambda L: _x(L, 2, 3).index_select(1, _ix(L, -1))),
    ("index_select_scalar_neg", lambda L: L.tensor(5.0).index_select(0, _ix(L, [-1]))),
    ("index_select_backward_neg", _grad_of(lambda L, x: x.index_select(0, _ix(L, [-1])), 3)),
    ("index_select_ok", lambda L: _x(L, 2, 3).index_select(1, _ix(L, [2, 0, 2]))),
    ("index_add_neg_1d", lambda L: _x(L, 3).index_add(0, _ix(L, [-1]), L.ones(1))),
    ("index_add_big_1d", lambda L: _x(L, 5).index_add(0, _ix(L, [1, 5]), L.ones(2))),
    ("index_add_neg_dim0", lambda L: _x(L, 2, 3).index_add(0, _ix(L, [-1]), L.ones(1, 3))),
    ("index_add_neg_last", lambda L: _x(L, 2, 3).index_add(1, _ix(L, [-1]), L.ones(2, 1))),
    ("index_add_neg_middle", lambda L: _x(L, 2, 3, 4).index_add(1, _ix(L, [-1]), L.ones(2, 1, 4))),
    ("index_add_neg_4d", lambda L: _x(L, 2, 3, 4, 5).index_add(2, _ix(L, [-1]), L.ones(2, 3, 1, 5))),
    ("index_add_big_last", lambda L: _x(L, 2, 3, 4).index_add(2, _ix(L, [4]), L.ones(2, 3, 1))),
    ("index_add_backward_neg", _grad_of(lambda L, x: x.index_add(0, _ix(L, [-1]), L.ones(1)), 3)),
    ("index_add_ok", lambda L: _x(L, 2, 3).index_add(1, _ix(L, [2, 2]), L.ones(2, 2))),
    ("index_copy_neg", lambda L: _x(L, 3).index_copy(0, _ix(L, [-1]), L.ones(1))),
    ("index_copy_neg_2d", lambda L: _x(L, 2, 3).index_copy(1, _ix(L, [-3]), L.ones(2, 1))),
    ("adv_index_neg_ok", lambda L: _x(L, 2, 3)[_ix(L, [-1, -2])]),
    ("adv_index_neg_far", lambda L: _x(L, 2, 3)[_ix(L, [-3])]),
    ("adv_index_big", lambda L: _x(L, 2, 3)[:, _ix(L, [3])]),
    ("adv_index_backward_neg", _grad_of(lambda L, x: x[_ix(L, [-1, -1])], 3)),
    ("adv_setitem_neg_far", lambda L: _x(L, 2, 3).__setitem__(_ix(L, [-3]), 1.0)),
    ("nll_target_neg", lambda L: L.nn.functional.nll_loss(_x(L, 2, 3), _ix(L, [-1, 0]))),
    ("cross_entropy_target_big", lambda L: L.nn.functional.cross_entropy(_x(L, 2, 3), _ix(L, [3, 0]))),
]


@needs_torch
@pytest.mark.parametrize("case", INDEX_CASES, ids=_ids(INDEX_CASES))
def test_index_validation_like_torch(case: Tuple[str, Callable[[Any], Any]]) -> None:
    check_like_torch(case[1])


def test_failed_scatter_writes_nothing() -> None:
    x = chaingrad.zeros(4)
    with pytest.raises(RuntimeError, match="index -1 is out of bounds for dimension 0 with size 4"):
        x.scatter_(0, chaingrad.tensor([0, 1, -1]), 1.0)
    assert x.tolist() == [0.0, 0.0, 0.0, 0.0]
