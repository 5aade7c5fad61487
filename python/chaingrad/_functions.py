"""Module-level forms of tensor methods (``chaingrad.exp(x)`` is ``x.exp()``) and the few
functions that are not methods (``where``, ``allclose``, ...)."""

from __future__ import annotations

import re
import warnings
from typing import Any, Callable, Sequence

import numpy as np

from . import _C
from ._C import Tensor

# The pointwise ops of the unary table (csrc/kernels/unary_ops.h) come from _C; these are the rest.
_METHOD_FUNCTIONS = [
    "add", "all", "amax", "amin", "any", "argmax", "argmin", "atan2", "bmm", "chunk", "clamp", "clone", "cumprod",
    "cumsum", "detach", "diagonal", "div", "dot", "eq", "flatten", "flip", "gather", "ge", "gt", "index_select",
    "isfinite", "isinf", "isnan", "le", "log_softmax", "logical_and", "logical_not", "logical_or", "logical_xor",
    "logsumexp", "lt", "masked_fill", "masked_select", "matmul", "max", "maximum", "mean", "min", "minimum", "mm",
    "mul", "mv", "narrow", "ne", "nonzero", "norm", "numel", "outer", "permute", "prod", "remainder", "repeat",
    "reshape", "scatter", "scatter_add", "select", "signbit", "softmax", "split", "squeeze", "std", "sub", "sum",
    "swapaxes", "t", "transpose", "trace", "unbind", "unsqueeze", "var", "gelu",
] + list(_C._unary_method_names)


_TYPE_NAMES = {"float32": "Float", "float64": "Double", "int64": "Long", "bool": "Bool", "int32": "Int",
               "int16": "Short", "int8": "Char", "uint8": "Byte", "float16": "Half", "bfloat16": "BFloat16"}


def _scalar_type(dtype: Any) -> str:
    short = str(dtype).split(".")[-1]
    return _TYPE_NAMES.get(short, short)


def _category(dtype: Any) -> int:
    short = str(dtype).split(".")[-1]
    return 0 if short == "bool" else 2 if short.startswith(("float", "bfloat")) else 1


def _into_out(name: str, out: Any, operands: tuple, compute: Callable[[], Any]) -> Any:
    """PyTorch's ``out=``: no autograd through it, the result cast to ``out``'s dtype when that
    keeps its category, ``out`` resized (with PyTorch's warning unless it was empty)."""
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if _C.is_grad_enabled() and any(isinstance(t, Tensor) and t.requires_grad for t in (*operands, out)):
        raise RuntimeError(
            f"{name}(): functions with out=... arguments don't support automatic differentiation, but one of the "
            "arguments requires grad."
        )
    result = compute()
    if _category(result.dtype) > _category(out.dtype):
        raise RuntimeError(
            f"result type {_scalar_type(result.dtype)} can't be cast to the desired output type "
            f"{_scalar_type(out.dtype)}"
        )
    if tuple(out.shape) != tuple(result.shape):
        if out.numel() != 0:
            warnings.warn(
                f"An output with one or more elements was resized since it had shape {list(out.shape)}, which does "
                f"not match the required output shape {list(result.shape)}. This behavior is deprecated, and in a "
                "future PyTorch release outputs will not be resized unless they have zero elements. You can "
                "explicitly reuse an out tensor t by resizing it, inplace, to zero elements with t.resize_(0).",
                UserWarning,
                stacklevel=3,
            )
        out.data = _C._empty(tuple(result.shape), out.dtype)
    out.copy_(result)
    return out


_POSITION = re.compile(r"\(position (\d+)\)")


def _batched_call(name: str, fn: Callable[..., Any], args: Sequence[Any], kwargs: dict) -> Any:
    """A module-level function called on a vmap BatchedTensor: its batching rule (chaingrad.func
    ._batched_functions), or NotImplemented when no argument is batched. Only reached once an
    argument is not a plain tensor, so ordinary calls pay nothing."""
    for a in list(args) + list(kwargs.values()):
        hook = getattr(type(a), "__vmap_function__", None)
        if hook is not None:
            return hook(name, fn, tuple(args), dict(kwargs))
    return NotImplemented


