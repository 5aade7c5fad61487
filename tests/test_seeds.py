"""The seed tutorials' code examples, run against chaingrad and against PyTorch (seeds 000 and 001
here, 002 to 004 in test_seeds_002_004.py).

Every test takes the fixture ``tl`` ("the library"), which is ``chaingrad`` and,
when it is installed, also ``torch``: the same test body checks the expectation
against real PyTorch 2.13 and checks chaingrad against it. Each half skips on
its own when its library cannot be imported.

The five seeds live in ``shared/seeds/``:

* ``000_fa4d425d52352f33.txt`` "深度学习 — — PyTorch入门(三)": backward(), retain_graph,
  the Jacobian-vector product;
* ``001_2c2d91e592846b1a.txt`` d2l notes, linear algebra and autograd;
* ``002_e27f77cc523a6ed3.txt`` "自动求导进阶用法": grad modes, hooks, save/load, higher order;
* ``003_cab90899a9c7f7ba.txt`` "了解 pytorch autograd": ``x.backward(z)`` and a XOR snippet;
* ``004_d1af2ed9571456e8.txt`` "pytorch中backward函数的gradient参数作用".

Where a tutorial is wrong about PyTorch, the test asserts what PyTorch 2.13
really does (each such place says so in a comment). Printed text is compared
after replacing the module name (``chaingrad.float64`` -> ``torch.float64``).
Random inputs use a fixed seed, and only relations between them are asserted,
since chaingrad's generator differs from PyTorch's.
"""

from typing import Any

import pytest
from seeds_util import (
    BACKWARD_TWICE,
    NOT_SCALAR,
    out,
    raises,
    tl_fixture,  # noqa: F401  (the ``tl`` fixture every test takes)
    vals,
)

# ============================================================================ seed 000
# "深度学习 — — PyTorch入门(三)": backward(), retain_graph, Jacobian-vector products.


def test_s000_cube_backward_prints_grad(tl, capsys):
    """``z = x ** 3; z.backward(); print(x.grad.data)`` prints ``tensor(3.)``."""
    x = tl.tensor(1.0, requires_grad=True)
    z = x**3
    z.backward()
    print(x.grad.data)
    assert out(capsys, tl) == "tensor(3.)\n"
    assert z.grad_fn.name() == "PowBackward0"
    assert type(z.grad_fn).__name__ == "PowBackward0"
    print(z)
    assert out(capsys, tl) == "tensor(1., grad_fn=<PowBackward0>)\n"


def test_s000_implicit_gradient_is_one(tl):
    """``z.backward()`` is ``z.backward(torch.tensor(1.0))``."""
    x = tl.tensor(1.0, requires_grad=True)
    (x**3).backward(tl.tensor(1.0))
    assert vals(x.grad) == 3.0
    x2 = tl.tensor(1.0, requires_grad=True)
    (x2**3).backward(tl.tensor(2.0))  # the external gradient scales the result
    assert vals(x2.grad) == 6.0


def test_s000_second_backward_without_retain_graph_raises(tl):
    """The graph is freed after backward; the seed quotes an older wording of the error.

    The seed says "...a second time, but the buffers have already been freed";
    PyTorch 2.13 words it as ``BACKWARD_TWICE``.
    """
    x = tl.tensor(1.0, requires_grad=True)
    z = x**3
    z.backward()
    with raises(RuntimeError, BACKWARD_TWICE):
        z.backward()
    assert vals(x.grad) == 3.0  # the failed call did not touch the gradient


