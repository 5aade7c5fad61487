"""The factorizations of chaingrad.linalg (cholesky, qr, eigh, svd, pinv): values against numpy,
gradients and second derivatives by finite differences (gradcheck, gradgradcheck) and against
PyTorch when installed, PyTorch's errors."""

from __future__ import annotations

from typing import Any, Callable, Tuple

import chaingrad as cg
import numpy as np
import pytest

try:
    import torch
except ImportError:  # the cross-checks skip
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch not installed")

rng = np.random.default_rng(2024)
SQUARE = rng.standard_normal((2, 4, 4))
SPD = SQUARE @ SQUARE.transpose(0, 2, 1) + 4 * np.eye(4)  # symmetric positive-definite, distinct eigenvalues
TALL = rng.standard_normal((2, 5, 3))
WIDE = rng.standard_normal((2, 3, 5))


def _sym(a: Any) -> Any:
    return 0.5 * (a + a.mT)


# name -> (function of (library, A) giving a tuple of outputs whose values do not depend on the
# factorization's sign choices, input)
CASES: dict = {
    "cholesky": (lambda L, a: (L.linalg.cholesky(_sym(a)),), SPD),
    "cholesky_upper": (lambda L, a: (L.linalg.cholesky(_sym(a), upper=True),), SPD),
    "qr_tall": (lambda L, a: tuple(L.linalg.qr(a)), TALL),
    "qr_square": (lambda L, a: tuple(L.linalg.qr(a)), SQUARE),
    "qr_wide": (lambda L, a: tuple(L.linalg.qr(a)), WIDE),
    "eigh": (lambda L, a: (L.linalg.eigh(_sym(a)).eigenvalues, L.linalg.eigh(_sym(a)).eigenvectors.abs()), SPD),
    "eigvalsh": (lambda L, a: (L.linalg.eigvalsh(_sym(a)),), SQUARE),
    "svd_tall": (lambda L, a: _svd_invariants(L.linalg.svd(a, full_matrices=False)), TALL),
    "svd_wide": (lambda L, a: _svd_invariants(L.linalg.svd(a, full_matrices=False)), WIDE),
    "svd_full": (lambda L, a: (L.linalg.svd(a).S, L.linalg.svd(a).U[..., :3].abs()), TALL),
    "pinv_tall": (lambda L, a: (L.linalg.pinv(a),), TALL),
    "pinv_wide": (lambda L, a: (L.linalg.pinv(a),), WIDE),
}


def _svd_invariants(usv: Tuple[Any, Any, Any]) -> Tuple[Any, ...]:
    U, S, Vh = usv
    return S, U.abs(), Vh.abs()


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradients_by_finite_differences(name: str) -> None:
    f, a = CASES[name]
    A = cg.tensor(a, requires_grad=True)
    assert cg.autograd.gradcheck(lambda x: f(cg, x), (A,))
    assert cg.autograd.gradgradcheck(lambda x: f(cg, x), (A,))


@needs_torch
@pytest.mark.parametrize("name", sorted(CASES))
def test_values_gradients_and_second_derivatives_match_pytorch(name: str) -> None:
    f, a = CASES[name]
    cot = None
    results = []
    for L in (torch, cg):
        A = L.tensor(a, requires_grad=True)
        outs = f(L, A)
        if cot is None:
            cot = [np.random.default_rng(7).standard_normal(tuple(o.shape)) for o in outs]
        loss = sum((o * L.tensor(c)).sum() for o, c in zip(outs, cot))
        (g,) = L.autograd.grad(loss, A, create_graph=True)
        (gg,) = L.autograd.grad((g * g).sum(), A)
        results.append(([o.detach().numpy() for o in outs], g.detach().numpy(), gg.numpy()))
    (t_outs, t_g, t_gg), (c_outs, c_g, c_gg) = results
    for t, c in zip(t_outs, c_outs):
        np.testing.assert_allclose(c, t, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(c_g, t_g, rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(c_gg, t_gg, rtol=1e-7, atol=1e-8)


def test_factorizations_reconstruct_their_input() -> None:
    A = cg.tensor(TALL)
    Q, R = cg.linalg.qr(A)
    np.testing.assert_allclose((Q @ R).numpy(), TALL, atol=1e-12)
    assert np.allclose(np.tril(R.numpy(), -1), 0)
    U, S, Vh = cg.linalg.svd(A)
    assert tuple(U.shape) == (2, 5, 5) and tuple(Vh.shape) == (2, 3, 3)
    np.testing.assert_allclose((U[..., :3] * S.unsqueeze(-2) @ Vh).numpy(), TALL, atol=1e-12)
    L = cg.linalg.cholesky(cg.tensor(SPD))
    np.testing.assert_allclose((L @ L.mT).numpy(), SPD, atol=1e-12)
    w, V = cg.linalg.eigh(cg.tensor(SPD))
    np.testing.assert_allclose(w.numpy(), np.linalg.eigvalsh(SPD), rtol=1e-12)
    np.testing.assert_allclose((V * w.unsqueeze(-2) @ V.mT).numpy(), SPD, atol=1e-11)
    np.testing.assert_allclose(cg.linalg.pinv(A).numpy(), np.linalg.pinv(TALL), atol=1e-12)
    assert cg.linalg.matrix_rank(cg.ones(3, 2)).item() == 1


def test_old_names_svd_and_pinverse() -> None:
    A = cg.tensor(TALL[0])
    U, S, V = cg.svd(A)
    assert tuple(U.shape) == (5, 3) and tuple(V.shape) == (3, 3)
    np.testing.assert_allclose((U * S @ V.mT).numpy(), TALL[0], atol=1e-12)
    U0, S0, V0 = A.svd(compute_uv=False)
    assert tuple(U0.shape) == (5, 5) and not U0.numpy().any() and np.allclose(S0.numpy(), S.numpy())
    np.testing.assert_allclose(A.pinverse().numpy(), np.linalg.pinv(TALL[0]), atol=1e-12)


def test_cholesky_ex_reports_the_failing_minor() -> None:
    L, info = cg.linalg.cholesky_ex(cg.tensor([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 2.0], [2.0, 1.0]]]))
    assert info.tolist() == [0, 2] and info.dtype == cg.int32
    assert L[1].tolist() == [[1.0, 0.0], [2.0, -3.0]]  # LAPACK's partial factor


