"""Samplers: iterables of dataset indices."""

from __future__ import annotations

from typing import Generic, Iterator, TypeVar

T_co = TypeVar("T_co", covariant=True)


class Sampler(Generic[T_co]):
    """Base class of every sampler: an iterable over indices (or lists of indices) of a dataset."""

    def __iter__(self) -> Iterator[T_co]:
        raise NotImplementedError
