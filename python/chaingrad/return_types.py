"""Named tuples returned by reductions that give values and indices (``max(dim)``, ``min(dim)``)."""

from __future__ import annotations

from typing import NamedTuple

from ._C import Tensor


class max(NamedTuple):  # noqa: N801 - PyTorch's name
    """``chaingrad.return_types.max(values, indices)``."""

    values: Tensor
    indices: Tensor


class min(NamedTuple):  # noqa: N801 - PyTorch's name
    """``chaingrad.return_types.min(values, indices)``."""

    values: Tensor
    indices: Tensor
