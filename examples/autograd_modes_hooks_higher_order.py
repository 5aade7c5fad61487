"""Grad modes, gradient hooks, saving a graph and higher-order derivatives.

Follows seed ``002_e27f77cc523a6ed3.txt`` ("自动求导进阶用法:揭秘独门绝技,让梯度计算更加
得心应手"). Each of the blog's four snippets runs as written, and where the blog
says something PyTorch does not do, the printout shows what PyTorch really
does, followed by the form that does what the blog meant:

* ``torch.no_grad()`` called on its own line builds a context manager and
  throws it away: grad mode stays on, so ``x.grad`` is filled, not ``None``.
  ``with torch.no_grad():`` is what turns recording off.
* The hook snippet reuses ``x`` from the snippet before, whose ``.grad`` already
  holds ones, so the printed gradient is 2 (gradients accumulate).
* ``torch.save(y)`` / ``torch.load`` keeps the values of ``y`` but not its
  graph: the loaded tensor is a new leaf, so ``x.grad`` stays ``None``.
  PyTorch's pickle also keeps ``requires_grad=True``, so ``y.backward()`` runs
  on that leaf; chaingrad saves safetensors, weights only, so there the loaded
  tensor does not require grad and ``y.backward()`` raises. Those lines start
  with ``[known difference]``.
* A second ``autograd.grad`` on the first one's result raises, because the
  first gradient was not built with ``create_graph=True`` (and the gradient of
  a sum is constant anyway); ``x ** 3`` with ``create_graph=True`` shows a real
  second derivative.

Run with chaingrad (default) or, to compare, with PyTorch::

    python examples/autograd_modes_hooks_higher_order.py
    CHAINGRAD_EXAMPLES_BACKEND=torch python examples/autograd_modes_hooks_higher_order.py
"""

import os
import tempfile

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


torch.manual_seed(0)

section("1. torch.enable_grad() on its own line")
torch.enable_grad()
x = torch.randn(5, 3, requires_grad=True)
y = x.sum()
y.backward()
print(x.grad)

section("2. torch.no_grad() on its own line does NOT disable grad mode")
torch.no_grad()
print("grad enabled:", torch.is_grad_enabled())
x = torch.randn(5, 3, requires_grad=True)
y = x.sum()
print("y.requires_grad:", y.requires_grad)
y.backward()
print(x.grad)  # the blog says None; PyTorch prints ones

section("2b. with torch.no_grad(): nothing is recorded")
with torch.no_grad():
    x_ng = torch.randn(5, 3, requires_grad=True)
    y_ng = x_ng.sum()
print("y.requires_grad:", y_ng.requires_grad, " y.grad_fn:", y_ng.grad_fn)
try:
    y_ng.backward()
except RuntimeError as exc:
    report_error(exc)
print(x_ng.grad)


section("3. a backward hook that clamps the gradient to [-1, 1]")


def my_backward_hook(grad):
    """Clamp the incoming gradient to [-1, 1] and return it in its place."""
    grad = grad.clamp(-1, 1)
    return grad


x.register_hook(my_backward_hook)  # x from snippet 2: x.grad already holds ones
y = x.sum()
y.backward()
print(x.grad)  # 1 (clamped, unchanged) + 1 (accumulated) = 2

section("3b. the hook clamps a gradient larger than 1")
w = torch.tensor([0.5, -2.0, 3.0], requires_grad=True)
w.register_hook(my_backward_hook)
loss = (w * torch.tensor([0.5, -4.0, 10.0])).sum()
loss.backward()
print("without the hook w.grad would be", torch.tensor([0.5, -4.0, 10.0]))
print("with the hook    w.grad =", w.grad)

section("4. torch.save / torch.load of y = x.sum()")
torch.set_grad_enabled(True)
x = torch.randn(5, 3, requires_grad=True)
y = x.sum()
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "my_computation_graph.pt")
    torch.save(y, path)
    y_loaded = torch.load(path)
print("same value:", torch.allclose(y_loaded, y.detach()))
print("loaded: is_leaf", y_loaded.is_leaf, " grad_fn", y_loaded.grad_fn)
# Known difference: PyTorch's pickle keeps requires_grad=True, so its y.backward()
# works on the new leaf; chaingrad's safetensors files are weights-only.
print("[known difference] loaded: requires_grad", y_loaded.requires_grad)
y = y_loaded
try:
    y.backward()
    print("[known difference] y.backward() ran on the loaded leaf: y.grad =", y.grad)
except RuntimeError as exc:
    print(f"[known difference] y.backward() -> {type(exc).__name__}: {exc}")
print(x.grad)  # None: the loaded tensor is a new leaf, the graph to x is gone

section("5. higher-order derivatives")
torch.set_grad_enabled(True)
x = torch.randn(5, 3, requires_grad=True)
y = x.sum()
z = y.sum()
first_order_grad = torch.autograd.grad(z, x)
print(first_order_grad)
try:
    second_order_grad = torch.autograd.grad(first_order_grad, x)
    print(second_order_grad)
except RuntimeError as exc:
    report_error(exc)

section("5b. create_graph=True does not help here: d(sum)/dx is a constant")
first_order_grad = torch.autograd.grad(x.sum(), x, create_graph=True)
print("first_order_grad[0].requires_grad:", first_order_grad[0].requires_grad)
try:
    torch.autograd.grad(first_order_grad, x)
except RuntimeError as exc:
    report_error(exc)

section("5c. a real second derivative: y = x ** 3 at x = 2")
x = torch.tensor(2.0, requires_grad=True)
y = x**3
(dy_dx,) = torch.autograd.grad(y, x, create_graph=True)
print("dy/dx   =", dy_dx.detach(), " requires_grad:", dy_dx.requires_grad)  # 3x^2 = 12
(d2y_dx2,) = torch.autograd.grad(dy_dx, x)
print("d2y/dx2 =", d2y_dx2)  # 6x = 12
