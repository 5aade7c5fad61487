"""Tests for chaingrad.nn.functional (activations, losses, dropout, embedding, ...): values and
input gradients against PyTorch, the oracle."""

import math

import numpy as np
import pytest

pytest.importorskip("chaingrad._C")
import chaingrad  # noqa: E402
import chaingrad.nn as nn  # noqa: E402
import chaingrad.nn.functional as F  # noqa: E402
from nn_util import cg, npy, th  # noqa: E402

RNG = np.random.default_rng(0)


# ============================================================================ functional vs torch
def _compare(fn_c, fn_t, arrays, grad_idx=(0,), atol=1e-10, **kwargs):
    """Run fn on chaingrad and torch copies of arrays; compare outputs and input grads."""
    ins_c = [cg(a, requires_grad=i in grad_idx) for i, a in enumerate(arrays)]
    ins_t = [th(a, requires_grad=i in grad_idx) for i, a in enumerate(arrays)]
    out_c = fn_c(*ins_c, **kwargs)
    out_t = fn_t(*ins_t, **kwargs)
    assert tuple(out_c.shape) == tuple(out_t.shape)
    assert np.allclose(npy(out_c), out_t.detach().numpy(), atol=atol, rtol=1e-7, equal_nan=True)
    g = RNG.standard_normal(tuple(out_t.shape))
    out_c.backward(cg(g))
    out_t.backward(th(g))
    for i in grad_idx:
        assert np.allclose(npy(ins_c[i].grad), ins_t[i].grad.numpy(), atol=atol, rtol=1e-7)


REDUCTIONS = ["mean", "sum", "none"]


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_family(dim):
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((4, 5))
    _compare(F.softmax, torch.nn.functional.softmax, [x], dim=dim)
    _compare(F.log_softmax, torch.nn.functional.log_softmax, [x], dim=dim)


def test_activations_and_linear():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    x = RNG.standard_normal((6, 4))
    x[0, 0] = 0.0
    for a, b in [(F.relu, tf.relu), (F.sigmoid, tf.sigmoid), (F.tanh, tf.tanh)]:
        _compare(a, b, [x])
    w = RNG.standard_normal((3, 4))
    bias = RNG.standard_normal(3)
    _compare(F.linear, tf.linear, [x, w, bias], grad_idx=(0, 1, 2))
    _compare(F.linear, tf.linear, [RNG.standard_normal((2, 6, 4)), w], grad_idx=(0, 1))
    _compare(F.linear, tf.linear, [RNG.standard_normal(4), w, bias], grad_idx=(0, 1, 2))


def test_linear_dtype_error_matches_torch():
    with pytest.raises(RuntimeError, match="expected m1 and m2 to have the same dtype"):
        F.linear(chaingrad.ones((2, 3), dtype=chaingrad.int64), chaingrad.ones((4, 3)))


def test_softmax_implicit_dim_warns():
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        F.softmax(chaingrad.ones((2, 3)))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_pointwise_losses(reduction):
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    x, y = RNG.standard_normal((5, 3)), RNG.standard_normal((5, 3))
    w = RNG.random((5, 3))
    for a, b in [(F.mse_loss, tf.mse_loss), (F.l1_loss, tf.l1_loss)]:
        _compare(a, b, [x, y], grad_idx=(0, 1), reduction=reduction)
        _compare(
            lambda i, t, ww, f=a: f(i, t, reduction=reduction, weight=ww),
            lambda i, t, ww, f=b: f(i, t, reduction=reduction, weight=ww),
            [x, y, w],
            grad_idx=(0, 1),
        )
    _compare(nn.MSELoss(reduction=reduction), torch.nn.MSELoss(reduction=reduction), [x, y])
    _compare(nn.L1Loss(reduction=reduction), torch.nn.L1Loss(reduction=reduction), [x, y])