def test_s000_graph_of_a_plus_b_times_b_minus_c(tl):
    """``z = (a + b)(b - c)``: its nodes and the gradients at the leaves a, b, c."""
    a = tl.tensor(2.0, requires_grad=True)
    b = tl.tensor(3.0, requires_grad=True)
    c = tl.tensor(1.0, requires_grad=True)
    z = (a + b) * (b - c)
    assert vals(z) == 10.0
    assert z.grad_fn.name() == "MulBackward0"
    add_fn, sub_fn = (fn for fn, _ in z.grad_fn.next_functions)
    assert [idx for _, idx in z.grad_fn.next_functions] == [0, 0]
    assert (add_fn.name(), sub_fn.name()) == ("AddBackward0", "SubBackward0")
    for node in (add_fn, sub_fn):
        leaves = [fn for fn, _ in node.next_functions]
        assert [type(fn).__name__ for fn in leaves] == ["AccumulateGrad"] * 2
        assert all(fn.name().endswith("AccumulateGrad") for fn in leaves)
    assert a.is_leaf and b.is_leaf and c.is_leaf and not z.is_leaf

    z.backward(retain_graph=True)
    assert (vals(a.grad), vals(b.grad), vals(c.grad)) == (2.0, 7.0, -5.0)
    z.backward(retain_graph=True)  # retained: a second pass works and accumulates
    assert (vals(a.grad), vals(b.grad), vals(c.grad)) == (4.0, 14.0, -10.0)
    z.backward()  # the last pass frees the graph ...
    with raises(RuntimeError, BACKWARD_TWICE):  # ... so the next one fails
        z.backward()


def test_s000_vector_backward_needs_gradient(tl):
    """``z = x * y`` is a vector: ``z.backward()`` raises, ``z.backward(v)`` is J^T v."""
    x = tl.tensor([0.0, 2.0, 8.0], requires_grad=True)
    y = tl.tensor([5.0, 1.0, 7.0], requires_grad=True)
    z = x * y
    with raises(RuntimeError, NOT_SCALAR):
        z.backward()
    z.backward(tl.tensor([1.0, 0.1, 0.01]))
    assert vals(x.grad) == pytest.approx([5.0, 0.1, 0.07])
    assert vals(y.grad) == pytest.approx([0.0, 0.2, 0.08])


def test_s000_jacobian_vector_product_matches_explicit_jacobian(tl):
    """backward(v) never builds J, yet equals J^T v for a full (non-diagonal) J."""
    X = tl.tensor([1.0, 2.0, 3.0], requires_grad=True)
    Y = tl.stack([X[0] * X[1], X[1] + X[2], X[2] ** 2])
    rows = [tl.autograd.grad(Y[i], X, retain_graph=True)[0] for i in range(3)]
    J = tl.stack(rows)
    assert vals(J) == [[2.0, 1.0, 0.0], [0.0, 1.0, 1.0], [0.0, 0.0, 6.0]]
    v = tl.tensor([0.1, 0.2, 0.3])
    Y.backward(v)
    assert vals(X.grad) == pytest.approx([0.2, 0.3, 2.0])
    assert tl.allclose(X.grad, J.T @ v)


# ============================================================================ seed 001
# d2l notes: linear algebra (prose only in the blog: one small example per topic)
# and the autograd notebook (code flattened onto one line in the blog).


def test_s001_scalars(tl, capsys):
    """A scalar is a one-element tensor; arithmetic on scalars."""
    x = tl.tensor(3.0)
    y = tl.tensor(2.0)
    print(x + y, x * y, x / y, x**y)
    assert out(capsys, tl) == "tensor(5.) tensor(6.) tensor(1.5000) tensor(9.)\n"


def test_s001_vector_index_len_shape(tl, capsys):
    """Indexing, ``len()`` and ``.shape`` of a vector."""
    x = tl.arange(4)
    print(x)
    print(x[3])
    print(len(x))
    print(x.shape)
    assert out(capsys, tl) == "tensor([0, 1, 2, 3])\ntensor(3)\n4\ntorch.Size([4])\n"
    assert x.shape == (4,)
    assert x.dtype == tl.int64


