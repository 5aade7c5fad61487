"""``chaingrad.Size``: the shape of a tensor, a tuple that prints like PyTorch's ``torch.Size``."""

from __future__ import annotations

import operator
from typing import Any, Iterable


class Size(tuple):
    """A tuple of ints describing a tensor's shape (``chaingrad.Size([2, 3])``).

    Like ``torch.Size`` it accepts anything with ``__index__`` (numpy ints, one-element integer
    tensors) and rejects floats; concatenation and repetition give a ``Size`` back.
    """

    def __new__(cls, sizes: Iterable[Any] = ()) -> Size:
        if type(sizes) is tuple and all(type(s) is int for s in sizes):
            return super().__new__(cls, sizes)  # the common case: the core's shape tuple
        items = []
        for i, s in enumerate(sizes):
            if isinstance(s, float) or not hasattr(s, "__index__"):
                raise TypeError(f"chaingrad.Size() takes an iterable of 'int' (item {i} is '{type(s).__name__}')")
            items.append(operator.index(s))
        return super().__new__(cls, items)

    def __repr__(self) -> str:
        return f"chaingrad.Size({list(self)!r})"

    __str__ = __repr__

    def numel(self) -> int:
        """Number of elements a tensor of this shape holds."""
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, key: Any) -> Any:
        item = super().__getitem__(key)
        return Size(item) if isinstance(key, slice) else item

    def __add__(self, other: Any) -> Size:
        if not isinstance(other, tuple):
            raise TypeError(f"can only concatenate tuple (not {type(other).__name__}) to chaingrad.Size")
        return Size(tuple(self) + tuple(other))

    def __radd__(self, other: Any) -> Size:
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple(other) + tuple(self))

    def __mul__(self, n: Any) -> Size:
        return Size(tuple(self) * n)

    __rmul__ = __mul__

    def __reduce__(self) -> Any:
        return (Size, (tuple(self),))


def wrap_dim(dim: int, ndim: int) -> int:
    """``dim`` as a position in ``range(ndim)`` (negative counts from the end; a 0-d tensor has one
    position), with PyTorch's IndexError when it is out of range."""
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim % n