def test_mse_broadcast_warning_and_bad_reduction():
    x, y = chaingrad.ones((3,)), chaingrad.ones((3, 1))
    with pytest.warns(UserWarning, match="different to the input size"):
        F.mse_loss(x, y)
    with pytest.raises(ValueError, match="foo is not a valid value for reduction"):
        F.mse_loss(x, x, reduction="foo")
    with pytest.raises(ValueError, match="foo is not a valid value for reduction"):
        F.cross_entropy(
            chaingrad.ones((2, 3)), chaingrad.zeros((2,), dtype=chaingrad.int64), reduction="foo"
        )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_indices(reduction, weighted, smoothing):
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    x = RNG.standard_normal((7, 4))
    t = np.array([0, 3, 1, 2, -100, 3, 0], dtype=np.int64)
    w = RNG.random(4) + 0.5
    kw = dict(reduction=reduction, label_smoothing=smoothing)

    def run(fc, ft, arrays, **extra):
        arrays = list(arrays)
        kwargs = dict(kw, **extra)
        if weighted:
            c = lambda a, b, ww: fc(a, b, weight=ww, **kwargs)  # noqa: E731
            tt = lambda a, b, ww: ft(a, b, weight=ww, **kwargs)  # noqa: E731
            _compare(c, tt, arrays + [w])
        else:
            _compare(lambda a, b: fc(a, b, **kwargs), lambda a, b: ft(a, b, **kwargs), arrays)

    run(F.cross_entropy, tf.cross_entropy, [x, t])
    run(F.cross_entropy, tf.cross_entropy, [x, np.where(t < 0, 1, t)], ignore_index=3)
    # K-dimensional input (N, C, d1, d2)
    xk = RNG.standard_normal((2, 4, 3, 2))
    tk = RNG.integers(0, 4, size=(2, 3, 2))
    run(F.cross_entropy, tf.cross_entropy, [xk, tk])
    # unbatched (C,) input with a 0-d target
    run(F.cross_entropy, tf.cross_entropy, [RNG.standard_normal(4), np.array(2)])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_probabilities(reduction):
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    x = RNG.standard_normal((5, 3))
    p = RNG.random((5, 3))
    p /= p.sum(1, keepdims=True)
    w = RNG.random(3) + 0.5
    for ls in (0.0, 0.1):
        _compare(
            F.cross_entropy,
            tf.cross_entropy,
            [x, p],
            grad_idx=(0, 1),
            reduction=reduction,
            label_smoothing=ls,
        )
        _compare(
            lambda a, b, c: F.cross_entropy(a, b, weight=c, reduction=reduction),
            lambda a, b, c: tf.cross_entropy(a, b, weight=c, reduction=reduction),
            [x, p, w],
        )
    xk = RNG.standard_normal((2, 3, 4))
    pk = RNG.random((2, 3, 4))
    _compare(F.cross_entropy, tf.cross_entropy, [xk, pk], reduction=reduction)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss(reduction):
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    x = RNG.standard_normal((6, 5))
    t = np.array([4, 0, 2, 2, 1, 3])
    w = RNG.random(5) + 0.1
    _compare(F.nll_loss, tf.nll_loss, [x, t], reduction=reduction)
    _compare(F.nll_loss, tf.nll_loss, [x, t], reduction=reduction, ignore_index=2)
    _compare(
        lambda a, b, c: F.nll_loss(a, b, c, reduction=reduction),
        lambda a, b, c: tf.nll_loss(a, b, c, reduction=reduction),
        [x, t, w],
    )
    _compare(nn.NLLLoss(reduction=reduction), torch.nn.NLLLoss(reduction=reduction), [x, t])
    _compare(
        nn.CrossEntropyLoss(reduction=reduction, label_smoothing=0.1),
        torch.nn.CrossEntropyLoss(reduction=reduction, label_smoothing=0.1),
        [x, t],
    )


def test_nll_all_ignored_is_nan_like_torch():
    out = F.nll_loss(cg(RNG.standard_normal((2, 3))), cg(np.array([-100, -100])))
    assert math.isnan(float(out.item()))


