"""``chaingrad.nn.functional``: stateless layers and losses with PyTorch's signatures.

Every function here is a composition of chaingrad tensor operations, so autograd differentiates
it like any other code.  Signatures, argument checks, error messages and formulas follow
``torch.nn.functional``; performance-critical ones may later be replaced by fused kernels with
identical behaviour.

Known differences from PyTorch's fused kernels (exact ties only): at inputs of exactly 0 or 1,
:func:`binary_cross_entropy`'s gradient is the derivative of the clamped formula rather than
PyTorch's ``(x - y) / max(x (1 - x), 1e-12)``.
"""

from __future__ import annotations

import warnings
from typing import Any, List, Optional, Tuple

import chaingrad
from chaingrad._functions import _batched_call
from chaingrad._functions import _scalar_type as _type_name

Tensor = chaingrad.Tensor

from ._sliding import (  # noqa: E402  (convolution, pooling, unfold/fold, padding: native ops)
    avg_pool1d,
    avg_pool2d,
    conv1d,
    conv2d,
    fold,
    max_pool1d,
    max_pool2d,
    pad,
    unfold,
)

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
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "dropout",
    "elu",
    "gelu",
    "l1_loss",
    "leaky_relu",
    "linear",
    "log_softmax",
    "mse_loss",
    "nll_loss",
    "relu",
    "sigmoid",
    "silu",
    "softmax",
    "softplus",
    "tanh",
]

_REDUCTIONS = ("none", "mean", "sum")


# ---------------------------------------------------------------------------- helpers


def _legacy_reduction(size_average: Optional[bool], reduce: Optional[bool]) -> str:
    """Map the deprecated ``size_average``/``reduce`` pair to a ``reduction`` string."""
    if size_average is None:
        size_average = True
    if reduce is None:
        reduce = True
    if size_average and reduce:
        return "mean"
    if reduce:
        return "sum"
    return "none"


def _resolve_reduction(size_average: Optional[bool], reduce: Optional[bool], reduction: str) -> str:
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce)
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _shape(t: Tensor) -> List[int]:
    return [int(s) for s in t.shape]


def _warn_size_mismatch(input: Tensor, target: Tensor) -> None:
    if _shape(target) != _shape(input):
        warnings.warn(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}). This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.",
            stacklevel=3,
        )


def _get_softmax_dim(name: str, ndim: int, stacklevel: int) -> int:
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. "
        "Change the call to include dim=X as an argument.",
        stacklevel=stacklevel,
    )
    return 0 if ndim in (0, 1, 3) else 1


# ---------------------------------------------------------------------------- layers
def linear(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None) -> Tensor:
    """``input @ weight.T + bias``.  ``weight`` is ``(out_features, in_features)``; ``input``
    is ``(*, in_features)``.  Mixed dtypes raise like ``matmul`` does."""
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):  # inside vmap: its batching rule
        batched = _batched_call("linear", linear, (input, weight, bias), {})
        if batched is not NotImplemented:
            return batched
    return chaingrad._C._linear(input, weight, bias)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """``max(input, 0)`` element-wise (in place with ``inplace=True``)."""
    return input.relu_() if inplace else input.relu()


def _maybe_inplace(input: Tensor, out: Tensor, inplace: bool) -> Tensor:
    return input.copy_(out) if inplace else out


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``x`` where positive, ``negative_slope * x`` elsewhere."""
    return _maybe_inplace(input, input.leaky_relu(negative_slope), inplace)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` where positive, ``alpha * (exp(x) - 1)`` elsewhere."""
    return _maybe_inplace(input, input.elu(alpha), inplace)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """``x * Phi(x)`` with ``Phi`` the standard normal CDF; ``approximate='tanh'`` uses
    ``0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x**3)))``."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    if not input.is_floating_point():
        raise NotImplementedError(f"\"GeluKernelImpl\" not implemented for '{_type_name(input.dtype)}'")
    return input.gelu(approximate=approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * sigmoid(x)``."""
    return _maybe_inplace(input, input.silu(), inplace)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta * x)) / beta``, linear where ``beta * x > threshold``."""
    return input.softplus(beta, threshold)


def sigmoid(input: Tensor) -> Tensor:
    """``1 / (1 + exp(-input))`` element-wise."""
    return input.sigmoid()


def tanh(input: Tensor) -> Tensor:
    """Hyperbolic tangent element-wise."""
    return input.tanh()


def softmax(
    input: Tensor, dim: Optional[int] = None, _stacklevel: int = 3, dtype: Any = None
) -> Tensor:
    """Softmax along ``dim`` (after casting to ``dtype`` when given).  Omitting ``dim`` is
    deprecated and picks PyTorch's legacy default with a warning."""
    if dim is None:
        dim = _get_softmax_dim("softmax", input.dim(), _stacklevel)
    if dtype is not None:
        input = input.to(dtype)
    return input.softmax(dim)


