"""Data loading: datasets, samplers and loaders with ``torch.utils.data``'s names."""

from .sampler import Sampler

__all__ = ["Sampler"]
