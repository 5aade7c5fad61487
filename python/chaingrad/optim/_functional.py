"""Per-parameter optimizer updates.

Each optimizer updates each parameter through exactly one call: :func:`sgd_step_` or
:func:`adam_step_`.  Those call the fused compiled kernels ``chaingrad._C._sgd_step_`` /
``chaingrad._C._adam_step_`` (same arguments, same order) when the core provides them, and
otherwise an equivalent composition of tensor operations.  All tensors are updated in place;
callers run them under :func:`chaingrad.no_grad`.
"""

from __future__ import annotations

import math
from typing import Callable, Optional

import chaingrad

Tensor = chaingrad.Tensor

__all__ = ["adam_step_", "sgd_step_"]

#: Set to False to force the pure-Python reference implementations (used by tests to check
#: the compiled kernels against them).
USE_FUSED_KERNELS = True


def _kernel(name: str) -> Optional[Callable[..., None]]:
    if not USE_FUSED_KERNELS:
        return None
    return getattr(getattr(chaingrad, "_C", None), name, None)


def sgd_step_(
    param: Tensor,
    grad: Tensor,
    momentum_buffer: Optional[Tensor],
    lr: float,
    momentum: float,
    dampening: float,
    nesterov: bool,
    weight_decay: float,
    maximize: bool,
    first_step: bool,
) -> None:
    """One SGD update of ``param`` in place (PyTorch's algorithm).

    Kernel contract (``chaingrad._C._sgd_step_``, positional, this order)::

        g = -grad if maximize else grad
        if weight_decay != 0: g = g + weight_decay * param
        if momentum != 0:
            if first_step: buf = g                       # buffer initialised to a copy of g
            else:          buf = momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        param = param - lr * g

    ``momentum_buffer`` is a tensor shaped like ``param``, allocated by the caller and updated
    in place (its contents are ignored and overwritten when ``first_step`` is true), or
    ``None`` when ``momentum == 0``.  ``grad`` is never modified.  ``lr``, ``momentum``,
    ``dampening`` and ``weight_decay`` are Python floats; ``nesterov``, ``maximize`` and
    ``first_step`` are bools.
    """
    kernel = _kernel("_sgd_step_")
    if kernel is not None:
        kernel(
            param,
            grad,
            momentum_buffer,
            float(lr),
            float(momentum),
            float(dampening),
            bool(nesterov),
            float(weight_decay),
            bool(maximize),
            bool(first_step),
        )
        return
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g + param * weight_decay
    if momentum != 0:
        if momentum_buffer is None:
            raise ValueError("sgd_step_: momentum != 0 needs a momentum buffer")
        if first_step:
            momentum_buffer.copy_(g)
        else:
            momentum_buffer.mul_(momentum).add_(g * (1.0 - dampening))
        g = g + momentum_buffer * momentum if nesterov else momentum_buffer
    param.add_(g * -lr)


def adam_step_(
    param: Tensor,
    grad: Tensor,
    exp_avg: Tensor,
    exp_avg_sq: Tensor,
    max_exp_avg_sq: Optional[Tensor],
    step: int,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    amsgrad: bool,
    decoupled_weight_decay: bool,
    maximize: bool,
) -> None:
    """One Adam / AdamW update of ``param`` in place (PyTorch's algorithm).

    Kernel contract (``chaingrad._C._adam_step_``, positional, this order); ``step`` is the
    1-based count of this update (already incremented by the caller)::

        g = -grad if maximize else grad
        if weight_decay != 0:
            if decoupled_weight_decay: param = param * (1 - lr * weight_decay)    # AdamW
            else:                      g = g + weight_decay * param               # Adam (L2)
        exp_avg    = beta1 * exp_avg    + (1 - beta1) * g
        exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * g * g
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        if amsgrad:
            max_exp_avg_sq = maximum(max_exp_avg_sq, exp_avg_sq)
            denom = sqrt(max_exp_avg_sq) / sqrt(bias_correction2) + eps
        else:
            denom = sqrt(exp_avg_sq) / sqrt(bias_correction2) + eps
        param = param - (lr / bias_correction1) * exp_avg / denom

    ``exp_avg``, ``exp_avg_sq`` and (with ``amsgrad``) ``max_exp_avg_sq`` are tensors shaped
    like ``param``, zero-initialised by the caller before step 1 and updated in place;
    ``max_exp_avg_sq`` is ``None`` when ``amsgrad`` is false.  ``grad`` is never modified.
    """
    kernel = _kernel("_adam_step_")
    if kernel is not None:
        kernel(
            param,
            grad,
            exp_avg,
            exp_avg_sq,
            max_exp_avg_sq,
            int(step),
            float(lr),
            float(beta1),
            float(beta2),
            float(eps),
            float(weight_decay),
            bool(amsgrad),
            bool(decoupled_weight_decay),
            bool(maximize),
        )
        return
    g = -grad if maximize else grad
    if weight_decay != 0:
        if decoupled_weight_decay:
            param.mul_(1.0 - lr * weight_decay)
        else:
            g = g + param * weight_decay
    exp_avg.mul_(beta1).add_(g * (1.0 - beta1))
    exp_avg_sq.mul_(beta2).add_(g * g * (1.0 - beta2))
    bias_correction1 = 1.0 - beta1**step
    bias_correction2_sqrt = math.sqrt(1.0 - beta2**step)
    if amsgrad:
        if max_exp_avg_sq is None:
            raise ValueError("adam_step_: amsgrad needs max_exp_avg_sq")
        max_exp_avg_sq.copy_(chaingrad.maximum(max_exp_avg_sq, exp_avg_sq))
        second = max_exp_avg_sq
    else:
        second = exp_avg_sq
    denom = second.sqrt() / bias_correction2_sqrt + eps
    param.add_(exp_avg / denom * (-lr / bias_correction1))
