"""vmap's batching rules: ``BatchedTensor`` carries a whole batch as one physical tensor (batch
dimension first) and presents the per-element ("logical") tensor to the user function. Its tensor
methods and operators are rules that run one op over the whole batch:

- elementwise: unary methods, ``+ - * / **`` and their methods, with plain tensors and numbers
  (broadcasting aligned on the logical shapes);
- ``@``/``matmul``/``mm``/``mv`` (1-D and 2-D logical operands, plain or batched);
- reductions ``sum``, ``mean``, ``softmax``/``log_softmax`` over logical dims;
- shape/view ops ``reshape``/``view``, ``t``, ``transpose``, ``permute``, ``unsqueeze``,
  ``squeeze``, ``flatten``, ``select``, basic indexing (ints, slices, None, Ellipsis);
- ``chaingrad.func.grad`` inside vmap (per-element gradients from one batched backward).

A method without a rule runs once per element and stacks (the per-op loop fallback). A native
function called directly on a batched value (``chaingrad.tanh(x)``, ``F.linear``) cannot see
the batch and raises; vmap then reruns the whole function once per element (the whole-function
loop fallback).
"""

from __future__ import annotations

from typing import Any, List, Sequence, Tuple

from .._C import Tensor
from .._size import wrap_dim


class NoBatchingRule(Exception):
    """Raised where only the whole-function loop can map the function."""


_UNARY = ("tanh", "sigmoid", "relu", "exp", "log", "sin", "cos", "tan", "abs", "sqrt", "rsqrt", "neg", "square",
          "log1p", "expm1", "reciprocal", "sign", "floor", "ceil", "round", "trunc", "erf", "clone", "contiguous",
          "float", "double", "detach", "clamp", "clamp_min", "clamp_max", "to")
_BINARY = {"__add__": "add", "__sub__": "sub", "__mul__": "mul", "__truediv__": "div", "__pow__": "pow",
           "add": "add", "sub": "sub", "mul": "mul", "div": "div", "pow": "pow", "maximum": "maximum",
           "minimum": "minimum", "atan2": "atan2"}
_REFLECTED = {"__radd__": "add", "__rsub__": "sub", "__rmul__": "mul", "__rtruediv__": "div", "__rpow__": "pow"}


def _lift(t: Any, rank: int) -> Any:
    """A physical batched tensor with unit dims inserted after the batch dim up to logical `rank`."""
    for _ in range(rank - (t.dim() - 1)):
        t = t.unsqueeze(1)
    return t


def _align(a: Any, b: Any) -> Tuple[Any, Any]:
    """Physical operands of an elementwise op between a and b (either may be batched)."""
    if isinstance(a, BatchedTensor) and isinstance(b, BatchedTensor):
        r = max(a.dim(), b.dim())
        return _lift(a.value, r), _lift(b.value, r)
    if isinstance(a, BatchedTensor):
        return (_lift(a.value, b.dim()) if isinstance(b, Tensor) else a.value), b
    return a, (_lift(b.value, a.dim()) if isinstance(a, Tensor) else b.value)


def _binary(op: str, a: Any, b: Any) -> BatchedTensor:
    pa, pb = _align(a, b)
    if isinstance(pa, Tensor):
        return BatchedTensor(getattr(pa, op)(pb))
    # number op batched
    import chaingrad

    return BatchedTensor(getattr(chaingrad, op)(chaingrad.tensor(pa, dtype=pb.dtype), pb))


