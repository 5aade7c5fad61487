"""Memory safety: nothing outlives its last user reference, and nothing recurses.

* graphs built with create_graph=True, hooks (capturing other tensors or the hooked tensor
  itself), a leaf's ``.grad`` that carries a graph, retain_grad, custom Functions, saved-tensor
  hooks, checkpointing, anomaly mode and errors in the middle of backward all leave the live
  counts of nodes, tensors and storages (``chaingrad._live_counts()``) where they started once the
  user drops their references;
* graphs of a million nodes in several shapes (a chain, a chain saving a leaf, a wide fan-in, a
  long chain of views and in-place writes) run backward and are destroyed without recursion;
* 10,000 training steps of a small MLP keep the resident set flat.
"""

import gc
import os
import time

import numpy as np
import pytest

pytest.importorskip("chaingrad._C")
import chaingrad  # noqa: E402
from chaingrad import nn  # noqa: E402
from chaingrad.autograd.graph import saved_tensors_hooks  # noqa: E402
from chaingrad.utils.checkpoint import checkpoint  # noqa: E402

KEYS = ("nodes", "tensors", "storages", "storage_bytes")


def counts():
    gc.collect()
    c = chaingrad._live_counts()
    return {k: c[k] for k in KEYS}


def assert_no_leak(scenario, *args):
    """Runs ``scenario`` (which drops every reference it made) and checks that the live counts are
    back where they were."""
    scenario(*args)  # warm-up: lazily created module state is not a leak
    before = counts()
    scenario(*args)
    after = counts()
    assert after == before, f"leaked: before {before}, after {after}"


def randn(*shape, requires_grad=False):
    return chaingrad.randn(*shape, requires_grad=requires_grad)


# -------------------------------------------------------------------------------- graphs and hooks
def test_baseline_counts_are_exact():
    before = counts()
    x = randn(3, requires_grad=True)
    y = (x * 2).sum()
    during = counts()
    assert during["nodes"] >= 2 and during["tensors"] >= 2
    del x, y
    assert counts() == before


def test_plain_backward_frees_everything():
    def scenario():
        x = randn(4, 3, requires_grad=True)
        w = randn(3, 2, requires_grad=True)
        ((x @ w).tanh() * x.sum()).sum().backward()

    assert_no_leak(scenario)


def test_autograd_grad_with_create_graph():
    def scenario():
        x = randn(5, requires_grad=True)
        y = (x**3).sin().sum()
        (g,) = chaingrad.autograd.grad(y, x, create_graph=True)
        (h,) = chaingrad.autograd.grad(g.sum(), x, create_graph=True)
        h.sum().backward()
        assert x.grad is not None

    assert_no_leak(scenario)


def test_leaf_grad_that_has_a_graph():
    # PyTorch leaks here (leaf -> .grad -> graph -> saved leaf) and warns about it; chaingrad saves
    # leaves by data plus a weak link, so the cycle never forms.
    def scenario():
        x = randn(4, requires_grad=True)
        w = randn(4, requires_grad=True)
        y = (x * x * w).tanh()
        (y * x).sum().backward(create_graph=True)
        assert x.grad.grad_fn is not None and w.grad.grad_fn is not None
        x.grad.sum().backward()  # the grad's own graph is usable

    assert_no_leak(scenario)


def test_grad_with_graph_kept_by_the_user_dies_with_it():
    before = counts()
    x = randn(3, requires_grad=True)
    (x * x).sum().backward(create_graph=True)
    g = x.grad
    del x  # the gradient (and its graph) is all that is left
    assert g.grad_fn is not None
    (g * 2).sum().backward()  # still works: the saved leaf is rebuilt from its data
    del g
    assert counts() == before


def test_retain_grad_with_create_graph():
    def scenario():
        x = randn(3, requires_grad=True)
        h = x * x
        h.retain_grad()
        (h * h).sum().backward(create_graph=True)
        assert h.grad.grad_fn is not None

    assert_no_leak(scenario)


def test_views_saved_with_create_graph():
    def scenario():
        w = randn(3, 4, requires_grad=True)
        x = randn(2, 3)
        (x @ w.t().t() * w[0]).sum().backward(create_graph=True)

    assert_no_leak(scenario)


def test_hooks_do_not_leak():
    def scenario():
        x = randn(3, requires_grad=True)
        other = randn(3)
        h = x * 2
        y = h.exp()
        x.register_hook(lambda g: g * other)  # captures another tensor
        h.register_hook(lambda g: g * h)  # captures the hooked tensor itself
        x.register_hook(lambda g: g + x)  # a leaf hook capturing its leaf
        y.grad_fn.register_hook(lambda gi, go: None)
        y.grad_fn.register_prehook(lambda go: None)
        x.register_post_accumulate_grad_hook(lambda t: None)
        y.sum().backward()

    assert_no_leak(scenario)


def test_hook_removed_and_handles_dropped():
    def scenario():
        x = randn(3, requires_grad=True)
        y = x * 3
        handle = y.register_hook(lambda g: g * y)
        handle.remove()
        y.sum().backward()

    assert_no_leak(scenario)


