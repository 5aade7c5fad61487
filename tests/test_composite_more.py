"""The functions of _composite_math.py, _composite_shape.py, _composite_stats.py and chaingrad.special:
values and gradients against PyTorch when installed, against numpy / scipy-free closed forms and finite
differences (gradcheck, gradgradcheck on float64) otherwise; PyTorch's errors."""

from __future__ import annotations

import math
import warnings
from typing import Any

import chaingrad as cg
import numpy as np
import pytest

try:
    import torch
except ImportError:  # the cross-checks skip
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch not installed")

rng = np.random.default_rng(20261207)
M = rng.standard_normal((4, 5))
V = rng.standard_normal(5)
P = rng.uniform(0.05, 0.95, (3, 4))  # probabilities
B = rng.standard_normal((3, 4, 2))
C = rng.standard_normal((3, 2, 5))
SQ = rng.standard_normal((2, 3, 3)) + 2 * np.eye(3)
EDGE = np.array([0.0, 0.0, 1.5, -2.0, 0.0, 3.0])  # zeros where xlogy / sinc / heaviside have defined values
EDGE_Y = np.array([0.0, 2.0, 0.5, 3.0, 4.0, 0.0])
WIDE = np.array([-1000.0, -3.0, 0.0, 2.0, 700.0, 701.0])  # exp overflows and underflows here

