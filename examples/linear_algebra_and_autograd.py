"""Linear algebra on tensors, then automatic differentiation.

Follows seed ``001_2c2d91e592846b1a.txt`` (notes on the d2l chapters
``chapter_preliminaries/linear-algebra.ipynb`` and
``chapter_preliminaries/autograd.ipynb``). The blog kept only the prose of the
linear-algebra part, so part 1 writes one small example per topic it names
(scalars, vectors, ``len``, ``.shape``, ``.T``, symmetric matrices, element-wise
sums, the Hadamard product, scalar broadcasting, sums along an axis, the mean,
``cumsum``, dot / matrix-vector / matrix-matrix products, the Frobenius and L1
norms). Part 2 is the blog's autograd code, reflowed onto separate lines.

Run with chaingrad (default) or, to compare, with PyTorch::

    python examples/linear_algebra_and_autograd.py
    CHAINGRAD_EXAMPLES_BACKEND=torch python examples/linear_algebra_and_autograd.py

Lines that depend on random numbers start with ``[random]`` (chaingrad's
generator differs from PyTorch's).
"""

import os

if os.environ.get("CHAINGRAD_EXAMPLES_BACKEND", "chaingrad") == "torch":
    import torch
else:
    import chaingrad as torch


def section(title: str) -> None:
    """Print a section header."""
    print()
    print(f"== {title}")


# ---------------------------------------------------------------- part 1
section("scalars: a tensor with one element")
x = torch.tensor(3.0)
y = torch.tensor(2.0)
print(x + y, x * y, x / y, x**y)

section("vectors: indexing, len() and .shape")
x = torch.arange(4)
print(x)
print(x[3])
print(len(x))
print(x.shape)

section("a 3x4 matrix and its transpose .T")
A = torch.arange(12).reshape(3, 4)
print(A)
print(A.T)

section("a symmetric matrix equals its transpose")
B = torch.tensor([[1, 2, 3], [2, 0, 4], [3, 4, 5]])
print(B == B.T)

section("two 3x4 matrices of the same shape can be added")
A = torch.arange(12, dtype=torch.float32).reshape(3, 4)
B = A.clone()
print(A + B)

section("Hadamard (element-wise) product")
print(A * B)

section("adding or multiplying by a scalar keeps the shape")
a = 2
X = torch.arange(24).reshape(2, 3, 4)
print(a + X)
print((a * X).shape)

section("sum of all elements")
x = torch.arange(4, dtype=torch.float32)
print(x, x.sum())
print(A.shape, A.sum())

section("sum along an axis: axis 0 disappears from the shape")
A_sum_axis0 = A.sum(axis=0)
print(A_sum_axis0, A_sum_axis0.shape)
A_sum_axis1 = A.sum(axis=1)
print(A_sum_axis1, A_sum_axis1.shape)
print(A.sum(axis=[0, 1]))

section("mean (average)")
print(A.mean(), A.sum() / A.numel())
print(A.mean(axis=0), A.sum(axis=0) / A.shape[0])

section("keepdims=True keeps the axis, so the result broadcasts back")
sum_A = A.sum(axis=1, keepdims=True)
print(sum_A)
print(A / sum_A)

section("cumulative sum along axis 0 does not reduce the shape")
print(A.cumsum(axis=0))

section("dot product: element-wise product, then sum")
y = torch.ones(4, dtype=torch.float32)
print(x, y, torch.dot(x, y))
print(torch.sum(x * y))

section("matrix-vector product")
print(A.shape, x.shape, torch.mv(A, x))

section("matrix-matrix product")
B = torch.ones(4, 3)
print(torch.mm(A, B))

section("norms: L2 of a vector, L1 of a vector, Frobenius of a matrix")
u = torch.tensor([3.0, -4.0])
print(torch.norm(u))
print(torch.abs(u).sum())
print(torch.norm(torch.ones((4, 9))))

# ---------------------------------------------------------------- part 2
section("y = 2 * dot(x, x)")
x = torch.arange(4.0)
print(x)
x.requires_grad_(True)  # same as x = torch.arange(4.0, requires_grad=True)
print(x.grad)  # None until a backward pass stores a gradient
y = 2 * torch.dot(x, x)
print(y)

section("y.backward(): dy/dx = 4x")
y.backward()
print(x.grad)
print(x.grad == 4 * x)

section("gradients accumulate: zero them before the next function")
x.grad.zero_()
y = x.sum()
y.backward()
print(x.grad)

section("backward of a non-scalar: sum first (same as gradient=ones)")
x.grad.zero_()
y = x * x
y.sum().backward()  # same as y.backward(torch.ones(len(x)))
print(x.grad)
x.grad.zero_()
y = x * x
y.backward(torch.ones(len(x)))
print(x.grad)

section("detach(): u is a constant, not a function of x")
x.grad.zero_()
y = x * x
u = y.detach()
z = u * x
z.sum().backward()
print(x.grad == u)
x.grad.zero_()
y.sum().backward()
print(x.grad == 2 * x)


section("gradients through Python control flow")


def f(a):
    """Double ``a`` until its norm reaches 1000, then maybe scale by 100."""
    b = a * 2
    while b.norm() < 1000:
        b = b * 2
    if b.sum() > 0:
        c = b
    else:
        c = 100 * b
    return c


torch.manual_seed(0)
a = torch.randn(size=(), requires_grad=True)
d = f(a)
d.backward()
print("[random] a =", a.item(), " a.grad == d / a:", a.grad == d / a)
# f(a) = k * a for a piecewise-constant k, so d / a equals a.grad. It is
# exactly equal when a > 0; when a < 0 the factor 100 rounds in float32, so
# compare with a tolerance (PyTorch itself prints tensor(False) for some a).
print(torch.allclose(a.grad, d / a))
for value in [0.3, 1.7, -0.05, -2.5]:
    a = torch.tensor(value, requires_grad=True)
    d = f(a)
    d.backward()
    print(f"a = {value}: d = {d.item():.4f}, a.grad = {a.grad.item():.1f},",
          "close to d / a:", torch.allclose(a.grad, d / a))