def test_custom_function():
    class Cube(chaingrad.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            out = x**3
            ctx.out = out  # keeps its own output: a cycle through the ctx
            return out

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * x * x * g

    def scenario():
        x = randn(4, requires_grad=True)
        Cube.apply(x).sum().backward()
        y = Cube.apply(x)
        (g,) = chaingrad.autograd.grad(y.sum(), x, create_graph=True)
        g.sum().backward()

    assert_no_leak(scenario)


def test_saved_tensor_hooks_and_checkpoint():
    store = []

    def scenario():
        x = randn(8, requires_grad=True)
        with saved_tensors_hooks(lambda t: store.append(t) or len(store) - 1, lambda i: store[i]):
            y = (x.exp() * x).sum()
        y.backward()
        store.clear()
        lin = nn.Linear(8, 8)
        out = checkpoint(lambda a: lin(a).tanh(), x.view(1, 8), use_reentrant=False)
        out.sum().backward()
        out = checkpoint(lambda a: lin(a).tanh(), x.view(1, 8), use_reentrant=True)
        out.sum().backward()

    assert_no_leak(scenario)


def test_anomaly_mode_and_errors_mid_backward():
    def failing(g):
        raise ValueError("boom")

    def scenario():
        with chaingrad.autograd.set_detect_anomaly(True):
            x = chaingrad.tensor([0.0, 1.0], requires_grad=True)
            y = (x * 2).exp()
            y.register_hook(failing)
            with pytest.raises(ValueError, match="boom"):
                y.sum().backward()
            with pytest.raises(RuntimeError, match="returned nan values"):
                (x.sqrt() * 0).sum().backward()

    with pytest.warns(UserWarning, match="Error detected in"):
        assert_no_leak(scenario)


def test_unused_input_error_does_not_leak():
    def scenario():
        a = randn(3, requires_grad=True)
        b = randn(3, requires_grad=True)
        with pytest.raises(RuntimeError):
            chaingrad.autograd.grad((a * 2).sum(), [a, b])

    assert_no_leak(scenario)


# --------------------------------------------------------------------------------- a million nodes
N = 1_000_000


def run_and_destroy(build):
    before = counts()
    leaf, root, expected = build()
    nodes = chaingrad._live_counts()["nodes"]
    assert nodes >= N, nodes
    root.backward()
    np.testing.assert_allclose(leaf.grad.numpy(), expected, rtol=1e-3)
    del root  # a million-node graph is released iteratively
    gc.collect()
    assert chaingrad._live_counts()["nodes"] == 1  # the leaf's own AccumulateGrad
    del leaf
    assert counts() == before


def test_million_node_chain():
    def build():
        x = chaingrad.tensor(1.0, requires_grad=True)
        y = x
        for _ in range(N):
            y = y * 1.0
        return x, y, 1.0

    run_and_destroy(build)


def test_million_node_chain_saving_a_leaf():
    def build():
        x = chaingrad.tensor(1.0, requires_grad=True)
        w = chaingrad.tensor(1.0, requires_grad=True)
        y = x
        for _ in range(N - 1):
            y = y * w  # every node saves the leaf w and the previous result
        return x, y, 1.0

    run_and_destroy(build)


def test_million_node_wide_fan_in():
    # One node (StackBackward0) with a million inputs, each a 0-d product of the same two leaves.
    def build():
        a = chaingrad.tensor(0.5, requires_grad=True)
        terms = [a * 2.0 for _ in range(N)]
        s = chaingrad.stack(terms).sum()
        del terms
        return a, s, 2.0 * N

    run_and_destroy(build)


def test_million_node_views_and_inplace_writes():
    # Each step writes through a fresh view of y: SelectBackward0 + MulBackward0 + CopySlices.
    def build():
        x = chaingrad.ones(4, requires_grad=True)
        y = x.clone()
        for i in range(N // 3 + 1):
            y[i % 4].mul_(1.0)
        return x, y.sum(), np.ones(4)

    run_and_destroy(build)


def test_deep_graph_freed_by_dropping_the_leaf_grad():
    # The graph is reachable only through a .grad (create_graph): dropping the leaf frees it.
    before = counts()
    x = chaingrad.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(N // 4):
        y = (y * 1.0).sin()
    y.backward(create_graph=True)
    del y
    assert chaingrad._live_counts()["nodes"] > N // 4
    del x
    assert counts() == before


# --------------------------------------------------------------------------------- resident memory
def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc/self/statm")
def test_training_keeps_rss_flat():
    chaingrad.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(8, 32), nn.Tanh(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1)
    )
    opt = chaingrad.optim.Adam(model.parameters(), lr=1e-3)
    x = chaingrad.randn(16, 8)
    target = chaingrad.randn(16, 1)

    def steps(n):
        for _ in range(n):
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(x), target)
            loss.backward()
            opt.step()
        return float(loss)

    start = time.time()
    initial = float(nn.functional.mse_loss(model(x), target))
    steps(1000)  # warm-up: allocator pools, Python caches
    gc.collect()
    base_counts, base_rss = counts(), rss_bytes()
    first = steps(4500)
    mid_rss = rss_bytes()
    last = steps(4500)
    gc.collect()
    end_counts, end_rss = counts(), rss_bytes()
    assert end_counts == base_counts
    growth = end_rss - base_rss
    # A leak of one small tensor per step would be ~0.5 MB per 9,000 steps at the very least.
    assert growth < 1 << 20, f"RSS grew by {growth} bytes (mid-run {mid_rss - base_rss})"
    # Training really ran (not a no-op loop): the loss fell far below its starting value. The
    # losses of the two halves themselves are rounding noise near zero and are not compared.
    assert max(first, last) < 1e-2 * initial, (initial, first, last)
    assert time.time() - start < 120
