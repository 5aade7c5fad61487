"""The Python face of ``chaingrad.Tensor``: methods written in Python are attached here to the
native class (repr, backward, hooks, conversions, keyword aliases), so every tensor the core
returns has them."""

from __future__ import annotations

import warnings
from typing import Any, Callable, Iterator, Optional

from . import _C, _tensor_str
from ._C import Tensor
from ._size import Size

_IMPLICIT_DTYPES = {"int64", "bool"}  # never printed; nor is the default float dtype
_LEGACY_TYPE_NAMES = {
    "float32": "chaingrad.FloatTensor", "float64": "chaingrad.DoubleTensor", "float16": "chaingrad.HalfTensor",
    "bfloat16": "chaingrad.BFloat16Tensor", "int64": "chaingrad.LongTensor", "int32": "chaingrad.IntTensor",
    "int16": "chaingrad.ShortTensor", "int8": "chaingrad.CharTensor", "uint8": "chaingrad.ByteTensor",
    "bool": "chaingrad.BoolTensor",
}
_NODE_CLASSES: dict = {}


def _node_class(name: str) -> type:
    """A Python subclass of the native node type named like PyTorch's (``MulBackward0``)."""
    cls = _NODE_CLASSES.get(name)
    if cls is None:
        cls = type(name, (_C.Node,), {"__slots__": (), "__module__": "chaingrad.autograd"})
        _NODE_CLASSES[name] = cls
    return cls


def _named_node(node: Any) -> Any:
    if node is not None:
        cls = _node_class(node.name())
        if type(node) is not cls:
            node.__class__ = cls
    return node


def _node_getattr(self: Any, name: str) -> Any:
    if name.startswith("_saved_"):
        key = name[len("_saved_"):]
        if key in self._saved_names():
            return self._saved_value(key)  # only this value: a freed tensor raises, numbers stay
    raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")


def _node_next_functions(self: Any) -> tuple:
    return tuple((_named_node(n), i) for n, i in _C.Node._raw_next_functions.__get__(self))


_C.Node._raw_next_functions = _C.Node.next_functions
_C.Node.next_functions = property(_node_next_functions)
_C.Node.__getattr__ = _node_getattr
_C.Node.__dir__ = lambda self: list(object.__dir__(self)) + [f"_saved_{k}" for k in self._saved_names()]
_C.Node.__repr__ = lambda self: f"<{type(self).__name__} object at {hex(id(self))}>"


# ---- properties --------------------------------------------------------------------------------
def _shape(self: Tensor) -> Size:
    return tuple.__new__(Size, self._shape)  # the core gives ints: skip validation


def _size(self: Tensor, dim: Optional[int] = None) -> Any:
    if dim is None:
        return tuple.__new__(Size, self._shape)  # the core gives ints: skip validation
    if isinstance(dim, bool) or not isinstance(dim, int):
        if not hasattr(dim, "__index__") or isinstance(dim, (float, Tensor)):
            raise TypeError(f"size(): argument 'dim' (position 1) must be int, not {type(dim).__name__}")
        dim = dim.__index__()
    n = len(self._shape)
    if n == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return self._shape[dim]


def _get_grad(self: Tensor) -> Optional[Tensor]:
    g = self._grad
    if g is None and not self.is_leaf and not self.retains_grad and self.requires_grad:
        warnings.warn(
            "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad attribute "
            "won't be populated during autograd.backward(). If you indeed want the .grad field to be populated "
            "for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. If you access the non-leaf "
            "Tensor by mistake, make sure you access the leaf Tensor instead. See "
            "github.com/pytorch/pytorch/pull/30531 for more information.", UserWarning, stacklevel=2)
    return g


def _set_grad(self: Tensor, value: Optional[Tensor]) -> None:
    self._grad = value


def _grad_fn(self: Tensor) -> Any:
    return _named_node(_C.Tensor._raw_grad_fn.__get__(self))


from ._device import CPU as _CPU  # noqa: E402
from ._device import check_device as _check_device  # noqa: E402
from ._device import device as _Device  # noqa: E402


# ---- repr ----------------------------------------------------------------------------------------
def _repr(self: Tensor, *, tensor_contents: Any = None) -> str:
    values = self._values_array()  # bfloat16 has no numpy dtype: its values come as float32
    dtype = str(self.dtype).split(".")[-1]
    suffixes = []
    fn = self.grad_fn
    if fn is not None:
        suffixes.append(f"grad_fn=<{fn.name()}>")
    elif self.requires_grad:
        suffixes.append("requires_grad=True")
    default = str(_C._get_default_dtype()).split(".")[-1]
    implicit = dtype in _IMPLICIT_DTYPES or dtype == default
    return _tensor_str.format_tensor(values, dtype_name=dtype, is_default_dtype=implicit, suffixes=suffixes,
                                     module_name="chaingrad", default_dtype_name=default)


