"""Normalization layers, embedding, activations, sorting and the smooth L1 / Huber losses:
modules against PyTorch (values, gradients, double backward, running statistics over several
steps, eval mode, reprs, state_dict keys, error types and messages) and finite differences."""

from __future__ import annotations

import math
from typing import Any, Callable, List

import numpy as np
import pytest

pytest.importorskip("chaingrad._C")
import chaingrad  # noqa: E402
import chaingrad.nn as nn  # noqa: E402
import chaingrad.nn.functional as F  # noqa: E402
from chaingrad.autograd import gradcheck, gradgradcheck  # noqa: E402

try:
    import torch
except ImportError:  # the PyTorch comparisons are skipped
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")


def npy(t: Any) -> np.ndarray:
    return t.detach().numpy().copy()


def lib_tensor(lib: Any, a: np.ndarray, requires_grad: bool = False) -> Any:
    t = lib.from_numpy(np.array(a, copy=True))
    return t.requires_grad_() if requires_grad else t


def copy_state(src: Any, dst: Any) -> None:
    """Copies a chaingrad module's parameters and buffers into the torch twin."""
    with torch.no_grad():
        for (n1, p1), (n2, p2) in zip(src.state_dict().items(), dst.state_dict().items()):
            assert n1 == n2
            p2.copy_(torch.from_numpy(npy(p1)))


def grads_to_order2(lib: Any, module: Any, x: Any, gout: np.ndarray) -> List[np.ndarray]:
    """[output, d(out . g)/d(x, params...), d(sum of squared first grads)/d(x, params...)]."""
    leaves = [x] + [p for p in module.parameters()]
    out = module(x)
    g1 = lib.autograd.grad(out, leaves, lib.from_numpy(gout.copy()), create_graph=True)
    s = sum(((g * g) * (i + 1)).sum() for i, g in enumerate(g1))
    g2 = lib.autograd.grad(s, leaves, allow_unused=True)
    return [npy(out)] + [npy(g) for g in g1] + [np.zeros(tuple(leaf.shape)) if g is None else npy(g)
                                                 for g, leaf in zip(g2, leaves)]