def _matmul(a: Any, b: Any) -> BatchedTensor:
    ab, bb = isinstance(a, BatchedTensor), isinstance(b, BatchedTensor)
    ra, rb = a.dim(), b.dim()
    if ra == 0 or rb == 0 or ra > 2 or rb > 2:
        raise NoBatchingRule("matmul batching rule covers 1-D and 2-D operands")
    pa = a.value if ab else a
    pb = b.value if bb else b
    squeeze: List[int] = []
    if ab and bb:
        if ra == 1:
            pa = pa.unsqueeze(1)
            squeeze.append(-2)
        if rb == 1:
            pb = pb.unsqueeze(-1)
            squeeze.append(-1)
        out = pa @ pb
        for d in sorted(squeeze):
            out = out.squeeze(d)
        return BatchedTensor(out)
    if ab:  # (B, n) or (B, k, n) @ plain: broadcasting does it
        return BatchedTensor(pa @ pb)
    if rb == 1:  # plain @ (B, n) = (B, n) @ plain^T: one matrix product
        return BatchedTensor(pb @ (pa.t() if ra == 2 else pa))
    return BatchedTensor(pa @ pb)


def _wrap_dim(d: int, rank: int) -> int:
    """The physical dimension of logical dimension ``d`` (the batch dimension comes first)."""
    return wrap_dim(d, rank) + 1


