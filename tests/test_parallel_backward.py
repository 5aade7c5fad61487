"""Parallel backward: independent branches of one graph may run on pool threads, and the gradients
must be the same bits for any thread count (every sum of several gradients runs in one fixed
order). The per-node work threshold is lowered so that these small graphs take the parallel path;
Python hooks inside the graph (the GIL), errors raised by them, and backward called from inside a
hook must behave as they do serially."""

from __future__ import annotations

import os
import select
import signal
import threading
from collections.abc import Iterator

import numpy as np
import pytest

pytest.importorskip("chaingrad._C")
import chaingrad as cg  # noqa: E402
from chaingrad import _C  # noqa: E402

THREADS = (1, 2, 4)


@pytest.fixture
def parallel_engine() -> Iterator[None]:
    """Every node counts as heavy; the thread count is restored afterwards."""
    work = _C._get_parallel_min_node_work()
    _C._set_parallel_min_node_work(1)
    yield
    _C._set_backward_threads(0)  # back to following set_num_threads
    _C._set_parallel_min_node_work(work)


def _leaves(seed: int, n: int = 513) -> tuple[cg.Tensor, cg.Tensor]:
    rng = np.random.default_rng(seed)
    x = cg.tensor(rng.standard_normal(n).astype(np.float32), requires_grad=True)
    w = cg.tensor(rng.standard_normal(n).astype(np.float32), requires_grad=True)
    return x, w


def _branchy_loss(x: cg.Tensor, w: cg.Tensor) -> cg.Tensor:
    """Six branches from one shared interior node `h` (fan-in 6 there) and from the leaves (fan-in
    of 7 into x's and w's accumulators): the sums whose order could change the last bit."""
    h = x * w + 0.5
    parts = []
    for k in range(6):
        y = h
        for i in range(8):
            y = (y * (0.9 + 0.01 * k)).tanh() + w * (0.1 * i)
        parts.append((y * x).sum())
    total = parts[0]
    for p in parts[1:]:
        total = total + p
    return total


def _grads_for(threads: int, seed: int = 0) -> list[np.ndarray]:
    _C._set_backward_threads(threads)
    x, w = _leaves(seed)
    _branchy_loss(x, w).backward()
    assert _C._last_backward_was_parallel() == (threads > 1)  # the branches really ran in parallel mode
    gx, gw = cg.autograd.grad(_branchy_loss(x, w), [x, w])
    return [t.detach().numpy().copy() for t in (x.grad, w.grad, gx, gw)]


def test_gradients_are_bit_identical_for_1_2_and_4_threads(parallel_engine: None) -> None:
    reference = _grads_for(1)
    for threads in THREADS[1:]:
        for _ in range(3):  # the schedule differs run to run; the bits may not
            got = _grads_for(threads)
            for r, g in zip(reference, got):
                assert r.tobytes() == g.tobytes()


def test_branches_starting_at_a_sum_take_the_parallel_path(parallel_engine: None) -> None:
    # Each branch of `f(x).sum() + g(x).sum()` starts with a sum's backward: one number in, a
    # tensor out. Such nodes are heavy by the gradient they make (a regression: they once counted
    # as 0-d, and no branch of this common shape ever ran in parallel).
    x, w = _leaves(6)
    _C._set_backward_threads(2)
    ((x * 2.0).tanh().sum() + (w * 3.0).tanh().sum()).backward()
    assert _C._last_backward_was_parallel()
    _C._set_backward_threads(1)
    ((x * 2.0).tanh().sum() + (w * 3.0).tanh().sum()).backward()
    assert not _C._last_backward_was_parallel()


def test_small_branches_stay_serial_at_the_default_threshold() -> None:
    work = _C._get_parallel_min_node_work()
    assert work > 513  # the measured default: 513-element nodes do not pay for a hand-off
    _C._set_backward_threads(2)
    try:
        x, w = _leaves(7)
        ((x * 2.0).tanh().sum() + (w * 3.0).tanh().sum()).backward()
        assert not _C._last_backward_was_parallel()
    finally:
        _C._set_backward_threads(0)


