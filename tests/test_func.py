"""chaingrad.func against torch.func (and loops of single calls without it): grad, grad_and_value,
vjp, jvp, jacrev, jacfwd, hessian, functional_call, vmap (in_dims/out_dims, nesting, per-sample
gradients, chunk_size and memory)."""

from __future__ import annotations

import types
from typing import Any

import numpy as np
import pytest

pytest.importorskip("chaingrad._C")
import chaingrad  # noqa: E402
from chaingrad.func import functional_call, grad, grad_and_value, hessian, jacfwd, jacrev, jvp, vjp, vmap  # noqa: E402
from functional_helpers import needs_torch, same, t64, to_numpy, torch  # noqa: E402, F401

RNG = np.random.default_rng(4)
X = RNG.uniform(-1, 1, (3,))
Y = RNG.uniform(-1, 1, (3,))
M = RNG.uniform(-1, 1, (4, 3))


_t = t64


def _np(v: Any) -> Any:
    return to_numpy(v, plain=True)


_same = same


CASES = {
    "grad": lambda lib, F: F.grad(lambda x: (x.sin() * x).sum())(_t(lib, X)),
    "grad_argnums": lambda lib, F: F.grad(lambda x, y: (x * y.exp()).sum(), argnums=(0, 1))(_t(lib, X), _t(lib, Y)),
    "grad_aux": lambda lib, F: F.grad(lambda x: ((x * x).sum(), x.cos()), has_aux=True)(_t(lib, X)),
    "grad_grad": lambda lib, F: F.grad(lambda x: F.grad(lambda y: (y ** 3).sum())(x).sum())(_t(lib, X)),
    "grad_and_value": lambda lib, F: F.grad_and_value(lambda x: (x ** 2).sum())(_t(lib, X)),
    "grad_dict": lambda lib, F: F.grad(lambda p: (p["a"] * p["b"]).sum())({"a": _t(lib, X), "b": _t(lib, Y)}),
    "vjp": lambda lib, F: F.vjp(lambda x, y: x * y.sin(), _t(lib, X), _t(lib, Y))[1](_t(lib, Y)),
    "jvp": lambda lib, F: F.jvp(lambda x, y: (x * y.sin(), x.exp()), (_t(lib, X), _t(lib, Y)),
                                (_t(lib, Y), _t(lib, X))),
    "jacrev": lambda lib, F: F.jacrev(lambda m, x: (m @ x).tanh(), argnums=(0, 1))(_t(lib, M), _t(lib, X)),
    "jacfwd": lambda lib, F: F.jacfwd(lambda m, x: (m @ x).tanh(), argnums=(0, 1))(_t(lib, M), _t(lib, X)),
    "jacrev_tuple_out": lambda lib, F: F.jacrev(lambda x: (x.sin(), x.sum()))(_t(lib, X)),
    "hessian": lambda lib, F: F.hessian(lambda x: (x.sin() * x * x).sum())(_t(lib, X)),
    "hessian_matrix": lambda lib, F: F.hessian(lambda m: (m.tanh() ** 2).sum())(_t(lib, M)),
    "vmap": lambda lib, F: F.vmap(lambda r: (r * r).sum())(_t(lib, M)),
    "vmap_in_out_dims": lambda lib, F: F.vmap(lambda c, s: c * s, in_dims=(1, None), out_dims=1)(_t(lib, M),
                                                                                             _t(lib, X[0])),
    "vmap_nested": lambda lib, F: F.vmap(F.vmap(lambda a, b: a * b, in_dims=(0, None)), in_dims=(None, 0))(
        _t(lib, X), _t(lib, Y)),
    "vmap_jacrev": lambda lib, F: F.vmap(F.jacrev(lambda r: r.sin() * r.sum()))(_t(lib, M)),
    "vmap_tuple_out": lambda lib, F: F.vmap(lambda r: (r.sum(), r * 2))(_t(lib, M)),
}


@pytest.mark.parametrize("name", CASES)
def test_matches_torch_func(name: str) -> None:
    ours = _np(CASES[name](chaingrad, chaingrad.func))
    if torch is not None:
        _same(ours, _np(CASES[name](torch, torch.func)))


def test_hessian_matches_finite_differences() -> None:
    f = lambda x: (x.sin() * x * x).sum()  # noqa: E731
    h = hessian(f)(chaingrad.tensor(X)).numpy()
    g = lambda x: grad(f)(chaingrad.tensor(x)).numpy()  # noqa: E731
    eps = 1e-6
    fd = np.stack([(g(X + eps * e) - g(X - eps * e)) / (2 * eps) for e in np.eye(3)], 1)
    np.testing.assert_allclose(h, fd, rtol=1e-6, atol=1e-8)


def _mlp_loss(params: dict, x: Any, y: Any) -> Any:
    h = (x @ params["w1"].t() + params["b1"]).tanh()
    return ((h @ params["w2"].t() + params["b2"] - y) ** 2).sum()


