"""Matrix factorizations: Cholesky, QR, the symmetric eigendecomposition and the SVD.

LAPACK (through numpy) computes each factorization; each VJP is written in chaingrad ops, so it is
itself differentiable (``create_graph=True``, Hessians). Real float32/float64 inputs, batched over
leading dimensions, with PyTorch's argument checks and messages.
"""

from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np

from . import _C
from ._C import Tensor
from ._factories import eye
from ._functions import _scalar_type
from .autograd.function import Function
from .linalg import LinAlgError, _matrices, _tensor, solve, svdvals
from .return_types import linalg_cholesky_ex, linalg_eigh, linalg_qr, linalg_svd
from .return_types import svd as _svd_type

__all__ = ["cholesky", "cholesky_ex", "eigh", "eigvalsh", "matrix_rank", "pinv", "qr", "svd", "torch_svd"]


def _diag_embed(d: Tensor) -> Tensor:
    """Square matrices with ``d`` (..., n) on the diagonal."""
    return d.unsqueeze(-1) * eye(d.shape[-1], dtype=d.dtype)


def _off_diagonal_denominator(E: Tensor) -> Tensor:
    """E with its diagonal set to 1 (the numerators divided by it are 0 there)."""
    return _C._where(eye(E.shape[-1], dtype=_C.bool), _C._full((), 1.0, E.dtype), E)


# ---- Cholesky -------------------------------------------------------------------------------------

def _cholesky_unblocked(m: np.ndarray) -> Tuple[np.ndarray, int]:
    """LAPACK's unblocked Cholesky (potf2): the factor, or the partial factor and the 1-based order of
    the first leading minor that is not positive-definite."""
    a = np.array(m, dtype=np.float64)
    for j in range(a.shape[0]):
        ajj = a[j, j] - a[j, :j] @ a[j, :j]
        if not ajj > 0:  # also catches NaN
            a[j, j] = ajj
            return np.tril(a), j + 1
        a[j, j] = np.sqrt(ajj)
        a[j + 1:, j] = (a[j + 1:, j] - a[j + 1:, :j] @ a[j, :j]) / a[j, j]
    return np.tril(a), 0


