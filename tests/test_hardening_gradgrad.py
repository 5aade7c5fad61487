"""Hardening (issue 11), second order: a gradient taken with ``create_graph=True`` through a
piecewise op (relu, threshold, leaky_relu, nll_loss, clamp, max, ...) requires grad exactly when
PyTorch's does, and differentiating it again gives PyTorch's result; checked over the op table."""

from __future__ import annotations

from typing import Any, Callable, List, Tuple

import numpy as np
import pytest

pytest.importorskip("chaingrad._C")
import chaingrad  # noqa: E402
from test_hardening_ops import _ids, check_like_torch, needs_torch, torch  # noqa: E402


def _grad_requires_grad(lib: Any, op: Any, sample: Any) -> Any:
    from test_ops import Call  # the op table's argument builder

    c = Call(lib, sample)
    if not c.leaves:
        return None
    try:
        outs = [o for o in c.run(op.primary())
                if getattr(o, "requires_grad", False) and o.dtype in (lib.float32, lib.float64)]
        if not outs:
            return "no differentiable output"
        grads = lib.autograd.grad(sum(o.sum() for o in outs), c.leaves, create_graph=True, allow_unused=True)
        return tuple(None if g is None else bool(g.requires_grad) for g in grads)
    except Exception as e:  # noqa: BLE001 - compared with PyTorch's outcome
        return type(e).__name__


def _op_db_cases() -> List[Any]:
    from op_db import OPS

    cases = []
    for op in OPS:
        if not op.grad:
            continue
        for k, s in enumerate(op.samples(np.random.default_rng(0))[:3]):
            if op.name == "prod" and np.ndim(s.args[0]) == 0:
                continue  # 0-d prod: a known difference (ops/reduction.cpp, outside this change)
            cases.append(pytest.param(op, s, id=f"{op.name}-{k}"))
    return cases


@needs_torch
@pytest.mark.parametrize("op,sample", _op_db_cases())
def test_create_graph_gradient_requires_grad_like_torch(op: Any, sample: Any) -> None:
    ours = _grad_requires_grad(chaingrad, op, sample)
    assert ours == _grad_requires_grad(torch, op, sample)


PIECEWISE = [
    ("relu", lambda L, x: L.relu(x)),
    ("functional_relu", lambda L, x: L.nn.functional.relu(x)),
    ("relu_squared", lambda L, x: L.relu(x) ** 2),
    ("relu_sqrt", lambda L, x: L.relu(x).sqrt()),
    ("leaky_relu", lambda L, x: L.nn.functional.leaky_relu(x, 0.1)),
    ("abs", lambda L, x: L.abs(x) * x),
    ("clamp", lambda L, x: x.clamp(-0.5, 0.5)),
    ("clamp_min", lambda L, x: x.clamp(min=0.0)),
    ("max", lambda L, x: x.max()),
    ("min", lambda L, x: x.min()),
    ("max_dim", lambda L, x: x.max(0)[0]),
    ("amax", lambda L, x: x.amax()),
    ("maximum", lambda L, x: L.maximum(x, L.zeros(4))),
    ("sign", lambda L, x: L.sign(x)),
    ("floor", lambda L, x: L.floor(x)),
    ("round", lambda L, x: L.round(x)),
    ("where", lambda L, x: L.where(x > 0, x, L.zeros(4))),
    ("masked_fill", lambda L, x: x.masked_fill(x < 0, 0.0)),
    ("mse_loss", lambda L, x: L.nn.functional.mse_loss(x, L.zeros(4))),
    ("nll_loss", lambda L, x: L.nn.functional.nll_loss(x.reshape(2, 2), L.tensor([0, 1]))),
    ("cross_entropy", lambda L, x: L.nn.functional.cross_entropy(x.reshape(2, 2), L.tensor([0, 1]))),
    ("remainder", lambda L, x: x.remainder(0.7)),
    ("elu", lambda L, x: L.nn.functional.elu(x)),
]


def _second_order(fn: Callable[[Any, Any], Any]) -> Callable[[Any], Any]:
    def run(L: Any) -> Any:
        x = L.tensor([-1.5, -0.2, 0.3, 1.2], requires_grad=True)
        (g,) = L.autograd.grad(fn(L, x).sum(), x, create_graph=True)
        if not g.requires_grad:
            return False
        (gg,) = L.autograd.grad(g.sum(), x, allow_unused=True)
        return True, gg

    return run


@needs_torch
@pytest.mark.parametrize("case", PIECEWISE, ids=_ids(PIECEWISE))
def test_second_order_through_piecewise_ops_like_torch(case: Tuple[str, Any]) -> None:
    check_like_torch(_second_order(case[1]))