def test_per_sample_gradients_equal_a_loop() -> None:
    rng = np.random.default_rng(0)
    params = {"w1": chaingrad.tensor(rng.standard_normal((5, 3))), "b1": chaingrad.tensor(rng.standard_normal(5)),
              "w2": chaingrad.tensor(rng.standard_normal((2, 5))), "b2": chaingrad.tensor(rng.standard_normal(2))}
    xs, ys = chaingrad.tensor(rng.standard_normal((8, 3))), chaingrad.tensor(rng.standard_normal((8, 2)))
    before = chaingrad.func._stats["loop_fallbacks"]
    per_sample = vmap(grad(_mlp_loss), in_dims=(None, 0, 0))(params, xs, ys)
    assert chaingrad.func._stats["loop_fallbacks"] == before, "per-sample gradients run batched (no loop)"
    for k, v in params.items():
        loop = np.stack([grad(_mlp_loss)(params, xs[i], ys[i])[k].numpy() for i in range(8)])
        assert per_sample[k].shape == (8,) + tuple(v.shape)
        np.testing.assert_allclose(per_sample[k].numpy(), loop, rtol=1e-12)
    chunked = vmap(grad(_mlp_loss), in_dims=(None, 0, 0), chunk_size=3)(params, xs, ys)
    for k in params:
        np.testing.assert_allclose(chunked[k].numpy(), per_sample[k].numpy(), rtol=0)


def _peak_bytes(fn: Any) -> int:
    chaingrad._reset_peak_storage_bytes()
    before = chaingrad._live_counts()["storage_bytes"]
    out = fn()
    peak = chaingrad._live_counts()["storage_peak_bytes"] - before
    del out
    return peak


def test_chunk_size_bounds_peak_memory() -> None:
    # Each element makes a 1 MB intermediate (a 512x256 float64 outer product) and returns a scalar.
    # Batched, the 64 elements' intermediates exist at once (64 MB); chunk_size=k holds k of them.
    xs = chaingrad.tensor(np.random.default_rng(1).standard_normal((64, 512)))
    ys = chaingrad.ones(256, dtype=chaingrad.float64)
    f = lambda x: (x.unsqueeze(1) * ys).tanh().sum()  # noqa: E731
    one = _peak_bytes(lambda: f(xs[0]))
    peaks = {chunk: _peak_bytes(lambda chunk=chunk: vmap(f, chunk_size=chunk)(xs)) for chunk in (None, 8, 1)}
    assert peaks[None] > 32 * one, (peaks, one)  # really batched
    assert peaks[8] < 12 * one, (peaks, one)
    assert peaks[1] < 3 * one, (peaks, one)
    np.testing.assert_allclose(vmap(f, chunk_size=5)(xs).numpy(), vmap(f)(xs).numpy(), rtol=1e-12)


def test_loop_fallback_for_native_functions() -> None:
    before = chaingrad.func._stats["loop_fallbacks"]
    m = chaingrad.tensor(M)
    keep = chaingrad.tensor([True, False, True])
    out = vmap(lambda r: chaingrad.where(keep, r, 0.0) * 2)(m)  # a native function without a batching rule
    assert chaingrad.func._stats["loop_fallbacks"] == before + 1
    np.testing.assert_allclose(out.numpy(), np.where([True, False, True], M, 0.0) * 2, rtol=1e-12)
    per_op = vmap(lambda r: r.cumsum(0) * 2)(m)  # a method without a rule loops for that op only
    assert chaingrad.func._stats["loop_fallbacks"] == before + 1
    np.testing.assert_allclose(per_op.numpy(), np.cumsum(M, 1) * 2, rtol=1e-12)


def test_functional_call_replaces_and_restores() -> None:
    net = chaingrad.nn.Linear(3, 2)
    w = chaingrad.ones(2, 3)
    b = chaingrad.zeros(2)
    out = functional_call(net, {"weight": w, "bias": b}, (chaingrad.ones(1, 3),))
    np.testing.assert_allclose(out.numpy(), [[3.0, 3.0]])
    assert net.weight is not w and isinstance(net.weight, chaingrad.nn.Parameter)
    g = grad(lambda p, x: functional_call(net, p, (x,)).sum())({"weight": w, "bias": b}, chaingrad.ones(1, 3))
    np.testing.assert_allclose(g["weight"].numpy(), np.ones((2, 3)))
    with pytest.raises(RuntimeError, match="Missing key"):
        functional_call(net, {"weight": w}, (chaingrad.ones(1, 3),), strict=True)


def _error(lib: Any, F: Any, case: str) -> tuple:
    one = lib.ones(2)
    with pytest.raises(Exception) as info:
        if case == "grad_not_scalar":
            F.grad(lambda x: x * 2)(one)
        elif case == "argnum":
            F.grad(lambda x: x.sum(), argnums=2)(one)
        elif case == "vmap_sizes":
            F.vmap(lambda x, y: x + y)(one, lib.ones(3))
        elif case == "vmap_non_tensor_out":
            F.vmap(lambda x: 3)(one)
        elif case == "vmap_in_dim":
            F.vmap(lambda x: x, in_dims=1)(one)
        elif case == "vmap_in_dims_none":
            F.vmap(lambda x: x, in_dims=None)(one)
    return type(info.value).__name__, str(info.value)