# name -> (function of (library, *tensors), float64 inputs)
CASES: dict = {
    "addcmul": (lambda L, x, v: L.addcmul(x, x, v, value=0.5), (M, V)),
    "addcmul_method": (lambda L, x, v: x.addcmul(v, v), (M, V)),
    "addcdiv": (lambda L, x, v: L.addcdiv(x, v, x.exp(), value=-2), (M, V)),
    "movedim": (lambda L, x: L.movedim(x, 0, -1), (B,)),
    "movedim_pairs": (lambda L, x: L.movedim(x, (0, 2), (2, 0)), (B,)),
    "moveaxis_method": (lambda L, x: x.moveaxis(-1, 0), (B,)),
    "inner": (lambda L, x, y: L.inner(x, y[:, :2]), (B, M)),
    "inner_1d": (lambda L, v: L.inner(v, v * 2), (V,)),
    "vdot": (lambda L, v: L.vdot(v, v.exp()), (V,)),
    "ger": (lambda L, v: L.ger(v, v[:3]), (V,)),
    "addr": (lambda L, x, v: L.addr(x, v[:4], v, beta=0.5, alpha=3), (M, V)),
    "baddbmm": (lambda L, b, c: L.baddbmm(b[..., 0:1], b, c, beta=2, alpha=0.5), (B, C)),
    "addbmm": (lambda L, b, c: L.addbmm(b[0, :, :1], b, c), (B, C)),
    "addbmm_beta0": (lambda L, b, c: L.addbmm(L.zeros(4, 1, dtype=L.float64) / 0, b, c, beta=0), (B, C)),
    "matrix_power3": (lambda L, a: L.matrix_power(a, 3), (SQ,)),
    "matrix_power5_linalg": (lambda L, a: L.linalg.matrix_power(a, 5), (SQ,)),
    "matrix_power_neg2": (lambda L, a: L.linalg.matrix_power(a, -2), (SQ,)),
    "matrix_power1": (lambda L, a: a.matrix_power(1), (SQ,)),
    "diag_embed": (lambda L, x: L.diag_embed(x), (M,)),
    "diag_embed_offset": (lambda L, x: L.diag_embed(x, 2, 0, 2), (M,)),
    "diag_embed_neg": (lambda L, x: L.diag_embed(x, -1, dim1=-1, dim2=0), (M,)),
    "diagflat": (lambda L, x: L.diagflat(x, -2), (M,)),
    "take_along_dim": (lambda L, x: L.take_along_dim(x, x.argsort(1), 1), (M,)),
    "take_along_dim_flat": (lambda L, x: L.take_along_dim(x, x.reshape(-1).argsort()[:3]), (M,)),
    "take_along_dim_bcast": (lambda L, x: L.take_along_dim(x, x[:1].argmax(1, keepdim=True), 1), (M,)),
    "logit": (lambda L, p: L.logit(p), (P,)),
    "logit_eps": (lambda L, p: p.logit(0.2), (P,)),
    "xlogy": (lambda L, x, y: L.xlogy(x, y), (EDGE, EDGE_Y + 0.25)),
    "xlogy_scalar": (lambda L, x: L.xlogy(x, 3.0), (EDGE,)),
    "xlog1py": (lambda L, x, y: L.special.xlog1py(x, y), (EDGE, EDGE_Y)),
    "hypot": (lambda L, x, y: L.hypot(x, y), (M, M[::-1].copy())),
    "hypot_large": (lambda L, x: L.hypot(x * 1e200, x * 2e200), (M,)),
    "deg2rad": (lambda L, x: L.deg2rad(x * 90), (M,)),
    "rad2deg": (lambda L, x: x.rad2deg(), (M,)),
    "float_power": (lambda L, p, y: L.float_power(p, y[:4]), (P, V)),
    "float_power_scalar": (lambda L, p: p.float_power(2.5), (P,)),
    "logaddexp2": (lambda L, x, y: L.logaddexp2(x, y), (WIDE, WIDE[::-1].copy())),
    "sinc": (lambda L, x: L.sinc(x), (EDGE,)),
    "sinc_special": (lambda L, x: L.special.sinc(x * 0.7), (M,)),
    "nansum": (lambda L, x: L.nansum(x.log()), (M,)),
    "nansum_dim": (lambda L, x: x.log().nansum((0, 1), keepdim=True), (M,)),
    "nanmean": (lambda L, x: L.nanmean(x.log(), 1), (M,)),
    "nanmean_all": (lambda L, x: x.log().nanmean(), (M,)),
    "aminmax": (lambda L, x: L.aminmax(x), (M,)),
    "aminmax_dim": (lambda L, x: x.aminmax(dim=0, keepdim=True), (M,)),
    "logcumsumexp": (lambda L, x: L.logcumsumexp(x, 1), (M,)),
    "logcumsumexp_wide": (lambda L, x: x.logcumsumexp(0), (WIDE,)),
    "cov": (lambda L, x: L.cov(x), (M,)),
    "cov_1d": (lambda L, v: L.cov(v, correction=0), (V,)),
    "cov_weights": (lambda L, x, p: L.cov(x, fweights=L.arange(5) % 3 + 1, aweights=p.reshape(-1)[:5]), (M, P)),
    "corrcoef": (lambda L, x: L.corrcoef(x), (M,)),
    "special_erf": (lambda L, x: L.special.erf(x), (M,)),
    "special_erfc": (lambda L, x: L.special.erfc(x), (M,)),
    "special_expit": (lambda L, x: L.special.expit(x), (M,)),
    "special_exp2": (lambda L, x: L.special.exp2(x), (M,)),
    "special_expm1": (lambda L, x: L.special.expm1(x), (M,)),
    "special_log1p": (lambda L, p: L.special.log1p(p), (P,)),
    "special_logit": (lambda L, p: L.special.logit(p, eps=0.1), (P,)),
    "special_xlogy": (lambda L, x, y: L.special.xlogy(x, y), (EDGE, EDGE_Y + 1)),
    "special_logsumexp": (lambda L, x: L.special.logsumexp(x, 1), (M,)),
    "special_softmax": (lambda L, x: L.special.softmax(x, 0), (M,)),
    "special_log_softmax": (lambda L, x: L.special.log_softmax(x, 1), (M,)),
    "special_round": (lambda L, x: L.special.round(x * 10), (M,)),
    "special_round_decimals": (lambda L, x: L.special.round(x * 1000, decimals=2), (M,)),
    "special_round_negative": (lambda L, x: L.special.round(x * 1000, decimals=-2), (M,)),
    "special_entr": (lambda L, x: L.special.entr(x), (np.array([0.5, 2.0, 0.1, 3.0]),)),
    "special_ndtr": (lambda L, x: L.special.ndtr(x * 3), (M,)),
    "special_log_ndtr": (lambda L, x: L.special.log_ndtr(x * 3), (M,)),
    "special_log_ndtr_tail": (lambda L, x: L.special.log_ndtr(x), (np.array([-40.0, -12.0, -10.5, -9.5, 5.0]),)),
}

