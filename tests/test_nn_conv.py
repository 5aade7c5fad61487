"""Convolution, pooling, padding, unfold/fold and einsum: values, gradients and second
derivatives against PyTorch (when installed) and finite differences; module reprs, parameter
shapes and initialisation; PyTorch's error messages for bad shapes and arguments."""

from __future__ import annotations

import warnings
from typing import Any, Callable, List

import numpy as np
import pytest

pytest.importorskip("chaingrad._C")
import chaingrad  # noqa: E402
import chaingrad.nn as nn  # noqa: E402
from chaingrad.autograd import gradcheck, gradgradcheck  # noqa: E402

try:
    import torch
except ImportError:
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
# padding='same' with an even kernel warns (as PyTorch does); the warning is not under test here.
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")


def _leaves(lib: Any, arrays: List[np.ndarray]) -> List[Any]:
    return [lib.from_numpy(a.copy()).requires_grad_() for a in arrays]


def _np(t: Any) -> np.ndarray:
    return t.detach().numpy()


# Each case: a callable of (lib, *tensors) and the float64 input shapes.
CASES = {
    "conv2d": (lambda L, x, w, b: L.nn.functional.conv2d(x, w, b, stride=(2, 1), padding=(1, 2), dilation=(1, 2)),
               [(2, 3, 7, 6), (4, 3, 3, 2), (4,)]),
    "conv2d_groups_same": (lambda L, x, w: L.nn.functional.conv2d(x, w, padding="same", groups=2),
                           [(2, 4, 5, 5), (6, 2, 2, 3)]),
    "conv2d_unbatched": (lambda L, x, w: L.nn.functional.conv2d(x, w, stride=2), [(3, 6, 5), (2, 3, 3, 3)]),
    "conv1d": (lambda L, x, w, b: L.nn.functional.conv1d(x, w, b, stride=2, padding=2, dilation=2),
               [(2, 3, 9), (4, 3, 3), (4,)]),
    "conv1d_depthwise": (lambda L, x, w: L.nn.functional.conv1d(x, w, groups=3, padding="same"),
                         [(2, 3, 8), (6, 1, 4)]),
    "avg_pool2d": (lambda L, x: L.nn.functional.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
                   [(2, 3, 7, 6)]),
    "pad_reflect": (lambda L, x: L.nn.functional.pad(x, (2, 1, 1, 2), mode="reflect"), [(2, 3, 4, 5)]),
    "pad_constant": (lambda L, x: L.nn.functional.pad(x, (1, -1, 2, 0), value=0.25), [(2, 3, 4)]),
    "unfold_fold": (lambda L, x: L.nn.functional.fold(L.nn.functional.unfold(x, 2, padding=1), (5, 4), 2, padding=1),
                    [(2, 3, 5, 4)]),
    "einsum": (lambda L, a, b: L.einsum("bij,bjk->bki", a, b), [(2, 3, 4), (2, 4, 2)]),
}


def _inputs(name: str) -> List[np.ndarray]:
    rng = np.random.default_rng(len(name))
    return [rng.standard_normal(s) for s in CASES[name][1]]


def _max_pool_inputs() -> List[np.ndarray]:
    rng = np.random.default_rng(3)
    return [rng.permutation(np.linspace(-2, 2, 2 * 3 * 7 * 6)).reshape(2, 3, 7, 6)]  # no ties


CASES["max_pool2d"] = (lambda L, x: L.nn.functional.max_pool2d(x, 3, 2, 1, dilation=(1, 2), ceil_mode=True),
                       [(2, 3, 7, 6)])


def _case_inputs(name: str) -> List[np.ndarray]:
    return _max_pool_inputs() if name == "max_pool2d" else _inputs(name)


@pytest.mark.parametrize("name", sorted(CASES))
def test_finite_differences(name: str) -> None:
    fn = CASES[name][0]
    leaves = _leaves(chaingrad, _case_inputs(name))
    assert gradcheck(lambda *a: fn(chaingrad, *a), tuple(leaves))
    assert gradgradcheck(lambda *a: fn(chaingrad, *a), tuple(leaves))


