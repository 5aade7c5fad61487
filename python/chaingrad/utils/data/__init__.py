"""Data loading: datasets, samplers and loaders with ``torch.utils.data``'s names."""

from .distributed import DistributedSampler as DistributedSampler
from .sampler import Sampler

__all__ = ["Sampler"]
