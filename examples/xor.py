"""Train a two-layer perceptron on XOR until it classifies all four points.

The "basic XOR gate" of seed ``003_cab90899a9c7f7ba.txt`` ("了解 pytorch autograd")
only computes one gradient of a linear model, which cannot represent XOR. This
script trains what that snippet was reaching for: ``Linear(2, 8) -> Tanh ->
Linear(8, 1)`` with ``BCEWithLogitsLoss`` and Adam, the PyTorch way.

Run with chaingrad (default) or, to compare, with PyTorch::

    python examples/xor.py
    CHAINGRAD_EXAMPLES_BACKEND=torch python examples/xor.py

The last line is ``accuracy: 1.0``.
"""

import argparse
import os

if os.environ.get("CHAINGRAD_EXAMPLES_BACKEND", "chaingrad") == "torch":
    import torch
else:
    import chaingrad as torch

nn = torch.nn


def make_model() -> "nn.Module":
    """Return a 2-8-1 multi-layer perceptron with a tanh hidden layer."""
    return nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))


def train(steps: int, seed: int, log_every: int) -> float:
    """Train on the four XOR points with full-batch Adam; return the accuracy."""
    torch.manual_seed(seed)
    inputs = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    targets = torch.tensor([[0.0], [1.0], [1.0], [0.0]])

    model = make_model()
    loss_fn = nn.BCEWithLogitsLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)

    for step in range(1, steps + 1):
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        if log_every and step % log_every == 0:
            print(f"step {step:4d}  loss {loss.item():.4f}")

    with torch.no_grad():
        logits = model(inputs)
        predicted = (logits > 0).float()
        accuracy = (predicted == targets).float().mean().item()
    print("inputs -> predicted:")
    for point, label in zip(inputs.tolist(), predicted.flatten().tolist()):
        print(f"  {point} -> {int(label)}")
    return accuracy


def main() -> None:
    """Parse the command line, train, and print the final accuracy."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300, help="Adam steps (default 300)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args()
    accuracy = train(args.steps, args.seed, log_every=max(args.steps // 5, 1))
    print(f"accuracy: {accuracy}")


if __name__ == "__main__":
    main()