@needs_torch
@pytest.mark.parametrize("name", sorted(CASES))
def test_values_gradients_and_double_backward_match_torch(name: str) -> None:
    fn = CASES[name][0]
    arrays = _case_inputs(name)
    ours, theirs = _leaves(chaingrad, arrays), _leaves(torch, arrays)
    out, ref = fn(chaingrad, *ours), fn(torch, *theirs)
    np.testing.assert_allclose(_np(out), _np(ref), rtol=1e-10, atol=1e-12)
    g = np.random.default_rng(1).standard_normal(tuple(ref.shape))
    g_ours, g_theirs = _leaves(chaingrad, [g])[0], _leaves(torch, [g])[0]  # second order in g too
    gc = chaingrad.autograd.grad(out, ours, g_ours, create_graph=True)
    gt = torch.autograd.grad(ref, theirs, g_theirs, create_graph=True)
    for a, b in zip(gc, gt):
        np.testing.assert_allclose(_np(a), _np(b), rtol=1e-10, atol=1e-12)
    # Second order: d/d inputs of <grads, v> (mixed terms across input and weight included).
    vs = [np.random.default_rng(2 + i).standard_normal(tuple(b.shape)) for i, b in enumerate(gt)]
    sc = sum((a * chaingrad.from_numpy(v)).sum() for a, v in zip(gc, vs))
    st = sum((b * torch.from_numpy(v)).sum() for b, v in zip(gt, vs))
    ggc = chaingrad.autograd.grad(sc, ours + [g_ours], allow_unused=True)
    ggt = torch.autograd.grad(st, theirs + [g_theirs], allow_unused=True)
    for a, b in zip(ggc, ggt):  # an unused input: None or zeros, either way
        if a is None or b is None:
            assert not np.any(_np(a if b is None else b)) if (a is not None or b is not None) else True
            continue
        np.testing.assert_allclose(_np(a), _np(b), rtol=1e-10, atol=1e-12)


@needs_torch
def test_conv_float32_large_batch_chunks_match_torch() -> None:
    # Enough images that forward and backward run in several column chunks; 5x5 kernel, stride 2.
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in [(64, 3, 96, 96), (8, 3, 5, 5), (8,)]]
    ours, theirs = _leaves(chaingrad, arrays), _leaves(torch, arrays)
    out = chaingrad.nn.functional.conv2d(*ours, stride=2, padding=2)
    ref = torch.nn.functional.conv2d(*theirs, stride=2, padding=2)
    np.testing.assert_allclose(_np(out), _np(ref), rtol=1e-4, atol=1e-4)
    g = rng.standard_normal(tuple(ref.shape)).astype(np.float32)
    gc = chaingrad.autograd.grad(out, ours, chaingrad.from_numpy(g))
    gt = torch.autograd.grad(ref, theirs, torch.from_numpy(g))
    for a, b in zip(gc, gt):
        scale = np.abs(_np(b)).max()
        np.testing.assert_allclose(_np(a), _np(b), rtol=1e-3, atol=1e-5 * scale)


@needs_torch
def test_max_pool_indices_and_nan_match_torch() -> None:
    x = _max_pool_inputs()[0]
    x[0, 0, 1, 1] = np.nan
    o, i = chaingrad.nn.functional.max_pool2d(chaingrad.from_numpy(x), 2, return_indices=True)
    ot, it = torch.nn.functional.max_pool2d(torch.from_numpy(x), 2, return_indices=True)
    np.testing.assert_array_equal(i.numpy(), it.numpy())
    np.testing.assert_array_equal(np.isnan(o.numpy()), np.isnan(ot.numpy()))
    o1, i1 = chaingrad.nn.functional.max_pool1d(chaingrad.from_numpy(x[0]), 3, 2, 1, return_indices=True)
    ot1, it1 = torch.nn.functional.max_pool1d(torch.from_numpy(x[0]), 3, 2, 1, return_indices=True)
    np.testing.assert_array_equal(i1.numpy(), it1.numpy())


def test_grad_fn_names() -> None:
    F = chaingrad.nn.functional
    x = chaingrad.randn(1, 2, 5, 5, requires_grad=True)
    w = chaingrad.randn(3, 2, 3, 3, requires_grad=True)
    assert F.conv2d(x, w).grad_fn.name() == "ConvolutionBackward0"
    assert F.max_pool2d(x, 2).grad_fn.name() == "MaxPool2DWithIndicesBackward0"
    y = F.avg_pool2d(x, 2)
    assert y.grad_fn.name() == "AvgPool2DBackward0"
    v = chaingrad.ones(*y.shape, requires_grad=True)
    (g,) = chaingrad.autograd.grad(y, [x], v, create_graph=True)
    assert g.grad_fn.name() == "AvgPool2DBackwardBackward0"
    assert F.pad(x, (1, 1)).grad_fn.name() == "ConstantPadNdBackward0"
    assert F.pad(x, (1, 1, 1, 1), mode="replicate").grad_fn.name() == "ReplicationPad2DBackward0"


# ---------------------------------------------------------------------------------- modules