# outputs that carry no gradient in PyTorch
NOT_DIFFERENTIABLE = {"special_round", "special_round_decimals", "special_round_negative"}
# gradcheck's finite differences cross a kink or a clamp edge here
NO_GRADCHECK = {"aminmax", "aminmax_dim", "logit_eps", "special_logit", "special_round", "take_along_dim",
                "take_along_dim_flat", "take_along_dim_bcast", "addbmm_beta0", "logcumsumexp_wide", "hypot_large",
                "logaddexp2"}


def _outputs(value: Any) -> list:
    return list(value) if isinstance(value, (tuple, list)) else [value]


def _numpy(t: Any) -> np.ndarray:
    return t.detach().numpy()


def _weights(shape: Any) -> np.ndarray:
    """Fixed, unequal output weights, so a gradient cannot pass by symmetry."""
    n = int(np.prod(shape))
    return np.cos(np.arange(n) * 1.3 + 0.2).reshape(tuple(shape))


def _run(lib: Any, name: str, grad: bool) -> tuple:
    f, inputs = CASES[name]
    xs = [lib.tensor(a, requires_grad=grad) for a in inputs]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outs = _outputs(f(lib, *xs))
    grads = None
    if grad:
        live = [o for o in outs if o.requires_grad]
        loss = sum((o * lib.tensor(_weights(o.shape))).sum() for o in live)
        loss.backward()
        grads = [None if x.grad is None else _numpy(x.grad) for x in xs]
    return outs, grads


@needs_torch
@pytest.mark.parametrize("name", list(CASES))
def test_values_equal_pytorch(name: str) -> None:
    ours, _ = _run(cg, name, grad=False)
    theirs, _ = _run(torch, name, grad=False)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert tuple(a.shape) == tuple(b.shape)
        assert str(a.dtype).rsplit(".", 1)[-1] == str(b.dtype).rsplit(".", 1)[-1]
        np.testing.assert_allclose(_numpy(a), _numpy(b), rtol=1e-7, atol=1e-9)


@needs_torch
@pytest.mark.parametrize("name", [n for n in CASES if n not in NOT_DIFFERENTIABLE])
def test_gradients_equal_pytorch(name: str) -> None:
    _, ours = _run(cg, name, grad=True)
    _, theirs = _run(torch, name, grad=True)
    for a, b in zip(ours, theirs):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8)


# PyTorch's double backward is NaN at sinc's 0 and where logaddexp2's inputs are far apart (chaingrad's is
# finite); at 1e200 the second derivative of hypot is rounding noise in both.
SECOND_DIFFERS = {"sinc", "logaddexp2", "hypot_large"}


@needs_torch
@pytest.mark.parametrize("name", [n for n in CASES if n not in NOT_DIFFERENTIABLE | SECOND_DIFFERS])
def test_second_derivatives_equal_pytorch(name: str) -> None:
    results = []
    for lib in (cg, torch):
        f, inputs = CASES[name]
        xs = [lib.tensor(a, requires_grad=True) for a in inputs]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outs = [o for o in _outputs(f(lib, *xs)) if o.requires_grad]
        loss = sum((o * lib.tensor(_weights(o.shape))).sum() for o in outs)
        grads = lib.autograd.grad(loss, xs, create_graph=True, allow_unused=True)
        live = [g for g in grads if g is not None and g.requires_grad]
        if not live:
            results.append([])
            continue
        second = lib.autograd.grad(sum((g * lib.tensor(_weights(g.shape) + 0.5)).sum() for g in live), xs,
                                   allow_unused=True)
        results.append([None if g is None else _numpy(g) for g in second])
    ours, theirs = results
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        if a is not None and b is not None:
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8)
        elif a is not None or b is not None:  # an input the first derivative does not depend on: None, or zeros
            assert not (a if a is not None else b).any()


