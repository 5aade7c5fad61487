"""``chaingrad.optim.Adagrad``: per-coordinate rates from the sum of squared gradients."""

from __future__ import annotations

from typing import Any, Callable, Optional

import chaingrad

from .adam import _next_step
from .optimizer import Optimizer, ParamsT
from .sgd import _check_unsupported

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """PyTorch's Adagrad.

    Per step ``t``: ``g += weight_decay * p``; ``clr = lr / (1 + (t - 1) * lr_decay)``;
    ``s += g²``; ``p -= clr * g / (sqrt(s) + eps)``. ``state[p]`` (created for every
    parameter at construction, as in PyTorch) holds ``step`` and ``sum``, which starts at
    ``initial_accumulator_value``.

    Example::

        >>> opt = chaingrad.optim.Adagrad(model.parameters(), lr=0.1)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        foreach: Optional[bool] = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: Optional[bool] = None,
    ) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(
                f"Invalid initial_accumulator_value value: {initial_accumulator_value}"
            )
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        _check_unsupported(differentiable)
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            eps=eps,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
            fused=fused,
        )
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                state["step"] = chaingrad.tensor(0.0, dtype=chaingrad.float32)
                state["sum"] = chaingrad.full_like(
                    p, float(group["initial_accumulator_value"])
                ).detach()

    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        """Update every parameter that has a gradient; returns ``closure()``'s loss if given."""
        loss = self._run_closure(closure)
        with chaingrad.no_grad():
            for group in self.param_groups:
                lr, lr_decay, eps = group["lr"], group["lr_decay"], group["eps"]
                weight_decay = group["weight_decay"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    grad = -p.grad if group["maximize"] else p.grad
                    state = self.state[p]
                    if len(state) == 0:  # a parameter added after construction
                        state["step"] = chaingrad.tensor(0.0, dtype=chaingrad.float32)
                        state["sum"] = chaingrad.full_like(
                            p, float(group["initial_accumulator_value"])
                        ).detach()
                    step = _next_step(state)
                    if weight_decay != 0:
                        grad = grad + p * weight_decay
                    clr = lr / (1 + (step - 1) * lr_decay)
                    state_sum = state["sum"]
                    state_sum.add_(grad * grad)
                    std = state_sum.sqrt().add_(eps)
                    p.add_(grad / std * -clr)
        return loss