def log_softmax(
    input: Tensor, dim: Optional[int] = None, _stacklevel: int = 3, dtype: Any = None
) -> Tensor:
    """``log(softmax(input, dim))`` computed stably."""
    if dim is None:
        dim = _get_softmax_dim("log_softmax", input.dim(), _stacklevel)
    if dtype is not None:
        input = input.to(dtype)
    return input.log_softmax(dim)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """In training, zero each element with probability ``p`` and scale survivors by
    ``1 / (1 - p)``; otherwise return ``input`` unchanged (the C++ ``ops::dropout``)."""
    if inplace and training and p != 0.0:
        # The same mask, applied in place: dropout of ones is the scaled keep mask.
        return input.mul_(chaingrad._C._dropout(chaingrad.ones_like(input), p, True))
    return chaingrad._C._dropout(input, p, training)


# ---------------------------------------------------------------------------- losses
def l1_loss(
    input: Tensor,
    target: Tensor,
    size_average: Optional[bool] = None,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
    weight: Optional[Tensor] = None,
) -> Tensor:
    """Absolute error ``|input - target|``, reduced; with ``weight`` (same shape as input),
    ``mean`` is ``sum(w * err) / sum(w)``."""
    _warn_size_mismatch(input, target)
    err = (input - target).abs()
    return _weighted_pointwise(err, input, reduction, size_average, reduce, weight)


def mse_loss(
    input: Tensor,
    target: Tensor,
    size_average: Optional[bool] = None,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
    weight: Optional[Tensor] = None,
) -> Tensor:
    """Squared error ``(input - target)**2``, reduced; with ``weight`` (same shape as input),
    ``mean`` is ``sum(w * err) / sum(w)``."""
    _warn_size_mismatch(input, target)
    input, target = _loss_operands(input, target, "mse_cpu")
    if weight is None and size_average is None and reduce is None and input.shape == target.shape:
        return chaingrad._C._mse_loss(input, target, _resolve_reduction(None, None, reduction))
    diff = input - target
    return _weighted_pointwise(diff * diff, input, reduction, size_average, reduce, weight)


def _category(dtype: Any) -> int:
    """bool < integer < floating point: PyTorch refuses to cast a result to a lower category."""
    return 2 if dtype.is_floating_point else 0 if dtype == chaingrad.bool else 1


def _loss_operands(
    input: Tensor, target: Tensor, kernel: str, out_dtype: Any = None
) -> Tuple[Tensor, Tensor]:
    """Input and target cast to their promoted dtype, which must be floating point (PyTorch's
    pointwise loss kernels compute in it and have no integer or bool case) and, when the kernel
    writes into `out_dtype`, castable to it."""
    dtype = (input.detach().reshape(-1)[:0] + target.detach().reshape(-1)[:0]).dtype
    if out_dtype is not None and _category(dtype) > _category(out_dtype):
        raise RuntimeError(
            f"result type {_type_name(dtype)} can't be cast to the desired output type {_type_name(out_dtype)}"
        )
    if not dtype.is_floating_point:
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{_type_name(dtype)}'")
    return input.to(dtype), target.to(dtype)


