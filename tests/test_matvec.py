"""Matrix products with a unit dimension (kernels/linalg.cpp: mv goes to BLAS gemv, mm keeps
sgemm) and small or shared-operand batched products, in every layout BLAS can read directly
(row-major, transposed, sliced with a larger leading dimension, strided vectors) and the ones it
cannot (negative or zero strides), in float32 and float64, against numpy."""

import chaingrad as cg
import numpy as np
import pytest

RNG = np.random.default_rng(7)
DTYPES = [(np.float32, cg.float32, 1e-5), (np.float64, cg.float64, 1e-12)]


def _mat(rows, cols, layout, np_dtype):
    """A (rows, cols) tensor in the given memory layout, and its numpy value."""
    if layout == "rowmajor":
        a = RNG.standard_normal((rows, cols)).astype(np_dtype)
        return cg.tensor(a), a
    if layout == "transposed":
        a = RNG.standard_normal((cols, rows)).astype(np_dtype)
        return cg.tensor(a).t(), a.T
    if layout == "sliced":  # leading dimension larger than the row
        a = RNG.standard_normal((rows, cols + 3)).astype(np_dtype)
        return cg.tensor(a)[:, 1:cols + 1], a[:, 1:cols + 1]
    if layout == "sliced_t":
        a = RNG.standard_normal((cols, rows + 5)).astype(np_dtype)
        return cg.tensor(a)[:, 2:rows + 2].t(), a[:, 2:rows + 2].T
    if layout == "strided":  # neither stride is 1: packed before BLAS
        a = RNG.standard_normal((2 * rows, 2 * cols)).astype(np_dtype)
        return cg.tensor(a)[::2, ::2], a[::2, ::2]
    raise AssertionError(layout)


def _vec(n, layout, np_dtype):
    if layout == "contiguous":
        v = RNG.standard_normal(n).astype(np_dtype)
        return cg.tensor(v), v
    if layout == "step3":
        v = RNG.standard_normal(3 * n).astype(np_dtype)
        return cg.tensor(v)[::3], v[::3]
    if layout == "flipped":
        v = RNG.standard_normal(n).astype(np_dtype)
        return cg.tensor(v).flip(0), v[::-1]
    if layout == "expanded":
        v = RNG.standard_normal(1).astype(np_dtype)
        return cg.tensor(v).expand(n), np.repeat(v, n)
    raise AssertionError(layout)


MATS = ["rowmajor", "transposed", "sliced", "sliced_t", "strided"]
VECS = ["contiguous", "step3", "flipped", "expanded"]


def _close(got, want, tol):
    np.testing.assert_allclose(got.numpy(), want, rtol=tol * 100, atol=tol * 100)


@pytest.mark.parametrize("np_dtype,dtype,tol", DTYPES)
@pytest.mark.parametrize("mat", MATS)
@pytest.mark.parametrize("vec", VECS)
@pytest.mark.parametrize("m,k", [(37, 19), (1, 8), (8, 1), (64, 64)])
def test_matrix_vector(np_dtype, dtype, tol, mat, vec, m, k):
    a, an = _mat(m, k, mat, np_dtype)
    v, vn = _vec(k, vec, np_dtype)
    _close(a @ v, an.astype(np.float64) @ vn.astype(np.float64), tol)  # mv: n == 1
    w, wn = _vec(m, vec, np_dtype)
    _close(w @ a, wn.astype(np.float64) @ an.astype(np.float64), tol)  # (1, m) @ (m, k): m == 1 of mm
    _close(a.mm(v.unsqueeze(1)), (an.astype(np.float64) @ vn.astype(np.float64))[:, None], tol)


@pytest.mark.parametrize("np_dtype,dtype,tol", DTYPES)
@pytest.mark.parametrize("va,vb", [("contiguous", "contiguous"), ("step3", "contiguous"), ("flipped", "step3"),
                                   ("expanded", "contiguous")])