def _cholesky_numpy(a: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """``(L, info)`` for a batch of matrices (info 0 where the factorization succeeded)."""
    try:
        return np.linalg.cholesky(a), np.zeros(a.shape[:-2], dtype=np.int64)
    except np.linalg.LinAlgError:
        batch = a.reshape(-1, a.shape[-2], a.shape[-1])
        parts = [_cholesky_unblocked(m) for m in batch]
        L = np.stack([p[0] for p in parts]).reshape(a.shape)
        return L, np.array([p[1] for p in parts], dtype=np.int64).reshape(a.shape[:-2])


def _not_positive_definite(a: np.ndarray, info: np.ndarray) -> LinAlgError:
    flat = info.reshape(-1)
    b = int(np.argmax(flat != 0))
    where = f"(Batch element {b}): " if a.ndim > 2 else ""
    return LinAlgError(f"linalg.cholesky: {where}The factorization could not be completed because the input is not "
                       f"positive-definite (the leading minor of order {int(flat[b])} is not positive-definite).")


class LinalgCholeskyEx(Function):
    """``L`` with ``A = L L^T``; VJP ``sym(L^-T phi(L^T gL) L^-1)``, phi the lower triangle with its
    diagonal halved."""

    _node_name = "LinalgCholeskyExBackward0"  # PyTorch's name for this node

    @staticmethod
    def forward(ctx: Any, A: Tensor, upper: bool) -> Tensor:
        a = _matrices("cholesky", A, square=True)
        L, info = _cholesky_numpy(a)
        if info.any():
            raise _not_positive_definite(a, info)
        out = _tensor(np.swapaxes(L, -1, -2) if upper else L, A)
        ctx.save_for_backward(out)  # the output itself, so a double backward sees L depend on A
        ctx.upper = upper
        return out

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Tuple[Tensor, None]:
        (L,) = ctx.saved_tensors
        L, gL = (L.mT, g.mT) if ctx.upper else (L, g)
        P = L.mT.matmul(gL).tril()
        P = P - 0.5 * _diag_embed(P.diagonal(0, -2, -1))
        X = solve(L.mT, P)  # L^-T P
        gA = solve(L.mT, X.mT).mT  # (L^-T P) L^-1
        return 0.5 * (gA + gA.mT), None


def cholesky(A: Tensor, *, upper: bool = False) -> Tensor:
    """The Cholesky factor of each symmetric positive-definite matrix: lower ``L`` with
    ``A = L L^T`` (or upper ``U = L^T`` with ``upper=True``); ``LinAlgError`` when one is not
    positive-definite."""
    return LinalgCholeskyEx.apply(A, upper)


def cholesky_ex(A: Tensor, *, upper: bool = False, check_errors: bool = False) -> linalg_cholesky_ex:
    """``(L, info)``: info 0 where the factorization succeeded, else the order of the first leading
    minor that is not positive-definite (L then holds LAPACK's partial factor)."""
    a = _matrices("cholesky", A, square=True)
    L, info = _cholesky_numpy(a)
    if check_errors and info.any():
        raise _not_positive_definite(a, info)
    info_t = _C.from_numpy(info).to(_C.int32)
    if not info.any():
        return linalg_cholesky_ex(LinalgCholeskyEx.apply(A, upper), info_t)
    return linalg_cholesky_ex(_tensor(np.swapaxes(L, -1, -2) if upper else L, A), info_t)


# ---- QR -------------------------------------------------------------------------------------------

_QR_MODES = ("reduced", "complete", "r")


def _qr_square_backward(Q: Tensor, R: Tensor, gQ: Tensor, gR: Tensor) -> Tensor:
    """The VJP of ``A = Q R`` for m >= n: ``(gQ + Q copyutl(N)) R^-T`` with ``N = gR R^T - Q^T gQ``
    (upper triangle of N kept, mirrored below the diagonal)."""
    N = gR.matmul(R.mT) - Q.mT.matmul(gQ)
    Y = gQ + Q.matmul(N.triu() + N.mT.tril(-1))
    return solve(R, Y.mT).mT


class LinalgQr(Function):
    """``(Q, R)`` with ``A = Q R``, Q orthonormal columns and R upper triangular."""

    _node_name = "LinalgQrBackward0"  # PyTorch's name for this node

    @staticmethod
    def forward(ctx: Any, A: Tensor, mode: str) -> Tuple[Tensor, Tensor]:
        a = _matrices("qr", A, square=False)
        if mode not in _QR_MODES:
            raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), "
                               "'r', or 'complete'")
        if mode == "r":
            R = np.linalg.qr(a, mode="r")
            Q_t = _C._full((0,), 0.0, A.dtype)
        else:
            Q, R = np.linalg.qr(a, mode=mode)
            Q_t = _tensor(Q, A)
        R_t = _tensor(R, A)
        ctx.save_for_backward(Q_t, R_t)
        ctx.mode = mode
        return Q_t, R_t

    @staticmethod
    def backward(ctx: Any, gQ: Tensor, gR: Tensor) -> Tuple[Tensor, None]:
        Q, R = ctx.saved_tensors
        if ctx.mode == "r":
            raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when mode='r'. Please "
                               "use linalg.qr(A, mode='reduced') if you are going to differentiate through linalg.qr.")
        m, n = Q.shape[-2], R.shape[-1]
        if ctx.mode == "complete" and m > n:
            raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and nrows > ncols.")
        if m >= n:
            return _qr_square_backward(Q, R, gQ, gR), None
        # Wide A = Q [U | V]: the square part X = Q U as above, with V = Q^T Y adding Y gV^T to gQ.
        U, V, gU, gV = R[..., :m], R[..., m:], gR[..., :m], gR[..., m:]
        gX = _qr_square_backward(Q, U, gQ + Q.matmul(V).matmul(gV.mT), gU)
        return _C.cat([gX, Q.matmul(gV)], -1), None