# ---- autograd ------------------------------------------------------------------------------------
def _backward(self: Tensor, gradient: Optional[Tensor] = None, retain_graph: Optional[bool] = None,
              create_graph: bool = False, inputs: Any = None) -> None:
    """Compute the gradient of this tensor with respect to the graph leaves.

    The gradients are accumulated (added) into the ``.grad`` of every leaf that requires grad;
    see :func:`chaingrad.autograd.backward`.

    Args:
        gradient: the "vector" of the vector-Jacobian product, shaped like this tensor; may be
            omitted only for a scalar (one element) tensor.
        retain_graph: keep the graph for another backward pass (defaults to ``create_graph``).
        create_graph: record the backward computation so the gradients can be differentiated
            again.
        inputs: accumulate only into these tensors instead of all leaves.

    Returns:
        None.

    Example::

        >>> x = chaingrad.tensor([1.0, 2.0], requires_grad=True)
        >>> (x ** 2).sum().backward()
        >>> x.grad
        tensor([2., 4.])
    """
    from .autograd import backward

    backward(self, gradient, retain_graph, create_graph, inputs=inputs)


def _register_hook(self: Tensor, hook: Callable[[Tensor], Optional[Tensor]]) -> Any:
    """Registers ``hook(grad)``, called with this tensor's gradient; it may return a replacement."""
    return _C._register_tensor_hook(self, hook)


def _register_post_accumulate_grad_hook(self: Tensor, hook: Callable[[Tensor], None]) -> Any:
    """Registers ``hook(tensor)``, called after the gradient was accumulated into ``.grad``."""
    return _C._register_post_accumulate_grad_hook(self, hook)


