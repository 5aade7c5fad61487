"""What the ``gradient`` argument of ``backward()`` does.

Follows seed ``004_d1af2ed9571456e8.txt`` ("python中backward函数_ARTS-S pytorch中
backward函数的gradient参数作用"). First a scalar ``z = sum(x ** 2 + 2)`` whose
gradient is ``2x``; then three functions ``y1 = x1 x2 x3``, ``y2 = x1 + x2 + x3``,
``y3 = x1 + x2 x3`` of an unknown outer function ``A = f(y1, y2, y3)``: passing
``dA/dy = [0.1, 0.2, 0.3]`` as ``gradient`` gives
``dA/dx = [0.1, 0.2, 0.3] @ J = [1.1, 1.4, 1.0]``.

Two details of the blog's code, as PyTorch runs it:

* ``y = torch.randn(3)`` followed by ``y[0] = x1 * x2 * x3`` etc. writes into
  ``y`` in place; each write records a ``CopySlices`` node, which is how ``y``
  joins the graph although ``randn`` made it without ``requires_grad``.
* ``x = torch.tensor([x1, x2, x3])`` copies the values into a new tensor that
  does not require grad (PyTorch warns "Converting a tensor with
  requires_grad=True to a scalar may lead to unexpected behavior."); it plays
  no part in the gradients.

Run with chaingrad (default) or, to compare, with PyTorch::

    python examples/backward_gradient_argument.py
    CHAINGRAD_EXAMPLES_BACKEND=torch python examples/backward_gradient_argument.py
"""

import os
import warnings

if os.environ.get("CHAINGRAD_EXAMPLES_BACKEND", "chaingrad") == "torch":
    import torch
else:
    import chaingrad as torch


def section(title: str) -> None:
    """Print a section header."""
    print()
    print(f"== {title}")


section("scalar output: z = sum(x ** 2 + 2), dz/dx = 2x")
x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
y = x**2 + 2
z = torch.sum(y)
z.backward()
print(x.grad)

section("vector output: y.backward(gradient=dA/dy)")
x1 = torch.tensor(1, requires_grad=True, dtype=torch.float)
x2 = torch.tensor(2, requires_grad=True, dtype=torch.float)
x3 = torch.tensor(3, requires_grad=True, dtype=torch.float)
torch.manual_seed(0)
y = torch.randn(3)
y[0] = x1 * x2 * x3
y[1] = x1 + x2 + x3
y[2] = x1 + x2 * x3
print(y)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    x = torch.tensor([x1, x2, x3])
print(x, " requires_grad:", x.requires_grad)
for warning in caught:
    print(f"{warning.category.__name__}: {str(warning.message).splitlines()[0]}")
y.backward(torch.tensor([0.1, 0.2, 0.3], dtype=torch.float))
print(x1.grad)
print(x2.grad)
print(x3.grad)

section("the same numbers from the Jacobian: [0.1, 0.2, 0.3] @ J")
J = torch.tensor(
    [
        [6.0, 3.0, 2.0],  # d y1 / d(x1, x2, x3) = (x2 x3, x1 x3, x1 x2)
        [1.0, 1.0, 1.0],  # d y2 / d(x1, x2, x3)
        [1.0, 3.0, 2.0],  # d y3 / d(x1, x2, x3) = (1, x3, x2)
    ]
)
print(torch.tensor([0.1, 0.2, 0.3]) @ J)

section("why the blog passes dtype=torch.float")
try:
    torch.tensor(1, requires_grad=True)
except RuntimeError as exc:
    print(f"{type(exc).__name__}: {exc}")
