"""chaingrad.linalg and the functions composed from native ops (python/chaingrad/_composite.py):
values against numpy (and PyTorch when installed), gradients by finite differences (gradcheck) and
against PyTorch, PyTorch's errors."""

from __future__ import annotations

import math
import warnings
from typing import Any, Callable

import chaingrad as cg
import numpy as np
import pytest

try:
    import torch
except ImportError:  # the cross-checks skip
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch not installed")

rng = np.random.default_rng(1234)
M = rng.standard_normal((4, 5)).astype(np.float32)
V = rng.standard_normal(5).astype(np.float32)
S = (rng.standard_normal((3, 4, 4)) + 2 * np.eye(4)).astype(np.float64)  # a batch of well-conditioned matrices
SPECIAL = np.array([1.0, np.nan, np.inf, -np.inf, -0.0], np.float32)

# name -> (function of (library, *tensors), inputs)
CASES: dict = {}
for d in (-2, 0, 1, 3):
    CASES[f"tril{d}"] = (lambda L, x, d=d: L.tril(x, d), (M,))
    CASES[f"triu{d}"] = (lambda L, x, d=d: L.triu(x, d), (M,))
    CASES[f"diag_1d{d}"] = (lambda L, x, d=d: L.diag(x, d), (V,))
    CASES[f"diag_2d{d}"] = (lambda L, x, d=d: L.diag(x, d), (M,))
CASES.update({
    "tril_batched": (lambda L, x: x.tril(), (S,)),
    "hstack": (lambda L, x: L.hstack([x, x]), (M,)),
    "hstack_1d": (lambda L, x: L.hstack([x, x]), (V,)),
    "vstack": (lambda L, x: L.vstack([x, x]), (V,)),
    "meshgrid_ij": (lambda L, x: L.meshgrid(x, x[:3], indexing="ij"), (V,)),
    "meshgrid_xy": (lambda L, x: L.meshgrid(x, x[:3], indexing="xy"), (V,)),
    "broadcast_to": (lambda L, x: L.broadcast_to(x, (2, 5)), (V,)),
    "broadcast_tensors": (lambda L, x, y: L.broadcast_tensors(x, y), (M, V)),
    "roll_flat": (lambda L, x: L.roll(x, 2), (M,)),
    "roll_dims": (lambda L, x: L.roll(x, (1, -2), (0, 1)), (M,)),
    "diff2": (lambda L, x: L.diff(x, 2, 1), (M,)),
    "diff_prepend": (lambda L, x: L.diff(x, dim=0, prepend=x[:1]), (M,)),
    "kron": (lambda L, x: L.kron(x, x[:2, :3]), (M,)),
    "tile": (lambda L, x: L.tile(x, (2, 1, 2)), (M,)),
    "tensordot": (lambda L, x: L.tensordot(x, x.t(), 1), (M,)),
    "tensordot_pairs": (lambda L, x: L.tensordot(x, x, ([0, 1], [0, 1])), (M,)),
    "cdist": (lambda L, x: L.cdist(x, x[:2] + 1), (M,)),
    "cross": (lambda L, x: L.cross(x[:, :3], x[:, 2:], dim=1), (M,)),
    "linalg_cross": (lambda L, x: L.linalg.cross(x[:, :3], x[:, 2:]), (M,)),
    "median": (lambda L, x: L.median(x), (M,)),
    "median_dim": (lambda L, x: L.median(x, 1), (M,)),
    "median_keepdim": (lambda L, x: L.median(x, 0, True), (M,)),
    "nan_to_num": (lambda L, x: L.nan_to_num(x), (SPECIAL,)),
    "nan_to_num_values": (lambda L, x: L.nan_to_num(x, 1.0, 2.0, -3.0), (SPECIAL,)),
    "lerp": (lambda L, x: L.lerp(x, x * 2 + 1, 0.7), (M,)),
    "lerp_tensor": (lambda L, x: L.lerp(x, x * 2 + 1, (x * 3).sigmoid()), (M,)),
    "logaddexp": (lambda L, x: L.logaddexp(x, x * 2), (M,)),
    "count_nonzero": (lambda L, x: L.count_nonzero(x.round()), (M,)),
    "count_nonzero_dim": (lambda L, x: L.count_nonzero(x.round(), 0), (M,)),
    "addmm": (lambda L, x: L.addmm(x[:, 0], x, x.t(), beta=0.5, alpha=2), (M,)),
    "det": (lambda L, x: L.det(x), (S,)),
    "logdet": (lambda L, x: L.logdet(x.matmul(x.transpose(-2, -1))), (S,)),
    "inverse": (lambda L, x: x.inverse(), (S,)),
    "slogdet": (lambda L, x: L.linalg.slogdet(x), (S,)),
    "solve_vector": (lambda L, x: L.linalg.solve(x, x[..., 0]), (S,)),
    "solve_matrix": (lambda L, x: L.linalg.solve(x, x[..., :2]), (S,)),
    "solve_broadcast": (lambda L, x: L.linalg.solve(x, x[0, :, :2]), (S,)),
    "solve_right": (lambda L, x: L.linalg.solve(x, x[..., :2, :], left=False), (S,)),
    "svdvals": (lambda L, x: L.linalg.svdvals(x[..., :3]), (S,)),
    "norm_default": (lambda L, x: L.linalg.norm(x), (S,)),
    "norm_dim": (lambda L, x: L.linalg.norm(x, dim=1), (M,)),
})
for o in ["fro", "nuc", 1, -1, 2, -2, math.inf, -math.inf]:
    CASES[f"matrix_norm_{o}"] = (lambda L, x, o=o: L.linalg.matrix_norm(x, o), (S,))
