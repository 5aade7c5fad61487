"""``LayerNorm``: normalization over the trailing dims of each sample."""

from __future__ import annotations

from typing import Any, Sequence, Tuple, Union

import chaingrad

from .. import functional as F
from .. import init
from ..parameter import Parameter
from .linear import _factory_kwargs
from .module import Module

__all__ = ["LayerNorm"]


class LayerNorm(Module):
    """Normalizes over the last ``len(normalized_shape)`` dims: ``(x - mean) / sqrt(var + eps)``
    (biased variance), then ``* weight + bias`` with learnable ``weight`` (ones) and ``bias``
    (zeros) of shape ``normalized_shape`` when ``elementwise_affine`` (``bias=False`` drops the
    bias)."""

    normalized_shape: Tuple[int, ...]

    def __init__(
        self,
        normalized_shape: Union[int, Sequence[int]],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        kw = _factory_kwargs(device, dtype)
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(int(s) for s in normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(chaingrad.empty(self.normalized_shape, **kw))
            if bias:
                self.bias = Parameter(chaingrad.empty(self.normalized_shape, **kw))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Weight to ones, bias to zeros."""
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input: chaingrad.Tensor) -> chaingrad.Tensor:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
            f"bias={self.bias is not None}"
        )
