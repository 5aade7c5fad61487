"""autograd.grad(..., is_grads_batched=True) as one batched walk of the graph
(autograd/_batched_backward.py): equal to a loop of single-vector grads and to PyTorch, with
create_graph, non-leaf inputs, unused inputs, and the per-vector loop where a node has no rule."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

pytest.importorskip("chaingrad._C")
import chaingrad  # noqa: E402
from chaingrad.autograd import _batched_backward  # noqa: E402
from functional_helpers import torch  # noqa: E402

RNG = np.random.default_rng(12)
W0 = RNG.uniform(-1, 1, (5, 4))
X0 = RNG.uniform(0.5, 1.5, (4,))
B0 = RNG.uniform(-1, 1, (5,))

# f(lib, w, x, b) -> output; every node on the way has a batching rule.
FUNCS = {
    "mv_tanh": lambda lib, w, x, b: (w @ x + b).tanh(),
    "broadcast_mul_sub": lambda lib, w, x, b: (w * x - b.unsqueeze(1)).sigmoid() * 3,
    "reductions": lambda lib, w, x, b: (w * w).sum(1) + (w.exp() / x).mean(0).sum() - w.sum(0, keepdim=True).mean(),
    "pow_log_sqrt": lambda lib, w, x, b: (x.log() * x.sqrt() + x ** 3 - x.cos() * x.sin()).relu(),
    "views": lambda lib, w, x, b: (w.t().reshape(20).view(4, 5).transpose(0, 1) * b.unsqueeze(-1)).flatten(),
    "mm_dot": lambda lib, w, x, b: (w.t() @ w).permute(1, 0).sum(0) * (x @ x) - (-x).expand(3, 4).mean(),
    "division": lambda lib, w, x, b: (w / (x + 2)).sum(1) / 2 + b / (b * b + 1),
}


def _run(lib: Any, name: str, create_graph: bool, batch: int = 6, wrt_nonleaf: bool = False) -> Any:
    w = lib.tensor(W0, requires_grad=True)
    x = lib.tensor(X0, requires_grad=True)
    b = lib.tensor(B0, requires_grad=True)
    ins = (w, x, b)
    if wrt_nonleaf:
        w2 = w * 1.5
        ins = (w2, x, b)
        y = FUNCS[name](lib, w2, x, b)
    else:
        y = FUNCS[name](lib, w, x, b)
    vs = lib.tensor(np.random.default_rng(3).standard_normal((batch,) + tuple(y.shape)))
    # retain_graph: the plain run's graph is walked again by _loop.
    gs = lib.autograd.grad(y, ins, vs, is_grads_batched=True, create_graph=create_graph, allow_unused=True,
                           retain_graph=True)
    if create_graph:  # differentiate the batched result again
        total = sum((g * g).sum() for g in gs if g is not None)
        second = lib.autograd.grad(total, (w, x), allow_unused=True)
        return [None if g is None else g.detach().numpy() for g in list(gs) + list(second)]
    return [g.numpy() if g is not None else None for g in gs], (y, ins, vs)


def _loop(y: Any, ins: Any, vs: Any) -> Any:
    rows = [chaingrad.autograd.grad(y, ins, v, retain_graph=True, allow_unused=True) for v in vs]
    return [None if rows[0][j] is None else np.stack([r[j].numpy() for r in rows]) for j in range(len(ins))]


def _same(a: Any, e: Any) -> None:
    assert len(a) == len(e)
    for x, y in zip(a, e):
        if y is None:
            assert x is None or not np.any(x)
        else:
            np.testing.assert_allclose(x, y, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("wrt_nonleaf", [False, True])
def test_batched_walk_equals_the_loop_and_pytorch(name: str, wrt_nonleaf: bool) -> None:
    loops = _batched_backward._stats["loops"]
    ours, (y, ins, vs) = _run(chaingrad, name, False, wrt_nonleaf=wrt_nonleaf)
    assert _batched_backward._stats["loops"] == loops, "every node has a batching rule: no per-vector loop"
    _same(ours, _loop(y, ins, vs))
    if torch is not None:
        _same(ours, _run(torch, name, False, wrt_nonleaf=wrt_nonleaf)[0])


@pytest.mark.parametrize("name", FUNCS)
def test_create_graph_result_differentiates_like_pytorch(name: str) -> None:
    if torch is None:
        pytest.skip("PyTorch is not installed")
    loops = _batched_backward._stats["loops"]
    ours = _run(chaingrad, name, True)
    assert _batched_backward._stats["loops"] == loops
    _same(ours, _run(torch, name, True))


def test_a_node_without_a_rule_falls_back_to_the_loop() -> None:
    x = chaingrad.tensor(X0, requires_grad=True)
    y = (x[1:] * x[0]).tanh()  # SliceBackward0 / SelectBackward0: no batching rule
    vs = chaingrad.tensor(RNG.standard_normal((3, 3)))
    want = _loop(y, (x,), vs)[0]
    loops = _batched_backward._stats["loops"]
    (g,) = chaingrad.autograd.grad(y, x, vs, is_grads_batched=True)
    assert _batched_backward._stats["loops"] == loops + 1
    np.testing.assert_allclose(g.numpy(), want, rtol=1e-12)


def test_unused_inputs_and_materialize() -> None:
    x = chaingrad.tensor(X0, requires_grad=True)
    z = chaingrad.tensor(X0, requires_grad=True)
    y = x.sin() * 2
    vs = chaingrad.tensor(RNG.standard_normal((4, 4)))
    gx, gz = chaingrad.autograd.grad(y, (x, z), vs, is_grads_batched=True, allow_unused=True, retain_graph=True)
    assert gz is None
    np.testing.assert_allclose(gx.numpy(), vs.numpy() * 2 * np.cos(X0), rtol=1e-12)
    _, gz = chaingrad.autograd.grad(y, (x, z), vs, is_grads_batched=True, materialize_grads=True)
    assert gz.shape == (4, 4) and not gz.numpy().any()
    with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
        chaingrad.autograd.grad(x.sin(), (x, z), vs, is_grads_batched=True)


def test_vectorized_jacobian_of_a_native_function_uses_the_batched_walk() -> None:
    # A native call on a batched value (_C._linear: no vmap rule) makes jacobian(vectorize=True)
    # differentiate the graph with is_grads_batched: one batched walk, not a loop over the rows.
    w = chaingrad.tensor(W0)
    f = lambda x: chaingrad._C._linear(x.unsqueeze(0), w, None).squeeze(0).tanh() * x.sum()  # noqa: E731
    loops = _batched_backward._stats["loops"]
    vec = chaingrad.autograd.functional.jacobian(f, chaingrad.tensor(X0), vectorize=True)
    assert _batched_backward._stats["loops"] == loops
    rows = chaingrad.autograd.functional.jacobian(f, chaingrad.tensor(X0))
    np.testing.assert_allclose(vec.numpy(), rows.numpy(), rtol=1e-12)


def _second_backward_error(lib: Any, build: Any, retain: Any) -> Any:
    """The error (or None) of a backward after grad(..., is_grads_batched=True, retain_graph=retain)."""
    x = lib.tensor(X0, requires_grad=True)
    y = build(x)
    lib.autograd.grad(y, x, lib.tensor(np.eye(y.shape[0])), is_grads_batched=True, retain_graph=retain)
    try:
        y.sum().backward()
    except RuntimeError as e:
        return str(e)
    return None


# The batched walk (every node has a rule) and the per-vector loop (a slice has none).
FREE_GRAPHS = {
    "walk": (lambda x: (x * x).tanh().exp(), False),
    "loop": (lambda x: (x[1:] * x[0]).tanh(), True),
}


@pytest.mark.parametrize("retain", [False, None, True])
@pytest.mark.parametrize("name", sorted(FREE_GRAPHS))
def test_without_retain_graph_the_graph_is_freed_like_pytorch(name: str, retain: Any) -> None:
    build, loops = FREE_GRAPHS[name]
    before = _batched_backward._stats["loops"]
    got = _second_backward_error(chaingrad, build, retain)
    assert _batched_backward._stats["loops"] == before + loops
    if retain:
        assert got is None
    else:
        assert got is not None and got.startswith("Trying to backward through the graph a second time")
    if torch is not None:
        want = _second_backward_error(torch, build, retain)
        assert got == (want.replace("torch.", "chaingrad.") if want else None)


def test_retained_graph_gives_the_same_gradients_again() -> None:
    x = chaingrad.tensor(X0, requires_grad=True)
    y = (x * x).tanh()
    vs = chaingrad.tensor(RNG.standard_normal((3, 4)))
    (g1,) = chaingrad.autograd.grad(y, x, vs, is_grads_batched=True, retain_graph=True)
    (g2,) = chaingrad.autograd.grad(y, x, vs, is_grads_batched=True)
    np.testing.assert_array_equal(g1.numpy(), g2.numpy())
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        chaingrad.autograd.grad(y, x, vs, is_grads_batched=True)
