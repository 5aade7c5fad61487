"""vmap over module-level functions (func/_batched_functions.py): nn.functional's linear, conv2d,
max_pool2d and cross_entropy and chaingrad.* functions run batched inside vmap (no whole-function
loop), and per-sample gradients of a small MLP and CNN equal a loop of single-sample grads and
torch.func's."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

pytest.importorskip("chaingrad._C")
import chaingrad  # noqa: E402
from chaingrad.func import functional_call, grad, vmap  # noqa: E402
from functional_helpers import needs_torch, torch  # noqa: E402

RNG = np.random.default_rng(21)
XS_MLP = RNG.standard_normal((5, 8))
XS_CNN = RNG.standard_normal((5, 2, 8, 8))
YS = np.array([0, 2, 1, 1, 0])


def _nets(lib: Any) -> dict:
    nn = lib.nn
    lib.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    cnn = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 3, 3), nn.Flatten(),
                        nn.Linear(3 * 2 * 2, 3))
    return {"mlp": mlp, "cnn": cnn}


def _params(lib: Any, net: Any, like: Any = None) -> dict:
    """The net's parameters as plain float64 tensors (copied from ``like``'s when given)."""
    src = like if like is not None else net
    return {k: lib.tensor(np.array(v.detach().numpy(), dtype=np.float64)) for k, v in src.named_parameters()}


def _per_sample(lib: Any, net: Any, params: dict, xs: Any, ys: Any) -> dict:
    net = net.double()

    def loss(p: dict, x: Any, y: Any) -> Any:
        out = lib.func.functional_call(net, p, (x.unsqueeze(0),))
        return lib.nn.functional.cross_entropy(out, y.unsqueeze(0))

    return lib.func.vmap(lib.func.grad(loss), in_dims=(None, 0, 0))(params, xs, ys)


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_per_sample_gradients_run_batched_and_equal_the_loop(kind: str) -> None:
    net = _nets(chaingrad)[kind]
    params = _params(chaingrad, net)
    xs = chaingrad.tensor(XS_MLP if kind == "mlp" else XS_CNN)
    ys = chaingrad.tensor(YS)
    before = chaingrad.func._stats["loop_fallbacks"]
    got = _per_sample(chaingrad, net, params, xs, ys)
    assert chaingrad.func._stats["loop_fallbacks"] == before, "every function on the way has a batching rule"

    def one(p: dict, x: Any, y: Any) -> Any:
        return chaingrad.nn.functional.cross_entropy(functional_call(net, p, (x.unsqueeze(0),)), y.unsqueeze(0))

    for k in params:
        loop = np.stack([grad(one)(params, xs[i], ys[i])[k].numpy() for i in range(len(YS))])
        np.testing.assert_allclose(got[k].numpy(), loop, rtol=1e-10, atol=1e-12, err_msg=k)


@needs_torch
@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_per_sample_gradients_equal_torch_func(kind: str) -> None:
    ours, theirs = _nets(chaingrad)[kind], _nets(torch)[kind]
    params = _params(chaingrad, ours)
    t_params = _params(torch, theirs, like=ours)
    xs = XS_MLP if kind == "mlp" else XS_CNN
    got = _per_sample(chaingrad, ours, params, chaingrad.tensor(xs), chaingrad.tensor(YS))
    want = _per_sample(torch, theirs, t_params, torch.tensor(xs), torch.tensor(YS))
    for k in params:
        np.testing.assert_allclose(got[k].numpy(), want[k].numpy(), rtol=1e-9, atol=1e-12, err_msg=k)


def test_module_functions_inside_vmap() -> None:
    F = chaingrad.nn.functional
    xs = chaingrad.tensor(RNG.standard_normal((4, 3, 6, 6)))
    w = chaingrad.tensor(RNG.standard_normal((2, 3, 3, 3)))
    ws = chaingrad.tensor(RNG.standard_normal((4, 2, 3, 3, 3)))
    cases = {
        "tanh": (lambda x: chaingrad.tanh(x) * chaingrad.exp(x), (xs,), (0,)),
        "conv_shared_weight": (lambda x: F.conv2d(x, w, stride=2, padding=1), (xs,), (0,)),
        "conv_own_weight": (lambda x, k: F.conv2d(x.unsqueeze(0), k, padding=1), (xs, ws), (0, 0)),
        "conv_batched_weight_only": (lambda k: F.conv2d(xs[0], k), (ws,), (0,)),
        "max_pool": (lambda x: F.max_pool2d(x, 2, stride=2), (xs,), (0,)),
        "linear": (lambda x: F.linear(x.flatten(), w.flatten(1).repeat(1, 4)[:, :108]), (xs,), (0,)),
    }
    for name, (f, args, dims) in cases.items():
        before = chaingrad.func._stats["loop_fallbacks"]
        got = vmap(f, in_dims=dims)(*args)
        assert chaingrad.func._stats["loop_fallbacks"] == before, name
        want = chaingrad.stack([f(*[a[i] for a in args]) for i in range(4)])
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12, atol=1e-12, err_msg=name)
