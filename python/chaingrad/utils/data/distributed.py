"""``DistributedSampler``: each process of a distributed job reads its own shard of a dataset."""

from __future__ import annotations

import math
from typing import Any, Iterator, Optional, Sized

import numpy as np

from .sampler import Sampler


class DistributedSampler(Sampler[int]):
    """Indices of the shard of ``dataset`` that rank ``rank`` of ``num_replicas`` reads.

    Every rank draws the same permutation (seeded by ``seed + epoch``; call :meth:`set_epoch`
    at the start of each epoch to reshuffle) and takes every ``num_replicas``-th index from
    position ``rank``. When the dataset does not divide evenly, the list is padded by repeating
    its first indices, so every rank gets ``ceil(len / num_replicas)`` samples; with
    ``drop_last=True`` the tail is dropped instead. ``num_replicas`` and ``rank`` default to the
    default process group's world size and rank. The permutation comes from numpy's generator, so
    it differs from PyTorch's (the semantics are the same).
    """

    def __init__(
        self,
        dataset: Sized,
        num_replicas: Optional[int] = None,
        rank: Optional[int] = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        if num_replicas is None or rank is None:
            dist = _distributed()
            num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
            rank = dist.get_rank() if rank is None else rank
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        if self.shuffle:
            indices = np.random.default_rng(self.seed + self.epoch).permutation(n).tolist()
        else:
            indices = list(range(n))
        if self.drop_last:
            indices = indices[: self.total_size]
        else:
            padding = self.total_size - len(indices)
            if padding <= len(indices):
                indices += indices[:padding]
            else:
                indices += (indices * math.ceil(padding / len(indices)))[:padding]
        assert len(indices) == self.total_size
        shard = indices[self.rank : self.total_size : self.num_replicas]
        assert len(shard) == self.num_samples
        return iter(shard)

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use another permutation for the next epoch (the same on every rank)."""
        self.epoch = epoch


def _distributed() -> Any:
    try:
        import chaingrad.distributed as dist
    except ImportError as err:
        raise RuntimeError("Requires distributed package to be available") from err
    return dist
