"""``chaingrad.linalg``: PyTorch's ``torch.linalg`` functions.

The factorisations (determinant, inverse, solve, singular values) run in LAPACK through numpy,
which ships the same OpenBLAS chaingrad links. Their derivatives are written with chaingrad's
own differentiable ops (``inv``'s VJP uses ``inv``), so ``create_graph`` and forward mode work
through them. The norms are compositions of native ops.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Optional, Sequence, Tuple, Union

import numpy as np

from . import _C
from ._C import Tensor
from ._composite import broadcast_shapes
from ._composite import linalg_cross as cross
from ._composite_math import matrix_power
from ._functions import _into_out, _scalar_type
from .autograd.function import Function, once_differentiable
from .return_types import linalg_inv_ex
from .return_types import slogdet as _slogdet_type

__all__ = ["LinAlgError", "cholesky", "cholesky_ex", "cross", "det", "eigh", "eigvalsh", "inv", "inv_ex", "matmul",
           "matrix_norm", "matrix_power", "matrix_rank", "norm", "pinv", "qr", "slogdet", "solve", "svd", "svdvals",
           "vecdot", "vector_norm"]

_Dims = Union[int, Sequence[int], None]


class LinAlgError(RuntimeError):
    """A matrix had no inverse, determinant logarithm or solution where one was needed."""


def _matrices(name: str, A: Any, *, square: bool = True, arg: str = "A") -> np.ndarray:
    """A as a numpy array, after PyTorch's checks (in its order): a float32/float64 tensor of (square)
    matrices."""
    if not isinstance(A, Tensor):
        raise TypeError(f"linalg_{name}(): argument '{arg}' (position 1) must be Tensor, not {type(A).__name__}")
    if A.dim() < 2:
        raise RuntimeError(f"linalg.{name}: The input tensor A must have at least 2 dimensions.")
    if A.dtype not in (_C.float32, _C.float64):
        raise RuntimeError(f"linalg.{name}: Expected a floating point or complex tensor as input. Got "
                           f"{_scalar_type(A.dtype)}")
    if square and A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.{name}: A must be batches of square matrices, but they are {A.shape[-2]} by "
                           f"{A.shape[-1]} matrices")
    return A.detach().numpy()


def _tensor(a: np.ndarray, like: Tensor) -> Tensor:
    return _C.from_numpy(np.array(a, dtype=np.dtype(str(like.dtype).rsplit(".", 1)[-1]), order="C"))


def _with_out(name: str, out: Optional[Tensor], operands: Tuple[Any, ...], compute: Callable[[], Tensor]) -> Tensor:
    """``compute()``, or PyTorch's ``out=`` semantics around it when ``out`` is given."""
    return compute() if out is None else _into_out(name, out, operands, compute)


def _mT(t: Tensor) -> Tensor:
    return t.transpose(-2, -1)


def _constant_inverse(A: Tensor) -> Tensor:
    """inv(A) as a constant: forward mode's rules are linear in the tangent and read A's value only."""
    return _tensor(np.linalg.inv(A.detach().numpy()), A)


def _first_zero_pivot(m: np.ndarray) -> int:
    """The 1-based position of the first zero pivot of m's LU with partial pivoting, 0 when none
    (LAPACK's info)."""
    m = np.array(m, dtype=np.float64)
    for k in range(m.shape[-1]):
        p = k + int(np.argmax(np.abs(m[k:, k])))
        if m[p, k] == 0:
            return k + 1
        m[[k, p]] = m[[p, k]]
        m[k + 1:, k:] -= np.outer(m[k + 1:, k] / m[k, k], m[k, k:])
    return 0


def _zero_pivots(a: np.ndarray) -> np.ndarray:
    """``_first_zero_pivot`` of each matrix of the batch, in the batch's shape."""
    batch = a.reshape(-1, a.shape[-2], a.shape[-1])
    return np.array([_first_zero_pivot(m) for m in batch], dtype=np.int64).reshape(a.shape[:-2])


def _singular(name: str, a: np.ndarray) -> LinAlgError:
    """PyTorch's error for the first singular matrix of the batch ``a`` (LAPACK found one)."""
    info = _zero_pivots(a).reshape(-1)
    b = int(np.argmax(info != 0))
    where = f"(Batch element {b}): " if a.ndim > 2 else ""
    if name == "solve":
        return LinAlgError(f"linalg.solve: {where}The solver failed because the input matrix is singular.")
    return LinAlgError(f"linalg.{name}: {where}The diagonal element {max(int(info[b]), 1)} is zero, the inversion "
                       "could not be completed because the input matrix is singular.")


# ---- inverse, solve, determinant ------------------------------------------------------------------

