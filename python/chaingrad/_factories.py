"""Tensor creation: ``tensor``, ``zeros``, ``ones``, ``full``, ``arange``, random tensors, ..."""

from __future__ import annotations

import functools
import numbers
import operator
import warnings
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from . import _C
from ._C import Tensor
from ._device import check_device

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
        if isinstance(s, (float, bool)) or not hasattr(s, "__index__"):
            raise TypeError(f"expected a sequence of integers for the size, got {type(s).__name__}")
        out.append(operator.index(s))
    return tuple(out)


def _finish(t: Tensor, requires_grad: bool) -> Tensor:
    if requires_grad:
        if not t.is_floating_point():
            # PyTorch's factory functions capitalise this message (requires_grad_() does not).
            raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
        t.requires_grad_(True)
    return t


# dtype codes of the promotion lattice Bool < Int64 < Float32 < Float64 (PyTorch's promoteTypes
# restricted to chaingrad's dtypes); a Python float counts as the default dtype (float32 unless
# set_default_dtype chose float64; the 16-bit defaults collect in float32, then narrow).
_CODE_DTYPES = ("bool", "int64", "float32", "float64")
_NP_DTYPES = (np.bool_, np.int64, np.float32, np.float64)
_PY_CODES = {bool: 0, int: 1, float: 2}
_PY_CODES_F64 = {bool: 0, int: 1, float: 3}


def _np_code(dt: np.dtype) -> int:
    if dt.kind == "b":
        return 0
    if dt.kind in "iu":
        return 1
    if dt.kind == "f":
        return 3 if dt.itemsize == 8 else 2
    raise TypeError(f"can't convert np.ndarray of type numpy.{dt.name}. The only supported types are: "
                    "float64, float32, int64, and bool.")


def _tensor_code(dt: Any) -> int:
    """The lattice code of a chaingrad dtype's category (the narrow dtypes count as their category's
    lattice member: the elements are collected in it, then converted to the dtype itself)."""
    if dt == _C.bool:
        return 0
    if not dt.is_floating_point:
        return 1
    return 3 if dt == _C.float64 else 2


def _dtype_code(dtype: Any) -> int:
    """The lattice code of a dtype argument (a chaingrad dtype, float/int/bool, a numpy dtype)."""
    return _tensor_code(_C._empty((0,), dtype).dtype)


# numpy dtypes that are chaingrad dtypes too: tensor() keeps them (others widen along the lattice).
_NATIVE_NP_KINDS = {("b", 1), ("u", 1), ("i", 1), ("i", 2), ("i", 4), ("i", 8), ("f", 2), ("f", 4), ("f", 8)}


def _is_sequence(obj: Any) -> bool:
    if isinstance(obj, (list, tuple, range)):
        return True
    if isinstance(obj, (str, bytes, bytearray, dict, Tensor, np.ndarray, np.generic)):
        return False
    return hasattr(obj, "__len__") and hasattr(obj, "__getitem__")


def _sizes(data: Any) -> List[int]:
    """The shape implied by the first element at every depth (PyTorch's compute_sizes)."""
    sizes: List[int] = []
    obj = data
    while True:
        if isinstance(obj, (Tensor, np.ndarray)):
            sizes.extend(int(s) for s in obj.shape)
            return sizes
        if not _is_sequence(obj):
            return sizes
        n = len(obj)
        sizes.append(n)
        if len(sizes) > 64:
            raise ValueError(f"too many dimensions '{type(obj).__name__}'")
        if n == 0:
            return sizes
        obj = obj[0]


def _scalar_error(obj: Any, code: Optional[int]) -> Exception:
    name = type(obj).__name__
    if isinstance(obj, (complex, np.complexfloating)):
        return TypeError(f"chaingrad has no complex dtypes (got {name}); supported: float32, float64, int64, bool")
    if code is None:  # inferring: nothing to convert to yet
        if isinstance(obj, (str, bytes)):
            return TypeError(f"new(): invalid data type '{name}'")
        return RuntimeError(f"Could not infer dtype of {name}")
    if code >= 2:
        return TypeError(f"must be real number, not {name}")
    return TypeError(f"'{name}' object cannot be interpreted as an integer")


