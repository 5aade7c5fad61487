"""The backward of tanh's and sigmoid's backward (issue 12, W7): under ``create_graph`` PyTorch records
one ``TanhBackwardBackward0`` / ``SigmoidBackwardBackward0`` node saving ``grad_output`` and ``output``;
chaingrad records the same node (not the four products its formula composes) and every derivative
through it (Hessian-vector products, third derivatives, forward-over-reverse, batched gradients)
matches PyTorch's and finite differences."""

from __future__ import annotations

from typing import Any, Tuple

import numpy as np
import pytest

pytest.importorskip("chaingrad._C")
import chaingrad  # noqa: E402

try:
    import torch
except ImportError:
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch (the oracle) is not installed")

ACTS = ("tanh", "sigmoid")
NODE = {"tanh": "TanhBackwardBackward0", "sigmoid": "SigmoidBackwardBackward0"}
RNG = np.random.default_rng(12)
W = RNG.standard_normal((6, 5)) / 2
X = RNG.standard_normal(5)
V = RNG.standard_normal(5)


def _inputs(lib: Any, dtype: Any) -> Tuple[Any, Any, Any]:
    return (lib.tensor(W.astype(dtype)), lib.tensor(X.astype(dtype), requires_grad=True),
            lib.tensor(V.astype(dtype)))


def _grad(lib: Any, act: str, w: Any, x: Any) -> Any:
    (g,) = lib.autograd.grad(getattr(lib, act)(w @ x).sum(), x, create_graph=True)
    return g


@pytest.mark.parametrize("act", ACTS)
def test_one_node_like_pytorch(act: str) -> None:
    w, x, _ = _inputs(chaingrad, np.float32)
    g = _grad(chaingrad, act, w, x)
    node = g.grad_fn.next_functions[1][0]  # MvBackward0(W^T, .) <- the activation's backward
    assert node.name() == NODE[act]
    (no_edge, _), (forward, _) = node.next_functions
    assert no_edge is None  # the incoming gradient (ones from sum) needs no gradient
    assert forward.name() == {"tanh": "TanhBackward0", "sigmoid": "SigmoidBackward0"}[act]
    y = getattr(chaingrad, act)(w @ x)
    np.testing.assert_allclose(node._saved_output.detach().numpy(), y.detach().numpy(), rtol=1e-6)
    np.testing.assert_array_equal(node._saved_grad_output.numpy(), np.ones(6, np.float32))


@needs_torch
@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_hvp_and_third_derivative_match_pytorch(act: str, dtype: Any) -> None:
    results = []
    for lib in (chaingrad, torch):
        w, x, v = _inputs(lib, dtype)
        g = _grad(lib, act, w, x)
        (hv,) = lib.autograd.grad(g @ v, x, create_graph=True)
        (third,) = lib.autograd.grad((hv * hv).sum(), x)
        results.append([t.detach().numpy() for t in (g, hv, third)])
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol * np.abs(theirs).max())


@pytest.mark.parametrize("act", ACTS)
def test_hvp_matches_finite_differences(act: str) -> None:
    w, x, v = _inputs(chaingrad, np.float64)
    (hv,) = chaingrad.autograd.grad(_grad(chaingrad, act, w, x) @ v, x)
    eps = 1e-6

    def grad_at(xs: np.ndarray) -> np.ndarray:
        xt = chaingrad.tensor(xs, requires_grad=True)
        return _grad(chaingrad, act, w, xt).detach().numpy()

    fd = (grad_at(X + eps * V) - grad_at(X - eps * V)) / (2 * eps)
    np.testing.assert_allclose(hv.numpy(), fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("act", ACTS)
def test_gradient_of_grad_output_side(act: str) -> None:
    """The node's other input: an incoming gradient that itself requires grad (d/d grad_output)."""
    y0 = chaingrad.tensor(X, requires_grad=True)
    s = chaingrad.tensor(V, requires_grad=True)
    y = getattr(chaingrad, act)(y0)
    (g,) = chaingrad.autograd.grad(y, y0, grad_outputs=s, create_graph=True)  # g = s * f'(y0)
    assert g.grad_fn.name() == NODE[act]
    gs, gy = chaingrad.autograd.grad(g.sum(), (s, y0))
    t = np.tanh(X) if act == "tanh" else 1 / (1 + np.exp(-X))
    d1 = 1 - t * t if act == "tanh" else t * (1 - t)
    d2 = -2 * t * d1 if act == "tanh" else d1 * (1 - 2 * t)
    np.testing.assert_allclose(gs.numpy(), d1, rtol=1e-12)
    np.testing.assert_allclose(gy.numpy(), V * d2, rtol=1e-10, atol=1e-14)


@needs_torch
@pytest.mark.parametrize("act", ACTS)
def test_forward_over_reverse_matches_pytorch(act: str) -> None:
    """torch.func.jvp of grad: the forward-mode rule of the node (its jvp)."""
    out = []
    for lib in (chaingrad, torch):
        w = lib.tensor(W)
        f = lib.func.grad(lambda x, w=w, lib=lib: getattr(lib, act)(w @ x).sum())
        _, tangent = lib.func.jvp(f, (lib.tensor(X),), (lib.tensor(V),))
        out.append(tangent.detach().numpy())
    np.testing.assert_allclose(out[0], out[1], rtol=1e-12, atol=1e-14)


@needs_torch
@pytest.mark.parametrize("act", ACTS)
def test_batched_hvp_runs_batched(act: str) -> None:
    """is_grads_batched through the node: one batched walk (a rule for the node), PyTorch's values."""
    from chaingrad.autograd import _batched_backward

    vs = RNG.standard_normal((3, 5))
    out = []
    for lib in (chaingrad, torch):
        w, x, _ = _inputs(lib, np.float64)
        g = _grad(lib, act, w, x)
        before = _batched_backward._stats["loops"]
        (hv,) = lib.autograd.grad(g, x, grad_outputs=lib.tensor(vs), is_grads_batched=True)
        if lib is chaingrad:
            assert _batched_backward._stats["loops"] == before
        out.append(hv.numpy())
    np.testing.assert_allclose(out[0], out[1], rtol=1e-12, atol=1e-14)


def test_freed_graph_raises_on_second_backward() -> None:
    w, x, v = _inputs(chaingrad, np.float32)
    d = _grad(chaingrad, "tanh", w, x) @ v
    chaingrad.autograd.grad(d, x)
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        chaingrad.autograd.grad(d, x)
