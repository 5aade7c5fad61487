"""Fused backward chains (engine/fused_chain.h) and non-temporal stores (kernels/loop.h).

A chain of elementwise VJPs (mul -> tanh -> add -> mul) runs block by block when the gradient
between its nodes is seen by nobody else. It must give the same bits as the nodes run one by
one: the reference here is the same graph with a no-op hook on every intermediate, which keeps
every node out of any chain. Sizes are above the chain threshold (32768 elements); the "large"
cases also exceed the 16 MB at which outputs are streamed.
"""

import os

import chaingrad as cg
import numpy as np
import pytest

N = 50_001


def _inputs(n, k, dtype, seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(n).astype(dtype) for _ in range(k)]


def _grads(build, arrays, hooked):
    leaves = [cg.tensor(a, requires_grad=True) for a in arrays]

    def h(t):  # an intermediate: with `hooked`, a hook keeps its node out of every chain
        if hooked:
            t.register_hook(lambda g: None)
        return t

    build(h, *leaves).backward()
    return [leaf.grad.numpy() for leaf in leaves]


CHAINS = {
    "w4": (3, lambda h, x, w, b: (h(h(h(x * w) + b).tanh()) * x).sum()),
    "sub_alpha": (2, lambda h, x, w: (h(cg.sub(h(x * w), x, alpha=0.5)).sigmoid() * w).sum()),
    "scalars": (2, lambda h, x, w: (h(h(h(x * 3.0) + 1.5).exp()) * w).sum()),
    "neg_relu": (2, lambda h, x, w: (h(h(-h(x * w)).relu()) * x).sum()),
    "rsub_tanh": (2, lambda h, x, w: (h(h(2.0 - h(x * w)).tanh()) * w).sum()),
    "div_scalar": (2, lambda h, x, w: (h(h(x / 4.0) * w).sigmoid() * x).sum()),
    # x's two gradients both from the chain, from one node (x * x) or two: summed in the chain
    "square": (2, lambda h, x, w: (h(h(x * x).tanh()) * w).sum()),
    "both_ends": (3, lambda h, x, w, b: (h(h(h(x * w) - b).sigmoid()) * x).sum()),
    # x's second gradient from outside the chain (x.sum()), and a third one
    "outside": (2, lambda h, x, w: (h(h(x * w).tanh()) * w).sum() + x.sum()),
    "three": (2, lambda h, x, w: (h(h(x * w).tanh()) * x).sum() + x.sum()),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(CHAINS))
def test_chain_gives_the_bits_of_the_nodes_one_by_one(name, dtype):
    k, build = CHAINS[name]
    arrays = _inputs(N, k, dtype, seed=len(name))
    fused = _grads(build, arrays, hooked=False)
    plain = _grads(build, arrays, hooked=True)
    for f, p in zip(fused, plain):
        assert f.dtype == dtype
        np.testing.assert_array_equal(f, p)


def test_w4_matches_torch():
    torch = pytest.importorskip("torch")
    arrays = _inputs(N, 3, np.float32, seed=4)
    got = _grads(CHAINS["w4"][1], arrays, hooked=False)
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    x, w, b = ts
    ((x * w + b).tanh() * x).sum().backward()
    for g, t in zip(got, ts):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_large_chain_streams_its_side_outputs_with_the_same_bits():
    # 4.5M float32 per gradient (18 MB): side outputs go through non-temporal stores; an odd
    # size leaves a tail that is not a whole cache line.
    arrays = _inputs(4_500_001, 3, np.float32, seed=7)
    build = CHAINS["w4"][1]
    for f, p in zip(_grads(build, arrays, hooked=False), _grads(build, arrays, hooked=True)):
        np.testing.assert_array_equal(f, p)