def _store(obj: Any, sizes: List[int], dim: int, flat: list, codes: set, fixed: Optional[int],
           py_codes: dict = _PY_CODES) -> None:
    """Appends the elements of ``obj`` (expected shape ``sizes[dim:]``) to ``flat`` in row-major
    order, and the dtype code of every element to ``codes`` (Python numbers' from ``py_codes``);
    PyTorch's errors for ragged input."""
    ndim = len(sizes)
    if isinstance(obj, (Tensor, np.ndarray)):
        shape = [int(s) for s in obj.shape]
        expected = sizes[dim:]
        if shape != expected:
            for i, (got, want) in enumerate(zip(shape, expected)):
                if got != want:
                    raise ValueError(f"expected sequence of length {want} at dim {dim + i} (got {got})")
            if len(shape) < len(expected):
                raise TypeError("not a sequence")
            raise ValueError("only one element tensors can be converted to Python scalars")
        if isinstance(obj, Tensor):
            if obj.requires_grad and obj.dim() == 0 and not _warned_scalar_grad[0]:
                _warned_scalar_grad[0] = True
                warnings.warn("Converting a tensor with requires_grad=True to a scalar may lead to unexpected "
                              "behavior.\nConsider using tensor.detach() first.", UserWarning, stacklevel=4)
            codes.add(_tensor_code(obj.dtype))
            values = obj.detach().tolist()
        else:
            codes.add(_np_code(obj.dtype))
            values = obj.tolist()
        if isinstance(values, list):
            for _ in range(len(shape) - 1):
                values = [v for row in values for v in row]
            flat.extend(values)
        else:
            flat.append(values)
        return
    if dim == ndim:
        code = py_codes.get(type(obj))
        if code is None:
            if isinstance(obj, np.generic) and obj.dtype.kind in "biuf":
                code = _np_code(obj.dtype)
            elif isinstance(obj, bool):
                code = 0
            elif isinstance(obj, numbers.Integral):
                code = 1
            elif isinstance(obj, numbers.Real):
                code = py_codes[float]
            elif _is_sequence(obj):  # deeper than the first element said: [1, [2, 3]]
                raise _scalar_error(obj, fixed if fixed is not None else max(codes, default=1))
            else:
                raise _scalar_error(obj, fixed)
        codes.add(code)
        flat.append(obj)
        return
    if not _is_sequence(obj):
        raise TypeError("not a sequence")
    n = len(obj)
    if n != sizes[dim]:
        raise ValueError(f"expected sequence of length {sizes[dim]} at dim {dim} (got {n})")
    if dim == ndim - 1:
        # The innermost rows: plain Python numbers take a fast path.
        types = set(map(type, obj))
        if types <= py_codes.keys():
            codes.update(py_codes[t] for t in types)
            flat.extend(obj)
            return
    for item in obj:
        _store(item, sizes, dim + 1, flat, codes, fixed, py_codes)


