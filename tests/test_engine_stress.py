"""Engine stress: very deep graphs (no recursion in backward or in destruction) and backward on
several Python threads (the GIL is released during native backward work)."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

pytest.importorskip("chaingrad._C")
import chaingrad as cg  # noqa: E402

PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(cg.__file__)))  # the chaingrad under test


def _run_isolated(code: str, timeout: float = 60) -> str:
    """Runs `code` in a fresh interpreter: a stack overflow fails the test instead of the run."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (PYTHON_DIR, env.get("PYTHONPATH", "")) if p)
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_million_node_chain_backward_and_destruction():
    out = _run_isolated(
        """
        import gc, time
        import chaingrad as cg
        N = 1_000_000
        base = cg._live_counts()["nodes"]
        x = cg.tensor(1.0, requires_grad=True)
        y = x
        t0 = time.perf_counter()
        for _ in range(N):
            y = y * 1.0000001
        t1 = time.perf_counter()
        assert cg._live_counts()["nodes"] - base == N + 1, cg._live_counts()  # N muls + x's AccumulateGrad
        y.backward()
        t2 = time.perf_counter()
        g = x.grad.item()
        # float32: each step adds one ulp (2**-23) while the value is below 1.5.
        assert abs(g - (1 + N * 2.0 ** -23)) < 1e-5, g
        assert abs(y.item() - g) < 1e-5, (y.item(), g)
        del y
        gc.collect()
        t3 = time.perf_counter()
        assert cg._live_counts()["nodes"] == base + 1, cg._live_counts()  # the leaf owns its AccumulateGrad
        del x
        assert cg._live_counts()["nodes"] == base, cg._live_counts()
        print(f"build {t1 - t0:.2f}s backward {t2 - t1:.2f}s destroy {t3 - t2:.2f}s")
        """)
    assert "destroy" in out


def test_deep_chain_with_saved_tensors_destroyed_without_backward():
    _run_isolated(
        """
        import gc
        import chaingrad as cg
        base = cg._live_counts()
        x = cg.tensor([0.5, 0.25], requires_grad=True)
        y = x
        for _ in range(300_000):
            y = y.tanh()  # every node saves its output
        assert cg._live_counts()["nodes"] > 300_000
        del y  # never run: the whole chain of nodes and saved tensors is released at once
        gc.collect()
        after = cg._live_counts()
        assert after["nodes"] == base["nodes"] + 1, after  # x owns its AccumulateGrad
        z = x
        for _ in range(200_000):
            z = z * x  # saves both inputs
        (g,) = cg.autograd.grad(z.sum(), x)
        del z, g, x
        gc.collect()
        assert cg._live_counts()["nodes"] == base["nodes"], cg._live_counts()
        """)


def _big_graph(seed: int, n: int = 300, layers: int = 12):
    rng = np.random.default_rng(seed)
    x = cg.tensor(rng.standard_normal((n, n)).astype(np.float32), requires_grad=True)
    y = x
    for _ in range(layers):
        y = (y.mm(y.t()) * 1e-3).tanh() + y
    return x, y.sum()


def _serial_grads(seeds):
    out = {}
    for s in seeds:
        x, loss = _big_graph(s)
        loss.backward()
        out[s] = x.grad.numpy().copy()
    return out


def test_concurrent_backward_on_two_threads():
    seeds = (1, 2)
    expected = _serial_grads(seeds)
    barrier = threading.Barrier(2, timeout=30)
    results, errors = {}, []

    def worker(seed):
        try:
            x, loss = _big_graph(seed)
            mid = x * 1  # a hook in the middle of each backward: both must be inside backward at once

            def meet(g):
                barrier.wait()

            mid.register_hook(meet)
            total = loss + mid.sum() * 0
            total.backward()
            results[seed] = x.grad.numpy().copy()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(s,)) for s in seeds]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    for s in seeds:
        np.testing.assert_allclose(results[s], expected[s], rtol=1e-5, atol=1e-5)


def _backward_while_counting(layers: int):
    """Runs a long backward on another thread while this one counts loop iterations."""
    x, loss = _big_graph(3, n=400, layers=layers)
    window = {}

    def worker():
        window["start"] = time.perf_counter()
        loss.backward()
        window["end"] = time.perf_counter()

    stamps = []
    th = threading.Thread(target=worker)
    th.start()
    while th.is_alive():
        stamps.append(time.perf_counter())
    th.join()
    assert x.grad is not None
    return window["start"], window["end"], stamps


def test_gil_released_during_backward():
    layers = 16
    for _ in range(4):  # make the backward long enough to observe on a fast machine
        start, end, stamps = _backward_while_counting(layers)
        if end - start > 0.2:
            break
        layers *= 2
    margin = 0.02
    inside = [t for t in stamps if start + margin < t < end - margin]
    # With the GIL held for the whole native backward, this thread could not run at all in the window.
    assert len(inside) > 100, (len(inside), end - start)


def test_threads_do_not_share_grad_mode_during_backward():
    # One thread records under no_grad while another runs backward with create_graph.
    stop = threading.Event()
    flags = []

    def no_grad_worker():
        with cg.no_grad():
            while not stop.is_set():
                flags.append((cg.ones(1, requires_grad=True) * 2).requires_grad)

    th = threading.Thread(target=no_grad_worker)
    th.start()
    try:
        for _ in range(20):
            x = cg.tensor([1.0, 2.0], requires_grad=True)
            (g,) = cg.autograd.grad((x ** 3).sum(), x, create_graph=True)
            assert g.requires_grad
            assert cg.is_grad_enabled()
    finally:
        stop.set()
        th.join()
    assert flags and not any(flags)
    gc.collect()
