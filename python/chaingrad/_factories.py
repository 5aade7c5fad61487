"""Tensor creation: ``tensor``, ``zeros``, ``ones``, ``full``, ``arange``, random tensors, ..."""

from __future__ import annotations

import numbers
import warnings
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from . import _C
from ._C import Tensor

__all__ = [
    "arange", "as_tensor", "empty", "empty_like", "eye", "from_dlpack", "full", "full_like", "linspace",
    "ones", "ones_like", "rand", "rand_like", "randint", "randn", "randn_like", "tensor", "zeros", "zeros_like",
]

_warned_scalar_grad = [False]


def _shape(size: Tuple[Any, ...]) -> Tuple[int, ...]:
    if len(size) == 1 and isinstance(size[0], (list, tuple)):
        size = tuple(size[0])
    elif len(size) == 1 and isinstance(size[0], Tensor):
        size = tuple(size[0].tolist())
    out = []
    for s in size:
        if isinstance(s, float) or isinstance(s, bool):
            raise TypeError(f"expected a sequence of integers for the size, got {type(s).__name__}")
        out.append(int(s))
    return tuple(out)


def _finish(t: Tensor, requires_grad: bool) -> Tensor:
    if requires_grad:
        if not t.is_floating_point():
            # PyTorch's factory functions capitalise this message (requires_grad_() does not).
            raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
        t.requires_grad_(True)
    return t


def _flatten(data: Any, shape: List[int], depth: int, flat: list) -> None:
    """Walks nested sequences, checking they are rectangular (PyTorch's ValueError otherwise)."""
    if isinstance(data, Tensor):
        if data.dim() == 0:
            if data.requires_grad and not _warned_scalar_grad[0]:
                _warned_scalar_grad[0] = True
                warnings.warn("Converting a tensor with requires_grad=True to a scalar may lead to unexpected "
                              "behavior.\nConsider using tensor.detach() first.", UserWarning, stacklevel=4)
            flat.append(data.item())
            if depth != len(shape):
                raise ValueError(f"expected sequence of length {shape[depth]} at dim {depth} (got 0)")
            return
        data = data.tolist()
    if isinstance(data, np.ndarray):
        data = data.tolist()
    if isinstance(data, (list, tuple)):
        if depth == len(shape):
            if flat:
                raise ValueError(f"expected sequence of length 0 at dim {depth} (got {len(data)})")
            shape.append(len(data))
        elif shape[depth] != len(data):
            raise ValueError(f"expected sequence of length {shape[depth]} at dim {depth} (got {len(data)})")
        for item in data:
            _flatten(item, shape, depth + 1, flat)
        return
    if depth != len(shape):
        raise TypeError(f"not a sequence at dim {depth}" if False else
                        f"expected sequence of length {shape[depth]} at dim {depth} (got {type(data).__name__})")
    if not isinstance(data, (numbers.Number, np.generic)):
        raise TypeError(f"Could not infer dtype of {type(data).__name__}")
    flat.append(data)


def _infer_dtype(flat: list) -> Any:
    if not flat:
        return _C.float32
    if all(isinstance(v, (bool, np.bool_)) for v in flat):
        return _C.bool
    if all(isinstance(v, (numbers.Integral, np.integer)) for v in flat):
        return _C.int64
    if any(isinstance(v, np.float64) for v in flat) and all(isinstance(v, np.floating) for v in flat):
        return _C.float64
    return _C.float32