def test_explicit_contiguous_gradient_starts_a_chain():
    x0, w0, g0 = _inputs(N, 3, np.float32, seed=11)

    def run(hooked):
        x, w = cg.tensor(x0, requires_grad=True), cg.tensor(w0, requires_grad=True)
        t = x * w
        if hooked:
            t.register_hook(lambda g: None)
        y = t.tanh()
        gt = cg.tensor(g0)
        y.backward(gt)
        np.testing.assert_array_equal(gt.numpy(), g0)  # the caller's gradient is only read
        return x.grad.numpy(), w.grad.numpy()

    for f, p in zip(run(False), run(True)):
        np.testing.assert_array_equal(f, p)


def test_same_bits_for_any_thread_count():
    arrays = _inputs(200_003, 3, np.float32, seed=5)
    old = cg.get_num_threads()
    try:
        results = []
        for t in (1, 2, 4):
            cg.set_num_threads(t)
            results.append(_grads(CHAINS["w4"][1], arrays, hooked=False))
    finally:
        cg.set_num_threads(old)
    for r in results[1:]:
        for a, b in zip(results[0], r):
            np.testing.assert_array_equal(a, b)


def test_retain_grad_on_an_intermediate_stops_the_chain_there():
    x0, w0, b0 = _inputs(N, 3, np.float32, seed=6)
    x, w, b = (cg.tensor(a, requires_grad=True) for a in (x0, w0, b0))
    s = x * w + b
    s.retain_grad()
    y = s.tanh()
    (y * x).sum().backward()
    t = np.tanh(x0 * w0 + b0)
    np.testing.assert_allclose(s.grad.numpy(), x0 * (1 - t * t), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(b.grad.numpy(), x0 * (1 - t * t), rtol=1e-4, atol=1e-5)


def test_backward_inputs_leaves_the_other_leaves_alone():
    x0, w0, b0 = _inputs(N, 3, np.float32, seed=8)
    x, w, b = (cg.tensor(a, requires_grad=True) for a in (x0, w0, b0))
    ((x * w + b).tanh() * x).sum().backward(inputs=[w])
    assert x.grad is None and b.grad is None
    t = np.tanh(x0 * w0 + b0)
    np.testing.assert_allclose(w.grad.numpy(), x0 * (1 - t * t) * x0, rtol=1e-4, atol=1e-5)


def test_retain_graph_runs_the_chain_again():
    arrays = _inputs(N, 3, np.float32, seed=9)
    x, w, b = (cg.tensor(a, requires_grad=True) for a in arrays)
    loss = ((x * w + b).tanh() * x).sum()
    loss.backward(retain_graph=True)
    first = [t.grad.numpy().copy() for t in (x, w, b)]
    loss.backward()
    for t, g in zip((x, w, b), first):
        np.testing.assert_array_equal(t.grad.numpy(), g + g)


def test_create_graph_gives_a_differentiable_gradient():
    torch = pytest.importorskip("torch")
    arrays = _inputs(N, 2, np.float64, seed=10)
    x, w = (cg.tensor(a, requires_grad=True) for a in arrays)
    (gx,) = cg.autograd.grad(((x * w).tanh() * x).sum(), [x], create_graph=True)
    (gx * gx).sum().backward()
    tx, tw = (torch.tensor(a, requires_grad=True) for a in arrays)
    (tgx,) = torch.autograd.grad(((tx * tw).tanh() * tx).sum(), [tx], create_graph=True)
    (tgx * tgx).sum().backward()
    np.testing.assert_allclose(gx.detach().numpy(), tgx.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_saved_tensor_changed_in_place_raises_as_without_fusion():
    arrays = _inputs(N, 3, np.float32, seed=12)
    x, w, b = (cg.tensor(a, requires_grad=True) for a in arrays)
    loss = ((x * w + b).tanh() * x).sum()
    with cg.no_grad():
        w.mul_(2)  # saved by the last node of the chain
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_views_and_broadcasts_fall_back_to_the_nodes():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(13)
    a, c = rng.standard_normal((2, 300, 200)).astype(np.float32)
    bias = rng.standard_normal(300).astype(np.float32)
    xs = [cg.tensor(v, requires_grad=True) for v in (a, c, bias)]
    ts = [torch.tensor(v, requires_grad=True) for v in (a, c, bias)]
    for x, w, b in (xs, ts):
        ((x.t() * w.t() + b).tanh() * x.t()).sum().backward()  # transposed operands, broadcast bias
    for p, q in zip(xs, ts):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("offset", [0, 1, 3])
def test_streamed_outputs_match_numpy(offset):
    # 4.2M float32 (16.8 MB): above the streaming size. Offsets make the inputs unaligned.
    rng = np.random.default_rng(14 + offset)
    a, b = rng.standard_normal((2, 4_200_007)).astype(np.float32)
    x, y = cg.tensor(a)[offset:], cg.tensor(b)[: len(b) - offset]
    np.testing.assert_array_equal((x * y).numpy(), a[offset:] * b[: len(b) - offset])
    np.testing.assert_array_equal((x + 1.5).numpy(), a[offset:] + np.float32(1.5))
    z = cg.tensor(a)
    z.add_(cg.tensor(b))  # in place: no streaming (its lines are in cache already), same values
    np.testing.assert_array_equal(z.numpy(), a + b)


def test_streamed_mul_backward_matches_numpy():
    rng = np.random.default_rng(15)
    a, b, g = rng.standard_normal((3, 4_200_011)).astype(np.float32)
    x, y = cg.tensor(a, requires_grad=True), cg.tensor(b, requires_grad=True)
    (x * y).backward(cg.tensor(g))
    np.testing.assert_array_equal(x.grad.numpy(), g * b)
    np.testing.assert_array_equal(y.grad.numpy(), g * a)


# The unary ops whose table row names a fused-chain formula (ops/unary.cpp, CG_FUSED_VJP).
FUSED_UNARY = ["tanh", "sigmoid", "exp", "relu", "neg"]


def _backward_peak_bytes(op, arrays, hooked):
    """Storage high-water mark during backward of (op(x * w) * x).sum(); with `hooked`, hooks on
    both intermediates keep their nodes out of any chain."""
    x, w = (cg.tensor(a, requires_grad=True) for a in arrays)
    t = x * w
    if hooked:
        t.register_hook(lambda g: None)
    y = getattr(t, op)()
    if hooked:
        y.register_hook(lambda g: None)
    loss = (y * x).sum()
    cg._reset_peak_storage_bytes()
    loss.backward()
    return cg._live_counts()["storage_peak_bytes"], x.grad.numpy(), w.grad.numpy()


@pytest.mark.skipif(os.environ.get("CHAINGRAD_FUSED_CHAINS", "").startswith("0"), reason="fused chains off")
@pytest.mark.parametrize("op", FUSED_UNARY)
def test_unary_rows_with_a_fused_formula_join_the_chain(op):
    # Fused, the gradients between mul -> op -> mul are never stored: the peak holds two fewer
    # full-size buffers than the same graph run node by node, and the bits are the same.
    arrays = _inputs(N, 2, np.float32, seed=20)
    fused_peak, *fused = _backward_peak_bytes(op, arrays, hooked=False)
    plain_peak, *plain = _backward_peak_bytes(op, arrays, hooked=True)
    assert plain_peak - fused_peak >= 2 * 4 * N
    for f, p in zip(fused, plain):
        np.testing.assert_array_equal(f, p)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op", FUSED_UNARY)
def test_fused_unary_chain_matches_torch(op, dtype):
    torch = pytest.importorskip("torch")
    arrays = _inputs(N, 2, dtype, seed=21)
    _, *got = _backward_peak_bytes(op, arrays, hooked=False)
    x, w = (torch.tensor(a, requires_grad=True) for a in arrays)
    (getattr(x * w, op)() * x).sum().backward()
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    for g, t in zip(got, (x, w)):
        np.testing.assert_allclose(g, t.grad.numpy(), **tol)
