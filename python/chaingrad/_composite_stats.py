"""PyTorch's searching, counting and order-statistic helpers.

The counting and searching ones (``isin``, ``bincount``, ``histc``, ``bucketize``, ``searchsorted``,
``argwhere``) have no gradient in PyTorch either and run in numpy. The order statistics
(``kthvalue``, ``mode``, ``quantile``, ``nanquantile``) pick positions without gradient and then
``gather`` the values (and interpolate them, for quantiles) with native ops, so gradients flow
to the chosen elements as in PyTorch.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Union

import numpy as np

from . import _C
from ._C import Tensor
from ._composite import _check_tensor, install_names
from ._functions import _scalar_type, where
from ._size import wrap_dim
from .return_types import kthvalue as _kthvalue_type
from .return_types import mode as _mode_type


def _numpy(value: Any) -> np.ndarray:
    return value.detach().numpy() if isinstance(value, Tensor) else np.asarray(value)


def _tensor(a: Any) -> Tensor:
    return _C.from_numpy(np.array(a, order="C"))


def _dtype_name(t: Tensor) -> str:
    return _scalar_type(t.dtype)


# ---- searching and counting (no gradient) --------------------------------------------------------

def isin(elements: Any, test_elements: Any, *, assume_unique: bool = False, invert: bool = False) -> Tensor:
    """Whether each of ``elements`` is in ``test_elements`` (either may be a number), as a bool tensor."""
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError("isin() received an invalid combination of arguments - got (number, number)")
    out = np.isin(_numpy(elements), _numpy(test_elements), assume_unique=assume_unique, invert=invert)
    return _tensor(np.asarray(out, dtype=np.bool_))


def argwhere(input: Tensor) -> Tensor:
    """The (N, input.dim()) indices of the nonzero elements, in row-major order."""
    _check_tensor("argwhere", input)
    return input.nonzero()


def bincount(input: Tensor, weights: Optional[Tensor] = None, minlength: int = 0) -> Tensor:
    """How often each value 0..max occurs in a 1-d non-negative integer tensor (summing ``weights`` instead,
    when given: float64 unless the weights are float32)."""
    _check_tensor("bincount", input)
    if input.dim() != 1 or input.is_floating_point() or input.dtype == _C.bool or (
            input.numel() and bool((input < 0).any())):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    if weights is not None and (weights.dim() != 1 or weights.shape[0] != input.shape[0]):
        raise RuntimeError("weights should be 1-d and have the same length as input")
    w = None if weights is None else _numpy(weights)
    out = np.bincount(_numpy(input), weights=w, minlength=minlength)
    if weights is None:
        return _tensor(out.astype(np.int64))
    return _tensor(out.astype(np.float32 if weights.dtype == _C.float32 else np.float64))


def histc(input: Tensor, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:  # noqa: A002
    """A histogram of ``bins`` equal bins over [min, max] (the data's range when both are 0); elements outside
    are ignored."""
    _check_tensor("histc", input)
    if not input.is_floating_point():
        raise NotImplementedError(f"\"histogram_cpu\" not implemented for '{_dtype_name(input)}'")
    if bins <= 0:
        raise RuntimeError(f"torch.histc: bins must be > 0, but got {bins} for dimension 0")
    a = _numpy(input).reshape(-1)
    lo, hi = float(min), float(max)
    if lo == hi and a.size:
        lo, hi = float(a.min()), float(a.max())
    if lo > hi:
        raise RuntimeError(f"torch.histc: max must be larger than min, but got min {lo} max {hi}")
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise RuntimeError(f"torch.histc: range of [{lo}, {hi}] is not finite")
    counts, _ = np.histogram(a[(a >= lo) & (a <= hi)], bins=bins, range=(lo, hi))
    return _tensor(counts.astype(_numpy(input).dtype))


def searchsorted(sorted_sequence: Tensor, input: Any, *, out_int32: bool = False, right: bool = False,
                 side: Optional[str] = None, sorter: Optional[Tensor] = None) -> Tensor:
    """For each value, the index in the (innermost dimension of) ``sorted_sequence`` where it would be
    inserted to keep the order: before equal elements, or after them when ``right`` (``side='right'``)."""
    _check_tensor("searchsorted", sorted_sequence, "sorted_sequence")
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, got side of left "
                               "while right was True")
        right = side == "right"
    seq = _numpy(sorted_sequence)
    if sorter is not None:
        seq = np.take_along_axis(seq, _numpy(sorter), axis=-1)
    values = _numpy(input)
    how = "right" if right else "left"
    if seq.ndim <= 1:
        out = np.searchsorted(seq.reshape(-1), values, side=how)
    else:
        if values.ndim == 0 or values.shape[:-1] != seq.shape[:-1]:
            raise RuntimeError("torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
                               "dimensions of boundaries tensor and input value tensor must match, but we got "
                               f"boundaries tensor {list(seq.shape)} and input value tensor {list(values.shape)}")
        rows_s, rows_v = seq.reshape(-1, seq.shape[-1]), values.reshape(-1, values.shape[-1])
        out = np.stack([np.searchsorted(s, v, side=how) for s, v in zip(rows_s, rows_v)]).reshape(values.shape)
    return _tensor(np.asarray(out, dtype=np.int32 if out_int32 else np.int64))


def bucketize(input: Any, boundaries: Tensor, *, out_int32: bool = False, right: bool = False) -> Tensor:
    """The bucket of each value among the 1-d sorted ``boundaries``: ``i`` with
    ``boundaries[i-1] < x <= boundaries[i]`` (``<= x <`` when ``right``)."""
    _check_tensor("bucketize", boundaries, "boundaries")
    if boundaries.dim() != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries.dim()})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


# ---- order statistics (gradients through gather) -------------------------------------------------

def _pick(input: Tensor, dim: int, keepdim: bool, positions: np.ndarray, values: Tensor,
          indices: Tensor) -> Any:
    """The ``values``/``indices`` (sorted along ``dim``) at ``positions`` (shape with ``dim`` kept as 1)."""
    pos = _tensor(positions.astype(np.int64))
    v, i = values.gather(dim, pos), indices.gather(dim, pos)
    if not keepdim:
        v, i = v.squeeze(dim), i.squeeze(dim)
    return v, i


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False) -> Any:
    """The ``k``-th smallest element (1-based) along ``dim`` and its index, as ``return_types.kthvalue``."""
    _check_tensor("kthvalue", input)
    x = input if input.dim() else input.reshape(1)
    d = wrap_dim(dim, x.dim())
    if not 1 <= k <= x.shape[d]:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
    values, indices = x.sort(d)
    shape = [1 if i == d else s for i, s in enumerate(x.shape)]
    v, i = _pick(x, d, keepdim or input.dim() == 0, np.full(shape, k - 1), values, indices)
    if input.dim() == 0:
        v, i = v.reshape(()), i.reshape(())
    return _kthvalue_type(v, i)


def mode(input: Tensor, dim: int = -1, keepdim: bool = False) -> Any:
    """The most frequent value along ``dim`` (the smallest of equally frequent ones) and the index of its last
    occurrence, as ``return_types.mode``."""
    _check_tensor("mode", input)
    x = input if input.dim() else input.reshape(1)
    d = wrap_dim(dim, x.dim())
    if x.shape[d] == 0:
        raise IndexError(f"mode(): Expected reduction dim {d} to have non-zero size.")
    a = np.moveaxis(_numpy(x), d, -1)
    rows = a.reshape(-1, a.shape[-1])
    last = np.empty(rows.shape[0], dtype=np.int64)
    for r, row in enumerate(rows):
        uniq, counts = np.unique(row, return_counts=True)
        best = uniq[int(np.argmax(counts))]  # argmax takes the first, i.e. smallest, of the most frequent
        last[r] = np.flatnonzero((row == best) | (np.isnan(row) & np.isnan(best)) if row.dtype.kind == "f"
                                 else row == best)[-1]
    shape = [1 if i == d else s for i, s in enumerate(x.shape)]
    index = _tensor(np.moveaxis(last.reshape(*a.shape[:-1], 1), -1, d).reshape(shape))
    v = x.gather(d, index)
    if not keepdim or input.dim() == 0:
        v, index = v.squeeze(d), index.squeeze(d)
    if input.dim() == 0:
        v, index = v.reshape(()), index.reshape(())
    return _mode_type(v, index)


_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(name: str, input: Tensor, q: Union[float, Sequence[float], Tensor], dim: Optional[int],
              keepdim: bool, interpolation: str, ignore_nan: bool) -> Tensor:
    _check_tensor(name, input)
    # PyTorch's messages say quantile() for nanquantile too
    if input.numel() == 0:
        raise RuntimeError("quantile() input tensor must be non-empty")
    if not input.is_floating_point():
        raise RuntimeError("quantile() input tensor must be either float or double dtype")
    if isinstance(q, Tensor):
        if q.dim() > 1:
            raise RuntimeError("quantile() q must be a scalar or 1D tensor")
        if q.dtype != input.dtype:
            raise RuntimeError("quantile() q tensor must be same dtype as the input tensor")
    qs = _numpy(q).astype(np.float64)
    scalar_q = qs.ndim == 0
    qs = qs.reshape(-1)
    if ((qs < 0) | (qs > 1)).any():
        raise RuntimeError("quantile() q values must be in the range [0, 1]" if not scalar_q
                           else f"quantile() q must be in the range [0, 1] but got {float(qs[0])}")
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError("quantile() interpolation must be one of linear, lower, higher, midpoint or nearest, "
                           f"but got {interpolation}")
    x = input.reshape(-1) if dim is None else (input if input.dim() else input.reshape(1))
    d = 0 if dim is None else wrap_dim(dim, x.dim())
    x = x.movedim(d, -1)
    n = x.shape[-1]
    values, _ = x.sort(-1)  # NaN sorts last
    nan = np.isnan(_numpy(values))
    valid = (~nan).sum(-1, keepdims=True) if ignore_nan else np.full(nan.shape[:-1] + (1,), n)
    # (..., len(q)): the rank in the sorted non-NaN prefix; an all-NaN slice reads its first (NaN) element
    ranks = np.maximum(qs * (valid - 1), 0)
    if not ignore_nan:
        ranks = np.where(nan.any(-1, keepdims=True), n - 1, ranks)  # PyTorch: NaN when any element is
    if interpolation == "lower":
        ranks = np.floor(ranks)
    elif interpolation == "higher":
        ranks = np.ceil(ranks)
    elif interpolation == "nearest":
        ranks = np.round(ranks)  # half to even, as PyTorch's round
    below, above = np.floor(ranks).astype(np.int64), np.ceil(ranks).astype(np.int64)
    weight = ranks - below if interpolation != "midpoint" else np.where(above > below, 0.5, 0.0)
    lo, hi = values.gather(-1, _tensor(below)), values.gather(-1, _tensor(above))
    w = _tensor(weight.astype(_numpy(values).dtype))
    # PyTorch's lerp: exact at both ends, so an inf at the lower position with weight 0 stays inf.
    out = where(w == 0, lo, lo + w * (hi - lo))
    out = out.movedim(-1, 0)  # the q dimension first, then the kept dimensions
    if dim is None:
        out = out.reshape(-1, *([1] * input.dim())) if keepdim else out.reshape(-1)
    elif keepdim:
        out = out.unsqueeze(d + 1) if input.dim() else out
    return out.reshape(out.shape[1:]) if scalar_q else out


def quantile(input: Tensor, q: Any, dim: Optional[int] = None, keepdim: bool = False, *,
             interpolation: str = "linear") -> Tensor:
    """The ``q``-th quantiles along ``dim`` (of all elements when None), interpolated between the sorted
    elements; NaN if a slice holds NaN. A 1-d ``q`` puts its dimension first."""
    return _quantile("quantile", input, q, dim, keepdim, interpolation, ignore_nan=False)


def nanquantile(input: Tensor, q: Any, dim: Optional[int] = None, keepdim: bool = False, *,
                interpolation: str = "linear") -> Tensor:
    """``quantile`` ignoring NaN (NaN only for a slice that is all NaN)."""
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation, ignore_nan=True)


METHODS = ("argwhere", "bincount", "histc", "kthvalue", "mode", "quantile", "nanquantile")

FUNCTIONS = METHODS + ("isin", "searchsorted", "bucketize")  # PyTorch has torch.isin only


def install(namespace: dict) -> None:
    """Defines the functions in the package's namespace and the methods on Tensor."""
    install_names(globals(), namespace, FUNCTIONS, METHODS)
