"""A small PyTorch-style training script, type-checked by tests/test_typing.py (mypy --strict)
and pyright: chaingrad's public API must not cause any error here."""

from __future__ import annotations

from typing import List, Tuple

import chaingrad as torch
import chaingrad.nn.functional as F
import numpy as np
from chaingrad import Tensor, nn
from chaingrad.optim.lr_scheduler import CosineAnnealingLR, StepLR
from chaingrad.utils.data import DataLoader, TensorDataset, random_split


class MLP(nn.Module):
    def __init__(self, sizes: List[int]) -> None:
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(a, b) for a, b in zip(sizes, sizes[1:])])
        self.act = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = self.act(x)
        return x


def tensor_basics() -> Tuple[Tensor, float]:
    a = torch.randn(3, 4, requires_grad=True)
    b = torch.tensor([[1.0, 2.0, 3.0, 4.0]])
    c = 2 * a + b / 3 - 1.0
    d = (1 - c) ** 2 @ torch.ones(4, 2)
    e = torch.exp(d).sum() + torch.zeros(()) * 0.5
    e = -e + abs(e)
    mask = (a > 0) & (a < 1)
    f = torch.where(mask, a, torch.zeros_like(a))
    g = f.mean(dim=0, keepdim=True).reshape(-1)
    h = g + np.ones(4, dtype=np.float32)
    shape: Tuple[int, ...] = tuple(h.shape)
    assert len(shape) == 1 and h.size(0) == 4
    with torch.no_grad():
        a.add_(1.0)
    grads = torch.autograd.grad(e, [a], retain_graph=True)
    first: Tensor = grads[0]
    e.backward()
    grad = a.grad
    total = 0.0 if grad is None else float(grad.sum().item())
    return first, total


def train() -> float:
    torch.manual_seed(0)
    x = torch.randn(64, 3)
    y = (x.sum(dim=1) > 0).long()
    dataset = TensorDataset(x, y)
    train_set, val_set = random_split(dataset, [0.75, 0.25], generator=torch.Generator().manual_seed(1))
    loader = DataLoader(train_set, batch_size=8, shuffle=True)
    model = MLP([3, 16, 2])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    scheduler = StepLR(optimizer, step_size=2, gamma=0.5)
    other = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    CosineAnnealingLR(other, T_max=10)
    loss_fn = nn.CrossEntropyLoss()
    last = 0.0
    for _ in range(3):
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            last = loss.item()
        scheduler.step()
    lrs: List[float] = scheduler.get_last_lr()
    assert lrs[0] > 0
    logits = model(torch.stack([val_set[i][0] for i in range(len(val_set))]))
    probs = F.softmax(logits, dim=1)
    torch.testing.assert_close(probs.sum(dim=1), torch.ones(len(val_set)))
    torch.save(model.state_dict(), "/dev/null")
    return last


if __name__ == "__main__":
    print(tensor_basics(), train())
