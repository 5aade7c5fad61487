"""Data-parallel training of a small classifier on synthetic MNIST-like data (no download).

Run it as N processes, each training on its shard of the data:

    mpiexec -n 2 python examples/distributed_mnist_like.py
    mpiexec -n 4 --oversubscribe python examples/distributed_mnist_like.py   # more ranks than cores
    python examples/distributed_mnist_like.py                                 # one process works too

Every process builds the same dataset (same seed), the ``DistributedSampler`` gives each rank a
disjoint shard, and ``DistributedDataParallel`` averages the gradients during backward, so all
replicas stay identical and the run equals single-process training on the combined batches.
Needs the ``distributed`` extra: ``pip install ".[distributed]"``.
"""

from __future__ import annotations

import gc

import chaingrad as torch
import chaingrad.distributed as dist
import numpy as np
from chaingrad import nn
from chaingrad.nn.parallel import DistributedDataParallel
from chaingrad.utils.data import DistributedSampler

# Workaround for an engine bug (reported): a garbage-collection pass that runs while the first
# Parameter of the process is being constructed segfaults in chaingrad's Tensor traverse. Build
# one with the collector paused so that pybind11's type cache for Parameter exists beforehand.
gc.disable()
nn.Parameter(torch.zeros(1))
gc.enable()


def mnist_like(n: int, seed: int = 0) -> tuple:
    """``n`` noisy 28x28 images of 10 classes: each class is a fixed random stroke pattern."""
    prototypes = (np.random.default_rng(1234).random((10, 28 * 28)) < 0.15).astype(np.float32)
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, size=n)
    images = prototypes[labels] + 1.5 * rng.standard_normal((n, 28 * 28)).astype(np.float32)
    return torch.from_numpy(images.astype(np.float32)), torch.from_numpy(labels.astype(np.int64))


def main() -> None:
    dist.init_process_group(backend="mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    images, labels = mnist_like(4096)
    test_images, test_labels = mnist_like(1024, seed=1)

    torch.manual_seed(0)
    model = DistributedDataParallel(nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10)))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    sampler = DistributedSampler(range(len(labels)), num_replicas=world, rank=rank, shuffle=True, seed=0)
    per_rank_batch = 64 // world  # the global batch stays 64 whatever the number of processes

    for epoch in range(3):
        sampler.set_epoch(epoch)  # a new shuffle each epoch, the same on every rank
        order = list(sampler)
        total = 0.0
        for start in range(0, len(order), per_rank_batch):
            idx = torch.from_numpy(np.array(order[start : start + per_rank_batch], dtype=np.int64))
            optimizer.zero_grad()
            loss = loss_fn(model(images[idx]), labels[idx])
            loss.backward()  # gradients are averaged across the ranks here
            optimizer.step()
            total += loss.item()
        mean_loss = torch.tensor(total / max(1, len(order) // per_rank_batch))
        dist.all_reduce(mean_loss, op=dist.ReduceOp.AVG)
        if rank == 0:
            print(f"epoch {epoch}: mean training loss {mean_loss.item():.4f}")

    with torch.no_grad():
        accuracy = (model(test_images).argmax(dim=1) == test_labels).float().mean().item()
    # The replicas never diverge: the largest and smallest parameter checksum agree.
    checksum = torch.tensor(sum(float(p.detach().sum().item()) for p in model.parameters()), dtype=torch.float64)
    low, high = checksum.clone(), checksum.clone()
    dist.all_reduce(low, op=dist.ReduceOp.MIN)
    dist.all_reduce(high, op=dist.ReduceOp.MAX)
    if rank == 0:
        print(f"{world} process(es): test accuracy {accuracy:.3f}; replicas identical: {low.item() == high.item()}")
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
