"""The cache of large freed buffers (csrc/core/allocator.cpp): reuse, bounds, and diagnostics.

Cached bytes are memory the process keeps for the next tensor of the same size; they are not
live storage bytes, so the leak counters must not see them.
"""

import chaingrad
import numpy as np
import pytest
from chaingrad import _C

N = 1 << 20  # 4 MiB of float32: large enough to be cached


@pytest.fixture(autouse=True)
def fresh_cache():
    old = _C._set_buffer_cache_limit(1 << 30)
    _C._empty_buffer_cache()
    yield
    _C._set_buffer_cache_limit(old)
    _C._empty_buffer_cache()


def test_freed_large_buffer_is_cached_and_reused():
    before = chaingrad._live_counts()
    x = chaingrad.ones(N)
    del x
    info = _C._buffer_cache_info()
    assert info["cached_buffers"] == 1 and info["cached_bytes"] >= 4 * N
    # Cached bytes are not live bytes.
    assert chaingrad._live_counts()["storage_bytes"] == before["storage_bytes"]
    hits = info["hits"]
    y = chaingrad.zeros(N)  # reuses the buffer that held ones: must still read as zeros
    assert _C._buffer_cache_info()["hits"] == hits + 1
    assert _C._buffer_cache_info()["cached_buffers"] == 0
    np.testing.assert_array_equal(y.numpy(), np.zeros(N, np.float32))


def test_small_buffers_are_not_cached():
    x = chaingrad.ones(1000)
    del x
    assert _C._buffer_cache_info()["cached_buffers"] == 0


def test_steady_state_steps_reuse_every_buffer():
    rng = np.random.default_rng(0)
    arrs = [rng.standard_normal(N).astype(np.float32) for _ in range(3)]
    x, w, b = (chaingrad.tensor(a, requires_grad=True) for a in arrs)

    def step():
        x.grad = w.grad = b.grad = None
        ((x * w + b).tanh() * x).sum().backward()

    step()
    step()
    misses = _C._buffer_cache_info()["misses"]
    step()
    assert _C._buffer_cache_info()["misses"] == misses
    # And the gradients are right after buffers went round the cache.
    t = np.tanh(arrs[0] * arrs[1] + arrs[2])
    d = arrs[0] * (1 - t * t)
    np.testing.assert_allclose(w.grad.numpy(), d * arrs[0], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(b.grad.numpy(), d, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(x.grad.numpy(), t + d * arrs[1], rtol=1e-4, atol=1e-5)


def test_cache_is_bounded_and_released_on_demand():
    _C._set_buffer_cache_limit(6 * N)  # room for one 4 MiB buffer, not two
    xs = [chaingrad.ones(N) for _ in range(3)]
    del xs
    info = _C._buffer_cache_info()
    assert info["cached_bytes"] <= 6 * N and info["cached_buffers"] == 1
    _C._empty_buffer_cache()
    assert _C._buffer_cache_info()["cached_bytes"] == 0
    _C._set_buffer_cache_limit(0)  # disabled
    x = chaingrad.ones(N)
    del x
    assert _C._buffer_cache_info()["cached_bytes"] == 0


def test_a_miss_makes_room_first():
    # Buffers of other sizes are given back before a new one is allocated, so the cache never
    # makes the process hold more than its live bytes did at their peak.
    xs = [chaingrad.ones(N) for _ in range(4)]
    del xs
    cached = _C._buffer_cache_info()["cached_bytes"]
    y = chaingrad.ones(3 * N)
    assert _C._buffer_cache_info()["cached_bytes"] <= cached - 3 * 4 * N
    del y