def test_s001_matrix_transpose_and_symmetric(tl, capsys):
    """An m x n matrix, its transpose ``.T``, and a symmetric matrix."""
    A = tl.arange(12).reshape(3, 4)
    assert A.shape == (3, 4) and A.T.shape == (4, 3)
    assert vals(A.T) == [[0, 4, 8], [1, 5, 9], [2, 6, 10], [3, 7, 11]]
    print(A.T)
    assert out(capsys, tl) == (
        "tensor([[ 0,  4,  8],\n        [ 1,  5,  9],\n"
        "        [ 2,  6, 10],\n        [ 3,  7, 11]])\n"
    )
    B = tl.tensor([[1, 2, 3], [2, 0, 4], [3, 4, 5]])
    assert bool((B == B.T).all())


def test_s001_elementwise_hadamard_and_scalar(tl, capsys):
    """Same-shape sums, the Hadamard product, and a scalar that keeps the shape."""
    A = tl.arange(12, dtype=tl.float32).reshape(3, 4)
    B = A.clone()
    assert vals(A + B) == [[2.0 * v for v in row] for row in vals(A)]
    assert vals(A * B) == [[v * v for v in row] for row in vals(A)]
    print(A * B)
    assert out(capsys, tl) == (
        "tensor([[  0.,   1.,   4.,   9.],\n"
        "        [ 16.,  25.,  36.,  49.],\n"
        "        [ 64.,  81., 100., 121.]])\n"
    )
    X = tl.arange(24).reshape(2, 3, 4)
    assert (2 + X).shape == X.shape
    assert (2 * X).shape == (2, 3, 4)
    assert vals((2 + X)[1, 2]) == [22, 23, 24, 25]


def test_s001_sum_mean_cumsum(tl, capsys):
    """Sums over all elements and along an axis, the mean, keepdims and cumsum."""
    A = tl.arange(12, dtype=tl.float32).reshape(3, 4)
    assert vals(A.sum()) == 66.0
    s0 = A.sum(axis=0)
    assert s0.shape == (4,) and vals(s0) == [12.0, 15.0, 18.0, 21.0]
    s1 = A.sum(axis=1)
    assert s1.shape == (3,) and vals(s1) == [6.0, 22.0, 38.0]
    assert vals(A.sum(axis=[0, 1])) == 66.0
    assert vals(A.mean()) == pytest.approx(vals(A.sum() / A.numel()))
    assert vals(A.mean(axis=0)) == [4.0, 5.0, 6.0, 7.0]
    sum_A = A.sum(axis=1, keepdims=True)
    assert sum_A.shape == (3, 1)
    assert (A / sum_A).shape == (3, 4)
    assert vals((A / sum_A).sum(axis=1)) == pytest.approx([1.0, 1.0, 1.0])
    c = A.cumsum(axis=0)
    assert c.shape == (3, 4)
    assert vals(c) == [[0.0, 1.0, 2.0, 3.0], [4.0, 6.0, 8.0, 10.0], [12.0, 15.0, 18.0, 21.0]]
    print(A.mean())
    assert out(capsys, tl) == "tensor(5.5000)\n"


def test_s001_products(tl):
    """Dot product, matrix-vector and matrix-matrix products."""
    x = tl.arange(4, dtype=tl.float32)
    y = tl.ones(4, dtype=tl.float32)
    assert vals(tl.dot(x, y)) == 6.0
    assert vals(tl.sum(x * y)) == 6.0
    A = tl.arange(12, dtype=tl.float32).reshape(3, 4)
    assert vals(tl.mv(A, x)) == [14.0, 38.0, 62.0]
    assert vals(tl.mm(A, tl.ones(4, 3))) == [[6.0] * 3, [22.0] * 3, [38.0] * 3]


def test_s001_norms(tl, capsys):
    """L2 norm of a vector, L1 norm, and the Frobenius norm of a matrix."""
    u = tl.tensor([3.0, -4.0])
    print(tl.norm(u), tl.abs(u).sum(), tl.norm(tl.ones((4, 9))))
    assert out(capsys, tl) == "tensor(5.) tensor(7.) tensor(6.)\n"


