"""Classify the two-moons data set with a small multi-layer perceptron.

The data are generated with numpy (two interleaving half circles plus Gaussian
noise), split into a training and a test set, and learned by
``Linear(2, 16) -> ReLU -> Linear(16, 16) -> ReLU -> Linear(16, 2)`` with
``CrossEntropyLoss`` and Adam on mini-batches, written exactly as one would
write it for PyTorch. It puts the seed tutorials' ideas (``backward()``,
accumulated gradients that must be zeroed, ``no_grad`` for evaluation) to work.

Run with chaingrad (default) or, to compare, with PyTorch::

    python examples/moons.py
    CHAINGRAD_EXAMPLES_BACKEND=torch python examples/moons.py

The last line is ``accuracy: <test accuracy>``, about 0.99 with the defaults.
"""

import argparse
import os
from typing import Tuple

import numpy as np

if os.environ.get("CHAINGRAD_EXAMPLES_BACKEND", "chaingrad") == "torch":
    import torch
else:
    import chaingrad as torch

nn = torch.nn


def make_moons(n: int, noise: float, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
    """Return ``n`` points of two interleaving half circles and their 0/1 labels.

    Class 0 lies on the upper half of the unit circle, class 1 on a lower half
    circle shifted right by 1 and up by 0.5; both get N(0, noise^2) jitter.
    """
    n0 = n // 2
    n1 = n - n0
    t0 = rng.uniform(0.0, np.pi, n0)
    t1 = rng.uniform(0.0, np.pi, n1)
    upper = np.stack([np.cos(t0), np.sin(t0)], axis=1)
    lower = np.stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)], axis=1)
    points = np.concatenate([upper, lower]) + rng.normal(0.0, noise, (n, 2))
    labels = np.concatenate([np.zeros(n0, dtype=np.int64), np.ones(n1, dtype=np.int64)])
    order = rng.permutation(n)
    return points[order].astype(np.float32), labels[order]


def make_model(hidden: int = 16) -> "nn.Module":
    """Return a 2-hidden-16-hidden-2 ReLU network producing two class logits."""
    return nn.Sequential(
        nn.Linear(2, hidden),
        nn.ReLU(),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Linear(hidden, 2),
    )


def accuracy(model: "nn.Module", points: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of ``points`` whose arg-max logit equals the label."""
    with torch.no_grad():
        logits = model(torch.tensor(points))
        predicted = logits.argmax(dim=1)
        return (predicted == torch.tensor(labels)).float().mean().item()


def main() -> None:
    """Generate the data, train, print progress and the final test accuracy."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30, help="training epochs (default 30)")
    parser.add_argument("--samples", type=int, default=600, help="points in all (default 600)")
    parser.add_argument("--noise", type=float, default=0.1, help="noise std (default 0.1)")
    parser.add_argument("--batch-size", type=int, default=32, help="mini-batch size")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    torch.manual_seed(args.seed)
    points, labels = make_moons(args.samples, args.noise, rng)
    n_train = int(0.8 * len(points))
    x_train, y_train = points[:n_train], labels[:n_train]
    x_test, y_test = points[n_train:], labels[n_train:]
    print(f"two moons: {n_train} training points, {len(points) - n_train} test points")

    model = make_model()
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)

    for epoch in range(1, args.epochs + 1):
        order = rng.permutation(n_train)
        total, batches = 0.0, 0
        for start in range(0, n_train, args.batch_size):
            idx = order[start : start + args.batch_size]
            xb = torch.tensor(x_train[idx])
            yb = torch.tensor(y_train[idx])
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item()
            batches += 1
        if epoch == 1 or epoch % 10 == 0 or epoch == args.epochs:
            print(
                f"epoch {epoch:3d}  loss {total / batches:.4f}  "
                f"train accuracy {accuracy(model, x_train, y_train):.3f}"
            )

    print(f"accuracy: {accuracy(model, x_test, y_test):.3f}")


if __name__ == "__main__":
    main()