def tensor(data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """A new tensor (a copy) from a number, nested sequences, a numpy array or a tensor."""
    if isinstance(data, Tensor):
        warnings.warn("To copy construct from a tensor, it is recommended to use sourceTensor.clone().detach() "
                      "or sourceTensor.clone().detach().requires_grad_(True), rather than "
                      "chaingrad.tensor(sourceTensor).", UserWarning, stacklevel=2)
        out = data.detach().clone()
        if dtype is not None:
            out = out.to(dtype)
        return _finish(out, requires_grad)
    if isinstance(data, np.ndarray):
        arr = data
        if dtype is None and arr.dtype.kind in "iu":
            arr = arr.astype(np.int64)
        elif dtype is None and arr.dtype.kind == "f" and arr.dtype.itemsize < 4:
            arr = arr.astype(np.float32)
        return _finish(_C._tensor_from_numpy_copy(np.ascontiguousarray(arr), dtype), requires_grad)
    shape: List[int] = []
    flat: list = []
    _flatten(data, shape, 0, flat)
    dt = _infer_dtype(flat) if dtype is None else dtype
    np_dtype = {"float32": np.float32, "float64": np.float64, "int64": np.int64, "bool": np.bool_}[
        str(_C.dtype.__repr__(dt) if isinstance(dt, _C.dtype) else _C.float64 if dt is float else
            _C.int64 if dt is int else _C.bool if dt is bool else dt).split(".")[-1]]
    arr = np.array(flat, dtype=np_dtype).reshape(shape)
    return _finish(_C._tensor_from_numpy_copy(arr, dt), requires_grad)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """Like ``tensor`` but shares memory with a tensor or a compatible numpy array."""
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    if isinstance(data, np.ndarray) and dtype is None:
        try:
            return _C.from_numpy(data)
        except TypeError:
            pass
    return tensor(data, dtype=dtype)


def empty(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False, **kw: Any) -> Tensor:
    """An uninitialised tensor."""
    return _finish(_C._empty(_shape(size), dtype), requires_grad)


def zeros(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False, **kw: Any) -> Tensor:
    """A tensor of zeros."""
    return _finish(_C._zeros(_shape(size), dtype), requires_grad)


def ones(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False, **kw: Any) -> Tensor:
    """A tensor of ones."""
    return _finish(_C._full(_shape(size), 1.0, _C.float32 if dtype is None else dtype), requires_grad)


def full(size: Any, fill_value: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
         **kw: Any) -> Tensor:
    """A tensor filled with ``fill_value`` (dtype inferred from it: int64, float32 or bool)."""
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    return _finish(_C._full(_shape((size,)), fill_value, dtype), requires_grad)


def _like(kind: str) -> Any:
    def f(input: Tensor, *args: Any, dtype: Any = None, requires_grad: bool = False, **kw: Any) -> Tensor:
        dt = input.dtype if dtype is None else dtype
        shape = tuple(input.shape)
        if kind == "full":
            return full(shape, args[0] if args else kw["fill_value"], dtype=dt, requires_grad=requires_grad)
        return globals()[kind](shape, dtype=dt, requires_grad=requires_grad)

    f.__name__ = f"{kind}_like"
    f.__doc__ = f"``{kind}`` with the shape (and by default dtype) of ``input``."
    return f


zeros_like = _like("zeros")
ones_like = _like("ones")
empty_like = _like("empty")
full_like = _like("full")
rand_like = _like("rand")
randn_like = _like("randn")


def arange(start: Any, end: Any = None, step: Any = 1, *, dtype: Any = None, device: Any = None,
           requires_grad: bool = False) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive) by ``step``; int64 when all are integers."""
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    if dtype is None:
        dtype = _C.int64 if all(isinstance(v, numbers.Integral) for v in vals) else _C.float32
    return _finish(_C._arange(float(vals[0]), float(vals[1]), float(vals[2]), dtype), requires_grad)


def linspace(start: float, end: float, steps: int, *, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    return _finish(_C._linspace(float(start), float(end), int(steps), dtype), requires_grad)


def eye(n: int, m: Optional[int] = None, *, dtype: Any = None, device: Any = None,
        requires_grad: bool = False) -> Tensor:
    """The identity matrix (n x m)."""
    return _finish(_C._eye(int(n), int(n if m is None else m), dtype), requires_grad)


def rand(*size: Any, dtype: Any = None, generator: Any = None, device: Any = None,
         requires_grad: bool = False, **kw: Any) -> Tensor:
    """Uniform samples on [0, 1) from chaingrad's generator (see ``manual_seed``)."""
    if "size" in kw:
        size = (kw.pop("size"),)
    return _finish(_C._rand(_shape(size), dtype), requires_grad)


def randn(*size: Any, dtype: Any = None, generator: Any = None, device: Any = None,
          requires_grad: bool = False, **kw: Any) -> Tensor:
    """Standard normal samples from chaingrad's generator (see ``manual_seed``)."""
    if "size" in kw:
        size = (kw.pop("size"),)
    return _finish(_C._randn(_shape(size), dtype), requires_grad)


def randint(low: int, high: Any = None, size: Any = None, *, dtype: Any = None, generator: Any = None,
            device: Any = None, requires_grad: bool = False) -> Tensor:
    """Integers uniformly drawn from [low, high)."""
    if size is None:
        low, high, size = 0, low, high
    elif high is None:
        raise TypeError("randint() missing required argument 'size'")
    if isinstance(high, (tuple, list)):
        low, high, size = 0, low, high
    return _finish(_C._randint(int(low), int(high), _shape((size,)), dtype), requires_grad)


def from_dlpack(ext: Any) -> Tensor:
    """A tensor sharing memory with any object implementing the DLPack protocol."""
    capsule = ext.__dlpack__() if hasattr(ext, "__dlpack__") else ext
    return _C._from_dlpack_capsule(capsule)


def _unused(*a: Sequence[Any]) -> None:
    return None