# ---- conversions ---------------------------------------------------------------------------------
def _to(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
    dtype = kwargs.get("dtype")
    copy = kwargs.get("copy", False)
    for a in args:
        if isinstance(a, Tensor):  # first: `a in (float, ...)` would compare elementwise
            dtype = a.dtype
        elif isinstance(a, _C.dtype) or a is float or a is int or a is bool:
            dtype = a
        elif isinstance(a, (str, _Device)):
            _check_device(a)
        elif a is None:
            pass
        else:
            raise TypeError(f"to() received an invalid combination of arguments: {a!r}")
    if kwargs.get("device") is not None:
        _check_device(kwargs["device"])
    out = self if dtype is None else self._to_dtype(dtype)
    return out.clone() if copy and out is self else out


def _iter(self: Tensor) -> Iterator[Tensor]:
    if self.dim() == 0:
        raise TypeError("iteration over a 0-d tensor")
    return (self[i] for i in range(self._shape[0]))


def _len(self: Tensor) -> int:
    if self.dim() == 0:
        raise TypeError("len() of a 0-d tensor")
    return self._shape[0]


def _bool(self: Tensor) -> bool:
    n = self.numel()
    if n == 0:
        raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
    if n > 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return bool(self.item())


def _scalar_value(self: Tensor) -> Any:
    if self.numel() != 1:
        raise ValueError("only one element tensors can be converted to Python scalars")
    return self.item()


def _float(self: Tensor) -> float:
    return float(_scalar_value(self))


def _int(self: Tensor) -> int:
    return int(_scalar_value(self))


def _index(self: Tensor) -> int:
    if self.is_floating_point() or self.numel() != 1:
        raise TypeError("only integer tensors of a single element can be converted to an index")
    return int(self.item())


def _format(self: Tensor, spec: str) -> str:
    if self.dim() == 0:
        return format(self.item(), spec)
    return object.__format__(self, spec) if not spec else format(str(self), spec)


def _deepcopy(self: Tensor, memo: dict) -> Tensor:
    if id(self) in memo:
        return memo[id(self)]
    out = self.detach().clone()  # a detached tensor's clone records nothing: no grad-mode switch needed
    if self.is_leaf:
        out.requires_grad_(self.requires_grad)
    if self._grad is not None:
        out._grad = self._grad.detach().clone()
    memo[id(self)] = out
    return out


def _reduce_ex(self: Tensor, protocol: int) -> Any:
    dtype = str(self.dtype).split(".")[-1]
    return (_rebuild, (self._values_array().copy(), self.requires_grad, dtype))


def _rebuild(values: Any, requires_grad: bool, dtype: Optional[str] = None) -> Tensor:
    t = _C._tensor_from_numpy_copy(values, None if dtype is None else getattr(_C, dtype))
    if requires_grad:
        t.requires_grad_(True)
    return t


def _make_subclass(cls: type, data: Tensor, require_grad: bool = False) -> Tensor:
    """A ``cls`` instance sharing ``data``'s memory (how ``nn.Parameter`` is built)."""
    obj = Tensor.__new__(cls)
    Tensor.__init__(obj, data.detach(), bool(require_grad))
    return obj


def _type(self: Tensor, dtype: Any = None) -> Any:
    if dtype is None:
        return _LEGACY_TYPE_NAMES[str(self.dtype).split(".")[-1]]
    return self.to(dtype)


def _new_factory(kind: str) -> Callable[..., Tensor]:
    def f(self: Tensor, *size: Any, dtype: Any = None, requires_grad: bool = False, **kw: Any) -> Tensor:
        from . import _factories

        dt = self.dtype if dtype is None else dtype
        if kind == "tensor":
            return _factories.tensor(size[0], dtype=dt, requires_grad=requires_grad)
        if kind == "full":
            shape, value = size[0], size[1]
            return _factories.full(shape, value, dtype=dt, requires_grad=requires_grad)
        return getattr(_factories, kind)(*size, dtype=dt, requires_grad=requires_grad)

    f.__name__ = f"new_{kind}"
    return f


# Keyword aliases numpy users write (axis=, keepdims=) on reductions.
def _with_axis_alias(method: Callable[..., Any]) -> Callable[..., Any]:
    def f(self: Tensor, *args: Any, **kwargs: Any) -> Any:
        if "axis" in kwargs:
            kwargs["dim"] = kwargs.pop("axis")
        if "keepdims" in kwargs:
            kwargs["keepdim"] = kwargs.pop("keepdims")
        if isinstance(kwargs.get("dim"), list):
            kwargs["dim"] = tuple(kwargs["dim"])
        return method(self, *args, **kwargs)

    f.__name__ = method.__name__
    f.__doc__ = method.__doc__
    return f


def _with_ndarray(tensor: Tensor, array: Any) -> tuple:
    """Operands for ``tensor <op> array`` (either order): the array as a tensor and both cast to
    numpy's promoted dtype, which is the dtype PyTorch's results have (there numpy computes
    the mix). chaingrad's nearest dtype stands in for ones it lacks (int32 -> int64...)."""
    import numpy as np

    from ._factories import as_tensor

    other = as_tensor(array)
    kind = np.result_type(np.dtype(str(tensor.dtype).rsplit(".", 1)[-1]), array.dtype)
    if kind == np.bool_:
        name = "bool"
    elif kind.kind in "iu":
        name = "int64"
    elif kind.kind == "f":
        name = "float64" if kind.itemsize >= 8 else "float32"
    else:
        return tensor, other
    target = getattr(_C, name)
    if tensor.dtype != target:
        tensor = tensor.to(target)
    if other.dtype != target:
        other = other.to(target)
    return tensor, other


from ._device import strided as _strided  # noqa: E402


def install() -> None:
    """Attaches the Python-level methods to the native class."""
    T = Tensor
    T._raw_grad_fn = T.grad_fn
    T.grad_fn = property(_grad_fn)
    T.shape = property(_shape)
    T.size = _size
    T.grad = property(_get_grad, _set_grad)
    T.device = property(lambda self: _CPU)
    T.is_cuda = property(lambda self: False)
    T.cuda = lambda self, *a, **k: _check_device("cuda")
    T.layout = property(lambda self: _strided)
    T.__repr__ = _repr
    T.__str__ = lambda self: self.__repr__()  # so subclasses' __repr__ (Parameter) prints too
    T.backward = _backward
    _backward.__name__, _backward.__qualname__ = "backward", "Tensor.backward"  # help() title
    T.register_hook = _register_hook
    T.register_post_accumulate_grad_hook = _register_post_accumulate_grad_hook
    T.to = _to
    T.cpu = lambda self: self
    T.__iter__ = _iter
    T.__len__ = _len
    T.__bool__ = _bool
    T.__float__ = _float
    T.__int__ = _int
    T.__index__ = _index
    T.__format__ = _format
    T.__deepcopy__ = _deepcopy
    T.__reduce_ex__ = _reduce_ex
    T.__array_priority__ = 1000
    T._make_subclass = staticmethod(_make_subclass)
    T.type = _type
    T._base = property(lambda self: self._base_tensor())
    for kind in ("zeros", "ones", "empty", "full", "tensor"):
        setattr(T, f"new_{kind}", _new_factory(kind))
    for name in ("sum", "mean", "cumsum", "cumprod", "prod", "max", "min", "amax", "amin", "argmax", "argmin",
                 "var", "std", "norm", "any", "all", "logsumexp", "softmax", "log_softmax", "squeeze"):
        setattr(T, name, _with_axis_alias(getattr(T, name)))
