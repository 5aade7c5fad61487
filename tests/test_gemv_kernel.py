"""mv's own matrix-vector loops (csrc/kernels/linalg_gemv.cpp): A x and A^T x (a transposed view) for
row-major, transposed and row-strided matrices match numpy in float32 and float64, and give the
same bits for any number of threads (the split is by rows, the partial sums fixed by the shape)."""

import numpy as np
import pytest

pytest.importorskip("chaingrad._C")
import chaingrad  # noqa: E402

SHAPES = [(512, 512), (513, 515), (17, 16), (1000, 37), (37, 1000), (3, 300), (300, 3), (2100, 2100)]


@pytest.fixture
def restore_threads():
    old = chaingrad.get_num_threads()
    yield
    chaingrad.set_num_threads(old)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_numpy_and_any_thread_count(shape, dtype, restore_threads):
    rng = np.random.default_rng(shape[0] * 7 + shape[1])
    m, k = shape
    big = rng.standard_normal((m, k + 5)).astype(dtype)
    x = rng.standard_normal(k).astype(dtype)
    xt = rng.standard_normal(m).astype(dtype)
    results = []
    for threads in (1, 2, 3):
        chaingrad.set_num_threads(threads)
        a_full = chaingrad.tensor(big)
        a = a_full[:, :k]  # rows k + 5 apart
        c = chaingrad.tensor(np.ascontiguousarray(big[:, :k]))
        results.append([r.numpy() for r in (chaingrad.mv(a, chaingrad.tensor(x)), chaingrad.mv(c, chaingrad.tensor(x)),
                                            chaingrad.mv(c.t(), chaingrad.tensor(xt)),
                                            chaingrad.mv(a.t(), chaingrad.tensor(xt)))])
    for other in results[1:]:
        for r0, r in zip(results[0], other):
            np.testing.assert_array_equal(r, r0)
    a64 = big[:, :k].astype(np.float64)
    tol = 1e-5 if dtype == np.float32 else 1e-13
    for r, want, v in ((results[0][0], a64 @ x, x), (results[0][1], a64 @ x, x), (results[0][2], a64.T @ xt, xt),
                       (results[0][3], a64.T @ xt, xt)):
        scale = np.abs(a64).max() * np.abs(v).sum()
        assert np.abs(r - want).max() <= tol * scale


def test_hvp_gradients_through_mv_backward():
    """mv's VJP is mv with the transposed matrix: its gradients against numpy's formula."""
    rng = np.random.default_rng(3)
    w = rng.standard_normal((64, 48))
    xv = rng.standard_normal(48)
    x = chaingrad.tensor(xv, requires_grad=True)
    y = chaingrad.tanh(chaingrad.mv(chaingrad.tensor(w), x)).sum()
    (g,) = chaingrad.autograd.grad(y, x)
    np.testing.assert_allclose(g.numpy(), w.T @ (1 - np.tanh(w @ xv) ** 2), rtol=1e-12, atol=1e-13)
