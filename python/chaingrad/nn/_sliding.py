"""Sliding-window layers of ``chaingrad.nn.functional``: convolution, pooling, unfold/fold and
padding.  Each is one native op (forward and VJP in C++); this module only normalises
PyTorch's int-or-tuple arguments and raises the errors PyTorch raises in Python."""

from __future__ import annotations

import warnings
from typing import List, Optional, Sequence, Tuple, Union

import chaingrad
from chaingrad._functions import _batched_call, _scalar_type

Tensor = chaingrad.Tensor
IntOrSeq = Union[int, Sequence[int]]

__all__ = [
    "avg_pool1d",
    "avg_pool2d",
    "conv1d",
    "conv2d",
    "fold",
    "max_pool1d",
    "max_pool2d",
    "pad",
    "unfold",
]


def _ints(value: IntOrSeq, n: int) -> List[int]:
    """``value`` as a list: an int repeated ``n`` times, a sequence as given."""
    if isinstance(value, int):
        return [value] * n
    return [int(v) for v in value]


def _pair(value: IntOrSeq) -> List[int]:
    out = _ints(value, 2)
    return out * 2 if len(out) == 1 else out


def _conv(
    spatial: int,
    input: Tensor,
    weight: Tensor,
    bias: Optional[Tensor],
    stride: IntOrSeq,
    padding: Union[str, IntOrSeq],
    dilation: IntOrSeq,
    groups: int,
) -> Tensor:
    dil = _ints(dilation, spatial)
    if isinstance(padding, str):
        if padding == "same" and weight.dim() == spatial + 2:
            kernel = [int(s) for s in weight.shape[2:]]
            if any(d * (k - 1) % 2 for d, k in zip(dil * spatial if len(dil) == 1 else dil, kernel)):
                warnings.warn(
                    "Using padding='same' with even kernel lengths and odd dilation may require a "
                    "zero-padded copy of the input be created",
                    UserWarning,
                    stacklevel=3,
                )
        pad: Union[str, List[int]] = padding
    else:
        pad = _ints(padding, spatial)
    return chaingrad._C._conv(spatial, input, weight, bias, _ints(stride, spatial), pad, dil, groups)


def conv1d(
    input: Tensor,
    weight: Tensor,
    bias: Optional[Tensor] = None,
    stride: IntOrSeq = 1,
    padding: Union[str, IntOrSeq] = 0,
    dilation: IntOrSeq = 1,
    groups: int = 1,
) -> Tensor:
    """1-D convolution (cross-correlation) of ``input`` ``(N, C_in, L)`` or ``(C_in, L)`` with
    ``weight`` ``(C_out, C_in / groups, k)``; ``padding`` may be an int, a 1-tuple, ``'valid'``
    or ``'same'``."""
    return _conv(1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Optional[Tensor] = None,
    stride: IntOrSeq = 1,
    padding: Union[str, IntOrSeq] = 0,
    dilation: IntOrSeq = 1,
    groups: int = 1,
) -> Tensor:
    """2-D convolution (cross-correlation) of ``input`` ``(N, C_in, H, W)`` or ``(C_in, H, W)``
    with ``weight`` ``(C_out, C_in / groups, kH, kW)``, through im2col and BLAS.

    Example::

        >>> x = chaingrad.randn(1, 3, 8, 8)
        >>> conv2d(x, chaingrad.randn(4, 3, 3, 3), padding=1).shape
        chaingrad.Size([1, 4, 8, 8])
    """
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):  # inside vmap: its batching rule
        batched = _batched_call("conv2d", conv2d, (input, weight, bias, stride, padding, dilation, groups), {})
        if batched is not NotImplemented:
            return batched
    return _conv(2, input, weight, bias, stride, padding, dilation, groups)


def _per_dim(value: IntOrSeq, spatial: int) -> List[int]:
    """A pooling argument as ``spatial`` ints (2-D: an int or 1-tuple repeated; 1-D: the first)."""
    return _pair(value) if spatial == 2 else _ints(value, 1)[:1]


def _pool_windows(
    spatial: int, kernel_size: IntOrSeq, stride: Optional[IntOrSeq], padding: IntOrSeq, dilation: IntOrSeq
) -> Tuple[List[int], List[int], List[int], List[int]]:
    """Kernel, stride (the kernel when not given), padding and dilation as the 2-D native ops
    take them: 1-D pooling is 2-D pooling over a height of 1."""
    k = _per_dim(kernel_size, spatial)
    s = (_per_dim(stride, spatial) if stride is not None else []) or k
    p, d = _per_dim(padding, spatial), _per_dim(dilation, spatial)
    if spatial == 1:
        return [1] + k, [1] + s, [0] + p, [1] + d
    return k, s, p, d


