"""PyTorch functions that chaingrad composes from its native differentiable ops.

Each is a few lines of ops whose VJPs (and JVPs) already exist, so backward, ``create_graph``
and forward mode work through them with no rule of their own. Their ``grad_fn`` names are those of
the ops they are made of (``WhereBackward0`` for ``tril``), not PyTorch's single node.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _C
from ._C import Tensor
from ._factories import arange
from ._size import Size, wrap_dim
from .return_types import median as _median_type

_Dims = Union[int, Sequence[int]]


def _check_tensor(name: str, value: Any, arg: str = "input") -> None:
    if not isinstance(value, Tensor):
        raise TypeError(f"{name}(): argument '{arg}' (position 1) must be Tensor, not {type(value).__name__}")


def _tensor_list(tensors: Tuple[Any, ...]) -> Tuple[Tensor, ...]:
    """The tensors of ``f(a, b, ...)`` or ``f([a, b, ...])``."""
    return tuple(tensors[0]) if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else tensors


# ---- triangles and diagonals ---------------------------------------------------------------------

def _triangle(name: str, input: Tensor, diagonal: int, lower: bool) -> Tensor:
    _check_tensor(name, input)
    if input.dim() < 2:
        raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")
    rows, cols = input.shape[-2], input.shape[-1]
    offset = arange(cols).unsqueeze(0) - arange(rows).unsqueeze(1)  # col - row
    keep = offset <= diagonal if lower else offset >= diagonal
    return _C._where(keep, input, _C._full((), 0, input.dtype))


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dimensions (elements with ``col - row <= diagonal``); the rest zero."""
    return _triangle("tril", input, diagonal, lower=True)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dimensions (elements with ``col - row >= diagonal``); the rest zero."""
    return _triangle("triu", input, diagonal, lower=False)


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """A 1-d input: the square matrix with it on the ``diagonal``-th diagonal. A 2-d input: that diagonal."""
    _check_tensor("diag", input)
    if input.dim() == 2:
        return input.diagonal(diagonal)
    if input.dim() != 1:
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.dim()}D")
    n = input.shape[0]
    size = n + abs(diagonal)
    row0, col0 = (0, diagonal) if diagonal >= 0 else (-diagonal, 0)
    flat = arange(n) * (size + 1) + (row0 * size + col0)
    out = _C._full((size * size,), 0, input.dtype)
    out[flat] = input
    return out.reshape(size, size)


# ---- joining and broadcasting --------------------------------------------------------------------

def atleast_1d(*tensors: Any) -> Any:
    """Each tensor viewed with at least one dimension (a 0-d tensor becomes shape (1,))."""
    out = tuple(t.reshape(1) if t.dim() == 0 else t for t in _tensor_list(tensors))
    return out[0] if len(tensors) == 1 and isinstance(tensors[0], Tensor) else out


def atleast_2d(*tensors: Any) -> Any:
    """Each tensor viewed with at least two dimensions (1-d (n,) becomes (1, n))."""
    out = tuple(t.reshape(1, 1) if t.dim() == 0 else t.unsqueeze(0) if t.dim() == 1 else t
                for t in _tensor_list(tensors))
    return out[0] if len(tensors) == 1 and isinstance(tensors[0], Tensor) else out


def hstack(tensors: Sequence[Tensor]) -> Tensor:
    """Joins along the second dimension (the first, for 1-d tensors)."""
    ts = atleast_1d(tuple(tensors))
    return _C.cat(ts, 0 if ts and ts[0].dim() == 1 else 1)


def vstack(tensors: Sequence[Tensor]) -> Tensor:
    """Joins along the first dimension, 1-d tensors taken as rows."""
    return _C.cat(atleast_2d(tuple(tensors)), 0)


row_stack = vstack


def broadcast_shapes(*shapes: Any) -> Tuple[int, ...]:
    """The shape all ``shapes`` broadcast to (PyTorch's error when they do not)."""
    out: List[int] = []
    for shape in shapes:
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        if len(shape) > len(out):
            out = [1] * (len(shape) - len(out)) + out
        for i, s in enumerate(shape):
            j = len(out) - len(shape) + i
            if s != out[j] and s != 1 and out[j] != 1:
                raise RuntimeError(
                    f"Shape mismatch: objects cannot be broadcast to a single shape.  Mismatch is between "
                    f"{list(out)} and {list(shape)}.")
            if out[j] == 1:
                out[j] = s
    return Size(out)


def broadcast_to(input: Tensor, size: Sequence[int]) -> Tensor:
    """``input`` expanded to ``size`` (a view)."""
    _check_tensor("broadcast_to", input)
    return input.expand(*size)


def broadcast_tensors(*tensors: Tensor) -> Tuple[Tensor, ...]:
    """The tensors expanded to their common broadcast shape (views)."""
    ts = _tensor_list(tensors)
    shape = broadcast_shapes(*(tuple(t.shape) for t in ts))
    return tuple(t.expand(*shape) for t in ts)


def meshgrid(*tensors: Tensor, indexing: Optional[str] = None) -> Tuple[Tensor, ...]:
    """Coordinate grids from 1-d tensors: ``indexing='ij'`` (matrix, the default) or ``'xy'`` (Cartesian)."""
    ts = list(_tensor_list(tensors))
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the indexing argument.",
                      UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise ValueError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but received: {indexing}")
    for t in ts:
        if t.dim() > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: {t}")
    ts = [t.reshape(-1) for t in ts]
    swap = indexing == "xy" and len(ts) >= 2
    if swap:
        ts[0], ts[1] = ts[1], ts[0]
    shape = [t.shape[0] for t in ts]
    grids = []
    for i, t in enumerate(ts):
        view = [1] * len(ts)
        view[i] = shape[i]
        grids.append(t.reshape(*view).expand(*shape))
    if swap:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


def tile(input: Tensor, dims: Sequence[int]) -> Tensor:
    """``input`` repeated ``dims[i]`` times along each dimension (missing leading entries are 1)."""
    _check_tensor("tile", input)
    dims = tuple(dims)
    if len(dims) < input.dim():
        dims = (1,) * (input.dim() - len(dims)) + dims
    return input.repeat(*dims)


def roll(input: Tensor, shifts: _Dims, dims: Optional[_Dims] = None) -> Tensor:
    """Elements shifted cyclically by ``shifts`` along ``dims`` (the flattened tensor when ``dims`` is None)."""
    _check_tensor("roll", input)
    shifts_t = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    if dims is None:
        if len(shifts_t) != 1:
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts_t)}, dims:0")
        return roll(input.reshape(-1), shifts_t[0], 0).reshape(*input.shape)
    dims_t = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(shifts_t) != len(dims_t):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts_t)}, dims:{len(dims_t)}")
    out = input
    for shift, dim in zip(shifts_t, dims_t):
        d = wrap_dim(dim, input.dim())
        n = input.shape[d] if input.dim() else 1
        s = shift % n if n else 0
        if s:
            out = _C.cat([out.narrow(d, n - s, s), out.narrow(d, 0, n - s)], d)
    return out