for o in [2, 1, 0, 3.5, math.inf, -math.inf]:
    CASES[f"vector_norm_{o}"] = (lambda L, x, o=o: L.linalg.vector_norm(x, o), (M,))
    CASES[f"vector_norm_dim_{o}"] = (lambda L, x, o=o: L.linalg.vector_norm(x, o, 1, True), (M,))

NOT_DIFFERENTIABLE = {"count_nonzero", "count_nonzero_dim", "vector_norm_0", "vector_norm_dim_0", "nan_to_num",
                      "nan_to_num_values"}


def _outputs(value: Any) -> list:
    return list(value) if isinstance(value, (tuple, list)) else [value]


def _numpy(t: Any) -> np.ndarray:
    return t.detach().numpy()


@needs_torch
@pytest.mark.parametrize("name", list(CASES))
def test_values_equal_pytorch(name: str) -> None:
    f, inputs = CASES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = _outputs(f(cg, *[cg.tensor(a) for a in inputs]))
        theirs = _outputs(f(torch, *[torch.tensor(a) for a in inputs]))
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert tuple(a.shape) == tuple(b.shape)
        assert str(a.dtype).rsplit(".", 1)[-1] == str(b.dtype).rsplit(".", 1)[-1]
        np.testing.assert_allclose(_numpy(a), _numpy(b), rtol=1e-5, atol=1e-6)


@needs_torch
@pytest.mark.parametrize("name", [n for n in CASES if n not in NOT_DIFFERENTIABLE])
def test_gradients_equal_pytorch(name: str) -> None:
    f, inputs = CASES[name]
    grads = []
    for lib in (cg, torch):
        xs = [lib.tensor(a, requires_grad=True) for a in inputs]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outs = [o for o in _outputs(f(lib, *xs)) if o.requires_grad]
        sum(o.sum() for o in outs).backward()
        grads.append([_numpy(x.grad) if x.grad is not None else None for x in xs])
    for a, b in zip(*grads):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", [n for n in CASES if n not in NOT_DIFFERENTIABLE and not n.startswith("median")])