def twin_check(make: Callable[[Any], Any], shape: tuple, seed: int = 0, rtol: float = 1e-9,
               atol: float = 1e-10) -> None:
    """Same module in both libraries (float64, chaingrad's state copied): values, first and
    second derivatives agree."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    mc, mt = make(chaingrad).double(), make(torch).double()
    with chaingrad.no_grad():
        for p in mc.parameters():
            p.copy_(chaingrad.from_numpy(rng.uniform(0.5, 1.5, tuple(p.shape))))
    copy_state(mc, mt)
    gout = rng.standard_normal(tuple(mc(lib_tensor(chaingrad, a)).shape))
    ours = grads_to_order2(chaingrad, mc, lib_tensor(chaingrad, a, True), gout)
    theirs = grads_to_order2(torch, mt, lib_tensor(torch, a, True), gout)
    for k, (o, t) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(o, t, rtol=rtol, atol=atol, err_msg=f"item {k}")


# ---------------------------------------------------------------------------------- modules vs torch

@needs_torch
@pytest.mark.parametrize("make,shape", [
    (lambda L: L.nn.LayerNorm(5), (4, 5)),
    (lambda L: L.nn.LayerNorm((3, 4), eps=1e-3), (2, 3, 4)),
    (lambda L: L.nn.LayerNorm(4, bias=False), (3, 4)),
    (lambda L: L.nn.LayerNorm(4, elementwise_affine=False), (2, 3, 4)),
    (lambda L: L.nn.BatchNorm1d(3), (5, 3)),
    (lambda L: L.nn.BatchNorm1d(3), (4, 3, 6)),
    (lambda L: L.nn.BatchNorm2d(2, affine=False), (3, 2, 2, 3)),
    (lambda L: L.nn.BatchNorm2d(2, bias=False, momentum=None), (3, 2, 2, 3)),
    (lambda L: L.nn.GELU(), (3, 4)),
    (lambda L: L.nn.GELU("tanh"), (3, 4)),
    (lambda L: L.nn.SiLU(), (3, 4)),
    (lambda L: L.nn.ELU(0.7), (3, 4)),
    (lambda L: L.nn.Softplus(2.0, 1.5), (3, 4)),
    # leaky_relu's own second derivative is 0 (piecewise linear); through softplus it is not
    (lambda L: L.nn.Sequential(L.nn.LeakyReLU(0.2), L.nn.Softplus()), (3, 4)),
    (lambda L: L.nn.Sequential(L.nn.Linear(4, 3), L.nn.BatchNorm1d(3), L.nn.GELU(), L.nn.LayerNorm(3)), (6, 4)),
], ids=lambda v: "" if callable(v) else str(v))
def test_module_values_and_two_orders_of_gradients_match_torch(make: Callable[[Any], Any], shape: tuple) -> None:
    twin_check(make, shape)


@needs_torch
def test_modules_in_eval_mode_match_torch() -> None:
    for make, shape in [(lambda L: L.nn.BatchNorm1d(3), (5, 3)), (lambda L: L.nn.BatchNorm2d(2), (3, 2, 2, 2))]:
        mc, mt = make(chaingrad).double(), make(torch).double()
        with chaingrad.no_grad():
            mc.running_mean.copy_(chaingrad.from_numpy(np.linspace(-1, 1, mc.num_features)))
            mc.running_var.copy_(chaingrad.from_numpy(np.linspace(0.5, 2, mc.num_features)))
        copy_state(mc, mt)
        twin_check(lambda L, mc=mc, mt=mt: (mc if L is chaingrad else mt).eval(), shape)


@needs_torch
@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
@pytest.mark.parametrize("dims", [(8, 3), (4, 3, 5)])
def test_batchnorm_running_statistics_over_training_steps(momentum: Any, dims: tuple) -> None:
    mc, mt = nn.BatchNorm1d(3, momentum=momentum).double(), torch.nn.BatchNorm1d(3, momentum=momentum).double()
    rng = np.random.default_rng(1)
    for step in range(5):
        a = rng.standard_normal(dims) * (step + 1) + step
        yc, yt = mc(lib_tensor(chaingrad, a, True)), mt(lib_tensor(torch, a, True))
        np.testing.assert_allclose(npy(yc), npy(yt), rtol=1e-10, atol=1e-12)
        for name in ("running_mean", "running_var"):
            np.testing.assert_allclose(npy(getattr(mc, name)), npy(getattr(mt, name)), rtol=1e-12, atol=1e-14,
                                       err_msg=f"step {step} {name}")
        assert int(mc.num_batches_tracked) == int(mt.num_batches_tracked) == step + 1
    mc.eval()
    mt.eval()
    a = rng.standard_normal(dims)
    np.testing.assert_allclose(npy(mc(lib_tensor(chaingrad, a))), npy(mt(lib_tensor(torch, a))), rtol=1e-10)
    assert int(mc.num_batches_tracked) == 5  # eval does not count batches


@needs_torch
def test_batchnorm_without_running_stats_uses_batch_stats_in_eval() -> None:
    mc = nn.BatchNorm1d(2, track_running_stats=False).double().eval()
    mt = torch.nn.BatchNorm1d(2, track_running_stats=False).double().eval()
    a = np.random.default_rng(2).standard_normal((6, 2))
    np.testing.assert_allclose(npy(mc(lib_tensor(chaingrad, a))), npy(mt(lib_tensor(torch, a))), rtol=1e-10)
    assert mc.running_mean is None and mc.num_batches_tracked is None
    assert list(mc.state_dict()) == list(mt.state_dict()) == ["weight", "bias"]


@needs_torch
def test_batchnorm_float32_large_input_matches_torch() -> None:
    # Above the parallel grain: the threaded statistics, apply and backward paths.
    a = np.random.default_rng(3).standard_normal((64, 8, 16, 16)).astype(np.float32) * 3 + 1
    mc, mt = nn.BatchNorm2d(8), torch.nn.BatchNorm2d(8)
    xc, xt = lib_tensor(chaingrad, a, True), lib_tensor(torch, a, True)
    yc, yt = mc(xc), mt(xt)
    np.testing.assert_allclose(npy(yc), npy(yt), rtol=1e-4, atol=1e-4)
    g = np.random.default_rng(4).standard_normal(a.shape).astype(np.float32)
    yc.backward(chaingrad.from_numpy(g))
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(npy(xc.grad), npy(xt.grad), rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(npy(mc.weight.grad), npy(mt.weight.grad), rtol=1e-4, atol=1e-2)
    np.testing.assert_allclose(npy(mc.running_var), npy(mt.running_var), rtol=1e-5)


@needs_torch
def test_layernorm_float32_large_input_matches_torch() -> None:
    a = np.random.default_rng(5).standard_normal((512, 256)).astype(np.float32) * 2 - 1
    mc, mt = nn.LayerNorm(256), torch.nn.LayerNorm(256)
    xc, xt = lib_tensor(chaingrad, a, True), lib_tensor(torch, a, True)
    yc, yt = mc(xc), mt(xt)
    np.testing.assert_allclose(npy(yc), npy(yt), rtol=1e-4, atol=1e-5)
    g = np.random.default_rng(6).standard_normal(a.shape).astype(np.float32)
    yc.backward(chaingrad.from_numpy(g))
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(npy(xc.grad), npy(xt.grad), rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(npy(mc.weight.grad), npy(mt.weight.grad), rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(npy(mc.bias.grad), npy(mt.bias.grad), rtol=1e-4, atol=1e-3)


@needs_torch
@pytest.mark.parametrize("kwargs", [{}, {"padding_idx": 2}, {"padding_idx": -1}, {"scale_grad_by_freq": True},
                                    {"max_norm": 1.0}, {"max_norm": 0.5, "norm_type": 1.0}])
def test_embedding_matches_torch(kwargs: dict) -> None:
    rng = np.random.default_rng(7)
    w = rng.standard_normal((6, 4))
    idx = np.array([[0, 2, 5], [2, 2, 1]])
    mc = nn.Embedding.from_pretrained(chaingrad.from_numpy(w.copy()), freeze=False, **kwargs)
    mt = torch.nn.Embedding.from_pretrained(torch.from_numpy(w.copy()), freeze=False, **kwargs)
    yc, yt = mc(chaingrad.from_numpy(idx)), mt(torch.from_numpy(idx))
    np.testing.assert_allclose(npy(yc), npy(yt), rtol=1e-12)
    np.testing.assert_allclose(npy(mc.weight), npy(mt.weight), rtol=1e-12)  # max_norm renormalizes in place
    g = rng.standard_normal(tuple(yt.shape))
    (gc,) = chaingrad.autograd.grad(yc, [mc.weight], chaingrad.from_numpy(g), create_graph=True)
    (gt,) = torch.autograd.grad(yt, [mt.weight], torch.from_numpy(g), create_graph=True)
    np.testing.assert_allclose(npy(gc), npy(gt), rtol=1e-12)
    assert yc.grad_fn.name() == yt.grad_fn.name() == "EmbeddingBackward0"


def test_embedding_padding_row_starts_at_zero_and_from_pretrained_freezes() -> None:
    chaingrad.manual_seed(0)
    m = nn.Embedding(5, 3, padding_idx=-2)
    assert m.padding_idx == 3
    np.testing.assert_array_equal(npy(m.weight[3]), np.zeros(3))
    assert not nn.Embedding.from_pretrained(chaingrad.ones(2, 3)).weight.requires_grad
    out = m(chaingrad.tensor([3, 3, 0]))
    out.sum().backward()
    np.testing.assert_array_equal(npy(m.weight.grad)[3], np.zeros(3))
    np.testing.assert_array_equal(npy(m.weight.grad)[0], np.ones(3))


# ---------------------------------------------------------------------------------- reprs and state dicts

_REPRS = [
    lambda L: L.nn.LayerNorm(3), lambda L: L.nn.LayerNorm((3, 4), eps=1e-6, elementwise_affine=False),
    lambda L: L.nn.LayerNorm(3, bias=False), lambda L: L.nn.BatchNorm1d(3),
    lambda L: L.nn.BatchNorm2d(4, momentum=None),
    lambda L: L.nn.BatchNorm2d(3, affine=False, track_running_stats=False),
    lambda L: L.nn.BatchNorm1d(2, bias=False),
    lambda L: L.nn.Embedding(5, 3), lambda L: L.nn.Embedding(5, 3, padding_idx=0, max_norm=1.0, norm_type=1.0,
                                                             scale_grad_by_freq=True, sparse=True),
    lambda L: L.nn.GELU(), lambda L: L.nn.GELU("tanh"), lambda L: L.nn.LeakyReLU(), lambda L: L.nn.LeakyReLU(0.2, True),
    lambda L: L.nn.SiLU(), lambda L: L.nn.SiLU(True), lambda L: L.nn.ELU(), lambda L: L.nn.ELU(0.5, True),
    lambda L: L.nn.Softplus(), lambda L: L.nn.Softplus(2, 10), lambda L: L.nn.SmoothL1Loss(beta=0.5),
    lambda L: L.nn.HuberLoss(delta=2.0),
    lambda L: L.nn.Sequential(L.nn.Embedding(10, 4), L.nn.LayerNorm(4), L.nn.GELU()),
]


@needs_torch
@pytest.mark.parametrize("make", _REPRS)
def test_repr_and_state_dict_keys_match_torch(make: Callable[[Any], Any]) -> None:
    mc, mt = make(chaingrad), make(torch)
    assert repr(mc) == repr(mt)
    sc, st = mc.state_dict(), mt.state_dict()
    assert list(sc) == list(st)
    for k in st:
        assert tuple(sc[k].shape) == tuple(st[k].shape), k
        assert str(sc[k].dtype).split(".")[-1] == str(st[k].dtype).split(".")[-1], k
    assert [n for n, _ in mc.named_parameters()] == [n for n, _ in mt.named_parameters()]


def test_batchnorm_state_dict_round_trip() -> None:
    m = nn.BatchNorm1d(3)
    m(chaingrad.randn(4, 3))
    fresh = nn.BatchNorm1d(3)
    fresh.load_state_dict(m.state_dict())
    np.testing.assert_array_equal(npy(fresh.running_mean), npy(m.running_mean))
    assert int(fresh.num_batches_tracked) == 1
    assert fresh.num_batches_tracked.dtype == chaingrad.int64


# ---------------------------------------------------------------------------------- finite differences

@pytest.mark.parametrize("fn", [
    lambda x, w, b: F.layer_norm(x, (4,), w, b),
    lambda x, w, b: F.batch_norm(x.reshape(4, 4, 1), None, None, w, b, training=True),
    lambda x, w, b: F.batch_norm(x, chaingrad.zeros(4, dtype=chaingrad.float64),
                                 chaingrad.ones(4, dtype=chaingrad.float64) * 2, w, b, training=False),
    lambda x, w, b: F.gelu(x, approximate="tanh") * w + b,
    lambda x, w, b: F.smooth_l1_loss(x, w.expand(4, 4), beta=0.7) + F.huber_loss(x, b.expand(4, 4), delta=0.3),
    lambda x, w, b: chaingrad.sort(x * w, dim=0).values + chaingrad.topk(x + b, 2).values.sum(),
])
def test_finite_differences(fn: Callable[..., Any]) -> None:
    rng = np.random.default_rng(8)
    x = chaingrad.from_numpy(rng.uniform(-2, 2, (4, 4))).requires_grad_()
    w = chaingrad.from_numpy(rng.uniform(0.5, 1.5, (4,))).requires_grad_()
    b = chaingrad.from_numpy(rng.uniform(-1, 1, (4,))).requires_grad_()
    assert gradcheck(fn, (x, w, b))
    assert gradgradcheck(fn, (x, w, b))


def test_embedding_finite_differences() -> None:
    w = chaingrad.from_numpy(np.random.default_rng(9).standard_normal((5, 3))).requires_grad_()
    idx = chaingrad.tensor([[4, 0], [1, 4]])
    assert gradcheck(lambda w: F.embedding(idx, w) ** 2, (w,))
    assert gradgradcheck(lambda w: F.embedding(idx, w) ** 2, (w,))


# ---------------------------------------------------------------------------------- sort / topk / one_hot

@needs_torch
def test_sort_nan_and_ties_match_torch() -> None:
    a = np.array([[3.0, np.nan, 1.0, 3.0, -np.inf], [0.0, 2.0, np.nan, 2.0, 2.0]])
    for descending in (False, True):
        vc, ic = chaingrad.sort(chaingrad.from_numpy(a), dim=1, descending=descending, stable=True)
        vt, it = torch.sort(torch.from_numpy(a), dim=1, descending=descending, stable=True)
        np.testing.assert_array_equal(npy(vc), npy(vt))
        np.testing.assert_array_equal(npy(ic), npy(it))
    # topk's order among equal values is unspecified (PyTorch's depends on its selection algorithm)
    b = np.array([[3.0, np.nan, 1.0, 2.5, -np.inf], [0.0, 2.0, np.nan, -1.0, 1.0]])
    vc, ic = chaingrad.topk(chaingrad.from_numpy(b), 3)
    vt, it = torch.topk(torch.from_numpy(b), 3)
    np.testing.assert_array_equal(npy(vc), npy(vt))
    np.testing.assert_array_equal(npy(ic), npy(it))


@needs_torch
def test_sort_large_rows_and_return_types() -> None:
    a = np.random.default_rng(10).standard_normal((300, 400))
    rc, rt = chaingrad.from_numpy(a).sort(0, True), torch.from_numpy(a).sort(0, True)
    np.testing.assert_array_equal(npy(rc.values), npy(rt.values))
    np.testing.assert_array_equal(npy(rc.indices), npy(rt.indices))
    small = np.array([[2.0, 1.0], [0.5, 3.0]])
    for name, args in (("sort", (1,)), ("topk", (1,))):
        oc = getattr(chaingrad, name)(chaingrad.from_numpy(small), *args)
        ot = getattr(torch, name)(torch.from_numpy(small), *args)
        assert type(oc).__name__ == type(ot).__name__ == name
        assert repr(oc) == repr(ot).replace("torch", "chaingrad")
    assert chaingrad.argsort(chaingrad.tensor([3, 1, 2])).tolist() == [1, 2, 0]


def test_one_hot_values() -> None:
    out = F.one_hot(chaingrad.tensor([[0, 2], [1, 0]]))
    assert out.dtype == chaingrad.int64
    np.testing.assert_array_equal(npy(out), np.eye(3, dtype=np.int64)[[[0, 2], [1, 0]]])
    assert tuple(F.one_hot(chaingrad.tensor([], dtype=chaingrad.int64), 4).shape) == (0, 4)


# ---------------------------------------------------------------------------------- errors

_ERRORS = [
    lambda L: L.nn.functional.layer_norm(L.randn(2, 4), (3,)),
    lambda L: L.nn.functional.layer_norm(L.randn(2, 4), ()),
    lambda L: L.nn.functional.layer_norm(L.randn(2, 4), (4,), L.ones(3)),
    lambda L: L.nn.functional.layer_norm(L.randn(2, 4), (4,), None, L.ones(3)),
    lambda L: L.nn.functional.layer_norm(L.randn(2, 4), (4,), L.ones(4, dtype=L.float64)),
    lambda L: L.nn.functional.layer_norm(L.ones(2, 4, dtype=L.int64), (4,)),
    lambda L: L.nn.functional.batch_norm(L.randn(2, 4), L.zeros(3), L.ones(3)),
    lambda L: L.nn.functional.batch_norm(L.randn(2, 4), None, None, L.ones(3), training=True),
    lambda L: L.nn.functional.batch_norm(L.randn(1, 4), None, None, training=True),
    lambda L: L.nn.functional.batch_norm(L.randn(2, 4), None, None),
    lambda L: L.nn.BatchNorm1d(4)(L.randn(2, 4, 3, 3)),
    lambda L: L.nn.BatchNorm2d(4)(L.randn(2, 4, 3)),
    lambda L: L.nn.BatchNorm1d(4)(L.randn(1, 4)),
    lambda L: L.nn.functional.embedding(L.tensor([5]), L.randn(5, 3)),
    lambda L: L.nn.functional.embedding(L.tensor([-1]), L.randn(5, 3)),
    lambda L: L.nn.functional.embedding(L.tensor([1.0]), L.randn(5, 3)),
    lambda L: L.nn.functional.embedding(L.tensor([1]), L.randn(5, 3), padding_idx=5),
    lambda L: L.nn.functional.embedding(L.tensor([1]), L.randn(5)),
    lambda L: L.nn.functional.embedding(L.tensor([7]), L.randn(5, 3), max_norm=1.0),
    lambda L: L.nn.Embedding(4, 2, padding_idx=-5),
    lambda L: L.nn.Embedding.from_pretrained(L.ones(3)),
    lambda L: L.nn.functional.one_hot(L.tensor([1.0])),
    lambda L: L.nn.functional.one_hot(L.tensor([-1])),
    lambda L: L.nn.functional.one_hot(L.tensor([3]), 3),
    lambda L: L.nn.functional.one_hot(L.tensor([], dtype=L.int64)),
    lambda L: L.topk(L.randn(2, 4), 5),
    lambda L: L.topk(L.randn(2, 4), -1),
    lambda L: L.sort(L.randn(2, 4), 2),
    lambda L: L.nn.functional.smooth_l1_loss(L.randn(2), L.randn(2), beta=-1.0),
    lambda L: L.nn.functional.huber_loss(L.randn(2), L.randn(2), delta=0.0),
    lambda L: L.nn.functional.huber_loss(L.randn(2), L.randn(2), reduction="bad"),
    lambda L: L.nn.functional.huber_loss(L.randn(2, 2), L.randn(2, 2), weight=L.ones(2)),
    lambda L: L.nn.functional.gelu(L.randn(2), approximate="x"),
    lambda L: L.nn.functional.gelu(L.tensor([1]), approximate="tanh"),
    lambda L: L.nn.functional.batch_norm(L.randn(4, 3), L.zeros(3, dtype=L.float64), L.ones(3, dtype=L.float64)),
    lambda L: L.nn.functional.batch_norm(L.ones(4, 3, dtype=L.int64), None, None, training=True),
    lambda L: L.nn.functional.batch_norm(L.randn(4), None, None, training=True),
    lambda L: L.nn.BatchNorm1d(3)(L.randn(4, 3, dtype=L.float64)),
    lambda L: L.nn.LayerNorm(3)(L.randn(4, 3, dtype=L.float64)),
    lambda L: L.nn.functional.huber_loss(L.tensor([1, 2]), L.tensor([1, 3])),
    lambda L: L.nn.functional.smooth_l1_loss(L.tensor([1, 2]), L.tensor([1, 3])),
    lambda L: L.nn.functional.gelu(L.tensor([True])),
]


@needs_torch
@pytest.mark.parametrize("case", range(len(_ERRORS)))
def test_errors_match_torch(case: int) -> None:
    f = _ERRORS[case]
    with pytest.raises(Exception) as expected:
        f(torch)
    with pytest.raises(Exception) as ours:
        f(chaingrad)
    assert type(ours.value) is type(expected.value)
    assert str(ours.value) == str(expected.value).replace("torch", "chaingrad")


# ---------------------------------------------------------------------------------- losses

@needs_torch
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_smooth_losses_match_torch(reduction: str) -> None:
    rng = np.random.default_rng(11)
    a, t = rng.standard_normal((3, 4)) * 2, rng.standard_normal((3, 4))
    w = rng.uniform(0, 1, (3, 4))
    for name, kw in (("SmoothL1Loss", {"beta": 0.5}), ("SmoothL1Loss", {"beta": 0.0}), ("HuberLoss", {"delta": 1.5})):
        xc, xt = lib_tensor(chaingrad, a, True), lib_tensor(torch, a, True)
        lc = getattr(nn, name)(reduction=reduction, **kw)(xc, chaingrad.from_numpy(t))
        lt = getattr(torch.nn, name)(reduction=reduction, **kw)(xt, torch.from_numpy(t))
        np.testing.assert_allclose(npy(lc), npy(lt), rtol=1e-12)
        g = rng.standard_normal(tuple(lt.shape))
        (gc,) = chaingrad.autograd.grad(lc, [xc], chaingrad.from_numpy(g))
        (gt,) = torch.autograd.grad(lt, [xt], torch.from_numpy(g))
        np.testing.assert_allclose(npy(gc), npy(gt), rtol=1e-12)
        assert lc.grad_fn.name() == lt.grad_fn.name()
    lc = F.huber_loss(chaingrad.from_numpy(a), chaingrad.from_numpy(t), reduction, 0.8, chaingrad.from_numpy(w))
    lt = torch.nn.functional.huber_loss(torch.from_numpy(a), torch.from_numpy(t), reduction, 0.8, torch.from_numpy(w))
    np.testing.assert_allclose(npy(lc), npy(lt), rtol=1e-12)


def test_smooth_l1_is_huber_over_beta() -> None:
    rng = np.random.default_rng(12)
    x, t = chaingrad.from_numpy(rng.standard_normal(20) * 3), chaingrad.from_numpy(rng.standard_normal(20))
    for beta in (0.3, 1.0, 2.5):
        np.testing.assert_allclose(npy(F.smooth_l1_loss(x, t, beta=beta)) * beta,
                                   npy(F.huber_loss(x, t, delta=beta)), rtol=1e-12)
    assert math.isclose(float(F.smooth_l1_loss(x, t, beta=0.0)), float(F.l1_loss(x, t)), rel_tol=1e-12)