def test_s001_dot_gradient(tl, capsys):
    """``y = 2 * torch.dot(x, x)`` and its gradient ``4x``, with the printed reprs."""
    x = tl.arange(4.0)
    print(x)
    x.requires_grad_(True)  # same as x = torch.arange(4.0, requires_grad=True)
    print(x.grad)
    y = 2 * tl.dot(x, x)
    print(y)
    y.backward()
    print(x.grad)
    print(x.grad == 4 * x)
    assert out(capsys, tl) == (
        "tensor([0., 1., 2., 3.])\n"
        "None\n"
        "tensor(28., grad_fn=<MulBackward0>)\n"
        "tensor([ 0.,  4.,  8., 12.])\n"
        "tensor([True, True, True, True])\n"
    )
    x2 = tl.arange(4.0, requires_grad=True)
    assert x2.requires_grad and x2.is_leaf and x2.grad is None


def test_s001_zero_grad_then_sum(tl, capsys):
    """Gradients accumulate, so the notebook zeroes them first."""
    x = tl.arange(4.0, requires_grad=True)
    (2 * tl.dot(x, x)).backward()
    x.grad.zero_()
    y = x.sum()
    y.backward()
    print(x.grad)
    assert out(capsys, tl) == "tensor([1., 1., 1., 1.])\n"
    x.sum().backward()  # without zero_(): 1 + 1
    assert vals(x.grad) == [2.0] * 4


def test_s001_non_scalar_backward(tl, capsys):
    """``y.sum().backward()`` equals ``y.backward(torch.ones(len(x)))``."""
    x = tl.arange(4.0, requires_grad=True)
    y = x * x
    y.sum().backward()
    print(x.grad)
    x.grad.zero_()
    y = x * x
    y.backward(tl.ones(len(x)))
    print(x.grad)
    assert out(capsys, tl) == "tensor([0., 2., 4., 6.])\n" * 2


def test_s001_detach(tl, capsys):
    """``u = y.detach()`` is a constant, so ``d(u * x)/dx == u``."""
    x = tl.arange(4.0, requires_grad=True)
    y = x * x
    u = y.detach()
    assert not u.requires_grad and u.grad_fn is None
    z = u * x
    z.sum().backward()
    print(x.grad == u)
    x.grad.zero_()
    y.sum().backward()
    print(x.grad == 2 * x)
    assert out(capsys, tl) == "tensor([True, True, True, True])\n" * 2


def _control_flow(a: Any) -> Any:
    """The notebook's ``f``: double until the norm reaches 1000, maybe scale by 100."""
    b = a * 2
    while b.norm() < 1000:
        b = b * 2
    if b.sum() > 0:
        c = b
    else:
        c = 100 * b
    return c


def test_s001_control_flow_random(tl):
    """``a.grad == d / a`` for a random ``a`` (seeded; chaingrad's draws differ).

    ``f(a) = k * a`` with a piecewise-constant ``k``, so ``a.grad`` equals
    ``d / a``; exactly when ``a > 0``, only up to float32 rounding of the factor
    100 when ``a < 0`` (PyTorch prints ``tensor(False)`` for e.g. seed 15).
    """
    for seed in range(6):
        tl.manual_seed(seed)
        a = tl.randn(size=(), requires_grad=True)
        assert a.shape == ()
        d = _control_flow(a)
        d.backward()
        assert tl.allclose(a.grad, d / a)
        if vals(a) > 0:
            assert bool(a.grad == d / a)


@pytest.mark.parametrize(
    ("value", "expected_grad"),
    [(0.3, 4096.0), (1.7, 1024.0), (-0.05, 3276800.0), (-2.5, 51200.0)],
)
def test_s001_control_flow_fixed(tl, value, expected_grad):
    """The same function at fixed points, both branches of the ``if``."""
    a = tl.tensor(value, requires_grad=True)
    d = _control_flow(a)
    d.backward()
    assert vals(a.grad) == expected_grad
    assert vals(d) == pytest.approx(expected_grad * value, rel=1e-6)
    assert tl.allclose(a.grad, d / a)
