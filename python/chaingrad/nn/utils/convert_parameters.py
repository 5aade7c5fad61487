"""Flatten parameters into one vector and back."""

from __future__ import annotations

from typing import Iterable

import chaingrad

Tensor = chaingrad.Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All ``parameters`` flattened and concatenated into one 1-d tensor (differentiable).

    Example::

        >>> vec = parameters_to_vector(model.parameters())
    """
    return chaingrad.cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of the 1-d ``vec`` into ``parameters`` (the inverse of
    :func:`parameters_to_vector`); each parameter's ``.data`` is replaced."""
    if not isinstance(vec, Tensor):
        kind = type(vec)
        name = kind.__qualname__ if kind.__module__ == "builtins" else (
            f"{kind.__module__}.{kind.__qualname__}")
        raise TypeError(f"expected torch.Tensor, but got: {name}")
    offset = 0
    for param in parameters:
        n = param.numel()
        param.data = vec[offset : offset + n].view_as(param).data
        offset += n