def test_loss_argument_errors_match_torch():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    x = RNG.standard_normal((3, 4)).astype(np.float32)
    cases = [
        (lambda m, f: f.nll_loss(m(x), m(np.array([1.0, 2.0, 3.0], dtype=np.float32)))),
        (lambda m, f: f.nll_loss(m(x), m(np.array([1, 2, 7])))),
        (lambda m, f: f.nll_loss(m(x), m(np.array([1, 2])))),
        (lambda m, f: f.cross_entropy(m(x), m(np.array([1, 2, -1])))),
        (lambda m, f: f.nll_loss(m(RNG.standard_normal((3, 4, 5))), m(np.array([1, 2, 1])))),
        (
            lambda m, f: f.nll_loss(
                m(x), m(np.array([1, 2, 1])), weight=m(np.ones(3, dtype=np.float32))
            )
        ),
        (lambda m, f: f.cross_entropy(m(x), m(np.array([1, 2, 1])), label_smoothing=1.5)),
        (lambda m, f: f.binary_cross_entropy(m(np.full(3, 0.5)), m(np.full((3, 1), 0.5)))),
        (lambda m, f: f.binary_cross_entropy(m(np.array([1.5])), m(np.array([0.5])))),
        (lambda m, f: f.binary_cross_entropy_with_logits(m(np.zeros(3)), m(np.zeros((3, 1))))),
        (lambda m, f: f.nll_loss(m(x), m(np.array([[1, 2, 1]])))),
    ]
    for case in cases:
        with pytest.raises(Exception) as theirs:
            case(lambda a: torch.from_numpy(np.array(a)), tf)
        with pytest.raises(type(theirs.value)) as ours:
            case(lambda a: chaingrad.from_numpy(np.array(a)), F)
        expected = str(theirs.value).replace("torch.Size", "").replace("torch", "chaingrad")
        got = str(ours.value)
        if "Size" in str(theirs.value):  # shapes print with the core's own shape type
            assert type(ours.value) is type(theirs.value)
        else:
            assert got == expected, (got, expected)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy(reduction):
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    p = RNG.random((4, 3)) * 0.98 + 0.01
    y = (RNG.random((4, 3)) > 0.5).astype(np.float64)
    y[0, 0] = 0.3
    w = RNG.random((4, 3))
    _compare(
        F.binary_cross_entropy,
        tf.binary_cross_entropy,
        [p, y],
        grad_idx=(0, 1),
        reduction=reduction,
    )
    _compare(
        lambda a, b, c: F.binary_cross_entropy(a, b, c, reduction=reduction),
        lambda a, b, c: tf.binary_cross_entropy(a, b, c, reduction=reduction),
        [p, y, w],
    )
    _compare(nn.BCELoss(reduction=reduction), torch.nn.BCELoss(reduction=reduction), [p, y])


def test_binary_cross_entropy_saturated_is_finite():
    p = cg(np.array([0.0, 1.0, 0.0, 1.0]), requires_grad=True)
    y = cg(np.array([0.0, 1.0, 1.0, 0.0]))
    loss = F.binary_cross_entropy(p, y, reduction="none")
    assert np.allclose(npy(loss), [0.0, 0.0, 100.0, 100.0])
    loss.sum().backward()
    assert np.all(np.isfinite(npy(p.grad)))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits(reduction):
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    x = RNG.standard_normal((4, 3)) * 10
    x[0, :] = [0.0, 40.0, -40.0]
    y = RNG.random((4, 3))
    w = RNG.random((4, 3))
    pw = RNG.random(3) * 3
    _compare(
        F.binary_cross_entropy_with_logits,
        tf.binary_cross_entropy_with_logits,
        [x, y],
        grad_idx=(0, 1),
        reduction=reduction,
    )
    _compare(
        lambda a, b, c, d: F.binary_cross_entropy_with_logits(
            a, b, c, reduction=reduction, pos_weight=d
        ),
        lambda a, b, c, d: tf.binary_cross_entropy_with_logits(
            a, b, c, reduction=reduction, pos_weight=d
        ),
        [x, y, w, pw],
        grad_idx=(0, 1),
    )
    _compare(
        nn.BCEWithLogitsLoss(reduction=reduction, pos_weight=cg(pw)),
        torch.nn.BCEWithLogitsLoss(reduction=reduction, pos_weight=th(pw)),
        [x, y],
    )


def test_bce_with_logits_precise_in_float32():
    torch = pytest.importorskip("torch")
    x = np.array([-100.0, -20.0, -1.0, 0.0, 1.0, 15.0, 20.0, 100.0], dtype=np.float32)
    y = np.ones_like(x)
    ours = npy(F.binary_cross_entropy_with_logits(cg(x), cg(y), reduction="none"))
    theirs = torch.nn.functional.binary_cross_entropy_with_logits(th(x), th(y), reduction="none")
    # x = 100 lands in float32's subnormal range (~3.8e-44), where one unit is 1.4e-45.
    assert np.allclose(ours, theirs.numpy(), rtol=1e-6, atol=3e-45)


def test_loss_modules_register_weight_buffers():
    w = chaingrad.ones((3,))
    loss = nn.CrossEntropyLoss(weight=w)
    assert loss.weight is w and "weight" in loss.state_dict()
    assert list(nn.MSELoss().state_dict().keys()) == []
    with pytest.warns(UserWarning):
        assert nn.MSELoss(size_average=False).reduction == "sum"