def qr(A: Tensor, mode: str = "reduced") -> linalg_qr:
    """``(Q, R)`` of each matrix: ``mode='reduced'`` (Q m-by-k), ``'complete'`` (Q m-by-m) or
    ``'r'`` (R only; Q empty and not differentiable)."""
    Q, R = LinalgQr.apply(A, mode)
    return linalg_qr(Q, R)


# ---- symmetric eigendecomposition -----------------------------------------------------------------

class LinalgEigh(Function):
    """``(L, V)`` with ``A = V diag(L) V^T``, eigenvalues ascending; VJP
    ``V (diag(gL) + skew(V^T gV) / (L_j - L_i)) V^T``."""

    _node_name = "LinalgEighBackward0"  # PyTorch's name for this node

    @staticmethod
    def forward(ctx: Any, A: Tensor, UPLO: str) -> Tuple[Tensor, Tensor]:
        if UPLO not in ("L", "U"):
            raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
        if isinstance(A, Tensor) and A.dim() >= 2 and not A.is_floating_point():
            raise NotImplementedError(f"\"linalg_eigh_cpu\" not implemented for '{_scalar_type(A.dtype)}'")
        a = _matrices("eigh", A, square=True)
        L, V = np.linalg.eigh(a, UPLO=UPLO)
        L_t, V_t = _tensor(L, A), _tensor(V, A)
        ctx.save_for_backward(L_t, V_t)
        return L_t, V_t

    @staticmethod
    def backward(ctx: Any, gL: Tensor, gV: Tensor) -> Tuple[Tensor, None]:
        L, V = ctx.saved_tensors
        K = V.mT.matmul(gV)
        E = L.unsqueeze(-2) - L.unsqueeze(-1)  # E[i, j] = L[j] - L[i]
        inner = 0.5 * (K - K.mT) / _off_diagonal_denominator(E) + _diag_embed(gL)
        return V.matmul(inner).matmul(V.mT), None


def eigh(A: Tensor, UPLO: str = "L") -> linalg_eigh:
    """``(eigenvalues, eigenvectors)`` of each symmetric matrix (only the ``UPLO`` triangle is read),
    eigenvalues in ascending order."""
    L, V = LinalgEigh.apply(A, UPLO)
    return linalg_eigh(L, V)


def eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:
    """The eigenvalues of each symmetric matrix, ascending."""
    return eigh(A, UPLO).eigenvalues


# ---- singular value decomposition -----------------------------------------------------------------

class LinalgSvd(Function):
    """``(U, S, Vh)`` with ``A = U diag(S) Vh``, S descending."""

    _node_name = "LinalgSvdBackward0"  # PyTorch's name for this node

    @staticmethod
    def forward(ctx: Any, A: Tensor, full_matrices: bool) -> Tuple[Tensor, Tensor, Tensor]:
        a = _matrices("svd", A, square=False)
        U, S, Vh = (_tensor(t, A) for t in np.linalg.svd(a, full_matrices=full_matrices))
        ctx.save_for_backward(U, S, Vh)
        return U, S, Vh

    @staticmethod
    def backward(ctx: Any, gU: Tensor, gS: Tensor, gVh: Tensor) -> Tuple[Tensor, None]:
        U, S, Vh = ctx.saved_tensors
        m, n, k = U.shape[-2], Vh.shape[-1], S.shape[-1]
        # With full_matrices the columns past k are an arbitrary basis: their gradients are ignored, as in PyTorch.
        U, gU, Vh, gVh = U[..., :k], gU[..., :k], Vh[..., :k, :], gVh[..., :k, :]
        V, gV = Vh.mT, gVh.mT
        UtgU, VtgV = U.mT.matmul(gU), V.mT.matmul(gV)
        S2 = S * S
        E = _off_diagonal_denominator(S2.unsqueeze(-2) - S2.unsqueeze(-1))  # E[j, k] = S_k^2 - S_j^2
        inner = ((UtgU - UtgU.mT) / E) * S.unsqueeze(-2) + S.unsqueeze(-1) * ((VtgV - VtgV.mT) / E) \
            + _diag_embed(gS)
        gA = U.matmul(inner).matmul(Vh)
        if m > k:  # (I - U U^T) gU S^-1 V^T
            gA = gA + ((gU - U.matmul(UtgU)) / S.unsqueeze(-2)).matmul(Vh)
        if n > k:  # U S^-1 gV^T (I - V V^T)
            gA = gA + (U / S.unsqueeze(-2)).matmul((gV - V.matmul(VtgV)).mT)
        return gA, None