def _max_pool(
    spatial: int,
    input: Tensor,
    kernel_size: IntOrSeq,
    stride: Optional[IntOrSeq],
    padding: IntOrSeq,
    dilation: IntOrSeq,
    ceil_mode: bool,
    return_indices: bool,
) -> Union[Tensor, Tuple[Tensor, Tensor]]:
    """Max pooling over the last ``spatial`` (1 or 2) dims, PyTorch's checks included."""
    if spatial == 2 and not isinstance(input, Tensor):  # inside vmap: max_pool2d's batching rule
        batched = _batched_call("max_pool2d", max_pool2d, (input, kernel_size, stride, padding, dilation, ceil_mode,
                                                           return_indices), {})
        if batched is not NotImplemented:
            return batched
    if spatial == 1:
        if input.dim() not in (2, 3) or 0 in input.shape[-2 if input.dim() == 3 else 0 :]:
            raise RuntimeError(
                "max_pool1d: Expected 2D or 3D (batch mode) tensor with optional 0 dim batch size for "
                f"input, but got:{[int(s) for s in input.shape]}"
            )
        if not return_indices and not input.dtype.is_floating_point:  # PyTorch's value-only kernel
            raise NotImplementedError(f'"max_pool1d_impl" not implemented for \'{_scalar_type(input.dtype)}\'')
    k, s, p, d = _pool_windows(spatial, kernel_size, stride, padding, dilation)
    out, indices = chaingrad._C._max_pool2d(input.unsqueeze(-2) if spatial == 1 else input, k, s, p, d, ceil_mode)
    if spatial == 1:
        out, indices = out.squeeze(-2), indices.squeeze(-2)
    return (out, indices) if return_indices else out


def _avg_pool(
    spatial: int,
    input: Tensor,
    kernel_size: IntOrSeq,
    stride: Optional[IntOrSeq],
    padding: IntOrSeq,
    ceil_mode: bool,
    count_include_pad: bool,
    divisor_override: Optional[int],
) -> Tensor:
    """Average pooling over the last ``spatial`` (1 or 2) dims, PyTorch's checks included."""
    if spatial == 1 and input.dim() not in (2, 3):
        raise RuntimeError(
            f"Expected 2 to 3 dimensions, but got {input.dim()}-dimensional tensor for argument #1 "
            "'self' (while checking arguments for avg_pool1d)"
        )
    k, s, p, _ = _pool_windows(spatial, kernel_size, stride, padding, 1)
    x = input.unsqueeze(-2) if spatial == 1 else input
    out = chaingrad._C._avg_pool2d(x, k, s, p, ceil_mode, count_include_pad, divisor_override)
    return out.squeeze(-2) if spatial == 1 else out


def max_pool1d(
    input: Tensor,
    kernel_size: IntOrSeq,
    stride: Optional[IntOrSeq] = None,
    padding: IntOrSeq = 0,
    dilation: IntOrSeq = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Union[Tensor, Tuple[Tensor, Tensor]]:
    """1-D max pooling of ``(N, C, L)`` or ``(C, L)`` input (2-D pooling over a height of 1)."""
    return _max_pool(1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(
    input: Tensor,
    kernel_size: IntOrSeq,
    stride: Optional[IntOrSeq] = None,
    padding: IntOrSeq = 0,
    dilation: IntOrSeq = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Union[Tensor, Tuple[Tensor, Tensor]]:
    """The maximum over each ``kernel_size`` window of ``(N, C, H, W)`` or ``(C, H, W)`` input;
    with ``return_indices``, also the flat position of each maximum in its input plane."""
    return _max_pool(2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def avg_pool1d(
    input: Tensor,
    kernel_size: IntOrSeq,
    stride: Optional[IntOrSeq] = None,
    padding: IntOrSeq = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """1-D average pooling of ``(N, C, L)`` or ``(C, L)`` input."""
    return _avg_pool(1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool2d(
    input: Tensor,
    kernel_size: IntOrSeq,
    stride: Optional[IntOrSeq] = None,
    padding: IntOrSeq = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: Optional[int] = None,
) -> Tensor:
    """The mean over each ``kernel_size`` window (divided by ``divisor_override`` when given;
    ``count_include_pad`` counts zero padding in the window size)."""
    return _avg_pool(2, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)


def unfold(
    input: Tensor,
    kernel_size: IntOrSeq,
    dilation: IntOrSeq = 1,
    padding: IntOrSeq = 0,
    stride: IntOrSeq = 1,
) -> Tensor:
    """im2col: the ``kernel_size`` blocks of ``(N, C, H, W)`` input as columns
    ``(N, C * kH * kW, L)``."""
    return chaingrad._C._unfold(input, _pair(kernel_size), _pair(dilation), _pair(padding), _pair(stride))


def fold(
    input: Tensor,
    output_size: IntOrSeq,
    kernel_size: IntOrSeq,
    dilation: IntOrSeq = 1,
    padding: IntOrSeq = 0,
    stride: IntOrSeq = 1,
) -> Tensor:
    """col2im, the adjoint of :func:`unfold`: sums the columns back into ``(N, C, *output_size)``."""
    return chaingrad._C._fold(
        input, _pair(output_size), _pair(kernel_size), _pair(dilation), _pair(padding), _pair(stride)
    )


_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: Optional[float] = None) -> Tensor:
    """Pads the last ``len(pad) // 2`` dims by ``(left, right)`` pairs, last dim first.

    ``'constant'`` fills with ``value`` (0 by default) and accepts negative pads (cropping);
    ``'reflect'``, ``'replicate'`` and ``'circular'`` pad the last 1, 2 or 3 dims.
    """
    pads = [int(p) for p in pad]
    if mode == "constant":
        return chaingrad._C._constant_pad(input, pads, value)
    if mode not in _PAD_MODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value is not None and value != 0:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    k = len(pads) // 2
    if len(pads) % 2 or k not in (1, 2, 3) or input.dim() not in (k + 1, k + 2):
        raise NotImplementedError(
            f"Padding size {len(pads)} is not supported for {input.dim()}D input tensor.\n"
            "Supported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)"
        )
    return chaingrad._C._index_pad(input, pads, mode)