@pytest.mark.parametrize("name", [n for n in CASES if n not in NOT_DIFFERENTIABLE | NO_GRADCHECK])
def test_gradcheck_and_gradgradcheck(name: str) -> None:
    f, inputs = CASES[name]
    xs = tuple(cg.tensor(a, requires_grad=True) for a in inputs)

    def fn(*a: Any) -> tuple:
        return tuple(o for o in _outputs(f(cg, *a)) if o.requires_grad)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert cg.autograd.gradcheck(fn, xs)
        assert cg.autograd.gradgradcheck(fn, xs)


# ---- closed forms and numpy, without PyTorch -----------------------------------------------------

def _np_sinc(x: np.ndarray) -> np.ndarray:
    return np.sinc(x)


NUMPY = {
    "addcmul": lambda x, v: x + 0.5 * x * v,
    "addcdiv": lambda x, v: x - 2 * v / np.exp(x),
    "movedim_pairs": lambda x: np.moveaxis(x, (0, 2), (2, 0)),
    "inner": lambda x, y: np.inner(x, y[:, :2]),
    "vdot": lambda v: np.vdot(v, np.exp(v)),
    "addr": lambda x, v: 0.5 * x + 3 * np.outer(v[:4], v),
    "baddbmm": lambda b, c: 2 * b[..., 0:1] + 0.5 * b @ c,
    "addbmm": lambda b, c: b[0, :, :1] + (b @ c).sum(0),
    "matrix_power5_linalg": lambda a: np.linalg.matrix_power(a, 5),
    "matrix_power_neg2": lambda a: np.linalg.matrix_power(a, -2),
    "diagflat": lambda x: np.diagflat(x, -2),
    "take_along_dim": lambda x: np.take_along_axis(x, np.argsort(x, 1), 1),
    "logit": lambda p: np.log(p / (1 - p)),
    "xlogy": lambda x, y: np.where(x == 0, 0, x * np.log(y)),
    "hypot": lambda x, y: np.hypot(x, y),
    "hypot_large": lambda x: np.hypot(x * 1e200, x * 2e200),
    "deg2rad": lambda x: np.deg2rad(x * 90),
    "float_power": lambda p, y: np.float_power(p, y[:4]),
    "logaddexp2": lambda x, y: np.logaddexp2(x, y),
    "sinc": _np_sinc,
    "nansum": lambda x: np.nansum(np.log(np.where(x > 0, x, np.nan))),
    "nanmean": lambda x: np.nanmean(np.log(np.where(x > 0, x, np.nan)), 1),
    "logcumsumexp": lambda x: np.logaddexp.accumulate(x, 1),
    "logcumsumexp_wide": lambda x: np.logaddexp.accumulate(x),
    "cov": lambda x: np.cov(x),
    "cov_weights": lambda x, p: np.cov(x, fweights=np.arange(5) % 3 + 1, aweights=p.reshape(-1)[:5]),
    "corrcoef": lambda x: np.corrcoef(x),
    "special_ndtr": lambda x: 0.5 * np.array([math.erfc(-v * 3 / math.sqrt(2)) for v in x.reshape(-1)]).reshape(
        x.shape),
}


@pytest.mark.parametrize("name", list(NUMPY))
def test_values_equal_numpy(name: str) -> None:
    f, inputs = CASES[name]
    with np.errstate(all="ignore"):
        expected = NUMPY[name](*inputs)
    out = f(cg, *[cg.tensor(a) for a in inputs])
    np.testing.assert_allclose(_numpy(out), expected, rtol=1e-9, atol=1e-12)


def test_log_ndtr_tail_matches_high_precision_values() -> None:
    # log(Phi(x)) from the continued-fraction-free identity Phi(x) = erfc(-x / sqrt 2) / 2, in float64 where
    # erfc has not underflowed yet, and the float32 result agrees with it past the float32 underflow point.
    x = np.array([-30.0, -20.0, -12.0, -10.5, -9.0, -1.0, 0.0, 4.0])
    expected = np.log(np.array([math.erfc(-v / math.sqrt(2)) / 2 for v in x]))
    np.testing.assert_allclose(_numpy(cg.special.log_ndtr(cg.tensor(x))), expected, rtol=1e-9)
    np.testing.assert_allclose(_numpy(cg.special.log_ndtr(cg.tensor(x, dtype=cg.float32))), expected, rtol=1e-5)