def test_gradcheck(name: str) -> None:
    f, inputs = CASES[name]
    xs = tuple(cg.tensor(a.astype(np.float64), requires_grad=True) for a in inputs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert cg.autograd.gradcheck(lambda *a: tuple(o for o in _outputs(f(cg, *a)) if o.requires_grad), xs)


@pytest.mark.parametrize("fn", [cg.linalg.det, cg.linalg.inv, lambda a: cg.linalg.slogdet(a)[1],
                                lambda a: cg.linalg.solve(a, a[..., 1:3])])
def test_second_derivatives(fn: Callable[..., Any]) -> None:
    A = cg.tensor(S, requires_grad=True)
    assert cg.autograd.gradgradcheck(fn, (A,))


@pytest.mark.parametrize("fn", [cg.linalg.det, cg.linalg.inv, lambda a: cg.linalg.solve(a, a[..., 0]),
                                lambda a: cg.linalg.slogdet(a)[1]])
def test_forward_mode_matches_finite_differences(fn: Callable[..., Any]) -> None:
    import chaingrad.autograd.forward_ad as fwAD

    A = cg.tensor(S)
    T = cg.tensor(rng.standard_normal(S.shape))
    with fwAD.dual_level():
        tangent = fwAD.unpack_dual(fn(fwAD.make_dual(A, T))).tangent
    eps = 1e-6
    numeric = (_numpy(fn(cg.tensor(S + eps * _numpy(T)))) - _numpy(fn(cg.tensor(S - eps * _numpy(T))))) / (2 * eps)
    np.testing.assert_allclose(_numpy(tangent), numeric, rtol=1e-5, atol=1e-7)


def test_singular_inverse_raises_linalg_error() -> None:
    with pytest.raises(cg.linalg.LinAlgError, match="The diagonal element 2 is zero"):
        cg.linalg.inv(cg.tensor([[1.0, 2.0], [2.0, 4.0]]))
    with pytest.raises(RuntimeError, match="the input matrix is singular"):
        cg.linalg.solve(cg.zeros(2, 2), cg.ones(2))
    inverse, info = cg.linalg.inv_ex(cg.zeros(3, 2, 2))
    assert info.tolist() == [1, 1, 1]


def test_inv_ex_of_a_nearly_singular_invertible_matrix_has_info_zero() -> None:
    # Invertible (LU finds no zero pivot), though numpy.linalg.matrix_rank calls it rank 1.
    A = np.array([[1.0, 2.0], [2.0, 4.0 + 4e-15]])
    inverse, info = cg.linalg.inv_ex(cg.tensor(A))
    assert info.item() == 0
    np.testing.assert_allclose(_numpy(inverse), np.linalg.inv(A), rtol=1e-6)
    inverse, info = cg.linalg.inv_ex(cg.tensor(np.stack([A, np.eye(2), np.zeros((2, 2))])))
    assert info.tolist() == [0, 0, 1]
    assert np.isnan(_numpy(inverse)[2]).all() and np.array_equal(_numpy(inverse)[1], np.eye(2))


@pytest.mark.parametrize("call, name", [
    (lambda x, o: cg.linalg.inv(x, out=o), "linalg_inv_ex"),
    (lambda x, o: cg.linalg.det(x, out=o), "_linalg_det"),
    (lambda x, o: cg.linalg.solve(x, cg.ones(2), out=o), "_linalg_solve_ex"),
])
def test_linalg_out_writes_the_result_and_refuses_autograd(call: Callable[..., Any], name: str) -> None:
    x = cg.tensor(S[0, :2, :2])
    out = cg.empty(0, dtype=cg.float64)
    assert call(x, out) is out
    np.testing.assert_allclose(_numpy(out), _numpy(call(x, None)))
    with pytest.raises(RuntimeError, match=rf"^{name}\(\): functions with out=\.\.\. arguments don't support"):
        call(x.requires_grad_(), cg.empty(0, dtype=cg.float64))


def test_det_gradient_at_a_singular_matrix_is_zero_as_pytorch() -> None:
    A = cg.tensor([[1.0, 2.0], [2.0, 4.0]], requires_grad=True)
    cg.linalg.det(A).backward()
    assert A.grad.abs().sum().item() == 0


@pytest.mark.parametrize("call, message", [
    (lambda: cg.linalg.det(cg.ones(2, 3)), "A must be batches of square matrices, but they are 2 by 3 matrices"),
    (lambda: cg.linalg.inv(cg.ones(3, 3, dtype=cg.int64)),
     "Expected a floating point or complex tensor as input. Got Long"),
    (lambda: cg.linalg.det(cg.ones(3)), "must have at least 2 dimensions"),
    (lambda: cg.tril(cg.ones(3)), "tril: input tensor must have at least 2 dimensions"),
    (lambda: cg.diag(cg.ones(2, 2, 2)), r"diag\(\): Supports 1D or 2D tensors. Got 3D"),
    (lambda: cg.linalg.cross(cg.ones(2, 4), cg.ones(2, 4)), "must have length 3"),
    (lambda: cg.broadcast_shapes((2, 3), (4,)), "Shape mismatch: objects cannot be broadcast to a single shape"),
])
def test_errors(call: Callable[[], Any], message: str) -> None:
    with pytest.raises(RuntimeError, match=message):
        call()


def test_meshgrid_without_indexing_warns_as_pytorch() -> None:
    with pytest.warns(UserWarning, match="it will be required to pass the indexing argument"):
        x, y = cg.meshgrid(cg.arange(2), cg.arange(3))
    assert tuple(x.shape) == (2, 3)


def test_unique_and_methods() -> None:
    values, inverse, counts = cg.unique(cg.tensor([3, 1, 3, 2]), return_inverse=True, return_counts=True)
    assert values.tolist() == [1, 2, 3] and inverse.tolist() == [2, 0, 2, 1] and counts.tolist() == [1, 1, 2]
    x = cg.tensor(M)
    assert np.array_equal(_numpy(x.triu(1)), np.triu(M, 1))
    y = x.clone()
    y.tril_()
    assert np.array_equal(_numpy(y), np.tril(M))
    assert np.allclose(_numpy(cg.tensor(S).det()), np.linalg.det(S))


@pytest.mark.parametrize("name, ref, lo, hi", [
    ("log10", np.log10, 0.5, 2), ("exp2", np.exp2, -2, 2), ("sinh", np.sinh, -2, 2), ("cosh", np.cosh, -2, 2),
    ("asin", np.arcsin, -0.9, 0.9), ("arccos", np.arccos, -0.9, 0.9), ("arctan", np.arctan, -2, 2),
    ("asinh", np.arcsinh, -2, 2), ("acosh", np.arccosh, 1.2, 3), ("atanh", np.arctanh, -0.9, 0.9),
    ("erfc", np.vectorize(math.erfc), -2, 2), ("frac", lambda a: a - np.trunc(a), -3, 3),
])
def test_new_unary_rows(name: str, ref: Callable[..., Any], lo: float, hi: float) -> None:
    a = rng.uniform(lo, hi, (3, 4))
    x = cg.tensor(a, requires_grad=True)
    np.testing.assert_allclose(_numpy(getattr(cg, name)(x)), ref(a), rtol=1e-12)
    assert cg.autograd.gradcheck(getattr(cg, name), (x,))
    assert cg.autograd.gradgradcheck(getattr(cg, name), (x,))
    y = x.detach().clone()
    getattr(y, name + "_")()
    np.testing.assert_allclose(_numpy(y), ref(a), rtol=1e-12)


def test_predicates() -> None:
    x = cg.tensor(SPECIAL)
    assert x.isfinite().tolist() == [True, False, False, False, True]
    assert cg.signbit(x).tolist() == [False, False, False, True, True]
    assert cg.isfinite(cg.tensor([1, 2])).tolist() == [True, True]
    with pytest.raises(NotImplementedError, match="frac_cpu"):
        cg.frac(cg.tensor([1, 2]))