def svd(A: Tensor, full_matrices: bool = True) -> linalg_svd:
    """``(U, S, Vh)`` of each matrix, singular values descending; ``full_matrices=False`` gives the
    reduced factors (U m-by-k, Vh k-by-n)."""
    U, S, Vh = LinalgSvd.apply(A, full_matrices)
    return linalg_svd(U, S, Vh)


def torch_svd(input: Tensor, some: bool = True, compute_uv: bool = True) -> _svd_type:
    """The older ``chaingrad.svd``: ``(U, S, V)`` with ``A = U diag(S) V^T`` (V, not Vh); with
    ``compute_uv=False``, U and V are zero-filled."""
    if not compute_uv:
        S = svdvals(input)
        m, n, batch = input.shape[-2], input.shape[-1], tuple(input.shape[:-2])
        return _svd_type(_C._full(batch + (m, m), 0.0, S.dtype), S, _C._full(batch + (n, n), 0.0, S.dtype))
    U, S, Vh = svd(input, full_matrices=not some)
    return _svd_type(U, S, Vh.mT)


# ---- built on the SVD -----------------------------------------------------------------------------

def _default_rtol(A: Tensor, atol: Optional[float]) -> float:
    eps = float(np.finfo(np.dtype(str(A.dtype).rsplit(".", 1)[-1])).eps)
    return 0.0 if atol is not None and atol > 0 else eps * max(A.shape[-2], A.shape[-1])


def _cutoff(A: Tensor, S: Tensor, atol: Optional[float], rtol: Optional[float]) -> Tensor:
    """``max(atol, rtol * S.max())`` per matrix, PyTorch's default tolerances when omitted."""
    rtol = _default_rtol(A, atol) if rtol is None else rtol
    smax = S.amax(-1, keepdim=True) if S.shape[-1] else _C._full(tuple(S.shape[:-1]) + (1,), 0.0, S.dtype)
    return (rtol * smax).clamp(min=atol or 0.0)


def pinv(A: Tensor, *, atol: Optional[float] = None, rtol: Optional[float] = None, hermitian: bool = False) -> Tensor:
    """The Moore-Penrose pseudo-inverse: singular values at or below ``max(atol, rtol * S.max())``
    are treated as zero."""
    _matrices("pinv", A, square=hermitian, arg="input")
    U, S, Vh = svd(A, full_matrices=False)
    keep = S > _cutoff(A, S.detach(), atol, rtol)
    one = _C._full((), 1.0, S.dtype)
    S_inv = _C._where(keep, one / _C._where(keep, S, one), _C._full((), 0.0, S.dtype))
    return Vh.mT.matmul(S_inv.unsqueeze(-1) * U.mT)


def matrix_rank(A: Tensor, *, atol: Optional[float] = None, rtol: Optional[float] = None,
                hermitian: bool = False) -> Tensor:
    """The number of singular values above ``max(atol, rtol * S.max())`` in each matrix."""
    _matrices("matrix_rank", A, square=hermitian, arg="input")
    S = svdvals(A.detach())
    return (S > _cutoff(A, S, atol, rtol)).sum(-1)
