"""Pooling layers: ``MaxPool1d``, ``MaxPool2d``, ``AvgPool1d``, ``AvgPool2d``. One class per kind
holds the layer; the 1-D and 2-D layers only say how many dims they pool (``_spatial``)."""

from __future__ import annotations

from typing import Any, Optional, Tuple, Union

import chaingrad

from .._sliding import _avg_pool, _max_pool
from .module import Module

__all__ = ["AvgPool1d", "AvgPool2d", "MaxPool1d", "MaxPool2d"]

IntOrTuple = Union[int, Tuple[int, ...]]


class _MaxPoolNd(Module):
    _spatial = 2

    def __init__(
        self,
        kernel_size: IntOrTuple,
        stride: Optional[IntOrTuple] = None,
        padding: IntOrTuple = 0,
        dilation: IntOrTuple = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, input: chaingrad.Tensor) -> Any:
        return _max_pool(self._spatial, input, self.kernel_size, self.stride, self.padding, self.dilation,
                         self.ceil_mode, self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """The maximum over sliding windows of ``(N, C, L)`` or ``(C, L)`` input."""

    _spatial = 1


class MaxPool2d(_MaxPoolNd):
    """The maximum over sliding windows of ``(N, C, H, W)`` or ``(C, H, W)`` input."""


class _AvgPoolNd(Module):
    _spatial = 2

    def __init__(
        self,
        kernel_size: IntOrTuple,
        stride: Optional[IntOrTuple] = None,
        padding: IntOrTuple = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: Optional[int] = None,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input: chaingrad.Tensor) -> chaingrad.Tensor:
        return _avg_pool(self._spatial, input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                         self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


def _single(v: IntOrTuple) -> Tuple[int, ...]:
    return (v,) if isinstance(v, int) else tuple(v)


class AvgPool1d(_AvgPoolNd):
    """The mean over sliding windows of ``(N, C, L)`` or ``(C, L)`` input."""

    _spatial = 1

    def __init__(
        self,
        kernel_size: IntOrTuple,
        stride: Optional[IntOrTuple] = None,
        padding: IntOrTuple = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> None:
        # PyTorch keeps AvgPool1d's sizes as 1-tuples (they show so in repr); it has no divisor_override.
        super().__init__(_single(kernel_size), _single(stride if stride is not None else kernel_size),
                         _single(padding), ceil_mode, count_include_pad)


class AvgPool2d(_AvgPoolNd):
    """The mean over sliding windows of ``(N, C, H, W)`` or ``(C, H, W)`` input."""
