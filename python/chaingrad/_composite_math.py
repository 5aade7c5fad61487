"""More PyTorch math functions composed from chaingrad's native differentiable ops.

As in ``_composite.py``, each is a few native ops whose VJPs (and their derivatives) exist, so
backward, double backward and ``create_graph`` come for free; the ``grad_fn`` names are those of
the parts. Where PyTorch defines a value or a derivative at a point the plain formula cannot
reach (``xlogy`` at ``x = 0``, ``sinc`` at 0), a ``where`` selects it, and the discarded branch is
fed safe inputs so no NaN leaks into the gradient.
"""

from __future__ import annotations

import functools
import math
import warnings
from typing import Any, List, Optional, Sequence, Union

from . import _C
from ._C import Tensor
from ._composite import _add_product, _check_tensor, broadcast_tensors, install_names
from ._factories import arange, eye
from ._functions import _scalar_type, where
from ._size import wrap_dim
from .return_types import aminmax as _aminmax_type

_Dims = Union[int, Sequence[int]]


def _as_tensor(value: Any, like: Tensor) -> Tensor:
    """A number as a 0-d tensor of a dtype that keeps ``like``'s (PyTorch's wrapped-number rule)."""
    if isinstance(value, Tensor):
        return value
    return like.new_zeros(()) + value


def _float(t: Tensor) -> Tensor:
    """``t`` itself when floating, else converted to the default float dtype (as PyTorch's unary float ops)."""
    return t if t.is_floating_point() else t.to(_C._get_default_dtype())


def _zero(like: Tensor) -> Tensor:
    return _C._full((), 0, like.dtype)


# ---- optimizer staples ---------------------------------------------------------------------------

def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1) -> Tensor:
    """``input + value * tensor1 * tensor2`` (broadcast)."""
    _check_tensor("addcmul", input)
    product = tensor1 * tensor2
    if not (input + product).is_floating_point() and value == value:
        value = int(value)  # PyTorch casts the scalar to the integer result type (0.5 counts as 0)
    return input + (product if value == 1 else product * value)


def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1) -> Tensor:
    """``input + value * tensor1 / tensor2`` (broadcast); integer ``tensor1`` and ``tensor2`` raise as in PyTorch."""
    _check_tensor("addcdiv", input)
    if not tensor1.is_floating_point() and not tensor2.is_floating_point():
        raise RuntimeError("Integer division with addcdiv is no longer supported, and in a future release addcdiv "
                           "will perform a true division of tensor1 and tensor2. The historic addcdiv behavior can "
                           "be implemented as (input + value * torch.trunc(tensor1 / tensor2)).to(input.dtype) for "
                           "integer inputs and as (input + value * tensor1 / tensor2) for float inputs. The future "
                           "addcdiv behavior is just the latter implementation: (input + value * tensor1 / "
                           "tensor2), for all dtypes.")
    quotient = tensor1 / tensor2
    return input + (quotient if value == 1 else quotient * value)


# ---- dimensions ----------------------------------------------------------------------------------

def movedim(input: Tensor, source: _Dims, destination: _Dims) -> Tensor:
    """``input`` with the dimensions ``source`` moved to positions ``destination`` (a view); the others keep
    their order."""
    _check_tensor("movedim", input)
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({src} dims) should contain the "
                           f"same number of dims as destination ({dst} dims)")
    n = input.dim()
    if n == 0:
        for d in src + dst:
            wrap_dim(d, 0)  # PyTorch's range error for anything but 0 and -1
        return input.view(())
    src = [wrap_dim(d, n) for d in src]
    dst = [wrap_dim(d, n) for d in dst]
    for name, dims in (("source", src), ("destination", dst)):
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"movedim: repeated dim in `{name}` ({dims})")
    order: List[Optional[int]] = [None] * n
    for s, d in zip(src, dst):
        order[d] = s
    rest = iter(d for d in range(n) if d not in src)
    perm = [next(rest) if o is None else o for o in order]
    return input.permute(*perm)


moveaxis = movedim


# ---- products ------------------------------------------------------------------------------------

