"""backward(), retain_graph and the Jacobian-vector product.

Follows seed ``000_fa4d425d52352f33.txt`` ("深度学习 — — PyTorch入门(三)"): the
graph of ``z = (a + b)(b - c)``, ``backward()`` on a scalar, what happens on a
second backward without ``retain_graph=True``, why ``backward()`` on a vector
needs a ``gradient`` argument, and how that argument is the vector ``v`` of the
vector-Jacobian product ``J^T v``.

Run with chaingrad (default) or, to compare, with PyTorch::

    python examples/backward_and_jacobian.py
    CHAINGRAD_EXAMPLES_BACKEND=torch python examples/backward_and_jacobian.py
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


def report_error(exc: Exception) -> None:
    """Print an exception the way a traceback's last line shows it."""
    print(f"{type(exc).__name__}: {exc}")


def show_graph(fn, depth: int = 0) -> None:
    """Print the backward graph under ``fn`` as an indented tree of node types.

    ``type(fn).__name__`` is the name PyTorch shows in a node's repr, e.g.
    ``<MulBackward0 object at 0x...>`` or ``<AccumulateGrad object at 0x...>``.
    """
    if fn is None:
        return
    print("    " * depth + type(fn).__name__)
    for next_fn, _ in fn.next_functions:
        show_graph(next_fn, depth + 1)


section("1. z = x ** 3, z.backward(), x.grad")
x = torch.tensor(1.0, requires_grad=True)
z = x**3
z.backward()
print(x.grad.data)

section("2. z.backward() is z.backward(torch.tensor(1.0))")
x = torch.tensor(1.0, requires_grad=True)
z = x**3
z.backward(torch.tensor(1.0))
print(x.grad)

section("3. the graph of z = (a + b)(b - c)")
a = torch.tensor(2.0, requires_grad=True)
b = torch.tensor(3.0, requires_grad=True)
c = torch.tensor(1.0, requires_grad=True)
z = (a + b) * (b - c)
print(z)
show_graph(z.grad_fn)
z.backward(retain_graph=True)
print("dz/da =", a.grad, " (b - c)")
print("dz/db =", b.grad, " (b - c) + (a + b)")
print("dz/dc =", c.grad, " -(a + b)")

section("4. a second backward: retain_graph=True kept the graph, gradients add up")
z.backward()
print("a.grad =", a.grad, " b.grad =", b.grad, " c.grad =", c.grad)

section("5. a third backward: the graph was freed by the second one")
try:
    z.backward()
except RuntimeError as exc:
    report_error(exc)

section("6. backward() on a vector needs a gradient")
x = torch.tensor([0.0, 2.0, 8.0], requires_grad=True)
y = torch.tensor([5.0, 1.0, 7.0], requires_grad=True)
z = x * y
try:
    z.backward()
except RuntimeError as exc:
    report_error(exc)

section("7. the gradient argument is v in the vector-Jacobian product J^T v")
v = torch.tensor([1.0, 0.1, 0.01])
z.backward(v)
print("x.grad =", x.grad, " = v * y")
print("y.grad =", y.grad, " = v * x")

section("8. a full Jacobian, built row by row, gives the same J^T v")
X = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
Y = torch.stack([X[0] * X[1], X[1] + X[2], X[2] ** 2])
rows = [torch.autograd.grad(Y[i], X, retain_graph=True)[0] for i in range(3)]
J = torch.stack(rows)
print("J =")
print(J)
v = torch.tensor([0.1, 0.2, 0.3])
Y.backward(v)
print("X.grad (backward with gradient=v) =", X.grad)
print("J^T v (explicit)                  =", J.T @ v)
print("equal:", torch.allclose(X.grad, J.T @ v))