def _weighted_pointwise(
    err: Tensor,
    input: Tensor,
    reduction: str,
    size_average: Optional[bool],
    reduce: Optional[bool],
    weight: Optional[Tensor],
) -> Tensor:
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce)
    if weight is None:
        return _reduce(err, _resolve_reduction(None, None, reduction))
    if _shape(weight) != _shape(input):
        raise ValueError("Weights and input must have the same size.")
    err = err * weight
    if reduction == "none":
        return err
    if reduction == "sum":
        return err.sum()
    if reduction == "mean":
        return err.sum() / weight.sum()
    raise ValueError(f"Invalid reduction mode: {reduction}. Expected one of 'none', 'mean', 'sum'.")


def _check_class_weight(weight: Tensor, n_classes: int, input: Tensor) -> None:
    if weight.dim() != 1 or int(weight.shape[0]) != n_classes:
        raise RuntimeError(
            f"weight tensor should be defined either for all {n_classes} classes or no "
            f"classes but got weight tensor of shape: {_shape(weight)}"
        )
    if weight.dtype != input.dtype:
        raise RuntimeError(
            f"expected scalar type {_type_name(input.dtype)} but found {_type_name(weight.dtype)}"
        )


def _refuse_grad(function: str, **args: Optional[Tensor]) -> None:
    """PyTorch's error for an argument its kernel has no derivative for (class weights ...)
    when it requires grad: silently returning no gradient for it would be a wrong answer."""
    if not chaingrad.is_grad_enabled():
        return
    for name, t in args.items():
        if t is not None and t.requires_grad:
            raise RuntimeError(
                f"The function '{function}' is not differentiable with respect to argument '{name}'. "
                "This input cannot have requires_grad True."
            )


def _check_nll_args(input: Tensor, target: Tensor, weight: Optional[Tensor]) -> int:
    """Validate nll_loss arguments like PyTorch; return the number of classes."""
    ndim = input.dim()
    if ndim < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {ndim})")
    if ndim != 1:
        if target.dim() == 0:
            raise ValueError(
                f"Expected input batch_size ({int(input.shape[0])}) to match target "
                "batch_size (got a 0-d target)."
            )
        if int(input.shape[0]) != int(target.shape[0]):
            raise ValueError(
                f"Expected input batch_size ({int(input.shape[0])}) to match target "
                f"batch_size ({int(target.shape[0])})."
            )
    if target.dtype not in (chaingrad.int64, chaingrad.uint8):
        raise RuntimeError(
            f"expected target dtype to be Long or Byte, but got {_type_name(target.dtype)}"
        )
    if ndim >= 3 and target.dtype != chaingrad.int64:  # PyTorch's 2-d kernel takes Long targets only
        raise RuntimeError(f"expected scalar type Long but found {_type_name(target.dtype)}")
    if not input.is_floating_point():
        kernel = "nll_loss2d_forward_out_frame" if ndim >= 3 else "nll_loss_out_frame"
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{_type_name(input.dtype)}'")
    if ndim == 1:
        if target.dim() > 1 or target.numel() != 1:
            raise RuntimeError(
                f"size mismatch (got input: {_shape(input)}, target: {_shape(target)})"
            )
    elif ndim == 2:
        if target.dim() != 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    else:
        expected = [int(input.shape[0])] + _shape(input)[2:]
        if _shape(target) != expected:
            raise RuntimeError(f"Expected target size {expected}, got {_shape(target)}")
    n_classes = int(input.shape[0 if ndim == 1 else 1])
    if weight is not None:
        _check_class_weight(weight, n_classes, input)
    _refuse_grad("nll_loss_forward", weight=weight)
    return n_classes


def _valid_and_safe_target(
    target: Tensor, ignore_index: int, n_classes: int
) -> Tuple[Tensor, Tensor]:
    """(mask of non-ignored entries, target with ignored entries replaced by class 0);
    raises IndexError for out-of-range targets like PyTorch."""
    valid = target != ignore_index
    bad = valid & ((target < 0) | (target >= n_classes))
    if bool(bad.any()):
        values = target.detach().numpy()[bad.numpy()]
        raise IndexError(f"Target {int(values.reshape(-1)[0])} is out of bounds.")
    safe = chaingrad.where(valid, target, chaingrad.zeros_like(target))
    return valid, safe