@pytest.mark.parametrize("case", ["grad_not_scalar", "argnum", "vmap_sizes", "vmap_non_tensor_out", "vmap_in_dim",
                                  "vmap_in_dims_none"])
def test_errors(case: str) -> None:
    ours = _error(chaingrad, chaingrad.func, case)
    if torch is not None:
        assert ours == _error(torch, torch.func, case)


def test_exports() -> None:
    for f in (grad, grad_and_value, vjp, jvp, jacrev, jacfwd, hessian, functional_call, vmap):
        assert f.__doc__


def test_custom_function_vmap_staticmethod() -> None:
    calls = []

    class Cube(chaingrad.autograd.Function):
        @staticmethod
        def forward(x: Any) -> Any:
            return x ** 3

        @staticmethod
        def setup_context(ctx: Any, inputs: tuple, output: Any) -> None:
            ctx.save_for_backward(inputs[0])

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            (x,) = ctx.saved_tensors
            return 3 * x * x * g

        @staticmethod
        def vmap(info: Any, in_dims: tuple, x: Any) -> tuple:
            calls.append(info.batch_size)
            return Cube.apply(x), in_dims[0]

    before = chaingrad.func._stats["loop_fallbacks"]
    out = vmap(lambda r: Cube.apply(r) * 2)(chaingrad.tensor(M))
    np.testing.assert_allclose(out.numpy(), M ** 3 * 2, rtol=1e-12)
    assert calls == [4] and chaingrad.func._stats["loop_fallbacks"] == before


def test_plain_tensor_matmul_batched_reaches_rmatmul() -> None:
    # The native Tensor.__matmul__ returns NotImplemented for other types (as PyTorch does), so
    # `tensor @ BatchedTensor` runs BatchedTensor.__rmatmul__ with no Python wrapper on `@`.
    m = chaingrad.tensor(M)
    out = vmap(lambda r: m @ r)(chaingrad.tensor(M))
    np.testing.assert_allclose(out.numpy(), np.einsum("ij,bj->bi", M, M), rtol=1e-12)
    assert not isinstance(type(m).__matmul__, types.FunctionType), "no Python wrapper around Tensor.__matmul__"
    with pytest.raises(TypeError, match="unsupported operand type"):
        m @ 3


def test_jacrev_runs_its_vjps_batched_and_equals_the_row_loop() -> None:
    m = chaingrad.tensor(M)
    batched = lambda x, y: ((m @ x).tanh() * y.sum(), x * y)  # noqa: E731  (methods: batching rules)
    everywhere = chaingrad.ones(4, dtype=chaingrad.bool)  # where() has no batching rule: the row loop
    looped = lambda x, y: (chaingrad.where(everywhere, (m @ x).tanh(), 0.0) * y.sum(), x * y)  # noqa: E731
    x, y = chaingrad.tensor(X), chaingrad.tensor(Y)
    loops = chaingrad.func._stats["jacrev_row_loops"]
    fast = jacrev(batched, argnums=(0, 1))(x, y)
    assert chaingrad.func._stats["jacrev_row_loops"] == loops
    chunked = jacrev(batched, argnums=(0, 1), chunk_size=2)(x, y)
    assert chaingrad.func._stats["jacrev_row_loops"] == loops
    slow = jacrev(looped, argnums=(0, 1))(x, y)
    assert chaingrad.func._stats["jacrev_row_loops"] == loops + 1
    _same(_np(fast), _np(slow))
    _same(_np(chunked), _np(slow))


def test_hessian_is_two_batched_passes() -> None:
    loops = (chaingrad.func._stats["jacrev_row_loops"], chaingrad.func._stats["loop_fallbacks"])
    f = lambda x: (chaingrad.tensor(M) @ x).tanh().pow(2).sum() + (x * x).sin().sum()  # noqa: E731
    h = hessian(f)(chaingrad.tensor(X))
    assert (chaingrad.func._stats["jacrev_row_loops"], chaingrad.func._stats["loop_fallbacks"]) == loops
    want = chaingrad.autograd.functional.hessian(f, chaingrad.tensor(X))
    np.testing.assert_allclose(h.numpy(), want.numpy(), rtol=1e-12)
    if torch is not None:
        ft = lambda x: (torch.tensor(M) @ x).tanh().pow(2).sum() + (x * x).sin().sum()  # noqa: E731
        np.testing.assert_allclose(h.numpy(), torch.func.hessian(ft)(torch.tensor(X)).numpy(), rtol=1e-10)


def test_jacrev_nested_in_grad_stays_differentiable() -> None:
    # The batched VJPs of an inner jacrev keep the link to an outer grad (create_graph).
    f = lambda x: chaingrad.func.jacrev(lambda y: y.sin() * y.sum())(x).sum()  # noqa: E731
    g = grad(f)(chaingrad.tensor(X))
    eps = 1e-6
    fd = np.array([(f(chaingrad.tensor(X + eps * e)).item() - f(chaingrad.tensor(X - eps * e)).item()) / (2 * eps)
                   for e in np.eye(3)])
    np.testing.assert_allclose(g.numpy(), fd, rtol=1e-6, atol=1e-8)