MODULES = [
    ("Conv2d", (3, 16, 3), {}),
    ("Conv2d", (3, 16, (3, 2)), {"stride": 2, "padding": 1, "dilation": 2, "bias": False, "padding_mode": "reflect"}),
    ("Conv2d", (4, 8, 3), {"padding": "same", "groups": 2}),
    ("Conv1d", (3, 16, 3), {}),
    ("Conv1d", (3, 6, 3), {"padding": "valid", "groups": 3, "padding_mode": "circular"}),
    ("MaxPool2d", (2,), {}),
    ("MaxPool2d", ((2, 3), 1, 1, 2, True, True), {}),
    ("AvgPool2d", (2,), {}),
    ("AvgPool2d", (3, 2, 1, True, False, 4), {}),
    ("MaxPool1d", (2,), {}),
    ("AvgPool1d", (3, 2, 1, True, False), {}),
]


@needs_torch
@pytest.mark.parametrize("name,args,kwargs", MODULES)
def test_module_repr_and_parameters_match_torch(name: str, args: tuple, kwargs: dict) -> None:
    ours, theirs = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == \
           [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]


@needs_torch
@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("padding", [1, "same", (2, 0)])
def test_conv2d_module_forward_backward_match_torch(mode: str, padding: Any) -> None:
    ours = nn.Conv2d(4, 6, (3, 2), padding=padding, padding_mode=mode, groups=2, dtype=chaingrad.float64)
    theirs = torch.nn.Conv2d(4, 6, (3, 2), padding=padding, padding_mode=mode, groups=2, dtype=torch.float64)
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(_np(ours.weight)))
        theirs.bias.copy_(torch.from_numpy(_np(ours.bias)))
    x = np.random.default_rng(0).standard_normal((2, 4, 6, 5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # padding='same' with an even kernel warns in both
        out, ref = ours(chaingrad.from_numpy(x)), theirs(torch.from_numpy(x))
    np.testing.assert_allclose(_np(out), _np(ref), rtol=1e-10, atol=1e-12)
    out.sum().backward()
    ref.sum().backward()
    np.testing.assert_allclose(_np(ours.weight.grad), theirs.weight.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(_np(ours.bias.grad), theirs.bias.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_conv_init_bounds() -> None:
    chaingrad.manual_seed(0)
    m = nn.Conv2d(16, 32, 3)
    bound = 1 / np.sqrt(16 * 9)  # kaiming_uniform_(a=sqrt(5)) and the bias both give 1/sqrt(fan_in)
    w, b = _np(m.weight), _np(m.bias)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert np.abs(b).max() <= bound and 0.5 * bound < w.std() < 0.65 * bound  # U(-b, b): std b/sqrt(3)
    assert nn.Conv1d(4, 8, 5, groups=2).weight.shape == (8, 2, 5)


def test_small_cnn_trains() -> None:
    chaingrad.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(4 * 4 * 4, 2))
    opt = chaingrad.optim.SGD(model.parameters(), lr=0.1)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 1, 8, 8)).astype(np.float32)
    y = (x[:, 0, :, :4].mean((1, 2)) > x[:, 0, :, 4:].mean((1, 2))).astype(np.int64)
    xt, yt = chaingrad.from_numpy(x), chaingrad.from_numpy(y)
    first = None
    for _ in range(60):
        loss = nn.functional.cross_entropy(model(xt), yt)
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.5 * first


# ---------------------------------------------------------------------------------- errors

def _bad_calls() -> List[Callable[[Any], Any]]:
    def F(L: Any) -> Any:
        return L.nn.functional

    def t(L: Any, *s: int) -> Any:
        return L.ones(*s)

    return [
        lambda L: F(L).conv2d(t(L, 2, 3), t(L, 4, 3, 3, 3)),
        lambda L: F(L).conv2d(t(L, 2, 5, 8, 8), t(L, 4, 3, 3, 3)),
        lambda L: F(L).conv2d(t(L, 2, 3, 8, 8), t(L, 4, 3, 3)),
        lambda L: F(L).conv2d(t(L, 2, 3, 8, 8), t(L, 4, 3, 3, 3), groups=2),
        lambda L: F(L).conv2d(t(L, 2, 3, 8, 8), t(L, 4, 1, 3, 3), groups=3),
        lambda L: F(L).conv2d(t(L, 2, 3, 8, 8), t(L, 6, 1, 3, 3), t(L, 5), groups=3),
        lambda L: F(L).conv2d(t(L, 2, 3, 2, 2), t(L, 4, 3, 3, 3)),
        lambda L: F(L).conv2d(t(L, 2, 3, 8, 8), t(L, 4, 3, 3, 3), stride=0),
        lambda L: F(L).conv2d(t(L, 2, 3, 8, 8), t(L, 4, 3, 3, 3), padding=-1),
        lambda L: F(L).conv2d(t(L, 2, 3, 8, 8), t(L, 4, 3, 3, 3), dilation=0),
        lambda L: F(L).conv2d(t(L, 2, 3, 8, 8), t(L, 4, 3, 3, 3), padding="same", stride=2),
        lambda L: F(L).conv2d(t(L, 2, 3, 8, 8), t(L, 4, 3, 3, 3), padding="foo"),
        lambda L: F(L).conv2d(t(L, 2, 3, 8, 8), t(L, 4, 3, 3, 3), stride=(1, 1, 1)),
        lambda L: F(L).conv2d(t(L, 2, 3, 8, 8), t(L, 4, 3, 3, 3).double()),
        lambda L: F(L).conv1d(t(L, 2, 3, 8, 8), t(L, 4, 3, 3)),
        lambda L: F(L).conv1d(t(L, 2, 3, 8), t(L, 4, 3, 3), groups=0),
        lambda L: F(L).max_pool2d(t(L, 3), 2),
        lambda L: F(L).max_pool2d(t(L, 2, 3, 8, 8), 2, padding=2),
        lambda L: F(L).max_pool2d(t(L, 2, 3, 8, 8), 20),
        lambda L: F(L).max_pool2d(t(L, 2, 3, 8, 8), 2, stride=0),
        lambda L: F(L).max_pool2d(t(L, 2, 3, 8, 8), 0, stride=1),
        lambda L: F(L).max_pool2d(t(L, 2, 3, 8, 8), 2, stride=1, dilation=0),
        lambda L: F(L).max_pool2d(t(L, 2, 3, 8, 8), (2, 2, 2)),
        lambda L: F(L).avg_pool2d(t(L, 2, 3, 8, 8), 20),
        lambda L: F(L).avg_pool2d(t(L, 2, 3, 8, 8), 2, divisor_override=0),
        lambda L: F(L).max_pool1d(t(L, 2, 3, 8, 8), 2),
        lambda L: F(L).avg_pool1d(t(L, 2, 3, 8, 8), 2),
        lambda L: F(L).pad(t(L, 2, 3, 8, 8), (1,)),
        lambda L: F(L).pad(t(L, 2, 3, 8, 8), (1,) * 10),
        lambda L: F(L).pad(t(L, 2, 3, 8, 8), (9, 9), mode="reflect"),
        lambda L: F(L).pad(t(L, 2, 3, 8, 8), (8, 8, 1, 1), mode="reflect"),
        lambda L: F(L).pad(t(L, 2, 3, 8, 8), (1, 1), mode="foo"),
        lambda L: F(L).pad(t(L, 2, 3, 8), (1, 1), mode="reflect", value=1.0),
        lambda L: L.einsum("ij,jk", t(L, 2, 3), t(L, 4, 3)),
        lambda L: L.einsum("ij,jk->ik", t(L, 2, 3)),
        lambda L: L.einsum("ijk->ij", t(L, 2, 3)),
        lambda L: L.einsum("ij->ik", t(L, 2, 3)),
        lambda L: L.einsum("ij->ii", t(L, 2, 3)),
        lambda L: L.einsum("i1->i", t(L, 2, 3)),
        lambda L: L.einsum("ii->i", t(L, 2, 3)),
        lambda L: nn.Conv2d(3, 16, 3, groups=2) if L is chaingrad else torch.nn.Conv2d(3, 16, 3, groups=2),
        lambda L: (nn if L is chaingrad else torch.nn).Conv2d(3, 16, 3, stride=2, padding="same"),
    ]


@needs_torch
@pytest.mark.parametrize("k", range(len(_bad_calls())))
def test_errors_match_torch(k: int) -> None:
    call = _bad_calls()[k]
    with pytest.raises(Exception) as theirs:
        call(torch)
    with pytest.raises(Exception) as ours:
        call(chaingrad)
    assert type(ours.value).__name__ == type(theirs.value).__name__
    expected = str(theirs.value).split(" (Triggered internally")[0]
    assert str(ours.value).replace("chaingrad.", "torch.") == expected


def test_einsum_list_and_sublist_forms() -> None:
    rng = np.random.default_rng(9)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    x, y = chaingrad.from_numpy(a), chaingrad.from_numpy(b)
    np.testing.assert_allclose(_np(chaingrad.einsum("ij,jk", [x, y])), a @ b, rtol=1e-12)
    np.testing.assert_allclose(_np(chaingrad.einsum(x, [0, 1], y, [1, 2], [0, 2])), a @ b, rtol=1e-12)
    np.testing.assert_allclose(_np(chaingrad.einsum(x, [0, 1], y, [1, 2])), a @ b, rtol=1e-12)
    np.testing.assert_allclose(_np(chaingrad.einsum(x, [Ellipsis, 1], [Ellipsis])), a.sum(1), rtol=1e-12)
