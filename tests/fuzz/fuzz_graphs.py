"""Random op graphs, chaingrad against PyTorch: forward values, ``requires_grad`` and ``grad_fn``
presence of every intermediate, first derivatives, and second derivatives through
``create_graph=True`` (including whether each gradient itself requires grad).

A program is a list of steps over a growing pool of values; each step applies one op to values
already in the pool. Leaves are float64 (finite values at every scale the ops see), some
requiring grad, some not; steps include in-place updates of non-leaves, ``detach`` and
non-contiguous views, so version counters and history rebasing are exercised too.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Tuple

import chaingrad
import numpy as np
import torch
from common import assert_same, note_case
from hypothesis import given
from hypothesis import strategies as st

Op = Callable[..., Any]
Leaves = List[Tuple[np.ndarray, bool]]           # values, requires_grad
Steps = List[Tuple[str, Tuple[int, ...], int]]   # op name, operand positions in the pool, dim

# One-argument ops; arguments that need a domain are mapped into it first (so both libraries see
# the same finite values and the derivative of the map is part of the test).
UNARY: Dict[str, Op] = {
    "neg": lambda L, x: -x,
    "abs": lambda L, x: x.abs(),
    "exp": lambda L, x: (x.tanh() * 2).exp(),
    "tanh": lambda L, x: x.tanh(),
    "sigmoid": lambda L, x: x.sigmoid(),
    "sin": lambda L, x: x.sin(),
    "cos": lambda L, x: L.cos(x),
    "relu": lambda L, x: L.relu(x),
    "F.relu": lambda L, x: L.nn.functional.relu(x),
    "leaky_relu": lambda L, x: L.nn.functional.leaky_relu(x, 0.1),
    "elu": lambda L, x: L.nn.functional.elu(x),
    "gelu": lambda L, x: L.nn.functional.gelu(x),
    "silu": lambda L, x: L.nn.functional.silu(x),
    "softplus": lambda L, x: L.nn.functional.softplus(x),
    "square": lambda L, x: x.square(),
    "pow3": lambda L, x: x ** 3,
    "sqrt": lambda L, x: (x * x + 0.5).sqrt(),
    "rsqrt": lambda L, x: (x * x + 0.5).rsqrt(),
    "log": lambda L, x: (x * x + 0.5).log(),
    "reciprocal": lambda L, x: (x * x + 0.5).reciprocal(),
    "clamp": lambda L, x: x.clamp(-0.5, 0.7),
    "clamp_min": lambda L, x: L.clamp(x, min=-0.3),
    "scalar_mul": lambda L, x: 2.5 * x,
    "scalar_rdiv": lambda L, x: 1.0 / (x * x + 1.0),
    "scalar_rsub": lambda L, x: 1.0 - x,
    "detach": lambda L, x: x.detach(),
    "clone": lambda L, x: x.clone(),
    "flip": lambda L, x: x.flip(0) if x.dim() else x,
    "transpose_roundtrip": lambda L, x: x.transpose(0, -1).contiguous().transpose(0, -1) if x.dim() else x,
    "strided_view": lambda L, x: x.transpose(0, -1).transpose(0, -1) * 1 if x.dim() else x,
}

# Two-argument elementwise ops (broadcasting).
BINARY: Dict[str, Op] = {
    "add": lambda L, x, y: x + y,
    "sub": lambda L, x, y: x - y,
    "mul": lambda L, x, y: x * y,
    "div": lambda L, x, y: x / (y * y + 0.5),
    "maximum": lambda L, x, y: L.maximum(x, y),
    "minimum": lambda L, x, y: L.minimum(x, y),
    "atan2": lambda L, x, y: L.atan2(x, y * y + 0.5),
    "pow": lambda L, x, y: (x * x + 0.5) ** y.tanh(),
    "add_alpha": lambda L, x, y: L.add(x, y, alpha=-0.5),
    "where": lambda L, x, y: L.where(x > y, x, y * 2),
    "inplace_mul": lambda L, x, y: _inplace(x, y, "mul_"),
    "inplace_add": lambda L, x, y: _inplace(x, y, "add_"),
}

# Reductions along a dim, kept so the result still broadcasts against the pool.
REDUCE: Dict[str, Op] = {
    "sum": lambda L, x, d: x.sum(d, keepdim=True),
    "mean": lambda L, x, d: x.mean(d, keepdim=True),
    "amax": lambda L, x, d: x.amax(d, keepdim=True),
    "max": lambda L, x, d: x.max(d, keepdim=True)[0],
    "prod": lambda L, x, d: x.tanh().prod(d, keepdim=True),
    "logsumexp": lambda L, x, d: x.logsumexp(d, keepdim=True),
    "norm": lambda L, x, d: (x * x + 0.1).norm(dim=d, keepdim=True),
    "softmax": lambda L, x, d: x.softmax(d),
    "log_softmax": lambda L, x, d: x.log_softmax(d),
    "cumsum": lambda L, x, d: x.cumsum(d),
    "var": lambda L, x, d: x.var(d, keepdim=True) if x.shape[d] > 1 else x * 1,
}


def _inplace(x: Any, y: Any, method: str) -> Any:
    """A non-leaf of x's shape written in place with y (PyTorch rebases its history)."""
    out = x * 1
    if np.broadcast_shapes(tuple(out.shape), tuple(y.shape)) == tuple(out.shape):
        getattr(out, method)(y)
    return out