def test_row_times_column_is_a_dot(np_dtype, dtype, tol, va, vb):
    a, an = _vec(23, va, np_dtype)
    b, bn = _vec(23, vb, np_dtype)
    got = a.unsqueeze(0).mm(b.unsqueeze(1))
    assert tuple(got.shape) == (1, 1)
    _close(got, np.array([[an.astype(np.float64) @ bn.astype(np.float64)]]), tol)


@pytest.mark.parametrize("np_dtype,dtype,tol", DTYPES)
@pytest.mark.parametrize("mat", ["rowmajor", "transposed"])
def test_accumulating_products_keep_the_bias(np_dtype, dtype, tol, mat):
    # linear on one row: addmm with beta = 1 over the broadcast bias (m == 1), and a single output (n == 1).
    w, wn = _mat(5, 9, mat, np_dtype)
    x, xn = _mat(1, 9, "rowmajor", np_dtype)
    b = RNG.standard_normal(5).astype(np_dtype)
    _close(cg.nn.functional.linear(x, w, cg.tensor(b)), xn.astype(np.float64) @ wn.T.astype(np.float64) + b, tol)
    w1, w1n = _mat(1, 9, mat, np_dtype)
    x4, x4n = _mat(4, 9, "rowmajor", np_dtype)
    _close(cg.nn.functional.linear(x4, w1, cg.tensor(b[:1])), x4n.astype(np.float64) @ w1n.T.astype(np.float64)
           + b[:1], tol)


def test_matrix_vector_with_nan_in_the_fresh_output_buffer_is_not_poisoned():
    # gemv with beta = 0 may scale y (garbage from a recycled buffer) by 0; y is zeroed first.
    for _ in range(20):
        junk = cg.full((64,), float("nan"))
        del junk
        out = cg.ones(64, 32) @ cg.ones(32)
        assert bool((out == 32).all())


def test_matrix_vector_gradients():
    a0 = RNG.standard_normal((6, 4))
    v0 = RNG.standard_normal(4)
    a = cg.tensor(a0, requires_grad=True)
    v = cg.tensor(v0, requires_grad=True)
    g0 = RNG.standard_normal(6)
    (a @ v).backward(cg.tensor(g0))
    np.testing.assert_allclose(a.grad.numpy(), np.outer(g0, v0), rtol=1e-12)
    np.testing.assert_allclose(v.grad.numpy(), a0.T @ g0, rtol=1e-12)


@pytest.mark.parametrize("np_dtype,dtype,tol", DTYPES)
@pytest.mark.parametrize("b_layout", ["shared", "shared_t", "own", "own_t"])
@pytest.mark.parametrize("m,k,n", [(1, 32, 64), (3, 5, 7), (32, 1, 64), (40, 40, 40), (5, 0, 3)])
def test_batched_products_small_and_with_a_shared_right_operand(np_dtype, dtype, tol, b_layout, m, k, n):
    # bmm over a stride-0 right operand folds into one gemm; tiny products skip BLAS.
    batch = 6
    an = RNG.standard_normal((batch, m, k)).astype(np_dtype)
    if b_layout.startswith("shared"):
        one = RNG.standard_normal((n, k) if b_layout.endswith("_t") else (k, n)).astype(np_dtype)
        b = cg.tensor(one)
        b = b.t() if b_layout.endswith("_t") else b
        b = b.unsqueeze(0).expand(batch, k, n)
        bn = np.broadcast_to(one.T if b_layout.endswith("_t") else one, (batch, k, n))
    else:
        raw = RNG.standard_normal((batch, n, k) if b_layout.endswith("_t") else (batch, k, n)).astype(np_dtype)
        b = cg.tensor(raw)
        b = b.transpose(1, 2) if b_layout.endswith("_t") else b
        bn = raw.transpose(0, 2, 1) if b_layout.endswith("_t") else raw
    want = an.astype(np.float64) @ bn.astype(np.float64)
    _close(cg.bmm(cg.tensor(an), b), want, tol)
    _close(cg.bmm(cg.tensor(an.transpose(0, 2, 1).copy()).transpose(1, 2), b), want, tol)  # a transposed
