"""Data loading: datasets, samplers and loaders with ``torch.utils.data``'s names."""

from .distributed import DistributedSampler as DistributedSampler
from .sampler import Sampler

__all__ = ["Sampler"]

# --- datasets, samplers and the loader (the data-loading stream) ---
from ._generator import Generator  # noqa: E402
from ._utils.collate import default_collate, default_convert  # noqa: E402
from ._utils.worker import WorkerInfo, get_worker_info  # noqa: E402
from .dataloader import DataLoader  # noqa: E402
from .dataset import (  # noqa: E402
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    Subset,
    TensorDataset,
    random_split,
)
from .sampler import (  # noqa: E402
    BatchSampler,
    RandomSampler,
    SequentialSampler,
    SubsetRandomSampler,
)

__all__ += [
    "BatchSampler",
    "ChainDataset",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "Generator",
    "IterableDataset",
    "RandomSampler",
    "SequentialSampler",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "WorkerInfo",
    "default_collate",
    "default_convert",
    "get_worker_info",
    "random_split",
]
# --- end of the data-loading block ---