def diff(input: Tensor, n: int = 1, dim: int = -1, prepend: Optional[Tensor] = None,
         append: Optional[Tensor] = None) -> Tensor:
    """The ``n``-th forward difference along ``dim`` (``out[i] = input[i + 1] - input[i]``)."""
    _check_tensor("diff", input)
    if input.dim() == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    d = wrap_dim(dim, input.dim())
    parts = [t for t in (prepend, input, append) if t is not None]
    out = _C.cat(parts, d) if len(parts) > 1 else input
    for _ in range(n):
        length = out.shape[d]
        if length == 0:
            break
        out = out.narrow(d, 1, length - 1) - out.narrow(d, 0, length - 1)
    return out


# ---- products ------------------------------------------------------------------------------------

def _add_product(input: Tensor, product: Tensor, beta: Any, alpha: Any) -> Tensor:
    """``beta * input + alpha * product``; ``input`` is not read when ``beta`` is 0 (NaN in it stays out)."""
    if alpha != 1:
        product = product * alpha
    if beta == 0:
        return product
    return (input if beta == 1 else input * beta) + product


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)``."""
    return _add_product(input, mat1.mm(mat2), beta, alpha)


def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * (mat @ vec)``."""
    return _add_product(input, mat.mv(vec), beta, alpha)


def kron(input: Tensor, other: Tensor) -> Tensor:
    """The Kronecker product: blocks ``input[i, j] * other``, in any number of dimensions."""
    nd = max(input.dim(), other.dim())
    sa = (1,) * (nd - input.dim()) + tuple(input.shape)
    sb = (1,) * (nd - other.dim()) + tuple(other.shape)
    a = input.reshape(*[s for d in sa for s in (d, 1)])
    b = other.reshape(*[s for d in sb for s in (1, d)])
    return (a * b).reshape(*[x * y for x, y in zip(sa, sb)])


