"""``chaingrad.optim.Adam`` and ``AdamW``."""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Tuple

import chaingrad

from ._functional import adam_step_
from .optimizer import Optimizer, ParamsT
from .sgd import _check_unsupported

__all__ = ["Adam", "AdamW"]


def _next_step(state: Dict[str, Any]) -> int:
    """Increment ``state["step"]`` (a 0-d float32 tensor, as in PyTorch) and return the new
    count as an int."""
    step_t = state["step"]
    if isinstance(step_t, chaingrad.Tensor):
        step = int(step_t.item()) + 1
        step_t.fill_(float(step))
    else:  # a plain number from a hand-made state dict
        step = int(step_t) + 1
        state["step"] = chaingrad.tensor(float(step), dtype=chaingrad.float32)
    return step


class Adam(Optimizer):
    """PyTorch's Adam (see :func:`chaingrad.optim._functional.adam_step_` for the update).

    ``state[p]`` holds ``step`` (0-d float32 tensor), ``exp_avg``, ``exp_avg_sq`` and, with
    ``amsgrad``, ``max_exp_avg_sq``.  ``weight_decay`` is an L2 penalty added to the gradient
    unless ``decoupled_weight_decay=True`` (which is :class:`AdamW`).  ``foreach``/``fused``/
    ``capturable`` are accepted for compatibility and have no effect.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: Tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        foreach: Optional[bool] = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: Optional[bool] = None,
        decoupled_weight_decay: bool = False,
    ) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        _check_unsupported(differentiable)
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
            decoupled_weight_decay=decoupled_weight_decay,
            # Recorded (unused) so param groups, reprs and state dicts have PyTorch's keys.
            foreach=foreach,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
        )
        super().__init__(params, defaults)

    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        """Update every parameter that has a gradient; returns ``closure()``'s loss if given."""
        loss = self._run_closure(closure)
        with chaingrad.no_grad():
            for group in self.param_groups:
                beta1, beta2 = group["betas"]
                lr = group["lr"]
                eps = group["eps"]
                weight_decay = group["weight_decay"]
                amsgrad = group["amsgrad"]
                maximize = group["maximize"]
                decoupled = group.get("decoupled_weight_decay", False)
                for p in group["params"]:
                    grad = p.grad
                    if grad is None:
                        continue
                    state = self.state[p]
                    if len(state) == 0:
                        state["step"] = chaingrad.tensor(0.0, dtype=chaingrad.float32)
                        state["exp_avg"] = chaingrad.zeros_like(p)
                        state["exp_avg_sq"] = chaingrad.zeros_like(p)
                    max_sq = None
                    if amsgrad:
                        max_sq = state.get("max_exp_avg_sq")
                        if max_sq is None:
                            max_sq = chaingrad.zeros_like(p)
                            state["max_exp_avg_sq"] = max_sq
                    step = _next_step(state)
                    adam_step_(
                        p,
                        grad,
                        state["exp_avg"],
                        state["exp_avg_sq"],
                        max_sq,
                        step,
                        lr,
                        beta1,
                        beta2,
                        eps,
                        weight_decay,
                        amsgrad,
                        decoupled,
                        maximize,
                    )
        return loss


class AdamW(Adam):
    """Adam with decoupled weight decay (``param *= 1 - lr * weight_decay`` before the Adam
    update); default ``weight_decay=1e-2``."""

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: Tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach: Optional[bool] = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: Optional[bool] = None,
    ) -> None:
        super().__init__(
            params,
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            foreach=foreach,
            maximize=maximize,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            decoupled_weight_decay=True,
        )
