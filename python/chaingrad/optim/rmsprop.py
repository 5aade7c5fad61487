"""``chaingrad.optim.RMSprop``: divide the gradient by a running RMS of recent gradients."""

from __future__ import annotations

from typing import Any, Callable, Optional

import chaingrad

from .adam import _next_step
from .optimizer import Optimizer, ParamsT
from .sgd import _check_unsupported

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """PyTorch's RMSprop.

    Per step: ``g += weight_decay * p``; ``v = alpha * v + (1 - alpha) * g²``; with
    ``centered``, ``m = lerp(m, g, 1 - alpha)`` and ``v̂ = v - m²``; ``d = sqrt(v̂) + eps``;
    with ``momentum``, ``b = momentum * b + g / d`` and ``p -= lr * b``, else ``p -= lr * g / d``.
    ``state[p]`` holds ``step``, ``square_avg`` and, when used, ``momentum_buffer`` and
    ``grad_avg``.

    Example::

        >>> opt = chaingrad.optim.RMSprop(model.parameters(), lr=1e-2, momentum=0.9)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        capturable: bool = False,
        foreach: Optional[bool] = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        _check_unsupported(differentiable)
        defaults = dict(
            lr=lr,
            momentum=momentum,
            alpha=alpha,
            eps=eps,
            centered=centered,
            weight_decay=weight_decay,
            capturable=capturable,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
        )
        super().__init__(params, defaults)

    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        """Update every parameter that has a gradient; returns ``closure()``'s loss if given."""
        loss = self._run_closure(closure)
        with chaingrad.no_grad():
            for group in self.param_groups:
                lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
                momentum, weight_decay = group["momentum"], group["weight_decay"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    grad = -p.grad if group["maximize"] else p.grad
                    state = self.state[p]
                    if len(state) == 0:
                        state["step"] = chaingrad.tensor(0.0, dtype=chaingrad.float32)
                        state["square_avg"] = chaingrad.zeros_like(p)
                        if momentum > 0:
                            state["momentum_buffer"] = chaingrad.zeros_like(p)
                        if group["centered"]:
                            state["grad_avg"] = chaingrad.zeros_like(p)
                    _next_step(state)
                    if weight_decay != 0:
                        grad = grad + p * weight_decay
                    square_avg = state["square_avg"]
                    square_avg.mul_(alpha).add_(grad * (1 - alpha) * grad)
                    if group["centered"]:
                        grad_avg = state["grad_avg"]
                        grad_avg.add_((grad - grad_avg) * (1 - alpha))
                        denom = (square_avg - grad_avg * grad_avg).sqrt_().add_(eps)
                    else:
                        denom = square_avg.sqrt().add_(eps)
                    if momentum > 0:
                        buf = state["momentum_buffer"]
                        buf.mul_(momentum).add_(grad / denom)
                        p.add_(buf * -lr)
                    else:
                        p.add_(grad / denom * -lr)
        return loss
