"""Mid-size buffers (past a storage's inline bytes, up to 64 KB; csrc/core/allocator.cpp) are kept per
thread when freed and handed out again for the next request of their size: no malloc round trip
per op on 512-element vectors. Reused memory holds what the new tensor says; the large-buffer
cache's statistics and the live counters never see these buffers."""

import threading

import numpy as np
import pytest

pytest.importorskip("chaingrad._C")
import chaingrad  # noqa: E402
from chaingrad import _C  # noqa: E402


@pytest.fixture(autouse=True)
def cache_on():
    old = _C._set_buffer_cache_limit(1 << 30)
    yield
    _C._set_buffer_cache_limit(old)


def test_freed_buffer_is_reused_for_the_same_size_and_reads_right():
    x = chaingrad.full((1000,), 7.0)
    ptr = x.data_ptr()
    del x
    y = chaingrad.zeros(1000)  # same 64-byte class: the buffer that held sevens
    assert y.data_ptr() == ptr
    np.testing.assert_array_equal(y.numpy(), np.zeros(1000, np.float32))
    z = chaingrad.arange(1000.0)  # a second live tensor of that size gets another buffer
    assert z.data_ptr() != y.data_ptr()
    np.testing.assert_array_equal(z.numpy(), np.arange(1000.0, dtype=np.float32))


def test_not_counted_as_large_cache_or_live_bytes():
    before = chaingrad._live_counts()
    info = _C._buffer_cache_info()
    xs = [chaingrad.ones(512) for _ in range(50)]
    del xs
    assert chaingrad._live_counts()["storage_bytes"] == before["storage_bytes"]
    after = _C._buffer_cache_info()
    assert after["cached_buffers"] == info["cached_buffers"] and after["misses"] == info["misses"]


def test_disabled_with_the_cache_and_after_emptying():
    _C._set_buffer_cache_limit(0)
    x = chaingrad.ones(2000)
    del x
    y = chaingrad.arange(2000.0)  # whatever malloc gives: still the right values
    np.testing.assert_array_equal(y.numpy(), np.arange(2000.0, dtype=np.float32))
    _C._set_buffer_cache_limit(1 << 30)
    _C._empty_buffer_cache()


def test_buffers_freed_on_another_thread():
    """A buffer freed on a thread other than the one that made it joins that thread's lists."""
    made = [chaingrad.full((3000,), float(i)) for i in range(8)]
    results = []

    def work():
        for t in made:
            results.append(float(t.sum()))
        made.clear()  # frees them here
        again = [chaingrad.full((3000,), 2.0) for _ in range(8)]
        results.append(sum(float(t.sum()) for t in again))

    th = threading.Thread(target=work)
    th.start()
    th.join()
    assert results[:8] == [3000.0 * i for i in range(8)]
    assert results[8] == 8 * 3000 * 2.0