class LinalgInvEx(Function):
    """``inv(A)``; VJP ``-inv(A)^T g inv(A)^T``, JVP ``-inv(A) dA inv(A)``."""

    _node_name = "LinalgInvExBackward0"  # PyTorch's name for this node

    @staticmethod
    def forward(ctx: Any, A: Tensor) -> Tensor:
        a = _matrices("inv", A)
        try:
            y = np.linalg.inv(a)
        except np.linalg.LinAlgError:
            raise _singular("inv", a) from None
        out = _tensor(y, A)
        ctx.save_for_backward(out)
        ctx.save_for_forward(out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Tensor:
        (y,) = ctx.saved_tensors
        yt = _mT(y)
        return -yt.matmul(g).matmul(yt)

    @staticmethod
    def jvp(ctx: Any, dA: Tensor) -> Tensor:
        (y,) = ctx.saved_tensors
        return -y.matmul(dA).matmul(y)


def inv(A: Tensor, *, out: Optional[Tensor] = None) -> Tensor:
    """The inverse of each square matrix; ``LinAlgError`` when one is singular."""
    return _with_out("linalg_inv_ex", out, (A,), lambda: LinalgInvEx.apply(A))


def inv_ex(A: Tensor, *, check_errors: bool = False) -> linalg_inv_ex:
    """``(inverse, info)``: info 0 where the inverse exists, else the first zero pivot (1-based)."""
    a = _matrices("inv_ex", A)
    info = _zero_pivots(a)
    if check_errors and info.any():
        raise _singular("inv_ex", a)
    info_t = _C.from_numpy(info).to(_C.int32)
    if not info.any():
        return linalg_inv_ex(LinalgInvEx.apply(A), info_t)
    # NaN where a matrix has no inverse (PyTorch leaves LAPACK's partial result there).
    y = np.full_like(a, np.nan)
    ok = info == 0
    y[ok] = np.linalg.inv(a[ok])
    return linalg_inv_ex(_tensor(y, A), info_t)


def _is_vector_rhs(A: Tensor, B: Tensor) -> bool:
    return B.dim() == 1 or (B.dim() == A.dim() - 1 and tuple(B.shape) == tuple(A.shape[:-1]))


class LinalgSolveEx(Function):
    """``solve(A, B)`` for matrix right-hand sides of A's batch shape (``solve`` broadcasts them first, so
    expand's VJP sums the gradients back); VJP ``gB = solve(A^T, g)``, ``gA = -gB X^T``."""

    _node_name = "LinalgSolveExBackward0"  # PyTorch's name for this node

    @staticmethod
    def forward(ctx: Any, A: Tensor, B: Tensor) -> Tensor:
        a = _matrices("solve", A)
        try:
            x = np.linalg.solve(a, B.detach().numpy())
        except np.linalg.LinAlgError:
            raise _singular("solve", a) from None
        out = _tensor(x, B)
        ctx.save_for_backward(A, out)
        ctx.save_for_forward(A, out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Tuple[Optional[Tensor], Optional[Tensor]]:
        A, x = ctx.saved_tensors
        gB = LinalgSolveEx.apply(_mT(A), g)
        gA = -gB.matmul(_mT(x)) if ctx.needs_input_grad[0] else None
        return gA, gB

    @staticmethod
    def jvp(ctx: Any, dA: Optional[Tensor], dB: Optional[Tensor]) -> Tensor:
        A, x = ctx.saved_tensors
        rhs = dB if dB is not None else _C._full(tuple(x.shape), 0, x.dtype)
        if dA is not None:
            rhs = rhs - dA.matmul(x)
        return _constant_inverse(A).matmul(rhs)


def solve(A: Tensor, B: Tensor, *, left: bool = True, out: Optional[Tensor] = None) -> Tensor:
    """X with ``A X = B`` (``X A = B`` when ``left`` is False); B may be a vector or a batch of them."""
    if not isinstance(B, Tensor):
        raise TypeError(f"linalg_solve(): argument 'B' (position 2) must be Tensor, not {type(B).__name__}")
    if not left:
        result = _mT(solve(_mT(A), _mT(B)))
    else:
        _matrices("solve", A)
        vector = _is_vector_rhs(A, B)
        rhs = B.unsqueeze(-1) if vector else B
        if rhs.shape[-2] != A.shape[-1]:
            raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation AX = B "
                               f"({A.shape[-2]}x{A.shape[-1]} and {rhs.shape[-2]}x{rhs.shape[-1]})")
        batch = tuple(broadcast_shapes(tuple(A.shape[:-2]), tuple(rhs.shape[:-2])))
        A_b = A.expand(*batch, *A.shape[-2:])
        rhs_b = rhs.expand(*batch, *rhs.shape[-2:])
        result = LinalgSolveEx.apply(A_b, rhs_b)
        if vector:
            result = result.squeeze(-1)
    return _with_out("_linalg_solve_ex", out, (A, B), lambda: result)


class LinalgDet(Function):
    """``det(A)``; VJP ``g det(A) inv(A)^T`` (0 at a singular A, as PyTorch gives)."""

    _node_name = "LinalgDetBackward0"  # PyTorch's name for this node

    @staticmethod
    def forward(ctx: Any, A: Tensor) -> Tensor:
        a = _matrices("det", A)
        out = _tensor(np.linalg.det(a), A)
        ctx.save_for_backward(A, out)
        ctx.save_for_forward(A, out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Tensor:
        A, d = ctx.saved_tensors
        scale = (g * d).unsqueeze(-1).unsqueeze(-1)
        try:
            return scale * _mT(LinalgInvEx.apply(A))
        except LinAlgError:
            # As PyTorch 2.13: the gradient at a singular matrix is det(A) = 0 times a finite factor, 0.
            return scale * _C._full(tuple(A.shape), 0, A.dtype)

    @staticmethod
    def jvp(ctx: Any, dA: Tensor) -> Tensor:
        A, d = ctx.saved_tensors
        return d * _constant_inverse(A).matmul(dA).diagonal(0, -2, -1).sum(-1)


def det(A: Tensor, *, out: Optional[Tensor] = None) -> Tensor:
    """The determinant of each square matrix."""
    return _with_out("_linalg_det", out, (A,), lambda: LinalgDet.apply(A))


class LinalgSlogdet(Function):
    """``(sign, log|det A|)``; the VJP of log|det A| is ``g inv(A)^T``."""

    _node_name = "LinalgSlogdetBackward0"  # PyTorch's name for this node

    @staticmethod
    def forward(ctx: Any, A: Tensor) -> Tuple[Tensor, Tensor]:
        a = _matrices("slogdet", A)
        sign, logabs = np.linalg.slogdet(a)
        sign_t, logabs_t = _tensor(sign, A), _tensor(logabs, A)
        ctx.save_for_backward(A)
        ctx.save_for_forward(A)
        ctx.mark_non_differentiable(sign_t)
        return sign_t, logabs_t

    @staticmethod
    def backward(ctx: Any, g_sign: Optional[Tensor], g_logabs: Tensor) -> Tensor:
        (A,) = ctx.saved_tensors
        return g_logabs.unsqueeze(-1).unsqueeze(-1) * _mT(LinalgInvEx.apply(A))

    @staticmethod
    def jvp(ctx: Any, dA: Tensor) -> Tuple[Optional[Tensor], Tensor]:
        (A,) = ctx.saved_tensors
        return None, _constant_inverse(A).matmul(dA).diagonal(0, -2, -1).sum(-1)


def slogdet(A: Tensor) -> _slogdet_type:
    """``(sign, logabsdet)`` of each square matrix: det = sign * exp(logabsdet), without overflow."""
    sign, logabs = LinalgSlogdet.apply(A)
    return _slogdet_type(sign, logabs)


def logdet(A: Tensor) -> Tensor:
    """``log(det(A))``: NaN where the determinant is negative, -inf where it is 0."""
    sign, logabs = LinalgSlogdet.apply(A)
    return _C._where(sign < 0, _C._full((), math.nan, logabs.dtype), logabs)


# ---- singular values and norms --------------------------------------------------------------------

class LinalgSvdvals(Function):
    """The singular values, descending; VJP ``U diag(g) V^T`` (once differentiable)."""

    _node_name = "LinalgSvdBackward0"  # PyTorch's name for this node

    @staticmethod
    def forward(ctx: Any, A: Tensor) -> Tensor:
        if A.dim() < 2:
            raise RuntimeError("linalg.svd: The input tensor A must have at least 2 dimensions.")
        a = A.detach().numpy()
        u, s, vh = np.linalg.svd(a, full_matrices=False)
        ctx.save_for_backward(_tensor(u, A), _tensor(vh, A))
        return _tensor(s, A)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, g: Tensor) -> Tensor:
        u, vh = ctx.saved_tensors
        return (u * g.unsqueeze(-2)).matmul(vh)


def svdvals(A: Tensor) -> Tensor:
    """The singular values of each matrix, in descending order."""
    return LinalgSvdvals.apply(A)


def vector_norm(x: Tensor, ord: Any = 2, dim: _Dims = None, keepdim: bool = False, *,
                dtype: Any = None) -> Tensor:
    """The ``ord``-norm of ``x`` taken as a vector (all elements, or along ``dim``): inf, -inf, 0 or any p."""
    if not isinstance(x, Tensor):
        raise TypeError(f"linalg_vector_norm(): argument 'x' (position 1) must be Tensor, not {type(x).__name__}")
    if not x.is_floating_point():
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. Got "
                           f"{_scalar_type(x.dtype)}")
    if dtype is not None:
        x = x.to(dtype)
    dims = tuple(range(x.dim())) if dim is None else (dim,) if isinstance(dim, int) else tuple(dim)
    if x.dim() == 0:
        x, dims = x.reshape(1), (0,)
        squeeze_0d = not keepdim
    else:
        squeeze_0d = False
    if ord == math.inf:
        out = x.abs().amax(dims, keepdim=keepdim)
    elif ord == -math.inf:
        out = x.abs().amin(dims, keepdim=keepdim)
    elif ord == 0:
        out = (x != 0).to(x.dtype).sum(dims, keepdim=keepdim)
    else:
        out = x.norm(ord if ord in (1, 2) else float(ord), dims, keepdim)
    return out.reshape(()) if squeeze_0d else out