def test_edge_point_gradients() -> None:
    # PyTorch's definitions: xlogy's d/dx is 0 at x = 0 (and d/dy = x / y = 0), sinc'(0) = 0, sinc''(0) = -pi^2/3.
    x = cg.tensor([0.0, 0.0, 2.0, 0.0, 1.0], dtype=cg.float64, requires_grad=True)
    y = cg.tensor([0.5, 3.0, 4.0, 0.0, 0.0], dtype=cg.float64, requires_grad=True)
    out = cg.xlogy(x, y)
    assert out.tolist() == [0.0, 0.0, 2 * math.log(4.0), 0.0, -math.inf]
    gx, gy = cg.autograd.grad(out.sum(), (x, y))
    # x == 0: d/dx is log(y) (0 at y == 0), d/dy is x / y = 0, as PyTorch.
    np.testing.assert_allclose(_numpy(gx), [math.log(0.5), math.log(3.0), math.log(4.0), 0.0, -math.inf])
    assert gy.tolist()[:3] == [0.0, 0.0, 0.5] and gy.tolist()[4] == math.inf
    z = cg.tensor([0.0], requires_grad=True)
    assert cg.sinc(z).item() == 1.0
    (g,) = cg.autograd.grad(cg.sinc(z).sum(), z, create_graph=True)
    assert g.item() == 0.0
    (gg,) = cg.autograd.grad(g.sum(), z)
    assert gg.item() == pytest.approx(-math.pi ** 2 / 3, rel=1e-6)  # PyTorch: NaN
    x = cg.tensor([0.0, float("nan")], requires_grad=True)
    assert math.isnan(cg.xlogy(x, cg.tensor([float("nan"), 1.0]))[0].item())


def test_cov_warns_when_the_correction_leaves_no_degrees_of_freedom() -> None:
    with pytest.warns(UserWarning, match=r"cov\(\): degrees of freedom is <= 0"):
        assert cg.cov(cg.tensor([[1.0, 2.0, 4.0]]), correction=3).item() == math.inf


def test_in_place_forms() -> None:
    a = cg.tensor(M.copy())
    out = a.addcmul_(a, cg.tensor(V), value=2)
    assert out is a
    np.testing.assert_allclose(_numpy(a), M + 2 * M * V)
    a = cg.tensor(M.copy())
    a.addcdiv_(cg.tensor(V), cg.tensor(V + 3))
    np.testing.assert_allclose(_numpy(a), M + V / (V + 3))
    leaf = cg.tensor(M.copy(), requires_grad=True)
    y = leaf * 1
    y.addcmul_(leaf, leaf, value=0.5)
    y.sum().backward()
    np.testing.assert_allclose(_numpy(leaf.grad), 1 + M)
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        cg.tensor(V.copy()).addcmul_(cg.tensor(M), cg.tensor(M))
    with pytest.raises(RuntimeError, match="can't be cast"):
        cg.tensor([1, 2]).addcdiv_(cg.tensor([1.0, 2.0]), cg.tensor([3.0, 4.0]))


