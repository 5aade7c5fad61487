"""Understanding ``backward()``: which tensor to call it on, and the XOR snippet.

Follows seed ``003_cab90899a9c7f7ba.txt`` ("了解 pytorch autograd / Understanding
pytorch autograd"), a question and its answer:

* ``x.backward(z)`` starts backpropagation at the leaf ``x`` itself, with ``z``
  as the incoming gradient, so ``x.grad`` becomes ``z * dx/dx = 4``;
  ``z.backward()`` gives the derivative the asker wanted, ``dz/dx = 8x = 8``.
* The answer's "basic XOR gate" snippet builds ``inputs`` from Python ints, an
  int64 tensor, and ``F.linear`` refuses to multiply it with the float32
  weights: PyTorch raises ``RuntimeError: mat1 and mat2 must have the same
  dtype, but got Long and Float``. Converting the inputs with ``.float()``
  makes it run; note that ``outputs - preds`` then broadcasts (4,) against
  (4, 1) into a 4x4 matrix, so the gradients are the same whatever the random
  weights are. ``examples/xor.py`` trains a real network on XOR.

Run with chaingrad (default) or, to compare, with PyTorch::

    python examples/understanding_backward.py
    CHAINGRAD_EXAMPLES_BACKEND=torch python examples/understanding_backward.py

Lines that depend on random numbers start with ``[random]``.
"""

import os

if os.environ.get("CHAINGRAD_EXAMPLES_BACKEND", "chaingrad") == "torch":
    import torch
else:
    import chaingrad as torch

F = torch.nn.functional


def section(title: str) -> None:
    """Print a section header."""
    print()
    print(f"== {title}")


def report_error(exc: Exception) -> None:
    """Print an exception the way a traceback's last line shows it."""
    print(f"{type(exc).__name__}: {exc}")


section("the question: x.backward(z)")
x = torch.ones(1, requires_grad=True)
y = 2 * x
z = y**2
x.backward(z)
print(x.grad)

section("the answer: z.backward()")
x = torch.ones(1, requires_grad=True)
y = 2 * x
z = y**2
z.backward()  # <-- fixed
print(x.grad)

section("the XOR snippet, as written (integer inputs)")
torch.manual_seed(0)
inputs = torch.tensor(
    [
        [0, 0],
        [0, 1],
        [1, 0],
        [1, 1],
    ]
)
outputs = torch.tensor(
    [
        0,
        1,
        1,
        0,
    ],
)
print("inputs.dtype:", inputs.dtype, " outputs.dtype:", outputs.dtype)
weights = torch.randn(1, 2)
weights.requires_grad = True  # set it as true for gradient computation
bias = torch.randn(1, requires_grad=True)  # set it as true for gradient computation
try:
    preds = F.linear(inputs, weights, bias)  # create a basic linear model
    loss = (outputs - preds).mean()
    loss.backward()
    print(weights.grad)  # this will print your weights
except RuntimeError as exc:
    report_error(exc)

section("the same without bias reaches a different check")
try:
    F.linear(inputs, weights)
except RuntimeError as exc:
    report_error(exc)

section("the XOR snippet with float inputs")
preds = F.linear(inputs.float(), weights, bias)
print("[random] preds:", preds.detach().flatten().tolist())
diff = outputs - preds
print("preds.shape:", preds.shape, " (outputs - preds).shape:", diff.shape)
loss = diff.mean()
loss.backward()
print(weights.grad)
print(bias.grad)