def tensordot(a: Tensor, b: Tensor, dims: Any = 2) -> Tensor:
    """Sums products over the last ``dims`` dimensions of ``a`` and the first of ``b`` (or the listed pairs)."""
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        da, db = list(range(a.dim() - dims, a.dim())), list(range(dims))
    else:
        da, db = ([d] if isinstance(d, int) else list(d) for d in dims)
    da = [wrap_dim(d, a.dim()) for d in da]
    db = [wrap_dim(d, b.dim()) for d in db]
    if len(da) != len(db):
        raise RuntimeError("both dimension lists should have same length")
    for x, y in zip(da, db):
        if a.shape[x] != b.shape[y]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size {a.shape[x]} in dim {x} "
                               f"and second has size {b.shape[y]} in dim {y}")
    free_a = [d for d in range(a.dim()) if d not in da]
    free_b = [d for d in range(b.dim()) if d not in db]
    k = math.prod(a.shape[d] for d in da)
    left = a.permute(*free_a, *da).reshape(-1, k)
    right = b.permute(*db, *free_b).reshape(k, -1)
    return left.mm(right).reshape(*[a.shape[d] for d in free_a], *[b.shape[d] for d in free_b])


def cross(input: Tensor, other: Tensor, dim: Optional[int] = None) -> Tensor:
    """The cross product of 3-vectors along ``dim`` (the first dimension of size 3 when None, as PyTorch)."""
    if dim is None:
        warnings.warn("Using torch.cross without specifying the dim arg is deprecated.\nPlease either pass the dim "
                      "explicitly or simply use torch.linalg.cross.\nThe default value of dim will change to agree "
                      "with that of linalg.cross in a future release.", UserWarning, stacklevel=2)
        shape = broadcast_shapes(tuple(input.shape), tuple(other.shape))
        dim = next((i for i, s in enumerate(shape) if s == 3), -1)
    return linalg_cross(input, other, dim=dim)


def linalg_cross(input: Tensor, other: Tensor, *, dim: int = -1) -> Tensor:
    """``torch.linalg.cross``: the cross product of 3-vectors along ``dim`` (inputs broadcast)."""
    if input.dim() != other.dim():
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    a, b = broadcast_tensors(input, other)
    d = wrap_dim(dim, a.dim())
    if a.shape[d] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got {input.shape[d]} and "
                           f"{other.shape[d]}")
    a1, a2, a3 = (a.narrow(d, i, 1) for i in range(3))
    b1, b2, b3 = (b.narrow(d, i, 1) for i in range(3))
    return _C.cat([a2 * b3 - a3 * b2, a3 * b1 - a1 * b3, a1 * b2 - a2 * b1], d)


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0) -> Tensor:
    """Pairwise ``p``-norm distances between the rows of ``x1`` (..., P, M) and ``x2`` (..., R, M)."""
    if x1.dim() < 2 or x2.dim() < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {x1.dim()}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} X2: {x2.shape[-1]}")
    return (x1.unsqueeze(-2) - x2.unsqueeze(-3)).norm(p, -1)


# ---- elementwise ---------------------------------------------------------------------------------

def lerp(input: Tensor, end: Tensor, weight: Any) -> Tensor:
    """``input + weight * (end - input)``, in PyTorch's two-sided form (exact at weight 1)."""
    step = end - input
    if not isinstance(weight, Tensor):
        return input + step * weight if abs(weight) < 0.5 else end - step * (1 - weight)
    return _C._where(weight.abs() < 0.5, input + step * weight, end - step * (1 - weight))


def nan_to_num(input: Tensor, nan: float = 0.0, posinf: Optional[float] = None,
               neginf: Optional[float] = None) -> Tensor:
    """NaN, +inf and -inf replaced by ``nan``, ``posinf`` and ``neginf`` (default: the dtype's finite extremes)."""
    _check_tensor("nan_to_num", input)
    if not input.is_floating_point():
        return input.clone()
    info = np.finfo(np.dtype(str(input.dtype).rsplit(".", 1)[-1]))
    hi = float(info.max) if posinf is None else posinf
    lo = float(info.min) if neginf is None else neginf
    out = _C._where(input != input, _C._full((), nan, input.dtype), input)
    out = _C._where(input == math.inf, _C._full((), hi, input.dtype), out)
    return _C._where(input == -math.inf, _C._full((), lo, input.dtype), out)


def logaddexp(input: Tensor, other: Tensor) -> Tensor:
    """``log(exp(input) + exp(other))`` without overflow."""
    m = input.maximum(other)
    return m + (-(input - other).abs()).exp().log1p()


def count_nonzero(input: Tensor, dim: Optional[_Dims] = None) -> Tensor:
    """The number of nonzero elements (along ``dim``), as int64."""
    _check_tensor("count_nonzero", input)
    nonzero = input != 0
    if dim is None:
        return nonzero.sum()
    return nonzero.sum(dim)