@st.composite
def programs(draw: Any) -> Tuple[Tuple[int, ...], Leaves, Steps]:
    shape = tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=3)))
    n_leaves = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    leaves = []
    for i in range(n_leaves):
        leaf_shape = shape if i == 0 or not draw(st.booleans()) else tuple(1 for _ in shape)
        values = rng.uniform(-1.5, 1.5, size=leaf_shape)
        leaves.append((np.asarray(values, dtype=np.float64), draw(st.booleans()) or i == 0))
    steps = []
    pool = n_leaves
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["unary", "unary", "binary", "binary", "reduce"]))
        if kind == "unary":
            steps.append((draw(st.sampled_from(sorted(UNARY))), (draw(st.integers(0, pool - 1)),), 0))
        elif kind == "binary":
            args = (draw(st.integers(0, pool - 1)), draw(st.integers(0, pool - 1)))
            steps.append((draw(st.sampled_from(sorted(BINARY))), args, 0))
        else:
            dim = draw(st.integers(-len(shape), len(shape) - 1)) if shape else 0
            steps.append((draw(st.sampled_from(sorted(REDUCE))), (draw(st.integers(0, pool - 1)),), dim))
        pool += 1
    return shape, leaves, steps


def _run(L: Any, leaves: Leaves, steps: Steps) -> Dict[str, Any]:
    ins = [L.tensor(v, dtype=L.float64, requires_grad=rg) for v, rg in leaves]
    pool = list(ins)
    for name, args, dim in steps:
        if name in UNARY:
            pool.append(UNARY[name](L, pool[args[0]]))
        elif name in BINARY:
            pool.append(BINARY[name](L, pool[args[0]], pool[args[1]]))
        else:
            x = pool[args[0]]
            pool.append(REDUCE[name](L, x, dim) if x.dim() else x * 1)
    out: Dict[str, Any] = {"values": pool, "leaves": ins}
    # A scalar that depends on every value in the pool, with distinct weights.
    total = sum((p * (k + 1) * 0.1).sum() for k, p in enumerate(pool) if p.requires_grad)
    wrt = [t for t in ins if t.requires_grad]
    if not isinstance(total, int) and total.requires_grad:
        g = L.autograd.grad(total, wrt, create_graph=True, allow_unused=True)
        out["grads"] = g
        gg_src = [x for x in g if x is not None and x.requires_grad]
        if gg_src:
            s = sum((x * x).sum() for x in gg_src)
            out["gradgrads"] = L.autograd.grad(s, wrt, allow_unused=True)
    return out


@given(programs())
def test_random_graphs(prog: Any) -> None:
    shape, leaves, steps = prog
    note_case(f"shape={shape} leaves={[(v.shape, rg) for v, rg in leaves]} steps={steps}")
    a = _run(chaingrad, leaves, steps)
    b = _run(torch, leaves, steps)
    for k, (x, y) in enumerate(zip(a["values"], b["values"])):
        what = f"value {k} ({steps[k - len(leaves)][0] if k >= len(leaves) else 'leaf'})"
        assert_same(x, y, what)
        assert x.requires_grad == y.requires_grad, f"{what}: requires_grad {x.requires_grad} vs {y.requires_grad}"
        assert (x.grad_fn is None) == (y.grad_fn is None), f"{what}: grad_fn {x.grad_fn} vs {y.grad_fn}"
    assert ("grads" in a) == ("grads" in b)
    for i, (x, y) in enumerate(zip(a.get("grads", ()), b.get("grads", ()))):
        assert_same(x, y, f"grad of leaf {i}", rtol=1e-6, atol=1e-8)
        if x is not None:
            assert x.requires_grad == y.requires_grad, (
                f"grad of leaf {i} (create_graph=True): requires_grad {x.requires_grad} vs {y.requires_grad}")
    assert ("gradgrads" in a) == ("gradgrads" in b)
    for i, (x, y) in enumerate(zip(a.get("gradgrads", ()), b.get("gradgrads", ()))):
        assert_same(x, y, f"second derivative of leaf {i}", rtol=1e-5, atol=1e-7)
