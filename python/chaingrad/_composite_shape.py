"""PyTorch's shape helpers composed from chaingrad's native ops (views, ``cat``, ``index_select``, ``flip``),
so gradients flow through them with no rule of their own.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Optional, Sequence, Tuple, Union

import numpy as np

from . import _C
from ._C import Tensor
from ._composite import _check_tensor, _tensor_list, atleast_2d, hstack, install_names
from ._size import wrap_dim

_Indices = Union[int, Sequence[int], Tensor]


# ---- splitting -----------------------------------------------------------------------------------

def tensor_split(input: Tensor, indices_or_sections: _Indices, dim: int = 0) -> Tuple[Tensor, ...]:
    """Views of ``input`` split along ``dim``: into ``n`` nearly equal parts (the first ``size % n`` one longer)
    for an int, or at the listed indices."""
    _check_tensor("tensor_split", input)
    if input.dim() == 0:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims")
    d = wrap_dim(dim, input.dim())
    size = input.shape[d]
    spec: Any = indices_or_sections
    if isinstance(spec, Tensor):
        if spec.is_floating_point() or spec.dtype == _C.bool:
            raise RuntimeError("tensor_split expected tensor_indices_or_sections to have integer dtype, but got "
                               f"{str(spec.dtype).rsplit('.', 1)[-1].capitalize()}")
        if spec.dim() > 1:
            raise RuntimeError("tensor_split expected tensor_indices_or_sections to be a zero-dimensional or "
                               f"one-dimensional tensor, but got a tensor with {spec.dim()} dims")
        spec = int(spec.item()) if spec.dim() == 0 else [int(i) for i in spec.tolist()]
    if isinstance(spec, int):
        if spec <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {spec}")
        base, extra = divmod(size, spec)
        bounds = [0]
        for i in range(spec):
            bounds.append(bounds[-1] + base + (1 if i < extra else 0))
    else:
        bounds = [0] + [min(max(i + size if i < 0 else i, 0), size) for i in spec] + [size]
    parts = []
    for start, stop in zip(bounds[:-1], bounds[1:]):
        start = min(start, size)
        parts.append(input.narrow(d, start, max(stop - start, 0)))
    return tuple(parts)


def _split_at(name: str, input: Tensor, spec: _Indices, dim: int, min_dims: int) -> Tuple[Tensor, ...]:
    if input.dim() < min_dims:
        raise RuntimeError(f"torch.{name} requires a tensor with at least {min_dims} dimension, but got a tensor "
                           f"with {input.dim()} dimensions!")
    if isinstance(spec, int):
        size = input.shape[dim]
        if spec == 0 or size % spec:
            raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but the size of the "
                               f"dimension {size} is not divisible by the split_size {spec}!")
    return tensor_split(input, spec, dim)


def hsplit(input: Tensor, indices_or_sections: _Indices) -> Tuple[Tensor, ...]:
    """Splits along the second dimension (the first, for 1-d tensors); an int must divide it evenly."""
    _check_tensor("hsplit", input)
    return _split_at("hsplit", input, indices_or_sections, 1 if input.dim() > 1 else 0, 1)


def vsplit(input: Tensor, indices_or_sections: _Indices) -> Tuple[Tensor, ...]:
    """Splits along the first dimension (at least 2-d input); an int must divide it evenly."""
    _check_tensor("vsplit", input)
    return _split_at("vsplit", input, indices_or_sections, 0, 2)


def dsplit(input: Tensor, indices_or_sections: _Indices) -> Tuple[Tensor, ...]:
    """Splits along the third dimension (at least 3-d input); an int must divide it evenly."""
    _check_tensor("dsplit", input)
    return _split_at("dsplit", input, indices_or_sections, 2, 3)


# ---- joining -------------------------------------------------------------------------------------

def atleast_3d(*tensors: Any) -> Any:
    """Each tensor viewed with at least three dimensions: (n,) becomes (1, n, 1), (m, n) becomes (m, n, 1)."""
    def three(t: Tensor) -> Tensor:
        if t.dim() == 0:
            return t.reshape(1, 1, 1)
        if t.dim() == 1:
            return t.reshape(1, t.shape[0], 1)
        return t.unsqueeze(-1) if t.dim() == 2 else t
    out = tuple(three(t) for t in _tensor_list(tensors))
    return out[0] if len(tensors) == 1 and isinstance(tensors[0], Tensor) else out


def dstack(tensors: Sequence[Tensor]) -> Tensor:
    """Joins along the third dimension, after ``atleast_3d``."""
    return _C.cat(atleast_3d(tuple(tensors)), 2)


def column_stack(tensors: Sequence[Tensor]) -> Tensor:
    """Joins as columns: 0-d and 1-d tensors become (n, 1) columns, then ``hstack``."""
    ts = tuple(t.reshape(-1, 1) if t.dim() <= 1 else t for t in tensors)
    return hstack(ts)


def unflatten(input: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:
    """``input`` with dimension ``dim`` viewed as ``sizes`` (one entry may be -1)."""
    _check_tensor("unflatten", input)
    if len(sizes) == 0:
        raise RuntimeError("unflatten: sizes must be non-empty")
    d = wrap_dim(dim, input.dim())
    sizes = list(sizes)
    size = input.shape[d]
    if sizes.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    if -1 in sizes:
        known = math.prod(s for s in sizes if s != -1)
        sizes[sizes.index(-1)] = size // known if known else 0
    if math.prod(sizes) != size:
        raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim {dim} "
                           f"({size}) in the input tensor")
    return input.reshape(*input.shape[:d], *sizes, *input.shape[d + 1:])


def cartesian_prod(*tensors: Tensor) -> Tensor:
    """All combinations of one element from each 1-d tensor, as rows (a single tensor is returned as is)."""
    ts = _tensor_list(tensors)
    for t in ts:
        if t.dim() != 1:
            raise RuntimeError(f"Expect a 1D vector, but got shape {list(t.shape)}")
    if len(ts) == 1:
        return ts[0]
    from ._composite import meshgrid
    return _C.stack([g.reshape(-1) for g in meshgrid(*ts, indexing="ij")], 1)


def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:
    """The length-``r`` combinations of the elements of a 1-d tensor, as rows (``itertools`` order)."""
    _check_tensor("combinations", input)
    if input.dim() != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return _C._full((0,), 0, input.dtype)
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    rows = list(pick(range(input.shape[0]), r))
    if not rows:
        return _C._full((0, r), 0, input.dtype)
    index = _C.from_numpy(np.array(rows, dtype=np.int64).reshape(-1))
    return input.index_select(0, index).reshape(len(rows), r)


def block_diag(*tensors: Tensor) -> Tensor:
    """The block-diagonal matrix of the (at most 2-d) tensors, in their promoted dtype."""
    for i, t in enumerate(tensors):
        if t.dim() > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {i} has "
                               f"{t.dim()} dimensions")
    if not tensors:
        return _C._full((1, 0), 0, _C._get_default_dtype())
    blocks = list(atleast_2d(tuple(tensors)))
    zero = blocks[0].new_zeros(())
    for b in blocks[1:]:
        zero = zero + b.new_zeros(())  # the promoted dtype, by PyTorch's rules
    blocks = [b.to(zero.dtype) for b in blocks]
    width = sum(b.shape[1] for b in blocks)
    rows, left = [], 0
    for b in blocks:
        h, w = b.shape
        parts = [_C._full((h, left), 0, zero.dtype), b, _C._full((h, width - left - w), 0, zero.dtype)]
        rows.append(_C.cat(parts, 1))
        left += w
    return _C.cat(rows, 0)


# ---- index and coordinate tensors ----------------------------------------------------------------

def _triangle_indices(name: str, row: int, col: int, offset: int, dtype: Any, lower: bool) -> Tensor:
    if row < 0 or col < 0:
        raise RuntimeError(f"row must be non-negative, got{row}" if row < 0 else f"col must be non-negative, got{col}")
    if dtype is not None and dtype not in (_C.int64, _C.int32):
        raise RuntimeError("\"" + name + "\" not implemented for '" + str(dtype).rsplit(".", 1)[-1].capitalize()
                           + "'")
    pick = np.tril_indices if lower else np.triu_indices
    r, c = pick(row, offset, col)
    out = _C.from_numpy(np.stack([r, c]).astype(np.int64).reshape(2, -1))
    return out if dtype in (None, _C.int64) else out.to(dtype)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None, device: Any = None,
                 layout: Any = None) -> Tensor:
    """The (2, N) coordinates of the lower triangle (``col - row <= offset``) of a ``row`` x ``col`` matrix,
    row by row."""
    return _triangle_indices("tril_indices", row, col, offset, dtype, lower=True)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None, device: Any = None,
                 layout: Any = None) -> Tensor:
    """The (2, N) coordinates of the upper triangle (``col - row >= offset``) of a ``row`` x ``col`` matrix,
    row by row."""
    return _triangle_indices("triu_indices", row, col, offset, dtype, lower=False)


def vander(x: Tensor, N: Optional[int] = None, increasing: bool = False) -> Tensor:
    """The Vandermonde matrix of a 1-d tensor: columns ``x ** (N - 1)``, ..., ``x ** 0`` (reversed when
    ``increasing``), built with ``cumprod`` as PyTorch does, so gradients at ``x = 0`` are finite."""
    _check_tensor("vander", x)
    if x.dim() != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x.shape[0] if N is None else N
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    v = x if x.dtype in (_C.float32, _C.float64, _C.int64) else x.to(_C.int64)
    if n == 0:
        return _C._full((x.shape[0], 0), 0, v.dtype)
    ones = _C._full((x.shape[0], 1), 1, v.dtype)
    if n == 1:
        out = ones
    else:
        out = _C.cat([ones, v.unsqueeze(1).expand(x.shape[0], n - 1)], 1).cumprod(1)
    return out if increasing else out.flip([1])


# ---- integration ---------------------------------------------------------------------------------

def _spacing(name: str, y: Tensor, x: Optional[Any], dx: Optional[float], d: int) -> Tuple[Any, Any]:
    """The halves of consecutive ``y`` pairs along ``d`` and the spacing to weigh them by."""
    if y.dim() == 0:
        raise IndexError(f"Dimension specified as {d} but tensor has no dimensions")
    n = y.shape[d]
    left, right = y.narrow(d, 0, max(n - 1, 0)), y.narrow(d, 1, max(n - 1, 0))
    if x is not None and dx is not None:
        raise RuntimeError(f"{name}(): cannot pass both x and dx")
    if isinstance(x, Tensor):
        if x.dim() == 1:
            if x.shape[0] != n:
                raise RuntimeError(f"{name}: There must be one `x` value for each sample point")
            step = x[1:] - x[:-1]
            view = [1] * y.dim()
            view[d] = max(n - 1, 0)
            step = step.reshape(*view)
        else:
            step = x.narrow(wrap_dim(d - y.dim(), x.dim()), 1, x.shape[d - y.dim()] - 1) - \
                x.narrow(wrap_dim(d - y.dim(), x.dim()), 0, x.shape[d - y.dim()] - 1)
        return (left + right) / 2, step
    spacing = x if x is not None else (1.0 if dx is None else dx)
    return (left + right) / 2, spacing


def trapezoid(y: Tensor, x: Optional[Any] = None, *, dx: Optional[float] = None, dim: int = -1) -> Tensor:
    """The trapezoidal rule along ``dim``: sample points ``x`` (a tensor) or a constant spacing (``x`` as a
    number, or ``dx``; 1 by default)."""
    _check_tensor("trapezoid", y)
    d = wrap_dim(dim, y.dim()) if y.dim() else dim
    mid, step = _spacing("trapezoid", y, x, dx, d)
    return (mid * step).sum(d)


def cumulative_trapezoid(y: Tensor, x: Optional[Any] = None, *, dx: Optional[float] = None,
                         dim: int = -1) -> Tensor:
    """The running trapezoidal rule along ``dim`` (one element fewer than ``y`` there)."""
    _check_tensor("cumulative_trapezoid", y)
    d = wrap_dim(dim, y.dim()) if y.dim() else dim
    mid, step = _spacing("cumulative_trapezoid", y, x, dx, d)
    return (mid * step).cumsum(d)


def rot90(input: Tensor, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:
    """``input`` rotated by 90 degrees ``k`` times in the plane ``dims`` (from the first axis towards the
    second)."""
    _check_tensor("rot90", input)
    dims = list(dims)
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.dim() < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {input.dim()}")
    d0, d1 = wrap_dim(dims[0], input.dim()), wrap_dim(dims[1], input.dim())
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {d0} and dim1 = {d1}")
    k %= 4
    if k == 1:
        return input.flip([d1]).transpose(d0, d1)
    if k == 2:
        return input.flip([d0, d1])
    if k == 3:
        return input.flip([d0]).transpose(d0, d1)
    return input.clone()


METHODS = ("tensor_split", "hsplit", "vsplit", "dsplit", "unflatten", "rot90")

FUNCTIONS = METHODS + ("atleast_3d", "dstack", "column_stack", "cartesian_prod", "combinations", "block_diag",
                       "tril_indices", "triu_indices", "vander", "trapezoid", "cumulative_trapezoid")

def install(namespace: dict) -> None:
    """Defines the functions in the package's namespace and the methods on Tensor."""
    install_names(globals(), namespace, FUNCTIONS, METHODS)