def nll_loss(
    input: Tensor,
    target: Tensor,
    weight: Optional[Tensor] = None,
    size_average: Optional[bool] = None,
    ignore_index: int = -100,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood: ``-w[y] * input[n, y]`` for each sample.

    ``input`` holds log-probabilities of shape ``(C,)``, ``(N, C)`` or ``(N, C, d1, ...)``;
    ``target`` holds int64 class indices of shape ``()``, ``(N,)`` or ``(N, d1, ...)``.
    Entries equal to ``ignore_index`` contribute nothing; ``mean`` divides by the total weight
    of the non-ignored entries (NaN when every entry is ignored, like PyTorch).
    """
    reduction = _resolve_reduction(size_average, reduce, reduction)
    n_classes = _check_nll_args(input, target, weight)
    target = target.long()  # uint8 targets index like int64 (PyTorch takes both)
    target_shape = tuple(int(d) for d in target.shape)
    if input.dim() == 1:
        input = input.unsqueeze(0)
        target = target.reshape((1,))
    _valid_and_safe_target(target, ignore_index, n_classes)
    if input.dim() == 2:  # the fused node (NllLossBackward0), as PyTorch's graph shows it
        loss = chaingrad._C._nll_loss(input, target, weight, reduction, ignore_index)
        return loss.reshape(target_shape) if reduction == "none" else loss
    valid, safe = _valid_and_safe_target(target, ignore_index, n_classes)
    picked = input.gather(1, safe.unsqueeze(1)).squeeze(1)
    if weight is None:
        w = valid.to(input.dtype)
    else:
        w = weight.gather(0, safe.reshape((-1,))).reshape(safe.shape) * valid.to(input.dtype)
    loss = -(picked * w)
    if reduction == "none":
        return loss.reshape(target_shape)
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / w.sum()


def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Optional[Tensor] = None,
    size_average: Optional[bool] = None,
    ignore_index: int = -100,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross entropy between logits ``input`` (classes along dim 1, or dim 0 for 1-D input)
    and ``target``.

    * ``target`` of a different shape than ``input``: int64 class indices, computed as
      ``nll_loss(log_softmax(input))`` with ``weight``/``ignore_index``; ``label_smoothing``
      ``e`` mixes in ``e / C`` times the (weighted) sum of ``-log_softmax`` over classes.
    * ``target`` of the same shape: class probabilities (floating point);
      ``label_smoothing`` replaces them by ``t (1 - e) + e / C``; ``mean`` divides by the
      number of samples.
    """
    if not isinstance(input, Tensor):  # inside vmap: its batching rule
        batched = _batched_call("cross_entropy", cross_entropy, (input, target, weight, size_average, ignore_index,
                                                                 reduce, reduction, label_smoothing), {})
        if batched is not NotImplemented:
            return batched
    reduction = _resolve_reduction(size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if input.dim() == 0:
        raise ValueError("Expected 1 or more dimensions (got 0)")
    class_dim = 0 if input.dim() == 1 else 1
    n_classes = int(input.shape[class_dim])
    if weight is not None and input.is_floating_point():  # integer logits fail in log_softmax first
        _check_class_weight(weight, n_classes, input)
    if _shape(input) == _shape(target) and not target.is_floating_point():
        raise RuntimeError(
            "Expected floating point type for target with class probabilities, got "
            f"{_type_name(target.dtype)}"
        )
    if _shape(input) != _shape(target) and input.is_floating_point():
        # Class indices: nll_loss's argument errors (integer logits fail in log_softmax first).
        _check_nll_args(input, target, weight)
    # The computation is the C++ ops::cross_entropy (log_softmax, then nll_loss or the
    # probability form, with label smoothing).
    return chaingrad._C._cross_entropy(input, target, weight, reduction, ignore_index, label_smoothing)


def binary_cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Optional[Tensor] = None,
    size_average: Optional[bool] = None,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
) -> Tensor:
    """``-w (y log(x) + (1 - y) log(1 - x))`` with each log clamped at ``-100`` (PyTorch's
    convention, so saturated probabilities give finite losses and gradients).  ``input`` and
    ``target`` must have the same shape and lie in ``[0, 1]``."""
    reduction = _resolve_reduction(size_average, reduce, reduction)
    if _shape(target) != _shape(input):
        raise ValueError(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}) is deprecated. Please ensure they have the same size."
        )
    if target.dtype != input.dtype:
        raise RuntimeError(f"Found dtype {_type_name(target.dtype)} but expected {_type_name(input.dtype)}")
    if not input.is_floating_point():
        raise NotImplementedError(f"\"binary_cross_entropy\" not implemented for '{_type_name(input.dtype)}'")
    with chaingrad.no_grad():
        if not bool(((input >= 0) & (input <= 1)).all()):
            raise RuntimeError("all elements of input should be between 0 and 1")
        if not bool(((target >= 0) & (target <= 1)).all()):
            raise RuntimeError("all elements of target should be between 0 and 1")
    _refuse_grad("binary_cross_entropy", weight=weight)
    if weight is None or _shape(weight) == _shape(input):
        return chaingrad._C._binary_cross_entropy(input, target, weight, reduction)
    loss = -(target * _clamped_log(input) + (1 - target) * _clamped_log(1 - input))
    loss = loss * weight
    return _reduce(loss, reduction)