def tensor(data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """A new tensor (a copy) from a number, nested sequences, a numpy array or a tensor.

    Without ``dtype`` the result has the promoted type of all elements, as in PyTorch: bools give
    bool, ints int64, a Python float the default dtype (float32 unless ``set_default_dtype``
    changed it), numpy float64 scalars/arrays and float64 tensors float64. Ragged input raises
    ``ValueError("expected sequence of length 2 at dim 1 (got 1)")``."""
    check_device(device)
    if isinstance(data, Tensor):
        warnings.warn("To copy construct from a tensor, it is recommended to use sourceTensor.clone().detach() "
                      "or sourceTensor.clone().detach().requires_grad_(True), rather than "
                      "chaingrad.tensor(sourceTensor).", UserWarning, stacklevel=2)
        out = data.detach().clone()
        if dtype is not None:
            out = out.to(dtype)
        return _finish(out, requires_grad)
    if isinstance(data, np.generic) and data.dtype.kind in "biuf":
        data = np.asarray(data)  # a numpy scalar keeps its dtype (np.float16(1) -> float16)
    if isinstance(data, np.ndarray):
        arr = data
        if dtype is None and (arr.dtype.kind, arr.dtype.itemsize) not in _NATIVE_NP_KINDS:
            arr = arr.astype(_NP_DTYPES[_np_code(arr.dtype)], copy=False)
        if not arr.flags.c_contiguous:  # (np.ascontiguousarray would turn a 0-d array into 1-d)
            arr = arr.copy(order="C")
        return _finish(_C._tensor_from_numpy_copy(arr, dtype), requires_grad)
    fixed = None if dtype is None else _dtype_code(dtype)
    sizes = _sizes(data)
    flat: list = []
    codes: set = set()
    default = _C._get_default_dtype()
    py_codes = _PY_CODES_F64 if default == _C.float64 else _PY_CODES
    _store(data, sizes, 0, flat, codes, fixed, py_codes)
    code = fixed if fixed is not None else (max(codes) if codes else py_codes[float])
    try:
        arr = np.array(flat, dtype=_NP_DTYPES[code])
    except OverflowError:
        raise ValueError("Overflow when unpacking long long") from None
    except (TypeError, ValueError) as e:
        bad = next((v for v in flat if not isinstance(v, (numbers.Number, np.generic))), None)
        if bad is not None:
            raise _scalar_error(bad, code) from None
        if code == 1 and any(isinstance(v, float) and v != v for v in flat):
            raise RuntimeError("value cannot be converted to type int64 without overflow") from None
        raise TypeError(str(e)) from None
    if dtype is not None:
        target = dtype
    elif code == 2 and default != _C.float32 and default != _C.float64:  # a 16-bit default
        target = default
    else:
        target = _C.__dict__[_CODE_DTYPES[code]]
    return _finish(_C._tensor_from_numpy_copy(arr.reshape(sizes), target), requires_grad)


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
    return _finish(_C._full(_shape(size), 1.0, dtype), requires_grad)


def full(size: Any, fill_value: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
         **kw: Any) -> Tensor:
    """A tensor filled with ``fill_value`` (dtype inferred from it: int64, the default float dtype or
    bool)."""
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
        dtype = _C.int64 if all(isinstance(v, numbers.Integral) for v in vals) else None  # None: the default
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
    """Uniform samples on [0, 1) from chaingrad's generator.

    The generator is a std::mt19937_64 per thread (seeded per process from the OS, reset by
    ``manual_seed``); float32 samples use its top 24 bits, float64 its top 53, and ``randn``
    uses Box-Muller. A seed reproduces the same numbers, but not PyTorch's stream."""
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
    """A tensor sharing memory with any object implementing the DLPack protocol (numpy arrays,
    PyTorch tensors, ...) or with a raw ``dltensor`` capsule. Writes are seen on both sides; a
    producer that marks its buffer read-only gets a copy instead."""
    if hasattr(ext, "__dlpack__"):
        if hasattr(ext, "__dlpack_device__"):
            device_type, _ = ext.__dlpack_device__()
            if int(device_type) != 1:  # kDLCPU
                raise RuntimeError(f"from_dlpack: chaingrad only supports CPU tensors (DLPack device type "
                                   f"{int(device_type)})")
        try:
            capsule = ext.__dlpack__(max_version=(1, 0))
        except TypeError:  # a producer that predates DLPack 1.0 keywords
            capsule = ext.__dlpack__()
    else:
        capsule = ext
    if type(capsule).__name__ != "PyCapsule":
        raise TypeError(f"from_dlpack: expected an object with __dlpack__ or a DLPack capsule, got "
                        f"{type(ext).__name__}")
    return _C._from_dlpack_capsule(capsule)


def _unused(*a: Sequence[Any]) -> None:
    return None


# ---- devices: every factory accepts device= (a str or chaingrad.device) and refuses non-CPU ones
def _checks_device(fn: Any) -> Any:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        check_device(kwargs.get("device"))
        return fn(*args, **kwargs)

    return wrapper


for _name in ("as_tensor", "empty", "zeros", "ones", "full", "arange", "linspace", "eye", "rand", "randn",
              "randint"):
    if _name in globals():
        globals()[_name] = _checks_device(globals()[_name])