class BatchedTensor:
    """A batch of tensors as one physical tensor (batch dim 0); behaves like one element."""

    __slots__ = ("value",)

    def __init__(self, value: Tensor) -> None:
        self.value = value

    # ---- logical metadata ----
    @property
    def shape(self) -> Any:
        return self.value.shape[1:]

    def size(self, dim: Any = None) -> Any:
        return self.shape if dim is None else self.value.size(_wrap_dim(dim, self.dim()))

    def dim(self) -> int:
        return self.value.dim() - 1

    ndim = property(dim)

    def numel(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n

    @property
    def dtype(self) -> Any:
        return self.value.dtype

    @property
    def requires_grad(self) -> bool:
        return self.value.requires_grad

    def __len__(self) -> int:
        if self.dim() == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __repr__(self) -> str:
        return f"BatchedTensor(batch={self.value.shape[0]}, logical shape={tuple(self.shape)})"

    def item(self) -> Any:
        raise NoBatchingRule("item() of a batched value")

    def __bool__(self) -> bool:
        raise NoBatchingRule("bool() of a batched value")

    # ---- operators ----
    def __matmul__(self, other: Any) -> BatchedTensor:
        return _matmul(self, other)

    def __rmatmul__(self, other: Any) -> BatchedTensor:
        return _matmul(other, self)

    matmul = __matmul__

    def mm(self, other: Any) -> BatchedTensor:
        return _matmul(self, other)

    def mv(self, other: Any) -> BatchedTensor:
        return _matmul(self, other)

    def __neg__(self) -> BatchedTensor:
        return BatchedTensor(-self.value)

    def __abs__(self) -> BatchedTensor:
        return BatchedTensor(self.value.abs())

    def __getitem__(self, index: Any) -> BatchedTensor:
        idx = index if isinstance(index, tuple) else (index,)
        if any(not (i is None or i is Ellipsis or isinstance(i, (int, slice))) or isinstance(i, bool) for i in idx):
            return self._loop("__getitem__", (index,), {})
        return BatchedTensor(self.value[(slice(None),) + idx])

    # ---- reductions and dims ----
    def _dims(self, dim: Any) -> Any:
        if isinstance(dim, (tuple, list)):
            return tuple(_wrap_dim(d, self.dim()) for d in dim)
        return _wrap_dim(dim, self.dim())

    def sum(self, dim: Any = None, keepdim: bool = False, **kw: Any) -> BatchedTensor:
        if dim is None:
            if self.dim() == 0:
                return BatchedTensor(self.value.clone())
            return BatchedTensor(self.value.sum(tuple(range(1, self.value.dim())), **kw))
        return BatchedTensor(self.value.sum(self._dims(dim), keepdim=keepdim, **kw))

    def mean(self, dim: Any = None, keepdim: bool = False, **kw: Any) -> BatchedTensor:
        if dim is None:
            if self.dim() == 0:
                return BatchedTensor(self.value.clone())
            return BatchedTensor(self.value.mean(tuple(range(1, self.value.dim())), **kw))
        return BatchedTensor(self.value.mean(self._dims(dim), keepdim=keepdim, **kw))

    def softmax(self, dim: int, **kw: Any) -> BatchedTensor:
        return BatchedTensor(self.value.softmax(self._dims(dim), **kw))

    def log_softmax(self, dim: int, **kw: Any) -> BatchedTensor:
        return BatchedTensor(self.value.log_softmax(self._dims(dim), **kw))

    def t(self) -> BatchedTensor:
        return BatchedTensor(self.value.transpose(1, 2) if self.dim() == 2 else self.value)

    def transpose(self, d0: int, d1: int) -> BatchedTensor:
        return BatchedTensor(self.value.transpose(self._dims(d0), self._dims(d1)))

    def permute(self, *dims: Any) -> BatchedTensor:
        dims = dims[0] if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
        return BatchedTensor(self.value.permute(0, *[self._dims(d) for d in dims]))

    def _shape_arg(self, shape: Sequence[Any]) -> Tuple[int, ...]:
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        return (self.value.shape[0],) + tuple(shape)

    def reshape(self, *shape: Any) -> BatchedTensor:
        return BatchedTensor(self.value.reshape(self._shape_arg(shape)))

    def view(self, *shape: Any) -> BatchedTensor:
        return BatchedTensor(self.value.view(self._shape_arg(shape)))

    def unsqueeze(self, dim: int) -> BatchedTensor:
        return BatchedTensor(self.value.unsqueeze(dim % (self.dim() + 1) + 1))

    def squeeze(self, dim: Any = None) -> BatchedTensor:
        if dim is None:
            keep = [self.value.shape[0]] + [s for s in self.shape if s != 1]
            return BatchedTensor(self.value.reshape(tuple(keep)))
        return BatchedTensor(self.value.squeeze(self._dims(dim)))

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> BatchedTensor:
        if self.dim() == 0:
            return BatchedTensor(self.value.reshape(self.value.shape[0], 1))
        return BatchedTensor(self.value.flatten(self._dims(start_dim), self._dims(end_dim)))

    def select(self, dim: int, index: int) -> BatchedTensor:
        return BatchedTensor(self.value.select(self._dims(dim), index))

    # ---- the per-op loop fallback ----
    def _loop(self, name: str, args: Tuple[Any, ...], kwargs: Any) -> BatchedTensor:
        from .. import stack

        outs = []
        for b in range(self.value.shape[0]):
            elem = [a.value[b] if isinstance(a, BatchedTensor) else a for a in args]
            kw = {k: (v.value[b] if isinstance(v, BatchedTensor) else v) for k, v in kwargs.items()}
            r = getattr(self.value[b], name)(*elem, **kw)
            if not isinstance(r, Tensor):
                raise NoBatchingRule(f"{name} returned {type(r).__name__}")
            outs.append(r)
        return BatchedTensor(stack(outs, 0))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or not hasattr(Tensor, name):
            raise AttributeError(name)
        return lambda *args, **kwargs: self._loop(name, args, kwargs)


def _unary_rule(name: str) -> Any:
    def method(self: BatchedTensor, *args: Any, **kwargs: Any) -> Any:
        if any(isinstance(a, BatchedTensor) for a in list(args) + list(kwargs.values())):
            return self._loop(name, args, kwargs)
        return BatchedTensor(getattr(self.value, name)(*args, **kwargs))
    method.__name__ = name
    return method


def _binary_rule(op: str, reflected: bool) -> Any:
    def method(self: BatchedTensor, other: Any) -> Any:
        if not isinstance(other, (BatchedTensor, Tensor, int, float, bool)):
            return NotImplemented
        return _binary(op, other, self) if reflected else _binary(op, self, other)
    return method


for _name in _UNARY:
    setattr(BatchedTensor, _name, _unary_rule(_name))
for _name, _op in _BINARY.items():
    setattr(BatchedTensor, _name, _binary_rule(_op, False))
for _name, _op in _REFLECTED.items():
    setattr(BatchedTensor, _name, _binary_rule(_op, True))
