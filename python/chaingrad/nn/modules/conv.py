"""Convolution layers: ``Conv1d`` and ``Conv2d``."""

from __future__ import annotations

import math
from typing import Any, Optional, Tuple, Union

import chaingrad

from .. import functional as F
from .. import init
from ..parameter import Parameter
from .linear import _factory_kwargs
from .module import Module

__all__ = ["Conv1d", "Conv2d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
IntOrTuple = Union[int, Tuple[int, ...]]


def _ntuple(value: IntOrTuple, n: int) -> Tuple[int, ...]:
    if isinstance(value, int):
        return (value,) * n
    return tuple(int(v) for v in value)


class _ConvNd(Module):
    """Shared parameters, initialisation, checks and repr of ``Conv1d`` / ``Conv2d``."""

    _spatial = 2

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntOrTuple,
        stride: IntOrTuple = 1,
        padding: Union[str, IntOrTuple] = 0,
        dilation: IntOrTuple = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        kw = _factory_kwargs(device, dtype)
        n = self._spatial
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        self.kernel_size = _ntuple(kernel_size, n)
        self.stride = _ntuple(stride, n)
        self.dilation = _ntuple(dilation, n)
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise ValueError(
                    f"Invalid padding string {padding!r}, should be one of {{'valid', 'same'}}"
                )
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
            self.padding: Union[str, Tuple[int, ...]] = padding
        else:
            self.padding = _ntuple(padding, n)
        if padding_mode not in _PADDING_MODES:
            raise ValueError(
                "padding_mode must be one of {'zeros', 'reflect', 'circular', 'replicate'}, "
                f"but got padding_mode='{padding_mode}'"
            )
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.transposed = False
        self.output_padding = (0,) * n
        self.groups = groups
        self.padding_mode = padding_mode
        self._reversed_padding_repeated_twice = self._explicit_padding()
        self.weight = Parameter(
            chaingrad.empty((out_channels, in_channels // groups) + self.kernel_size, **kw)
        )
        if bias:
            self.bias: Optional[Parameter] = Parameter(chaingrad.empty((out_channels,), **kw))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def _explicit_padding(self) -> Tuple[int, ...]:
        """(left, right) per spatial dim, last dim first, as F.pad takes them."""
        out: Tuple[int, ...] = ()
        for i in reversed(range(self._spatial)):
            if self.padding == "valid":
                lo = hi = 0
            elif self.padding == "same":
                total = self.dilation[i] * (self.kernel_size[i] - 1)
                lo, hi = total // 2, total - total // 2
            else:
                lo = hi = self.padding[i]  # type: ignore[index]
            out += (lo, hi)
        return out

    def reset_parameters(self) -> None:
        """PyTorch's initialisation: ``kaiming_uniform_(a=sqrt(5))`` for the weight, the bias
        uniform in ``±1/sqrt(fan_in)``."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1.0 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def _conv_forward(self, input: chaingrad.Tensor, weight: chaingrad.Tensor,
                      bias: Optional[chaingrad.Tensor]) -> chaingrad.Tensor:
        conv = F.conv1d if self._spatial == 1 else F.conv2d
        if self.padding_mode != "zeros":
            padded = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return conv(padded, weight, bias, self.stride, 0, self.dilation, self.groups)
        return conv(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def forward(self, input: chaingrad.Tensor) -> chaingrad.Tensor:
        return self._conv_forward(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        n = self._spatial
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * n:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv1d(_ConvNd):
    """1-D convolution over ``(N, C_in, L)`` or ``(C_in, L)`` input; ``weight`` has shape
    ``(out_channels, in_channels / groups, kernel_size)``."""

    _spatial = 1


class Conv2d(_ConvNd):
    """2-D convolution over ``(N, C_in, H, W)`` or ``(C_in, H, W)`` input; ``weight`` has
    shape ``(out_channels, in_channels / groups, kH, kW)``.

    Example::

        >>> conv = chaingrad.nn.Conv2d(3, 16, 3, padding=1)
        >>> conv(chaingrad.randn(8, 3, 32, 32)).shape
        chaingrad.Size([8, 16, 32, 32])
    """

    _spatial = 2
