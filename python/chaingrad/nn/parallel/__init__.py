"""``chaingrad.nn.parallel``: data parallelism across processes (PyTorch's names)."""

from .distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]