def matrix_norm(A: Tensor, ord: Any = "fro", dim: Tuple[int, int] = (-2, -1), keepdim: bool = False, *,
                dtype: Any = None) -> Tensor:
    """A matrix norm over the two dimensions ``dim``: 'fro', 'nuc', inf, -inf, 1, -1, 2 or -2."""
    if not isinstance(A, Tensor):
        raise TypeError(f"linalg_matrix_norm(): argument 'A' (position 1) must be Tensor, not {type(A).__name__}")
    if A.dim() < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 dimensions.")
    if dtype is not None:
        A = A.to(dtype)
    r, c = (d % A.dim() for d in dim)
    if ord == "fro":
        return vector_norm(A, 2, (r, c), keepdim)
    if ord in ("nuc", 2, -2):
        s = svdvals(A.permute(*[d for d in range(A.dim()) if d not in (r, c)], r, c))
        out = s.sum(-1) if ord == "nuc" else s.amax(-1) if ord == 2 else s.amin(-1)
        if keepdim:
            for d in sorted((r, c)):
                out = out.unsqueeze(d)
        return out
    if ord in (1, -1, math.inf, -math.inf):
        sum_dim, pick_dim = (r, c) if ord in (1, -1) else (c, r)
        sums = A.abs().sum(sum_dim, keepdim=True)
        out = sums.amax(pick_dim, keepdim=True) if ord > 0 else sums.amin(pick_dim, keepdim=True)
        return out if keepdim else out.squeeze(max(r, c)).squeeze(min(r, c))
    raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")