def _clamped_log(x: Tensor) -> Tensor:
    """``max(log(x), -100)`` for ``x >= 0`` whose gradient is finite at ``x == 0``: the log
    is evaluated on 1 where ``x == 0`` and the result there replaced by -100."""
    positive = x > 0
    safe = chaingrad.where(positive, x, chaingrad.ones_like(x))
    pos = positive.to(x.dtype)
    return (safe.log() * pos + (pos - 1) * 100.0).clamp(min=-100.0)


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Optional[Tensor] = None,
    size_average: Optional[bool] = None,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
    pos_weight: Optional[Tensor] = None,
) -> Tensor:
    """``-w (p y log(sigmoid(x)) + (1 - y) log(1 - sigmoid(x)))`` computed stably from logits
    ``x``; ``pos_weight`` ``p`` (broadcast along the last dimension) weighs positives."""
    reduction = _resolve_reduction(size_average, reduce, reduction)
    if _shape(target) != _shape(input):
        raise ValueError(
            f"Target size ({target.shape}) must be the same as input size ({input.shape})"
        )
    _refuse_grad("binary_cross_entropy_with_logits", weight=weight, pos_weight=pos_weight)
    if not input.is_floating_point():
        raise NotImplementedError(f"\"log_sigmoid_cpu\" not implemented for '{_type_name(input.dtype)}'")
    if target.dtype == chaingrad.bool:  # PyTorch computes 1 - target first
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. "
                           "Use the `^` or `logical_xor()` operator instead.")
    out_dtype = target.dtype  # PyTorch writes the loss in the target's dtype
    input, target = _loss_operands(input, target, "log_sigmoid_cpu", out_dtype)
    if out_dtype != input.dtype:
        return binary_cross_entropy_with_logits(input, target, weight, None, None, reduction, pos_weight).to(out_dtype)
    if (weight is None or _shape(weight) == _shape(input)) and (
        pos_weight is None or _shape(pos_weight) == _shape(input)
    ):
        return chaingrad._C._binary_cross_entropy_with_logits(input, target, weight, pos_weight, reduction)
    # softplus(-x) = -log(sigmoid(x)) = m + log1p(exp(-x - 2m)) with m = max(-x, 0):
    # exact gradients everywhere (including x == 0) and no overflow.
    m = (-input).clamp(min=0)
    softplus_neg = m + (-input - m * 2).exp().log1p()
    if pos_weight is not None:
        log_weight = (pos_weight - 1) * target + 1
        loss = (1 - target) * input + log_weight * softplus_neg
    else:
        loss = (1 - target) * input + softplus_neg
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)



# ---------------------------------------------------------------------------- normalization, embedding, one_hot
# (in their own file to keep this one short; same helpers, same namespace for users)
from ._functional_norm import (  # noqa: E402
    batch_norm,
    embedding,
    huber_loss,
    layer_norm,
    one_hot,
    smooth_l1_loss,
)

__all__ += ["batch_norm", "embedding", "huber_loss", "layer_norm", "one_hot", "smooth_l1_loss"]