@pytest.mark.parametrize("call, error, message", [
    (lambda: cg.linalg.cholesky(cg.tensor([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 2.0], [2.0, 1.0]]])), cg.linalg.LinAlgError,
     r"linalg.cholesky: \(Batch element 1\): The factorization could not be completed because the input is not "
     r"positive-definite \(the leading minor of order 2 is not positive-definite\)."),
    (lambda: cg.linalg.cholesky(cg.ones(2, 3)), RuntimeError,
     "A must be batches of square matrices, but they are 2 by 3"),
    (lambda: cg.linalg.cholesky(cg.ones(3)), RuntimeError, "The input tensor A must have at least 2 dimensions."),
    (lambda: cg.linalg.svd(cg.ones(2, 2, dtype=cg.int64)), RuntimeError,
     "linalg.svd: Expected a floating point or complex tensor as input. Got Long"),
    (lambda: cg.linalg.qr(cg.ones(2, 2), mode="x"), RuntimeError, "qr received unrecognized mode 'x'"),
    (lambda: cg.linalg.eigh(cg.eye(2), UPLO="X"), RuntimeError, "Expected UPLO argument to be 'L' or 'U', but got X"),
    (lambda: cg.linalg.eigh(cg.ones(2, 2, dtype=cg.int64)), NotImplementedError,
     "\"linalg_eigh_cpu\" not implemented for 'Long'"),
])
def test_errors(call: Callable[[], Any], error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("mode, shape, message", [
    ("r", (2, 3), "The derivative of linalg.qr depends on Q, which is not computed when mode='r'"),
    ("complete", (3, 2), "The QR decomposition is not differentiable when mode='complete' and nrows > ncols."),
])
def test_qr_backward_refusals(mode: str, shape: Tuple[int, int], message: str) -> None:
    A = cg.tensor(rng.standard_normal(shape), requires_grad=True)
    Q, R = cg.linalg.qr(A, mode=mode)
    with pytest.raises(RuntimeError, match=message):
        (R.sum() + (Q.sum() if Q.numel() else 0)).backward()


@pytest.mark.parametrize("call, name", [
    (lambda A: cg.linalg.inv(A), "LinalgInvExBackward0"),
    (lambda A: cg.linalg.det(A), "LinalgDetBackward0"),
    (lambda A: cg.linalg.slogdet(A).logabsdet, "LinalgSlogdetBackward0"),
    (lambda A: cg.linalg.svdvals(A), "LinalgSvdBackward0"),
    (lambda A: cg.linalg.svd(A).S, "LinalgSvdBackward0"),
    (lambda A: cg.linalg.qr(A).R, "LinalgQrBackward0"),
    (lambda A: cg.linalg.eigh(A).eigenvalues, "LinalgEighBackward0"),
    (lambda A: cg.linalg.cholesky(A @ A.mT + cg.eye(4)), "LinalgCholeskyExBackward0"),
])
def test_grad_fn_names_are_pytorchs(call: Callable[[Any], Any], name: str) -> None:
    A = cg.tensor(SQUARE[0], requires_grad=True)
    assert type(call(A).grad_fn).__name__ == name
