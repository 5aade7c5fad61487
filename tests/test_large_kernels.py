"""Large-tensor kernels against numpy: the vectorised sum, broadcast scalars, and the
transcendental rows (AVX-512, AVX2 or baseline, whichever this CPU runs).

Tolerances are far above rounding noise: float32 sums are accumulated in double, so they match
a float64 reference to ~1e-7 relative to the sum of magnitudes.
"""

import chaingrad
import numpy as np
import pytest

RNG = np.random.default_rng(99)


@pytest.mark.parametrize("n", [1, 15, 16, 17, 1000, 32768 * 3 + 5, 2_000_003])
def test_float32_sum_matches_float64_reference(n):
    a = RNG.standard_normal(n).astype(np.float32) + 0.25
    got = float(chaingrad.tensor(a).sum())
    ref = float(np.sum(a.astype(np.float64)))
    assert abs(got - ref) <= 1e-6 * np.sum(np.abs(a.astype(np.float64))) + 1e-6


def test_sum_is_the_same_for_any_thread_count():
    a = chaingrad.tensor(RNG.standard_normal(3_000_001).astype(np.float32))
    old = chaingrad.get_num_threads()
    try:
        sums = []
        for t in (1, 2, 4):
            chaingrad.set_num_threads(t)
            sums.append(float(a.sum()))
    finally:
        chaingrad.set_num_threads(old)
    assert sums[0] == sums[1] == sums[2]


def test_float64_and_int_sums():
    d = RNG.standard_normal(100_003)
    assert abs(float(chaingrad.tensor(d).sum()) - float(np.sum(d))) < 1e-9
    i = RNG.integers(-1000, 1000, 100_003)
    assert int(chaingrad.tensor(i).sum()) == int(np.sum(i))


def test_expanded_scalar_operand():
    x_np = RNG.standard_normal(70_001).astype(np.float32)
    x = chaingrad.tensor(x_np)
    g = chaingrad.tensor(np.float32(1.5)).expand(70_001)
    np.testing.assert_allclose((g * x).numpy(), 1.5 * x_np, rtol=1e-6)
    np.testing.assert_allclose((x - g).numpy(), x_np - 1.5, rtol=1e-6)
    m = chaingrad.tensor(RNG.standard_normal((3, 1)).astype(np.float32)).expand(3, 5000)
    np.testing.assert_allclose((m * chaingrad.ones(3, 5000)).numpy(), m.numpy(), rtol=1e-6)


@pytest.mark.parametrize("name", ["tanh", "exp", "log", "sigmoid"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_transcendentals_over_a_large_tensor(name, dtype):
    a = (RNG.standard_normal(1_000_003) * 4).astype(dtype)
    if name == "log":
        a = np.abs(a) + dtype(1e-3)
    ref = 1 / (1 + np.exp(-a.astype(np.float64))) if name == "sigmoid" else getattr(np, name)(a.astype(np.float64))
    got = getattr(chaingrad, name)(chaingrad.tensor(a)).numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-6 if dtype == np.float32 else 1e-13, atol=1e-30)


# ------------------------------------------------- fused product VJP and in-place gradient sums
torch = pytest.importorskip("torch")


def _pair(shape, dtype=np.float32):
    a = RNG.standard_normal(shape).astype(dtype)
    return chaingrad.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_product_gradients_with_fan_out_and_hooks_match_torch(dtype):
    n = 50_001
    (x, tx), (w, tw), (b, tb) = _pair(n, dtype), _pair(n, dtype), _pair(n, dtype)
    seen, tseen = [], []
    for (xx, ww, bb), store in (((x, w, b), seen), ((tx, tw, tb), tseen)):
        h = xx * ww + bb
        h.register_hook(lambda g, store=store: store.append(g.detach().clone()))
        h.retain_grad()
        y = h.tanh() * xx + xx * xx  # x reaches its leaf by three paths, summed by the engine
        (y * 1.5).sum().backward()
        store.append(h.grad)
    for got, ref in ((x, tx), (w, tw), (b, tb)):
        np.testing.assert_allclose(got.grad.numpy(), ref.grad.numpy(), rtol=1e-5, atol=2e-5)
    np.testing.assert_allclose(seen[0].numpy(), tseen[0].numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(seen[1].numpy(), tseen[1].numpy(), rtol=1e-5, atol=1e-6)


def test_product_gradients_broadcast_and_double_backward_match_torch():
    (a, ta), (c, tc) = _pair((300, 40)), _pair((40,))
    for xa, xc in ((a, c), (ta, tc)):
        (xa * xc).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(c.grad.numpy(), tc.grad.numpy(), rtol=1e-5)
    (p, tp), (q, tq) = _pair(1000), _pair(1000)
    out = []
    for lib, xp, xq in ((chaingrad, p, q), (torch, tp, tq)):
        gp, gq = lib.autograd.grad((xp * xq * xq).sum(), (xp, xq), create_graph=True)
        (hq,) = lib.autograd.grad((gp * gq).sum(), (xq,))
        out.append(hq)
    np.testing.assert_allclose(out[0].numpy(), out[1].detach().numpy(), rtol=1e-5, atol=1e-6)


def test_gradient_the_user_passes_in_is_not_summed_into():
    x = chaingrad.tensor(RNG.standard_normal(10_000).astype(np.float32), requires_grad=True)
    y = x * 2
    z = y + y  # y's buffer receives two gradients
    g = chaingrad.ones(10_000)
    z.backward(g)
    np.testing.assert_array_equal(g.numpy(), np.ones(10_000, np.float32))
    np.testing.assert_allclose(x.grad.numpy(), np.full(10_000, 4.0, np.float32))