def inner(input: Tensor, other: Tensor) -> Tensor:
    """Sums of products over the last dimension of both (a product when either is 0-d)."""
    _check_tensor("inner", input)
    if input.dim() == 0 or other.dim() == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but got shapes "
                           f"{list(input.shape)} and {list(other.shape)}")
    out = input.reshape(-1, input.shape[-1]).mm(other.reshape(-1, other.shape[-1]).t())
    return out.reshape(*input.shape[:-1], *other.shape[:-1])


def vdot(input: Tensor, other: Tensor) -> Tensor:
    """The dot product of two 1-d tensors (real tensors: no conjugation)."""
    _check_tensor("vdot", input)
    if input.dim() != 1 or other.dim() != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.dim()}D and {other.dim()}D tensors")
    return input.dot(other)


def ger(input: Tensor, vec2: Tensor) -> Tensor:
    """Alias of ``outer``."""
    return input.outer(vec2)


def addr(input: Tensor, vec1: Tensor, vec2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * outer(vec1, vec2)``."""
    for name, v in (("vec1", vec1), ("vec2", vec2)):
        if v.dim() != 1:
            raise RuntimeError(f"addr: Expected 1-d argument {name}, but got {v.dim()}-d")
    return _add_product(input, vec1.outer(vec2), beta, alpha)


def _check_batches(batch1: Tensor, batch2: Tensor) -> None:
    if batch1.dim() != 3 or batch2.dim() != 3:
        raise RuntimeError("batch1 must be a 3D tensor" if batch1.dim() != 3 else "batch2 must be a 3D tensor")


def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * bmm(batch1, batch2)``."""
    _check_batches(batch1, batch2)
    return _add_product(input, batch1.bmm(batch2), beta, alpha)


def addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * sum_b(batch1[b] @ batch2[b])``."""
    _check_batches(batch1, batch2)
    return _add_product(input, batch1.bmm(batch2).sum(0), beta, alpha)


def matrix_power(input: Tensor, n: int) -> Tensor:
    """``input`` (a batch of square matrices) multiplied by itself ``n`` times, by repeated squaring; ``n = 0``
    gives the identity, negative ``n`` powers of the inverse."""
    _check_tensor("matrix_power", input)
    if input.dim() < 2:
        raise RuntimeError("linalg.matrix_power: The input tensor A must have at least 2 dimensions.")
    if input.shape[-1] != input.shape[-2]:
        raise RuntimeError(f"linalg.matrix_power: A must be batches of square matrices, but they are "
                           f"{input.shape[-2]} by {input.shape[-1]} matrices")
    if n == 0:
        # The identity, still a function of input (zero gradient, as PyTorch's), even where input is inf or NaN.
        identity = eye(input.shape[-1], dtype=input.dtype).expand(*input.shape)
        return where(_C._full((), False, _C.bool), input, identity)
    base = input
    if n < 0:
        from . import linalg  # linalg imports this module's package; resolved at call time
        base, n = linalg.inv(input), -n
    result: Optional[Tensor] = None
    while n:
        if n & 1:
            result = base if result is None else result.matmul(base)
        n >>= 1
        if n:
            base = base.matmul(base)
    assert result is not None
    return result if result is not input else input.clone()


# ---- diagonals and gathering ---------------------------------------------------------------------

def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Matrices (in dimensions ``dim1``, ``dim2`` of the result) with the last dimension of ``input`` on their
    ``offset``-th diagonal, zero elsewhere."""
    _check_tensor("diag_embed", input)
    nd = input.dim() + 1
    d1, d2 = wrap_dim(dim1, nd), wrap_dim(dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    x = input if input.dim() else input.reshape(1)
    n = x.shape[-1]
    m = n + abs(offset)
    # row r holds input[r - max(-offset, 0)] at column r + offset: a where against a one-hot mask,
    # so inf and NaN stay on the diagonal (a product with the mask would spread NaN).
    rows = arange(m).unsqueeze(1)
    cols = arange(m).unsqueeze(0)
    on_diag = (cols - rows) == offset
    src = (rows if offset >= 0 else cols).clamp(0, max(n - 1, 0)).expand(m, m)
    if n == 0:
        out = _C._full((*x.shape[:-1], m, m), 0, x.dtype)
    else:
        values = x.index_select(-1, src.reshape(-1)).reshape(*x.shape[:-1], m, m)
        out = where(on_diag, values, _zero(x))
    return movedim(out, (-2, -1), (d1, d2))


def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    """The square matrix with the flattened ``input`` on its ``offset``-th diagonal."""
    _check_tensor("diagflat", input)
    return diag_embed(input.reshape(-1), offset)


def take_along_dim(input: Tensor, indices: Tensor, dim: Optional[int] = None) -> Tensor:
    """The elements of ``input`` at ``indices`` along ``dim`` (both broadcast over the other dimensions); with
    ``dim=None`` indices into the flattened ``input``."""
    _check_tensor("take_along_dim", input)
    if indices.is_floating_point() or indices.dtype == _C.bool:
        raise RuntimeError(f"torch.take_along_dim(): dtype of indices should be Long but got "
                           f"{_scalar_type(indices.dtype)}")
    if dim is None:
        return input.reshape(-1).gather(0, indices.reshape(-1))
    if input.dim() != indices.dim():
        raise RuntimeError("torch.take_along_dim(): input and indices should have the same number of dimensions, "
                           f"but got {input.dim()} dimensions for input, and {indices.dim()} dimensions for indices")
    d = wrap_dim(dim, input.dim())
    shape = [max(a, b) if i != d else None for i, (a, b) in enumerate(zip(input.shape, indices.shape))]
    x = input.expand(*[input.shape[i] if s is None else s for i, s in enumerate(shape)])
    idx = indices.expand(*[indices.shape[i] if s is None else s for i, s in enumerate(shape)])
    return x.gather(d, idx)


# ---- elementwise ---------------------------------------------------------------------------------

def logit(input: Tensor, eps: Optional[float] = None) -> Tensor:
    """``log(p / (1 - p))``, with ``p`` clamped to ``[eps, 1 - eps]`` when ``eps`` is given (gradient zero
    outside)."""
    _check_tensor("logit", input)
    p = _float(input)
    if eps is not None:
        p = p.clamp(eps, 1 - eps)
    return (p / (1 - p)).log()


def _xlog(name: str, input: Any, other: Any, log: Any, pole: float) -> Tensor:
    """``input * log(other)``, 0 where ``input`` is 0 unless ``other`` is NaN (PyTorch's xlogy rule); ``log``
    is infinite at ``other == pole``."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError(f"{name}() received an invalid combination of arguments - got "
                        f"({type(input).__name__}, {type(other).__name__})")
    x = input if isinstance(input, Tensor) else _as_tensor(input, other)
    y = other if isinstance(other, Tensor) else _as_tensor(other, x)
    if not x.is_floating_point() and not y.is_floating_point():
        x = _float(x)
    x, y = broadcast_tensors(x, y)
    zero = (x == 0) & ~y.isnan()
    finite_at = _as_tensor(pole + 1, y)  # a point where log is 0: the discarded branches read it
    # Where x != 0: the product, its derivatives (log(y), x * log'(y)) those of PyTorch.
    main = where(zero, _zero(x * y), x * log(where(zero, finite_at, y)))
    # Where x == 0 the value is 0, yet PyTorch's derivative in x is still log(y) (0 where that is infinite):
    # a term whose value is 0 there carries it, and its derivative in y (x * log'(y) = 0) too.
    infinite = (y == pole) | y.isinf()
    log_y = where(infinite, _zero(x * y), log(where(infinite, finite_at, y)))
    return main + where(zero, x * log_y, _zero(main))


def xlogy(input: Any, other: Any) -> Tensor:
    """``input * log(other)``, defined as 0 where ``input == 0`` (unless ``other`` is NaN)."""
    return _xlog("xlogy", input, other, Tensor.log, 0.0)


def xlog1py(input: Any, other: Any) -> Tensor:
    """``input * log1p(other)``, defined as 0 where ``input == 0`` (unless ``other`` is NaN)."""
    return _xlog("xlog1py", input, other, Tensor.log1p, -1.0)


def _floating_only(name: str, *tensors: Any) -> None:
    for t in tensors:
        if isinstance(t, Tensor) and not t.is_floating_point():
            raise NotImplementedError(f"\"{name}_cpu\" not implemented for '{_scalar_type(t.dtype)}'")


def hypot(input: Tensor, other: Tensor) -> Tensor:
    """``sqrt(input**2 + other**2)``, scaled by the larger magnitude so large values do not overflow."""
    _check_tensor("hypot", input)
    _floating_only("hypot", input, other)
    a, b = broadcast_tensors(input, _as_tensor(other, input))
    # The scale is a constant of the graph: out = s * sqrt((a/s)^2 + (b/s)^2) has gradient a / out
    # for any fixed s, so detaching it keeps the derivative (and PyTorch's NaN at (0, 0)).
    scale = a.detach().abs().maximum(b.detach().abs())
    scale = where((scale == 0) | scale.isinf(), _as_tensor(1, scale), scale)
    out = ((a / scale).square() + (b / scale).square()).sqrt() * scale
    infinite = a.isinf() | b.isinf()
    return where(infinite, _C._full((), math.inf, out.dtype), out) if bool(infinite.any()) else out


def heaviside(input: Tensor, values: Tensor) -> Tensor:
    """The step function: 0 where ``input < 0``, ``values`` where ``input == 0``, 1 where ``input > 0``
    (not differentiable, as in PyTorch)."""
    _check_tensor("heaviside", input)
    if not isinstance(values, Tensor):
        raise TypeError(f"heaviside(): argument 'values' (position 2) must be Tensor, not {type(values).__name__}")
    if input.dtype != values.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes")
    x, v = input.detach(), values.detach()
    return where(x == 0, v, (x > 0).to(x.dtype))


def deg2rad(input: Tensor) -> Tensor:
    """Degrees to radians."""
    _check_tensor("deg2rad", input)
    return _float(input) * (math.pi / 180)


def rad2deg(input: Tensor) -> Tensor:
    """Radians to degrees."""
    _check_tensor("rad2deg", input)
    return _float(input) * (180 / math.pi)


def float_power(input: Any, exponent: Any) -> Tensor:
    """``input ** exponent`` computed in float64 (either side may be a number)."""
    if not isinstance(input, Tensor) and not isinstance(exponent, Tensor):
        raise TypeError("float_power() received an invalid combination of arguments")
    base = input.to(_C.float64) if isinstance(input, Tensor) else _C._full((), input, _C.float64)
    exp = exponent.to(_C.float64) if isinstance(exponent, Tensor) else float(exponent)
    return base.pow(exp)


def logaddexp2(input: Tensor, other: Tensor) -> Tensor:
    """``log2(2**input + 2**other)`` without overflow."""
    _check_tensor("logaddexp2", input)
    _floating_only("logaddexp2", input, other)
    a, b = broadcast_tensors(input, _as_tensor(other, input))
    m = a.maximum(b)
    same_inf = m.isinf() & (a == b)  # inf - inf would be NaN; log2(2**inf + 2**inf) is inf
    d = where(same_inf, _zero(a), a - b)
    out = m + (-(d.abs()) * math.log(2)).exp().log1p() / math.log(2)
    return where(same_inf, m, out)


def sinc(input: Tensor) -> Tensor:
    """The normalized sinc ``sin(pi x) / (pi x)``, 1 at ``x = 0``.

    Near 0 it is its Taylor polynomial (exact to rounding for ``|pi x| < 0.01``), so every derivative there
    is finite and right: ``sinc'(0) = 0`` as PyTorch, and ``sinc''(0) = -pi**2 / 3`` where PyTorch's double
    backward gives NaN."""
    _check_tensor("sinc", input)
    t = _float(input) * math.pi
    small = t.abs() < 0.01
    safe = where(small, _as_tensor(1, t), t)  # the discarded quotient never divides by 0
    t2 = where(small, t, _zero(t)).square()
    series = 1 - t2 / 6 * (1 - t2 / 20 * (1 - t2 / 42))  # the omitted term, t**8 / 9!, is below 3e-22
    return where(small, series, safe.sin() / safe)


# ---- reductions ----------------------------------------------------------------------------------

def _sum(x: Tensor, dim: Optional[_Dims], keepdim: bool, dtype: Any) -> Tensor:
    if dim is None or (not isinstance(dim, int) and len(dim) == 0):
        out = x.sum(dtype=dtype)
        return out.reshape(*([1] * x.dim())) if keepdim else out
    return x.sum(dim, keepdim=keepdim, dtype=dtype)


def nansum(input: Tensor, dim: Optional[_Dims] = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """The sum, NaN taken as zero."""
    _check_tensor("nansum", input)
    x = where(input.isnan(), _zero(input), input) if input.is_floating_point() else input
    return _sum(x, dim, keepdim, dtype)


def nanmean(input: Tensor, dim: Optional[_Dims] = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """The mean of the non-NaN elements."""
    _check_tensor("nanmean", input)
    if not input.is_floating_point():
        raise RuntimeError(f"nanmean(): expected input to have floating point or complex dtype but got "
                           f"{_scalar_type(input.dtype)}")
    count = _sum(~input.isnan(), dim, keepdim, None)
    return nansum(input, dim, keepdim, dtype=dtype) / count


def aminmax(input: Tensor, *, dim: Optional[int] = None, keepdim: bool = False) -> Any:
    """``(min, max)`` of all elements or along ``dim``, as ``return_types.aminmax``."""
    _check_tensor("aminmax", input)
    if dim is None and input.numel() == 0:
        raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the operation has no "
                           "identity.")
    if dim is not None and input.dim() and input.shape[wrap_dim(dim, input.dim())] == 0:
        raise IndexError(f"aminmax: Expected reduction dim {wrap_dim(dim, input.dim())} to have non-zero size.")
    if dim is None:
        lo, hi = input.amin(), input.amax()
        if keepdim:
            lo, hi = lo.reshape(*([1] * input.dim())), hi.reshape(*([1] * input.dim()))
        return _aminmax_type(lo, hi)
    x = input if input.dim() else input.reshape(1)
    lo, hi = x.amin(dim, keepdim=keepdim), x.amax(dim, keepdim=keepdim)
    if input.dim() == 0:
        lo, hi = lo.reshape(()), hi.reshape(())
    return _aminmax_type(lo, hi)


def logcumsumexp(input: Tensor, dim: int) -> Tensor:
    """``log(cumsum(exp(input), dim))`` without overflow or underflow: each prefix's ``logsumexp``, over an
    (n, n) lower-triangular masking of the dimension (O(n^2) work, exact at any magnitude)."""
    _check_tensor("logcumsumexp", input)
    _floating_only("logcumsumexp_out", input)
    x = input
    if x.dim() == 0:
        return x.clone()
    d = wrap_dim(dim, x.dim())
    n = x.shape[d]
    if n == 0:
        return x.clone()
    last = movedim(x, d, -1)
    rows = last.unsqueeze(-2).expand(*last.shape[:-1], n, n)  # rows[..., i, j] = x[..., j]
    later = arange(n).unsqueeze(0) > arange(n).unsqueeze(1)  # j > i: outside prefix i
    masked = where(later, _C._full((), -math.inf, x.dtype), rows)
    return movedim(masked.logsumexp(-1), -1, d)


def cov(input: Tensor, *, correction: int = 1, fweights: Optional[Tensor] = None,
        aweights: Optional[Tensor] = None) -> Tensor:
    """The covariance matrix of the variables in the rows of ``input`` (observations in columns), with
    optional integer frequency and float observation weights."""
    _check_tensor("cov", input)
    if input.dim() > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an input with "
                           f"{input.dim()} dimensions")
    x = _float(input)
    x = x.reshape(1, -1) if x.dim() < 2 else x
    n = x.shape[1]
    w: Optional[Tensor] = None
    for name, wt in (("fweights", fweights), ("aweights", aweights)):
        if wt is None:
            continue
        if wt.dim() > 1:
            raise RuntimeError(f"cov(): expected {name} to have one or fewer dimensions but got {name} with "
                               f"{wt.dim()} dimensions")
        if wt.numel() != n:
            raise RuntimeError(f"cov(): expected {name} to have the same numel as there are observations in the "
                               f"input but got {wt.numel()} != {n}")
        if name == "fweights" and wt.is_floating_point():
            raise RuntimeError("cov(): expected fweights to have integral dtype but got fweights with "
                               f"{_scalar_type(wt.dtype)} dtype")
        if name == "aweights" and not wt.is_floating_point():
            raise RuntimeError("cov(): expected aweights to have floating point dtype but got aweights with "
                               f"{_scalar_type(wt.dtype)} dtype")
        if bool((wt < 0).any()):
            raise RuntimeError(f"cov(): {name} cannot be negative")
        w = wt if w is None else w * wt
    if w is None:
        w_sum: Any = n
        avg = x.mean(1, keepdim=True)
        norm: Any = float(n - correction)
    else:
        w = w.reshape(-1).to(x.dtype)
        w_sum = w.sum()
        avg = (x * w).sum(1, keepdim=True) / w_sum
        if aweights is None:
            norm = w_sum - correction
        else:
            norm = w_sum - correction * (w * aweights.reshape(-1).to(x.dtype)).sum() / w_sum
    if bool(norm <= 0):
        warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly less than the number of "
                      "observations.", UserWarning, stacklevel=2)
    norm = norm.clamp(min=0) if isinstance(norm, Tensor) else max(norm, 0.0)
    centered = x - avg
    weighted = centered if w is None else centered * w
    out = weighted.mm(centered.t()) / norm
    return out.squeeze()  # PyTorch's: one variable gives a 0-d result


def corrcoef(input: Tensor) -> Tensor:
    """Pearson correlation coefficients of the variables in the rows of ``input``, clipped to [-1, 1]."""
    _check_tensor("corrcoef", input)
    if input.dim() > 2:
        raise RuntimeError(f"corrcoef(): expected input to have two or fewer dimensions but got an input with "
                           f"{input.dim()} dimensions")
    c = cov(input)
    if c.dim() == 0:
        return c / c
    std = c.diagonal().sqrt()
    return (c / std.unsqueeze(1) / std.unsqueeze(0)).clamp(-1, 1)


# The functions above that are also Tensor methods in PyTorch.
METHODS = ("addcmul", "addcdiv", "movedim", "moveaxis", "inner", "ger", "addr", "baddbmm", "addbmm",
           "matrix_power", "diag_embed", "diagflat", "take_along_dim", "logit", "xlogy", "hypot", "heaviside",
           "deg2rad", "rad2deg", "float_power", "logaddexp2", "sinc", "nansum", "nanmean", "aminmax",
           "logcumsumexp", "cov", "corrcoef", "vdot")

FUNCTIONS = METHODS

# In-place forms: the composite's result copied into ``self`` (so autograd records the copy).
IN_PLACE = ("addcmul", "addcdiv", "logit", "xlogy", "hypot", "heaviside", "deg2rad", "rad2deg", "float_power",
            "sinc", "addr", "baddbmm", "addbmm")


def _in_place(name: str) -> Any:
    fn = globals()[name]

    def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        result = fn(self, *args, **kwargs)
        if name != "float_power" and result.dtype != self.dtype and not self.is_floating_point():
            raise RuntimeError(f"result type {_scalar_type(result.dtype)} can't be cast to "
                               f"the desired output type {_scalar_type(self.dtype)}")
        if name == "float_power" and self.dtype != _C.float64:
            raise RuntimeError(f"the base given to float_power_ has dtype "
                               f"{_scalar_type(self.dtype)} but the operation's result "
                               f"requires dtype Double")
        if tuple(result.shape) != tuple(self.shape):
            raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the broadcast shape "
                               f"{list(result.shape)}")
        return self.copy_(result)

    functools.update_wrapper(method, fn)  # the signature (for help() and the stubs) is the function's
    method.__name__ = method.__qualname__ = name + "_"
    method.__doc__ = f"In-place ``{name}``."
    return method


def install(namespace: dict) -> None:
    """Defines the functions in the package's namespace and the methods (and in-place methods) on Tensor."""
    install_names(globals(), namespace, FUNCTIONS, METHODS)
    for name in IN_PLACE:
        setattr(Tensor, name + "_", _in_place(name))
