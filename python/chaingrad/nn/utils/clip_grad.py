"""Gradient clipping: rescale gradients by their total norm, or clamp them elementwise."""

from __future__ import annotations

from typing import Iterable, List, Optional, Union

import chaingrad

Tensor = chaingrad.Tensor
TensorOrTensors = Union[Tensor, Iterable[Tensor]]

__all__ = ["clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "get_total_norm"]


def _as_list(tensors: TensorOrTensors) -> List[Tensor]:
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def _grads(parameters: TensorOrTensors) -> List[Tensor]:
    return [p.grad for p in _as_list(parameters) if p.grad is not None]


def get_total_norm(
    tensors: TensorOrTensors,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: Optional[bool] = None,
) -> Tensor:
    """The ``norm_type``-norm of all ``tensors`` together, as if concatenated into one vector
    (``inf`` for the largest absolute value). Returns a 0-d tensor (``tensor(0.)`` if empty).

    Raises ``RuntimeError`` for a NaN or infinite norm when ``error_if_nonfinite``.
    """
    items = _as_list(tensors)
    norm_type = float(norm_type)
    if not items:
        return chaingrad.tensor(0.0)
    with chaingrad.no_grad():
        norms = [t.detach().norm(p=norm_type) for t in items]
        dtype = norms[0].dtype
        total = chaingrad.stack([n.to(dtype) for n in norms]).norm(p=norm_type)
    if error_if_nonfinite and (bool(total.isnan().item()) or bool(total.isinf().item())):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is "
            "non-finite, so it cannot be clipped. To disable this error and scale the "
            "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    return total


def clip_grads_with_norm_(
    parameters: TensorOrTensors,
    max_norm: float,
    total_norm: Tensor,
    foreach: Optional[bool] = None,
) -> None:
    """Scale the gradients of ``parameters`` in place by ``min(1, max_norm / (total_norm +
    1e-6))``."""
    grads = _grads(parameters)
    if not grads:
        return
    with chaingrad.no_grad():
        coef = (float(max_norm) / (total_norm + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(coef.to(g.dtype))


def clip_grad_norm_(
    parameters: TensorOrTensors,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: Optional[bool] = None,
) -> Tensor:
    """Rescale the gradients of ``parameters`` in place so that their total norm is at most
    ``max_norm``.

    Args:
        parameters: a tensor or an iterable of tensors whose ``.grad`` is clipped.
        max_norm: the largest allowed total norm.
        norm_type: the p of the p-norm (``float("inf")`` for the largest absolute value).
        error_if_nonfinite: raise ``RuntimeError`` if the total norm is NaN or infinite.
        foreach: accepted for compatibility (the loop is the same either way).

    Returns:
        The total norm of the gradients before clipping (a 0-d tensor).

    Example::

        >>> loss.backward()
        >>> chaingrad.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        >>> optimizer.step()
    """
    params = _as_list(parameters)
    total = get_total_norm(_grads(params), norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(params, max_norm, total, foreach)
    return total


def clip_grad_value_(
    parameters: TensorOrTensors, clip_value: float, foreach: Optional[bool] = None
) -> None:
    """Clamp the gradients of ``parameters`` in place to ``[-clip_value, clip_value]``."""
    clip_value = float(clip_value)
    with chaingrad.no_grad():
        for g in _grads(parameters):
            g.clamp_(min=-clip_value, max=clip_value)
