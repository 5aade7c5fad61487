"""``chaingrad.Size``: the shape of a tensor, a tuple that prints like PyTorch's ``torch.Size``."""

from __future__ import annotations

from typing import Any


class Size(tuple):
    """A tuple of ints describing a tensor's shape."""

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
        return Size(tuple(self) + tuple(other))

    def __reduce__(self) -> Any:
        return (Size, (tuple(self),))