def _method_function(name: str) -> Callable[..., Any]:
    method = getattr(Tensor, name)

    def f(input: Any, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(input, Tensor):
            batched = _batched_call(name, f, (input, *args), kwargs)
            if batched is not NotImplemented:
                return batched
            raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(input).__name__}")
        if "out" in kwargs:
            out = kwargs.pop("out")
            if out is not None:
                return _into_out(name, out, (input, *args, *kwargs.values()), lambda: f(input, *args, **kwargs))
        try:
            return method(input, *args, **kwargs)
        except TypeError as e:
            # The method counts positions after self; the function form counts ``input`` too.
            text = str(e)
            if text.startswith(name + "(): argument") and "(position " in text:
                raise TypeError(_POSITION.sub(lambda m: f"(position {int(m.group(1)) + 1})", text, 1)) from None
            raise

    f.__name__ = name
    f.__qualname__ = name
    f.__doc__ = f"Function form of :meth:`Tensor.{name}`."
    return f


def export(namespace: dict) -> None:
    """Defines every method-backed function in ``namespace`` (the package's globals)."""
    for name in _METHOD_FUNCTIONS:
        namespace[name] = _method_function(name)


def where(condition: Tensor, input: Any = None, other: Any = None) -> Any:
    """Elements of ``input`` where ``condition`` holds, else of ``other`` (numbers allowed)."""
    if input is None and other is None:
        return tuple(condition.nonzero().t())
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        dt = _C._get_default_dtype() if isinstance(input, float) or isinstance(other, float) else _C.int64
        input, other = _C._full((), input, dt), _C._full((), other, dt)
    elif not isinstance(input, Tensor):
        input = _C._full((), input, other.dtype if isinstance(input, (int, bool)) or other.is_floating_point()
                         else _C._get_default_dtype())
    elif not isinstance(other, Tensor):
        other = _C._full((), other, input.dtype if isinstance(other, (int, bool)) or input.is_floating_point()
                         else _C._get_default_dtype())
    return _C._where(condition, input, other)


def pow(input: Any, exponent: Any) -> Tensor:  # noqa: A001 - PyTorch's name
    """``input ** exponent``; either side may be a number (``chaingrad.pow(2.0, x)``)."""
    if not isinstance(input, Tensor):
        if not isinstance(exponent, Tensor):
            raise TypeError("pow(): at least one of 'input' and 'exponent' must be a Tensor")
        return exponent.__rpow__(input)
    return input.pow(exponent)


def clip(input: Tensor, min: Any = None, max: Any = None) -> Tensor:
    """Alias of ``clamp``."""
    return input.clamp(min, max)


def allclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    """Whether all elements are close: |a - b| <= atol + rtol * |b|."""
    return bool(np.allclose(input.detach().numpy(), other.detach().numpy(), rtol=rtol, atol=atol, equal_nan=equal_nan))


def isclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
    """Elementwise closeness as a bool tensor."""
    return _C.from_numpy(np.isclose(input.detach().numpy(), other.detach().numpy(), rtol=rtol, atol=atol,
                                    equal_nan=equal_nan))


def equal(input: Tensor, other: Tensor) -> bool:
    """True if both tensors have the same shape and elements."""
    return tuple(input.shape) == tuple(other.shape) and bool((input == other).all())


def is_tensor(obj: Any) -> bool:
    """Whether ``obj`` is a chaingrad tensor."""
    return isinstance(obj, Tensor)


def is_floating_point(input: Tensor) -> bool:
    """Whether the tensor's dtype is float32 or float64."""
    return input.is_floating_point()


def concat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Alias of ``cat``."""
    return _C.cat(tensors, dim)


concatenate = concat
