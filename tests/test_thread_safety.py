"""Concurrent backward calls on shared leaves and shared graph parts (Hogwild-style training from
Python threads, a documented PyTorch pattern). The GIL is released during native backward, so the
engine itself must make accumulation into a shared ``.grad``, hooks and shared node state safe.

Each scenario runs in a fresh interpreter so that a crash is reported as a failure, not fatal to
the suite. Values are small integers in float64, so every expected sum is exact."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("chaingrad._C")
import chaingrad as cg  # noqa: E402

PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(cg.__file__)))


def _run_isolated(code: str, timeout: float = 240) -> str:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (PYTHON_DIR, env.get("PYTHONPATH", "")) if p)
    prelude = textwrap.dedent(
        """
        import threading
        import numpy as np
        import chaingrad as torch

        def run_threads(fn, n):
            errors = []
            def body(k):
                try:
                    fn(k)
                except BaseException as e:  # reported below, never swallowed
                    errors.append(repr(e))
            ts = [threading.Thread(target=body, args=(k,)) for k in range(n)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            assert not errors, errors
        """)
    proc = subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)], env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_issue_reproduction_reset_and_accumulate_shared_leaf():
    # The reported crash: three threads resetting and accumulating into one leaf's .grad.
    out = _run_isolated(
        """
        torch.manual_seed(0)
        w = torch.randn(50, 3, requires_grad=True)
        def work(k):
            for _ in range(500):
                w.grad = None
                (torch.randn(8, 50) @ w).sum().backward()
        run_threads(work, 3)
        g = w.grad
        assert g is not None and tuple(g.shape) == (50, 3)
        assert np.isfinite(g.numpy()).all()
        print("ok")
        """)
    assert "ok" in out


@pytest.mark.parametrize("threads", [2, 4])
def test_concurrent_accumulation_is_exact(threads):
    # No update may be lost: the final .grad is the exact sum of every thread's contributions.
    out = _run_isolated(
        f"""
        reps = 400
        w = torch.ones(50, 3, dtype=torch.float64, requires_grad=True)
        rng = np.random.default_rng(0)
        xs = [rng.integers(-3, 4, size=(8, 50)).astype(np.float64) for _ in range({threads})]
        def work(k):
            x = torch.tensor(xs[k])
            for _ in range(reps):
                (x @ w).sum().backward()
        run_threads(work, {threads})
        expected = reps * sum(x.sum(0) for x in xs)[:, None] * np.ones((1, 3))
        np.testing.assert_array_equal(w.grad.numpy(), expected)
        print("ok")
        """)
    assert "ok" in out


def test_leaf_hooks_and_post_accumulate_hooks_under_threads():
    out = _run_isolated(
        """
        reps, n = 300, 3
        w = torch.ones(4, dtype=torch.float64, requires_grad=True)
        lock = threading.Lock()
        calls = {"hook": 0, "post": 0}
        def hook(g):
            with lock:
                calls["hook"] += 1
            return g * 2
        def post(p):
            with lock:
                calls["post"] += 1
        w.register_hook(hook)
        w.register_post_accumulate_grad_hook(post)
        def work(k):
            for _ in range(reps):
                (w * float(k + 1)).sum().backward()
        run_threads(work, n)
        assert calls == {"hook": reps * n, "post": reps * n}, calls
        np.testing.assert_array_equal(w.grad.numpy(), np.full(4, 2.0 * reps * (1 + 2 + 3)))
        print("ok")
        """)
    assert "ok" in out


def test_shared_graph_part_with_hooks_added_and_removed_concurrently():
    # A node shared by every thread's graph (retain_graph=True) while another thread keeps
    # registering and removing hooks on it and reading .grad.
    out = _run_isolated(
        """
        reps, n = 300, 3
        w = torch.full((5,), 0.5, dtype=torch.float64, requires_grad=True)
        h = w * 3.0  # shared: MulBackward0 runs in every thread's backward
        stop = threading.Event()
        def churn():
            while not stop.is_set():
                handle = h.register_hook(lambda g: g)
                node_handle = h.grad_fn.register_prehook(lambda gs: None)
                g = w.grad
                if g is not None:
                    assert tuple(g.shape) == (5,)
                handle.remove()
                node_handle.remove()
        churner = threading.Thread(target=churn)
        churner.start()
        def work(k):
            for _ in range(reps):
                (h * 2.0).sum().backward(retain_graph=True)
        try:
            run_threads(work, n)
        finally:
            stop.set()
            churner.join()
        np.testing.assert_array_equal(w.grad.numpy(), np.full(5, 6.0 * reps * n))
        print("ok")
        """)
    assert "ok" in out


def test_retain_grad_and_autograd_grad_on_threads():
    out = _run_isolated(
        """
        reps, n = 200, 3
        w = torch.ones(3, dtype=torch.float64, requires_grad=True)
        def work(k):
            for _ in range(reps):
                y = w * float(k + 1)
                y.retain_grad()
                z = (y * y).sum()
                (g,) = torch.autograd.grad(z, w, retain_graph=True)
                np.testing.assert_array_equal(g.numpy(), np.full(3, 2.0 * (k + 1) ** 2))
                z.backward()
                # autograd.grad also fills retained grads, as in PyTorch: two passes of 2y each
                np.testing.assert_array_equal(y.grad.numpy(), np.full(3, 4.0 * (k + 1)))
        run_threads(work, n)
        expected = reps * sum(2.0 * (k + 1) ** 2 for k in range(n))
        np.testing.assert_array_equal(w.grad.numpy(), np.full(3, expected))
        print("ok")
        """)
    assert "ok" in out
