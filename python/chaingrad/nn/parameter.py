"""``chaingrad.nn.Parameter``: a tensor that a :class:`~chaingrad.nn.Module` registers as a
learnable parameter when assigned as an attribute."""

from __future__ import annotations

from typing import Optional

import chaingrad

__all__ = ["Parameter"]


class Parameter(chaingrad.Tensor):
    """A leaf tensor that modules register automatically as a parameter.

    ``Parameter(data, requires_grad=True)`` shares ``data``'s memory (no copy), exactly as in
    PyTorch; operations on a parameter return ordinary tensors.  ``Parameter()`` with no data
    gives an empty float tensor.
    """

    # If the core ever grows __torch_function__-style subclass dispatch, keep results of ops on
    # a Parameter plain tensors, as PyTorch does.
    _disabled = getattr(getattr(chaingrad, "_C", None), "_disabled_torch_function_impl", None)
    if _disabled is not None:
        __torch_function__ = _disabled
    del _disabled

    def __new__(cls, data: Optional[chaingrad.Tensor] = None, requires_grad: bool = True):
        if data is None:
            data = chaingrad.empty((0,))
        if not isinstance(data, chaingrad.Tensor):
            raise TypeError(
                f"Parameter(): expected a chaingrad.Tensor as data, got {type(data).__name__}"
            )
        return chaingrad.Tensor._make_subclass(cls, data, requires_grad)

    def __init__(self, data: Optional[chaingrad.Tensor] = None, requires_grad: bool = True) -> None:
        # All construction happens in __new__ (through Tensor._make_subclass); the base class's
        # __init__ must not run again with these arguments.
        pass

    def __repr__(self) -> str:
        text = super().__repr__()
        # A core whose repr names the tensor's class would print "Parameter(" here; PyTorch
        # prints a parameter's values as a plain "tensor(".
        own = type(self).__name__ + "("
        if text.startswith(own):
            pad = " " * (len(own) - len("tensor("))
            text = "tensor(" + text[len(own) :].replace("\n" + pad, "\n")
        return "Parameter containing:\n" + text

    def __deepcopy__(self, memo: dict) -> Parameter:
        if id(self) in memo:
            return memo[id(self)]
        result = type(self)(self.detach().clone(), self.requires_grad)
        memo[id(self)] = result
        return result