def test_parallel_gradients_match_pytorch(parallel_engine: None) -> None:
    torch = pytest.importorskip("torch")
    _C._set_backward_threads(2)
    x, w = _leaves(1)
    _branchy_loss(x, w).backward()
    tx = torch.tensor(x.detach().numpy(), requires_grad=True)
    tw = torch.tensor(w.detach().numpy(), requires_grad=True)
    _branchy_loss(tx, tw).backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_python_hooks_run_once_each_under_parallel_backward(parallel_engine: None) -> None:
    _C._set_backward_threads(4)
    x, w = _leaves(2)
    seen: list[int] = []
    h = x * w
    ys = []
    for k in range(4):
        y = (h * (k + 1.0)).tanh()
        y.register_hook(lambda g, k=k: seen.append(k))
        ys.append(y.sum())
    (ys[0] + ys[1] + ys[2] + ys[3]).backward()
    assert sorted(seen) == [0, 1, 2, 3]
    expected = sum((k + 1.0) * (1 - np.tanh((k + 1.0) * (x * w).detach().numpy()) ** 2) for k in range(4))
    np.testing.assert_allclose(x.grad.numpy(), expected * w.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_hook_error_propagates_from_a_parallel_branch(parallel_engine: None) -> None:
    _C._set_backward_threads(2)
    x, w = _leaves(3)
    a = (x * 2.0).tanh()
    b = (w * 3.0).tanh()

    def fail(g: cg.Tensor) -> None:
        raise ValueError("hook failed on purpose")

    b.register_hook(fail)
    with pytest.raises(ValueError, match="hook failed on purpose"):
        (a.sum() + b.sum()).backward()


def test_backward_inside_a_hook_of_a_parallel_backward(parallel_engine: None) -> None:
    _C._set_backward_threads(2)
    x, w = _leaves(4)
    inner = cg.tensor(np.arange(600, dtype=np.float32), requires_grad=True)
    inner_grads: list[np.ndarray] = []

    # The two branches' hooks may run at once on two threads; they share `inner`, so each
    # runs its nested backward and reads/clears inner.grad under a lock (the engine does not
    # serialise user code that shares a leaf, nor does PyTorch's).
    lock = threading.Lock()

    def nested(g: cg.Tensor) -> None:
        with lock:
            with cg.enable_grad():  # hooks run with grad mode off, as in PyTorch
                (inner * inner).tanh().sum().backward()  # a whole backward, itself parallel-eligible
            inner_grads.append(inner.grad.numpy().copy())
            inner.grad = None

    a = (x * 2.0).tanh()
    b = (w * 3.0).tanh()
    a.register_hook(nested)
    b.register_hook(nested)
    (a.sum() + b.sum()).backward()
    assert len(inner_grads) == 2
    v = np.arange(600, dtype=np.float32)
    np.testing.assert_allclose(inner_grads[0], 2 * v * (1 - np.tanh(v * v) ** 2), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(inner_grads[0], inner_grads[1])
    np.testing.assert_allclose(x.grad.numpy(), 2 * (1 - np.tanh(2 * x.detach().numpy()) ** 2), rtol=1e-5, atol=1e-6)


def test_retain_graph_and_inputs_under_parallel_backward(parallel_engine: None) -> None:
    _C._set_backward_threads(2)
    x, w = _leaves(5)
    loss = _branchy_loss(x, w)
    loss.backward(retain_graph=True)
    first, w_grad = x.grad.numpy().copy(), w.grad.numpy().copy()
    x.grad = None
    loss.backward(inputs=[x])  # only x accumulates
    assert x.grad.numpy().tobytes() == first.tobytes()
    assert w.grad.numpy().tobytes() == w_grad.tobytes()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        loss.backward()


def _two_long_branches(x: cg.Tensor, w: cg.Tensor, depth: int) -> cg.Tensor:
    a, b = x, w
    for i in range(depth):
        a = (a * (1.0 - 1e-4 * (i % 7))).tanh()
        b = (b * (1.0 + 1e-4 * (i % 5))).sin()
    return (a * w).sum() + (b * x).sum()


def test_long_branches_reuse_their_records_and_give_the_same_bits(parallel_engine: None) -> None:
    # Chains of thousands of links per branch: each link gets an inline record that its thread
    # gives back and takes again (per-thread lists), while the other thread adds fresh ones.
    x, w = _leaves(8, n=64)
    got = {}
    for threads in THREADS:
        _C._set_backward_threads(threads)
        x.grad = w.grad = None
        _two_long_branches(x, w, 3000).backward()
        assert _C._last_backward_was_parallel() == (threads > 1)
        got[threads] = (x.grad.numpy().tobytes(), w.grad.numpy().tobytes())
    assert got[1] == got[2] == got[4]


def test_zero_dim_tails_and_captures_under_parallel_backward(parallel_engine: None) -> None:
    # The branches end in 0-d arithmetic (gradients passed as numbers, the fast path) and meet in
    # a product; autograd.grad captures interior tensors of both branches.
    torch = pytest.importorskip("torch")

    def loss(lib_x, lib_w, keep):  # noqa: ANN001, ANN202
        a = (lib_x * 2.0).tanh()
        b = (lib_w * 0.5).sin()
        keep.extend([a, b])
        sa = a.sum() * 3.0 + 1.0
        sb = (b.sum() - 2.0) * 0.25
        return sa * sb + sa / (sb * sb + 1.0)

    results = {}
    for threads in THREADS:
        _C._set_backward_threads(threads)
        x, w = _leaves(9)
        keep: list[cg.Tensor] = []
        grads = cg.autograd.grad(loss(x, w, keep), [keep[0], keep[1], x, w])
        assert _C._last_backward_was_parallel() == (threads > 1)
        results[threads] = [g.numpy().tobytes() for g in grads]
    assert results[1] == results[2] == results[4]
    x, w = _leaves(9)
    tx = torch.tensor(x.detach().numpy(), requires_grad=True)
    tw = torch.tensor(w.detach().numpy(), requires_grad=True)
    tkeep: list = []
    expected = torch.autograd.grad(loss(tx, tw, tkeep), [tkeep[0], tkeep[1], tx, tw])
    for got, want in zip(results[2], expected):
        np.testing.assert_allclose(np.frombuffer(got, dtype=np.float32), want.numpy(), rtol=1e-4, atol=1e-5)


def test_concurrent_parallel_backward_calls_from_python_threads(parallel_engine: None) -> None:
    # Two Python threads each run parallel-eligible backward calls on their own graphs; the pool
    # is shared, so a call may get no helper (then it runs alone). Every result is the same bits.
    _C._set_backward_threads(2)
    x0, w0 = _leaves(10)
    _branchy_loss(x0, w0).backward()
    reference = (x0.grad.numpy().tobytes(), w0.grad.numpy().tobytes())
    errors: list[BaseException] = []
    outcomes: list[tuple[bytes, bytes]] = []
    lock = threading.Lock()

    def run() -> None:
        try:
            for _ in range(4):
                x, w = _leaves(10)
                _branchy_loss(x, w).backward()
                with lock:
                    outcomes.append((x.grad.numpy().tobytes(), w.grad.numpy().tobytes()))
        except BaseException as e:  # noqa: BLE001 (reported below)
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(outcomes) == 8 and all(o == reference for o in outcomes)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_child_after_parallel_work_runs_on_one_thread(parallel_engine: None) -> None:
    """A child forked after the parent's threads ran (a parallel backward, a loop split over
    threads) gets the same gradients on its one thread instead of hanging in the thread team."""
    big = cg.ones(1 << 20).tanh().sum().item()  # a loop split over the threads
    parent = _grads_for(2)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report whether its gradients match, then leave at once
        try:
            os.close(read_end)
            _C._set_backward_threads(2)
            x, w = _leaves(0)
            _branchy_loss(x, w).backward()
            same = all(np.array_equal(a, b) for a, b in zip(parent[:2], (x.grad.numpy(), w.grad.numpy())))
            same = same and cg.ones(1 << 20).tanh().sum().item() == big
            os.write(write_end, b"same" if same else b"diff")
        finally:
            os._exit(0)
    os.close(write_end)
    try:
        ready, _, _ = select.select([read_end], [], [], 120)
        answer = os.read(read_end, 4) if ready else b"hung"
    finally:
        os.close(read_end)
        if not ready:
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    assert answer == b"same"