def norm(A: Tensor, ord: Any = None, dim: _Dims = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """A vector norm (1-d, or an int ``dim``) or a matrix norm (2-d, or a pair ``dim``); ``ord=None`` is 2 / 'fro'."""
    if not isinstance(A, Tensor):
        raise TypeError(f"linalg_norm(): argument 'A' (position 1) must be Tensor, not {type(A).__name__}")
    if dim is not None and not isinstance(dim, int) and len(tuple(dim)) == 2:
        return matrix_norm(A, "fro" if ord is None else ord, tuple(dim), keepdim, dtype=dtype)
    if ord is not None and dim is None:
        if A.dim() == 2:
            return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
        if A.dim() != 1:
            raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got "
                               f"{A.dim()}D.")
    if isinstance(ord, str):
        raise RuntimeError(f"linalg.vector_norm: Order {ord} not supported.")
    return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Alias of ``chaingrad.matmul``."""
    return input.matmul(other)


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """The dot product of vectors along ``dim`` (inputs broadcast)."""
    return (x * y).sum(dim)


# The factorizations build on solve and svdvals above.
from ._linalg_factor import cholesky, cholesky_ex, eigh, eigvalsh, matrix_rank, pinv, qr, svd, torch_svd  # noqa: E402


def _pinverse(input: Tensor, rcond: float = 1e-15) -> Tensor:
    """The older ``chaingrad.pinverse``: ``linalg.pinv`` with relative tolerance ``rcond``."""
    return pinv(input, rtol=rcond)


def install(namespace: dict) -> None:
    """``chaingrad.det``/``inverse``/``logdet``/``slogdet``/``svd``/``pinverse`` and their Tensor methods."""
    namespace.update(det=det, inverse=inv, logdet=logdet, slogdet=slogdet, svd=torch_svd, pinverse=_pinverse)
    Tensor.svd = torch_svd
    Tensor.pinverse = _pinverse
    Tensor.det = det
    Tensor.inverse = inv
    Tensor.logdet = logdet
    Tensor.slogdet = slogdet