# ---- order statistics and sets -------------------------------------------------------------------

def median(input: Tensor, dim: Optional[int] = None, keepdim: bool = False) -> Any:
    """The lower median (of all elements, or ``(values, indices)`` along ``dim``); NaN if any element is NaN."""
    _check_tensor("median", input)
    if dim is None:
        flat = input.reshape(-1)
        if flat.shape[0] == 0:
            return _C._full((), math.nan, input.dtype)
        values, _ = flat.sort(0)
        k = (flat.shape[0] - 1) // 2
        if input.is_floating_point() and bool(flat.isnan().any()):
            return values[-1]  # the sort puts NaN last; PyTorch's median is NaN then
        return values[k]
    d = wrap_dim(dim, input.dim())
    x = input if input.dim() else input.reshape(1)
    values, indices = x.sort(d)
    n = x.shape[d]
    k = (n - 1) // 2
    if input.is_floating_point():
        has_nan = x.isnan().any(d, keepdim=True)
        pick = _C._where(has_nan, _C._full((), n - 1, _C.int64), _C._full((), k, _C.int64))
        pick = pick.expand(*[1 if i == d else s for i, s in enumerate(x.shape)])
    else:
        pick = _C._full(tuple(1 if i == d else s for i, s in enumerate(x.shape)), k, _C.int64)
    v = values.gather(d, pick)
    i = indices.gather(d, pick)
    if not keepdim or input.dim() == 0:
        v, i = v.squeeze(d), i.squeeze(d)
    if input.dim() == 0:
        v, i = v.reshape(()), i.reshape(())
    return _median_type(v, i)


def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False,
           dim: Optional[int] = None) -> Any:
    """The distinct elements in ascending order, with the inverse indices and counts when asked."""
    _check_tensor("unique", input)
    a = input.detach().numpy()
    if dim is None:
        values, inverse, counts = np.unique(a.reshape(-1), return_inverse=True, return_counts=True)
        inverse = inverse.reshape(a.shape)
    else:
        d = wrap_dim(dim, input.dim())
        values, inverse, counts = np.unique(a, return_inverse=True, return_counts=True, axis=d)
        inverse = inverse.reshape(-1)
    out: List[Tensor] = [_C.from_numpy(np.array(values, order="C"))]
    if return_inverse:
        out.append(_C.from_numpy(inverse.astype(np.int64)))
    if return_counts:
        out.append(_C.from_numpy(counts.astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


def _with_mean(statistic: Any, input: Tensor, dim: Optional[_Dims], correction: Any, keepdim: bool) -> Any:
    args = () if dim is None else (dim,)
    mean = input.mean(*args, keepdim=keepdim) if dim is not None else input.mean()
    return statistic(input, *args, correction=correction, keepdim=keepdim), mean


def std_mean(input: Tensor, dim: Optional[_Dims] = None, *, correction: Any = 1, keepdim: bool = False) -> Any:
    """``(std, mean)`` in one call."""
    return _with_mean(Tensor.std, input, dim, correction, keepdim)


def var_mean(input: Tensor, dim: Optional[_Dims] = None, *, correction: Any = 1, keepdim: bool = False) -> Any:
    """``(var, mean)`` in one call."""
    return _with_mean(Tensor.var, input, dim, correction, keepdim)


# The functions above that are also Tensor methods in PyTorch.
METHODS = ("tril", "triu", "diag", "broadcast_to", "tile", "roll", "diff", "addmm", "addmv", "kron", "cross",
           "lerp", "nan_to_num", "logaddexp", "count_nonzero", "median", "unique")

FUNCTIONS = METHODS + ("atleast_1d", "atleast_2d", "hstack", "vstack", "row_stack", "broadcast_shapes",
                       "broadcast_tensors", "meshgrid", "tensordot", "cdist", "std_mean", "var_mean")


def install_names(module: dict, namespace: dict, functions: Sequence[str], methods: Sequence[str]) -> None:
    """Defines a composite module's ``functions`` in the package's namespace and its ``methods`` on Tensor."""
    for name in functions:
        namespace[name] = module[name]
    for name in methods:
        setattr(Tensor, name, module[name])


def install(namespace: dict) -> None:
    """Defines the functions in the package's namespace and the methods on Tensor."""
    install_names(globals(), namespace, FUNCTIONS, METHODS)
    Tensor.tril_ = lambda self, diagonal=0: self.copy_(tril(self, diagonal))
    Tensor.triu_ = lambda self, diagonal=0: self.copy_(triu(self, diagonal))