def test_dtypes_and_edge_shapes() -> None:
    ints = cg.tensor([1, 2, 3])
    assert cg.deg2rad(ints).dtype == cg.float32 and cg.sinc(ints).dtype == cg.float32
    assert cg.float_power(ints, 2).dtype == cg.float64 and cg.xlogy(ints, 2).dtype == cg.float32
    assert cg.addcmul(ints, ints, ints, value=2).tolist() == [3, 10, 21]
    assert cg.addcmul(ints, ints, ints, value=1.7).tolist() == [2, 6, 12]  # PyTorch: the value cast to int
    assert cg.nansum(ints).item() == 6
    empty = cg.zeros(0, 3)
    assert tuple(cg.logcumsumexp(empty, 0).shape) == (0, 3) and tuple(cg.diag_embed(empty).shape) == (0, 3, 3)
    assert tuple(cg.movedim(cg.tensor(1.0), 0, 0).shape) == ()
    assert cg.inner(cg.tensor(2.0), cg.tensor([1.0, 3.0])).tolist() == [2.0, 6.0]
    r = cg.aminmax(cg.tensor([[3.0, -1.0], [2.0, 5.0]]))
    assert isinstance(r, cg.return_types.aminmax) and (r.min.item(), r.max.item()) == (-1.0, 5.0)
    assert cg.matrix_power(cg.tensor(SQ), 0).tolist() == [np.eye(3).tolist()] * 2
    A = cg.tensor(SQ, requires_grad=True)
    cg.matrix_power(A, 0).sum().backward()
    assert A.grad is not None and not bool(A.grad.any())
    inf = cg.tensor([[math.inf, 1.0]])
    assert cg.diag_embed(inf)[0].tolist() == [[math.inf, 0.0], [0.0, 1.0]]
    assert cg.hypot(cg.tensor([math.inf, 3.0]), cg.tensor([math.nan, 4.0])).tolist() == [math.inf, 5.0]
    assert cg.logaddexp2(cg.tensor([math.inf, -math.inf]), cg.tensor([math.inf, -math.inf])).tolist() == [
        math.inf, -math.inf]
    assert cg.heaviside(cg.tensor([-1.0, 0.0, 2.0]), cg.tensor([0.5])).tolist() == [0.0, 0.5, 1.0]
    assert cg.special.entr(cg.tensor([0.0, -1.0])).tolist() == [0.0, -math.inf]


