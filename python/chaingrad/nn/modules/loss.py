"""Loss modules; each forwards to the function of the same name in ``nn.functional``."""

from __future__ import annotations

import warnings
from typing import Optional

import chaingrad

from .. import functional as F
from .module import Module

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "HuberLoss",
    "L1Loss",
    "MSELoss",
    "NLLLoss",
    "SmoothL1Loss",
]


class _Loss(Module):
    reduction: str

    def __init__(
        self,
        size_average: Optional[bool] = None,
        reduce: Optional[bool] = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__()
        if size_average is not None or reduce is not None:
            warnings.warn(
                "size_average and reduce args will be deprecated, please use "
                f"reduction='{F._legacy_reduction(size_average, reduce)}' instead.",
                stacklevel=3,
            )
            reduction = F._legacy_reduction(size_average, reduce)
        self.reduction = reduction


class _WeightedLoss(_Loss):
    weight: Optional[chaingrad.Tensor]

    def __init__(
        self,
        weight: Optional[chaingrad.Tensor] = None,
        size_average: Optional[bool] = None,
        reduce: Optional[bool] = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


class L1Loss(_Loss):
    """Mean (or sum, or per-element) absolute error."""

    def forward(self, input: chaingrad.Tensor, target: chaingrad.Tensor) -> chaingrad.Tensor:
        return F.l1_loss(input, target, reduction=self.reduction)


class MSELoss(_Loss):
    """Mean (or sum, or per-element) squared error."""

    def forward(self, input: chaingrad.Tensor, target: chaingrad.Tensor) -> chaingrad.Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of class indices given log-probabilities."""

    def __init__(
        self,
        weight: Optional[chaingrad.Tensor] = None,
        size_average: Optional[bool] = None,
        ignore_index: int = -100,
        reduce: Optional[bool] = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: chaingrad.Tensor, target: chaingrad.Tensor) -> chaingrad.Tensor:
        return F.nll_loss(
            input,
            target,
            weight=self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
        )


class CrossEntropyLoss(_WeightedLoss):
    """``log_softmax`` + ``nll_loss`` for class-index targets, or soft cross entropy for
    class-probability targets; optional label smoothing."""

    def __init__(
        self,
        weight: Optional[chaingrad.Tensor] = None,
        size_average: Optional[bool] = None,
        ignore_index: int = -100,
        reduce: Optional[bool] = None,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input: chaingrad.Tensor, target: chaingrad.Tensor) -> chaingrad.Tensor:
        return F.cross_entropy(
            input,
            target,
            weight=self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            label_smoothing=self.label_smoothing,
        )


class BCELoss(_WeightedLoss):
    """Binary cross entropy between probabilities and targets in ``[0, 1]``."""

    def forward(self, input: chaingrad.Tensor, target: chaingrad.Tensor) -> chaingrad.Tensor:
        return F.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross entropy in one numerically stable expression."""

    weight: Optional[chaingrad.Tensor]
    pos_weight: Optional[chaingrad.Tensor]

    def __init__(
        self,
        weight: Optional[chaingrad.Tensor] = None,
        size_average: Optional[bool] = None,
        reduce: Optional[bool] = None,
        reduction: str = "mean",
        pos_weight: Optional[chaingrad.Tensor] = None,
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input: chaingrad.Tensor, target: chaingrad.Tensor) -> chaingrad.Tensor:
        return F.binary_cross_entropy_with_logits(
            input,
            target,
            self.weight,
            pos_weight=self.pos_weight,
            reduction=self.reduction,
        )


class SmoothL1Loss(_Loss):
    """Squared error below ``beta``, absolute error above it (see ``F.smooth_l1_loss``)."""

    def __init__(
        self,
        size_average: Optional[bool] = None,
        reduce: Optional[bool] = None,
        reduction: str = "mean",
        beta: float = 1.0,
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input: chaingrad.Tensor, target: chaingrad.Tensor) -> chaingrad.Tensor:
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """Squared error below ``delta``, ``delta``-scaled absolute error above it (see ``F.huber_loss``)."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input: chaingrad.Tensor, target: chaingrad.Tensor) -> chaingrad.Tensor:
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)
