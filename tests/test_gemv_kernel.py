"""mv's own float32 matrix-vector loops (csrc/kernels/linalg_gemv.cpp): S x and S^T x (through a
transposed view) for contiguous, row-strided and transposed matrices match float64 numpy, with
shapes that leave every remainder (rows past a group of 4 or 8, columns past 16 or 8) and shapes
large enough to be cut into two row blocks; the bits do not depend on the thread count, and a row's
dot product does not depend on which group of four it fell into."""

import chaingrad
import numpy as np
import pytest

SHAPES = [(512, 512), (513, 515), (17, 16), (16, 17), (1000, 37), (37, 1000), (3, 300), (300, 3), (31, 23),
          (1500, 1500), (2100, 1031)]


@pytest.fixture
def restore_threads():
    old = chaingrad.get_num_threads()
    yield
    chaingrad.set_num_threads(old)


def _products(big, k, x, xt):
    a_full = chaingrad.tensor(big)
    a = a_full[:, :k]  # rows k + 5 floats apart
    c = chaingrad.tensor(np.ascontiguousarray(big[:, :k]))
    tx, txt = chaingrad.tensor(x), chaingrad.tensor(xt)
    return [r.numpy() for r in (chaingrad.mv(a, tx), chaingrad.mv(c, tx), chaingrad.mv(c.t(), txt),
                                chaingrad.mv(a.t(), txt))]


@pytest.mark.parametrize("shape", SHAPES)
def test_matches_numpy_and_any_thread_count(shape, restore_threads):
    rng = np.random.default_rng(shape[0] * 7 + shape[1])
    m, k = shape
    big = rng.standard_normal((m, k + 5)).astype(np.float32)
    x = rng.standard_normal(k).astype(np.float32)
    xt = rng.standard_normal(m).astype(np.float32)
    results = []
    for threads in (1, 2, 3):
        chaingrad.set_num_threads(threads)
        results.append(_products(big, k, x, xt))
    for other in results[1:]:
        for r0, r in zip(results[0], other):
            np.testing.assert_array_equal(r, r0)
    a64 = big[:, :k].astype(np.float64)
    for r, want, v in ((results[0][0], a64 @ x, x), (results[0][1], a64 @ x, x), (results[0][2], a64.T @ xt, xt),
                       (results[0][3], a64.T @ xt, xt)):
        assert r.dtype == np.float32
        scale = np.abs(a64).max() * np.abs(v.astype(np.float64)).sum()
        assert np.abs(r - want).max() <= 2e-6 * scale


def test_row_bits_do_not_depend_on_grouping():
    rng = np.random.default_rng(11)
    a = rng.standard_normal((64, 100)).astype(np.float32)
    x = chaingrad.tensor(rng.standard_normal(100).astype(np.float32))
    full = chaingrad.mv(chaingrad.tensor(a), x).numpy()
    for start in (1, 2, 3, 61):
        part = chaingrad.mv(chaingrad.tensor(a[start:]), x).numpy()
        np.testing.assert_array_equal(part, full[start:])


def test_hvp_matches_closed_form():
    """W7's product: H v of sum(tanh(W x)) = W^T diag(-2 t (1 - t^2)) W v, t = tanh(W x)."""
    rng = np.random.default_rng(5)
    n = 200
    w = (rng.standard_normal((n, n)) / np.sqrt(n)).astype(np.float32)
    xv = rng.standard_normal(n).astype(np.float32)
    vv = rng.standard_normal(n).astype(np.float32)
    W, v = chaingrad.tensor(w), chaingrad.tensor(vv)
    x = chaingrad.tensor(xv, requires_grad=True)
    (g,) = chaingrad.autograd.grad(chaingrad.tanh(W @ x).sum(), x, create_graph=True)
    (hv,) = chaingrad.autograd.grad(g @ v, x)
    w64 = w.astype(np.float64)
    t = np.tanh(w64 @ xv)
    np.testing.assert_allclose(g.detach().numpy(), w64.T @ (1 - t * t), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(hv.numpy(), w64.T @ (-2 * t * (1 - t * t) * (w64 @ vv)), rtol=1e-4, atol=1e-5)


def test_concurrent_callers_get_the_serial_bits(restore_threads):
    """Each calling thread has its own helper (kernels/chunk_helper.cpp): products from two Python
    threads at once, many times over, give the bits of the same products on one thread."""
    import threading

    chaingrad.set_num_threads(2)
    rng = np.random.default_rng(9)
    mats = [chaingrad.tensor(rng.standard_normal((512, 512)).astype(np.float32)) for _ in range(2)]
    vec = chaingrad.tensor(rng.standard_normal(512).astype(np.float32))
    want = [(m @ vec).numpy() for m in mats] + [(m.t() @ vec).numpy() for m in mats]
    bad = []

    def work(i):
        for _ in range(50):
            got = [(mats[i] @ vec).numpy(), (mats[i].t() @ vec).numpy()]
            if not (np.array_equal(got[0], want[i]) and np.array_equal(got[1], want[2 + i])):
                bad.append(i)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not bad
