"""Elementwise kernels over strided operands (transposed, sliced, broadcast, permuted) against numpy.

The loop engine reorders dims, tiles strided rows and buffers non-contiguous operands; every
layout must give numpy's values, including shapes that leave partial tiles and chunks.
"""

import itertools

import chaingrad
import numpy as np
import pytest

RNG = np.random.default_rng(1234)


def layouts(shape):
    """(name, numpy view, chaingrad view) of one random array in several memory layouts."""
    base = RNG.standard_normal(shape).astype(np.float32)
    t = chaingrad.tensor(base)
    yield "contiguous", base, t
    if len(shape) >= 2:
        bt = np.ascontiguousarray(np.swapaxes(base, -1, -2))
        yield "transposed", np.swapaxes(bt, -1, -2), chaingrad.tensor(bt).transpose(-1, -2)
        wide = RNG.standard_normal(shape[:-1] + (2 * shape[-1],)).astype(np.float32)
        yield "sliced", wide[..., ::2], chaingrad.tensor(wide)[..., ::2]
    if len(shape) == 3:
        p = np.ascontiguousarray(base.transpose(2, 0, 1))
        yield "permuted", p.transpose(1, 2, 0), chaingrad.tensor(p).permute(1, 2, 0)


@pytest.mark.parametrize("shape", [(37, 53), (300, 17), (17, 300), (600, 700), (5, 33, 270)])
def test_binary_over_every_pair_of_layouts(shape):
    for (na, a_np, a), (nb, b_np, b) in itertools.product(list(layouts(shape)), list(layouts(shape))):
        np.testing.assert_allclose((a + b).numpy(), a_np + b_np, rtol=1e-6, err_msg=f"{na} + {nb}")
        np.testing.assert_allclose((a * b).numpy(), a_np * b_np, rtol=1e-6, err_msg=f"{na} * {nb}")
        np.testing.assert_allclose(chaingrad.where(a > b, a, b).numpy(), np.where(a_np > b_np, a_np, b_np),
                                   err_msg=f"where {na} {nb}")


@pytest.mark.parametrize("shape", [(37, 53), (600, 700), (5, 33, 270)])
def test_unary_and_broadcast_over_layouts(shape):
    col = RNG.standard_normal(shape[:-1] + (1,)).astype(np.float32)
    for name, a_np, a in layouts(shape):
        np.testing.assert_allclose(a.tanh().numpy(), np.tanh(a_np), rtol=1e-5, atol=1e-6, err_msg=name)
        np.testing.assert_allclose(a.exp().numpy(), np.exp(a_np), rtol=1e-5, err_msg=name)
        np.testing.assert_allclose((a * chaingrad.tensor(col)).numpy(), a_np * col, rtol=1e-6, err_msg=name)
        np.testing.assert_allclose(a.contiguous().numpy(), a_np, err_msg=name)


def test_strided_output_and_other_dtypes():
    a_np = RNG.integers(-50, 50, (400, 300)).astype(np.int64)
    b_np = RNG.integers(1, 50, (300, 400)).astype(np.int64)
    a, b = chaingrad.tensor(a_np), chaingrad.tensor(b_np)
    np.testing.assert_array_equal((a + b.t()).numpy(), a_np + b_np.T)
    np.testing.assert_array_equal((a.t() // b).numpy(), a_np.T // b_np)
    out_np = np.zeros((300, 400), np.float64)
    out = chaingrad.tensor(out_np).t()  # write through a transposed view
    out.copy_(chaingrad.tensor(a_np.astype(np.float64)) * 2)
    np.testing.assert_array_equal(out.numpy(), a_np * 2.0)
    d = chaingrad.tensor(RNG.standard_normal((300, 400))).t()
    np.testing.assert_allclose((d * d).numpy(), d.numpy() ** 2)
