"""``chaingrad.optim.SGD``: stochastic gradient descent with momentum, Nesterov momentum,
dampening, weight decay and maximisation."""

from __future__ import annotations

from typing import Any, Callable, Optional

import chaingrad

from ._functional import sgd_step_
from .optimizer import Optimizer, ParamsT

__all__ = ["SGD"]


def _check_unsupported(differentiable: bool) -> None:
    if differentiable:
        raise ValueError("chaingrad.optim does not support differentiable=True")


class SGD(Optimizer):
    """PyTorch's SGD (see :func:`chaingrad.optim._functional.sgd_step_` for the update).

    The momentum buffer lives in ``state[p]["momentum_buffer"]`` and starts as a copy of the
    first (decayed) gradient.  ``foreach``/``fused`` are accepted for compatibility: every
    update already runs as one fused kernel per parameter.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: Optional[bool] = None,
        differentiable: bool = False,
        fused: Optional[bool] = None,
    ) -> None:
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        _check_unsupported(differentiable)
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
            # Recorded (unused) so param groups, reprs and state dicts have PyTorch's keys.
            foreach=foreach,
            differentiable=differentiable,
            fused=fused,
        )
        super().__init__(params, defaults)

    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        """Update every parameter that has a gradient; returns ``closure()``'s loss if given."""
        loss = self._run_closure(closure)
        with chaingrad.no_grad():
            for group in self.param_groups:
                lr = group["lr"]
                momentum = group["momentum"]
                dampening = group["dampening"]
                weight_decay = group["weight_decay"]
                nesterov = group["nesterov"]
                maximize = group["maximize"]
                for p in group["params"]:
                    grad = p.grad
                    if grad is None:
                        continue
                    buf = None
                    first_step = False
                    if momentum != 0:
                        state = self.state[p]
                        buf = state.get("momentum_buffer")
                        if buf is None:
                            buf = chaingrad.zeros_like(p)
                            state["momentum_buffer"] = buf
                            first_step = True
                    sgd_step_(
                        p,
                        grad,
                        buf,
                        lr,
                        momentum,
                        dampening,
                        nesterov,
                        weight_decay,
                        maximize,
                        first_step,
                    )
        return loss
