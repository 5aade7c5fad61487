"""Normalization, embedding, ``one_hot`` and the smooth L1 / Huber losses of
``chaingrad.nn.functional`` (re-exported there; fused C++ kernels underneath)."""

from __future__ import annotations

from typing import Any, Optional, Tuple

import chaingrad

from .functional import (
    Tensor,
    _loss_operands,
    _reduce,
    _resolve_reduction,
    _shape,
    _type_name,
    _warn_size_mismatch,
)

__all__ = ["batch_norm", "embedding", "huber_loss", "layer_norm", "one_hot", "smooth_l1_loss"]


def layer_norm(
    input: Tensor,
    normalized_shape: Any,
    weight: Optional[Tensor] = None,
    bias: Optional[Tensor] = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalizes over the trailing dims ``normalized_shape`` (an int or a sequence): zero mean,
    unit (biased) variance plus ``eps``, then ``* weight + bias`` when given."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(int(s) for s in normalized_shape)
    return chaingrad._C._layer_norm(input, shape, weight, bias, float(eps))


def _verify_batch_size(size: Tuple[int, ...]) -> None:
    values = size[0]
    for s in size[2:]:
        values *= s
    if values == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size {chaingrad.Size(size)}")


def batch_norm(
    input: Tensor,
    running_mean: Optional[Tensor],
    running_var: Optional[Tensor],
    weight: Optional[Tensor] = None,
    bias: Optional[Tensor] = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalizes each channel (dim 1) over the batch and spatial dims.

    In training the batch's mean and biased variance are used and ``running_mean`` /
    ``running_var`` (when given) are updated in place as ``(1 - momentum) * running +
    momentum * batch`` with the unbiased batch variance; otherwise the running statistics are used.
    """
    if training:
        _verify_batch_size(tuple(_shape(input)))
    if not input.is_floating_point():
        raise NotImplementedError(f"\"batch_norm\" not implemented for '{_type_name(input.dtype)}'")
    return chaingrad._C._batch_norm(input, running_mean, running_var, weight, bias, bool(training),
                                    float(momentum), float(eps))


def _embedding_renorm_(weight: Tensor, input: Tensor, max_norm: float, norm_type: float) -> None:
    """Rescales (in place) each row of ``weight`` that ``input`` names whose ``norm_type``-norm
    exceeds ``max_norm`` to norm ``max_norm`` (PyTorch's ``embedding_renorm_``)."""
    import numpy as np

    num = int(weight.shape[0])
    idx = np.unique(input.detach().numpy().reshape(-1))
    for i in idx:
        if i < -num or i >= num:
            raise IndexError(f"select(): index {int(i)} out of range for tensor of size {list(weight.shape)} "
                             "at dimension 0")
    idx = idx[idx >= 0]  # negative indices are rejected by the lookup itself
    with chaingrad.no_grad():
        rows_idx = chaingrad.from_numpy(idx.astype(np.int64))
        rows = weight.index_select(0, rows_idx)
        norms = rows.norm(p=norm_type, dim=1)
        scale = chaingrad.where(norms > max_norm, max_norm / (norms + 1e-7), chaingrad.ones_like(norms))
        weight[rows_idx] = rows * scale.unsqueeze(1)


def embedding(
    input: Tensor,
    weight: Tensor,
    padding_idx: Optional[int] = None,
    max_norm: Optional[float] = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """Rows of ``weight`` picked by the int64 ``input``: shape ``input.shape + (embedding_dim,)``.

    ``padding_idx`` rows get no gradient; ``max_norm`` first renormalizes (in place) the rows
    used; ``scale_grad_by_freq`` divides each row's gradient by its count in ``input``.
    ``sparse=True`` is accepted, but the gradient is a dense tensor (chaingrad has no sparse
    layout); its values are PyTorch's.
    """
    num = int(weight.shape[0]) if weight.dim() >= 1 else 0
    if padding_idx is not None:
        if padding_idx > 0:
            assert padding_idx < num, "Padding_idx must be within num_embeddings"
        elif padding_idx < 0:
            assert padding_idx >= -num, "Padding_idx must be within num_embeddings"
            padding_idx = num + padding_idx
    if max_norm is not None:
        input = input.contiguous()
        _embedding_renorm_(weight, input, max_norm, norm_type)
    return chaingrad._C._embedding(weight, input, padding_idx, bool(scale_grad_by_freq))


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 tensor of shape ``tensor.shape + (num_classes,)`` with a 1 at each value's index;
    ``num_classes=-1`` uses ``tensor.max() + 1``."""
    if tensor.dtype != chaingrad.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if tensor.numel() == 0:
        if num_classes == -1:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        return chaingrad.zeros(tuple(_shape(tensor)) + (num_classes,), dtype=chaingrad.int64)
    low, high = int(tensor.min()), int(tensor.max())
    if low < 0:
        raise RuntimeError("Class values must be non-negative.")
    if num_classes == -1:
        num_classes = high + 1
    elif high >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    classes = chaingrad.arange(num_classes, dtype=chaingrad.int64)
    return (tensor.detach().unsqueeze(-1) == classes).to(chaingrad.int64)


def smooth_l1_loss(
    input: Tensor,
    target: Tensor,
    size_average: Optional[bool] = None,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Tensor:
    """``0.5 d**2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta`` (``d = input - target``),
    reduced; ``beta=0`` is the L1 loss."""
    reduction = _resolve_reduction(size_average, reduce, reduction)
    _warn_size_mismatch(input, target)
    if float(beta) == 0.0:  # PyTorch's l1_loss path subtracts first: its errors for bool operands
        chaingrad.sub(input.detach().reshape(-1)[:0], target.detach().reshape(-1)[:0])
    input, target = _loss_operands(input, target, "smooth_l1_cpu")
    return chaingrad._C._smooth_l1_loss(input, target, reduction, float(beta))


def huber_loss(
    input: Tensor,
    target: Tensor,
    reduction: str = "mean",
    delta: float = 1.0,
    weight: Optional[Tensor] = None,
) -> Tensor:
    """``0.5 d**2`` where ``|d| < delta``, else ``delta (|d| - 0.5 delta)``, reduced; with
    ``weight`` (input's shape) each element's loss is multiplied by it before the reduction."""
    reduction = _resolve_reduction(None, None, reduction)
    _warn_size_mismatch(input, target)
    out_dtype = input.dtype  # PyTorch's huber writes into the input's dtype
    input, target = _loss_operands(input, target, "huber_cpu", out_dtype)
    if weight is None:
        return chaingrad._C._huber_loss(input, target, reduction, float(delta)).to(out_dtype)
    if _shape(weight) != _shape(input):
        raise ValueError("Weights and input must have the same size.")
    return _reduce(chaingrad._C._huber_loss(input, target, "none", float(delta)) * weight, reduction).to(out_dtype)
