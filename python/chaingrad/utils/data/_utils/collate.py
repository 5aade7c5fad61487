"""``default_collate`` (samples to a batch) and ``default_convert`` (numpy to tensors)."""

from __future__ import annotations

import collections.abc
from typing import Any, List, Sequence

import numpy as np

import chaingrad

__all__ = ["default_collate", "default_convert"]

_FORMAT_ERROR = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"
)


def _numeric_array(a: np.ndarray) -> bool:
    return a.dtype.kind not in "USOV"


def default_convert(data: Any) -> Any:
    """Turn numpy arrays (and numpy scalars) inside ``data`` into tensors, keeping the structure
    (the loader's default when ``batch_size=None`` disables batching)."""
    if isinstance(data, chaingrad.Tensor):
        return data
    if isinstance(data, np.ndarray) and _numeric_array(data):
        return chaingrad.as_tensor(data)
    if isinstance(data, np.generic) and _numeric_array(np.asarray(data)):
        return chaingrad.as_tensor(data)
    if isinstance(data, (str, bytes)):
        return data
    if isinstance(data, collections.abc.Mapping):
        return type(data)({k: default_convert(v) for k, v in data.items()})  # type: ignore[call-arg]
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence):
        try:
            return type(data)([default_convert(d) for d in data])  # type: ignore[call-arg]
        except TypeError:
            return [default_convert(d) for d in data]
    return data


def default_collate(batch: Sequence[Any]) -> Any:
    """Stack a list of samples into a batch, recursively: tensors and numpy arrays are stacked
    along a new first dimension, Python floats become a float64 tensor and ints an int64 one,
    dicts collate per key, tuples and lists per position (returned as lists), strings stay a list.

    Example::

        >>> default_collate([(chaingrad.tensor([1.0]), 0), (chaingrad.tensor([2.0]), 1)])
        [tensor([[1.],
                [2.]]), tensor([0, 1])]
    """
    elem = batch[0]
    if isinstance(elem, chaingrad.Tensor):
        return chaingrad.stack(list(batch), 0)
    if isinstance(elem, np.ndarray):
        if not _numeric_array(elem):
            raise TypeError(_FORMAT_ERROR.format(elem.dtype))
        return default_collate([chaingrad.as_tensor(b) for b in batch])
    if isinstance(elem, np.generic) and not isinstance(elem, (np.str_, np.bytes_)):
        return chaingrad.as_tensor(np.stack(list(batch)))
    if isinstance(elem, bool):
        return chaingrad.tensor(list(batch))
    if isinstance(elem, float):
        return chaingrad.tensor(list(batch), dtype=chaingrad.float64)
    if isinstance(elem, int):
        return chaingrad.tensor(list(batch))
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, collections.abc.Mapping):
        collated = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            return type(elem)(collated)  # type: ignore[call-arg]
        except TypeError:
            return collated
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if not all(len(e) == size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        transposed: List[Any] = [default_collate(list(s)) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return transposed
        try:
            return type(elem)(transposed)  # type: ignore[call-arg]
        except TypeError:
            return transposed
    raise TypeError(_FORMAT_ERROR.format(type(elem)))