@pytest.mark.parametrize("call, error, message", [
    (lambda: cg.addcdiv(cg.ones(2), cg.tensor([1, 2]), cg.tensor([1, 2])), RuntimeError,
     "Integer division with addcdiv is no longer supported"),
    (lambda: cg.movedim(cg.ones(2, 3), (0, 1), (0,)), RuntimeError,
     r"movedim: Invalid source or destination dims: source \(\[0, 1\] dims\) should contain the same number of "
     r"dims as destination \(\[0\] dims\)"),
    (lambda: cg.movedim(cg.ones(2, 3), (0, 0), (0, 1)), RuntimeError, r"movedim: repeated dim in `source`"),
    (lambda: cg.inner(cg.ones(2, 3), cg.ones(4)), RuntimeError,
     r"inner\(\) the last dimension must match on both input tensors but got shapes \[2, 3\] and \[4\]"),
    (lambda: cg.vdot(cg.ones(2, 2), cg.ones(2)), RuntimeError, "1D tensors expected, but got 2D and 1D tensors"),
    (lambda: cg.addr(cg.ones(2, 2), cg.ones(2, 1), cg.ones(2)), RuntimeError,
     "addr: Expected 1-d argument vec1, but got 2-d"),
    (lambda: cg.baddbmm(cg.ones(2, 2), cg.ones(2, 2), cg.ones(2, 2)), RuntimeError, "batch1 must be a 3D tensor"),
    (lambda: cg.matrix_power(cg.ones(3), 2), RuntimeError,
     "linalg.matrix_power: The input tensor A must have at least 2 dimensions."),
    (lambda: cg.linalg.matrix_power(cg.ones(2, 3), 2), RuntimeError,
     "linalg.matrix_power: A must be batches of square matrices, but they are 2 by 3 matrices"),
    (lambda: cg.diag_embed(cg.ones(2), 0, 1, -1), RuntimeError, "diagonal dimensions cannot be identical 1, -1"),
    (lambda: cg.take_along_dim(cg.ones(2, 2), cg.ones(2, 2), 0), RuntimeError,
     r"torch.take_along_dim\(\): dtype of indices should be Long but got Float"),
    (lambda: cg.take_along_dim(cg.ones(2, 2), cg.tensor([0]), 0), RuntimeError,
     "input and indices should have the same number of dimensions"),
    (lambda: cg.heaviside(cg.ones(2), cg.ones(2, dtype=cg.float64)), RuntimeError,
     "heaviside is not yet implemented for tensors with different dtypes"),
    (lambda: cg.nanmean(cg.tensor([1, 2])), RuntimeError,
     r"nanmean\(\): expected input to have floating point or complex dtype but got Long"),
    (lambda: cg.aminmax(cg.ones(0)), RuntimeError, r"aminmax\(\): cannot compute aminmax over an empty dimension"),
    (lambda: cg.cov(cg.ones(2, 2, 2)), RuntimeError, r"cov\(\): expected input to have two or fewer dimensions"),
    (lambda: cg.cov(cg.ones(2, 3), fweights=cg.ones(3)), RuntimeError,
     r"cov\(\): expected fweights to have integral dtype but got fweights with Float dtype"),
    (lambda: cg.cov(cg.ones(2, 3), aweights=cg.ones(2)), RuntimeError,
     r"cov\(\): expected aweights to have the same numel as there are observations in the input but got 2 != 3"),
    (lambda: cg.cov(cg.ones(2, 3), fweights=cg.tensor([1, -1, 1])), RuntimeError, r"cov\(\): fweights cannot be "
     "negative"),
    (lambda: cg.logit([0.5]), TypeError, r"logit\(\): argument 'input' \(position 1\) must be Tensor, not list"),
])
def test_errors(call: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        call()


@needs_torch
@pytest.mark.parametrize("call", [
    lambda L: L.movedim(L.ones(2, 3), (0, 1), (0,)),
    lambda L: L.inner(L.ones(2, 3), L.ones(4)),
    lambda L: L.vdot(L.ones(2, 2), L.ones(2)),
    lambda L: L.linalg.matrix_power(L.ones(2, 3), 2),
    lambda L: L.nanmean(L.tensor([1, 2])),
    lambda L: L.aminmax(L.ones(0)),
    lambda L: L.cov(L.ones(2, 3), fweights=L.ones(3)),
    lambda L: L.aminmax(L.ones(0, 3), dim=0),
    lambda L: L.hypot(L.tensor([1, 2]), L.tensor([1, 2])),
    lambda L: L.logaddexp2(L.tensor([1, 2]), L.tensor([1, 2])),
    lambda L: L.logcumsumexp(L.tensor([1, 2]), 0),
])
def test_error_messages_equal_pytorch(call: Any) -> None:
    with pytest.raises(Exception) as theirs:
        call(torch)
    with pytest.raises(type(theirs.value)) as ours:
        call(cg)
    assert str(ours.value).split("\n")[0] == str(theirs.value).split("\n")[0]


def test_names_exist_as_in_pytorch() -> None:
    names = ["addcmul", "addcdiv", "movedim", "moveaxis", "inner", "vdot", "ger", "outer", "addr", "baddbmm",
             "addbmm", "matrix_power", "diag_embed", "diagflat", "take_along_dim", "logit", "xlogy", "hypot",
             "heaviside", "deg2rad", "rad2deg", "float_power", "logaddexp2", "nansum", "nanmean", "aminmax",
             "logcumsumexp", "cov", "corrcoef", "sinc"]
    for name in names:
        assert callable(getattr(cg, name)) and callable(getattr(cg.Tensor, name)), name
    for name in ("addcmul_", "addcdiv_", "xlogy_", "sinc_", "logit_", "hypot_"):
        assert callable(getattr(cg.Tensor, name)), name
    for name in cg.special.__all__:
        assert callable(getattr(cg.special, name)), name
        if torch is not None:
            assert hasattr(torch.special, name), name


@pytest.mark.parametrize("name", ["addcdiv", "xlogy", "sinc", "logcumsumexp", "cov_weights", "logaddexp2",
                                  "special_log_ndtr_tail", "matrix_power3", "hypot", "diag_embed_offset"])
def test_forward_mode_matches_finite_differences(name: str) -> None:
    import chaingrad.autograd.forward_ad as fwAD

    f, inputs = CASES[name]
    x, rest = inputs[0], [cg.tensor(a) for a in inputs[1:]]
    direction = rng.standard_normal(x.shape)
    with fwAD.dual_level():
        out = _outputs(f(cg, fwAD.make_dual(cg.tensor(x), cg.tensor(direction)), *rest))[0]
        tangent = _numpy(fwAD.unpack_dual(out).tangent)
    eps = 1e-6
    plus = _numpy(_outputs(f(cg, cg.tensor(x + eps * direction), *rest))[0])
    minus = _numpy(_outputs(f(cg, cg.tensor(x - eps * direction), *rest))[0])
    np.testing.assert_allclose(tangent, (plus - minus) / (2 * eps), rtol=1e-5, atol=1e-6)
