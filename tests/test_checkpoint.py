"""chaingrad.utils.checkpoint: same gradients as the plain run, less memory, PyTorch's semantics."""

import gc

import numpy as np
import pytest

pytest.importorskip("chaingrad._C")
import chaingrad  # noqa: E402
from chaingrad import nn  # noqa: E402
from chaingrad.utils.checkpoint import CheckpointError, checkpoint, checkpoint_sequential  # noqa: E402


def mlp(width=16, depth=3, dropout=0.0):
    chaingrad.manual_seed(0)
    layers = [nn.Linear(8, width), nn.Tanh()]
    for _ in range(depth - 1):
        layers += [nn.Linear(width, width), nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(width, 1))
    return nn.Sequential(*layers)


def grads(model, x, run, seed=1):
    model.zero_grad()
    if x.grad is not None:
        x.grad = None
    chaingrad.manual_seed(seed)
    out = run(model, x)
    out.pow(2).sum().backward()
    return [p.grad.clone() for p in model.parameters()] + [x.grad.clone()], out.detach()


def plain(model, x):
    return model(x)


@pytest.mark.parametrize("use_reentrant", [False, True])
def test_gradients_identical_to_plain_run_with_dropout(use_reentrant):
    model = mlp(dropout=0.3)
    x = chaingrad.randn(5, 8, requires_grad=True)
    ref, ref_out = grads(model, x, plain)
    got, out = grads(model, x, lambda m, a: checkpoint(m, a, use_reentrant=use_reentrant))
    assert chaingrad.equal(out, ref_out)
    for a, b in zip(ref, got):
        assert chaingrad.equal(a, b)  # bit for bit, dropout masks included


def test_without_preserve_rng_state_the_masks_differ():
    model = mlp(dropout=0.5)
    x = chaingrad.randn(5, 8, requires_grad=True)
    ref, _ = grads(model, x, plain)
    got, _ = grads(
        model, x, lambda m, a: checkpoint(m, a, use_reentrant=False, preserve_rng_state=False)
    )
    assert not all(chaingrad.equal(a, b) for a, b in zip(ref, got))


def test_checkpoint_sequential_matches_plain():
    model = mlp(depth=6)
    x = chaingrad.randn(4, 8, requires_grad=True)
    ref, _ = grads(model, x, plain)
    for segments in (1, 2, 3, 5):
        got, _ = grads(
            model, x, lambda m, a, k=segments: checkpoint_sequential(m, k, a, use_reentrant=False)
        )
        assert all(chaingrad.equal(a, b) for a, b in zip(ref, got)), segments
    got, _ = grads(
        model, x, lambda m, a: checkpoint_sequential(list(m.children()), 2, a, use_reentrant=True)
    )
    assert all(chaingrad.equal(a, b) for a, b in zip(ref, got))


def test_saves_nothing_in_forward_and_recomputes_once():
    calls = []
    lin = nn.Linear(8, 8)

    def fn(a, scale, *, shift):
        calls.append(1)
        return (lin(a).tanh() * scale + shift).exp(), "not a tensor"

    x = chaingrad.randn(3, 8, requires_grad=True)
    out, tag = checkpoint(fn, x, 2.0, shift=1.0, use_reentrant=False)
    assert tag == "not a tensor" and len(calls) == 1
    node = out.grad_fn
    assert node.name() == "ExpBackward0"
    out.sum().backward(retain_graph=True)
    assert len(calls) == 2  # one recomputation for the whole backward
    g1 = x.grad.clone()
    out.sum().backward()  # retain_graph: the recomputed tensors are still held, no third run
    assert len(calls) == 2
    assert chaingrad.allclose(x.grad, 2 * g1)


def test_saved_tensors_are_dropped_in_forward():
    lin = nn.Linear(256, 256)
    x = chaingrad.randn(64, 256, requires_grad=True)

    def fn(a):
        for _ in range(6):
            a = lin(a).tanh()
        return a

    gc.collect()
    base = chaingrad._live_counts()["storage_bytes"]
    out = fn(x)
    kept_plain = chaingrad._live_counts()["storage_bytes"] - base
    del out
    gc.collect()
    out = checkpoint(fn, x, use_reentrant=False)
    kept_ckpt = chaingrad._live_counts()["storage_bytes"] - base
    assert kept_ckpt <= 64 * 256 * 4 + 8192  # just the output (and the generator state, ~5 KB as PyTorch's)
    assert kept_plain >= 6 * 64 * 256 * 4
    out.sum().backward()


def test_double_backward_through_checkpoint():
    def fn(a):
        return (a**3).sin()

    x = chaingrad.tensor([0.3, 0.7, 1.1], requires_grad=True)
    (g_ref,) = chaingrad.autograd.grad(fn(x).sum(), x, create_graph=True)
    (h_ref,) = chaingrad.autograd.grad(g_ref.sum(), x)
    out = checkpoint(fn, x, use_reentrant=False)
    (g,) = chaingrad.autograd.grad(out.sum(), x, create_graph=True)
    (h,) = chaingrad.autograd.grad(g.sum(), x)
    assert chaingrad.equal(g.detach(), g_ref.detach()) and chaingrad.equal(h, h_ref)


def test_nested_checkpoints():
    lin1, lin2 = nn.Linear(4, 4), nn.Linear(4, 4)

    def inner(a):
        return lin2(a).tanh()

    def outer(a):
        return checkpoint(inner, lin1(a).relu(), use_reentrant=False).exp()

    x = chaingrad.randn(2, 4, requires_grad=True)
    outer(x).sum().backward()
    ref = [p.grad.clone() for p in (lin1.weight, lin2.weight)] + [x.grad.clone()]
    for p in (lin1.weight, lin2.weight, x):
        p.grad = None
    checkpoint(outer, x, use_reentrant=False).sum().backward()
    got = [lin1.weight.grad, lin2.weight.grad, x.grad]
    assert all(chaingrad.equal(a, b) for a, b in zip(ref, got))


def test_under_no_grad_just_runs():
    calls = []

    def fn(a):
        calls.append(1)
        return a * 2

    x = chaingrad.ones(3, requires_grad=True)
    with chaingrad.no_grad():
        out = checkpoint(fn, x, use_reentrant=False)
    assert not out.requires_grad and len(calls) == 1


def test_determinism_check():
    state = {"n": 0}

    def fn(a):
        state["n"] += 1
        return a.exp() if state["n"] == 1 else a[:2].exp()

    x = chaingrad.ones(3, requires_grad=True)
    out = checkpoint(fn, x, use_reentrant=False)
    with pytest.raises(
        CheckpointError, match="Recomputed values for the following tensors have different metadata"
    ):
        out.sum().backward()
    state["n"] = 0
    out = checkpoint(fn, x, use_reentrant=False, determinism_check="none")
    with pytest.raises(RuntimeError):  # unchecked: the wrong-shaped recomputed tensor fails later
        out.sum().backward()


def test_reentrant_rejects_unsupported_arguments():
    with pytest.raises(ValueError, match="Unexpected keyword arguments"):
        checkpoint(lambda a, b: a, chaingrad.ones(1), b=1, use_reentrant=True)
    with pytest.raises(ValueError, match="only supported when use_reentrant=False"):
        checkpoint(lambda a: a, chaingrad.ones(1), use_reentrant=True, debug=True)


def test_context_fn():
    log = []

    class Ctx:
        def __init__(self, name):
            self.name = name

        def __enter__(self):
            log.append(self.name)

        def __exit__(self, *a):
            pass

    x = chaingrad.ones(2, requires_grad=True)
    out = checkpoint(
        lambda a: a.exp(), x, use_reentrant=False, context_fn=lambda: (Ctx("fwd"), Ctx("recompute"))
    )
    out.sum().backward()
    assert log == ["fwd", "recompute"]


def test_matches_torch_checkpoint():
    torch = pytest.importorskip("torch")
    from torch.utils.checkpoint import checkpoint as tcheckpoint

    model = mlp(width=12, depth=3)
    tmodel = torch.nn.Sequential(
        *[
            torch.nn.Linear(m.in_features, m.out_features)
            if isinstance(m, nn.Linear)
            else (torch.nn.Tanh() if isinstance(m, nn.Tanh) else torch.nn.ReLU())
            for m in model
        ]
    ).double()
    with torch.no_grad():
        for p, tp in zip(model.parameters(), tmodel.parameters()):
            tp.copy_(torch.from_numpy(p.detach().numpy().astype(np.float64)))
    xn = np.random.default_rng(0).standard_normal((6, 8))
    x = chaingrad.tensor(xn.astype(np.float32), requires_grad=True)
    xt = torch.tensor(xn, requires_grad=True)
    checkpoint(model, x, use_reentrant=False).pow(2).sum().backward()
    tcheckpoint(tmodel, xt, use_reentrant=False).pow(2).sum().backward()
    for p, tp in zip(list(model.parameters()) + [x], list(tmodel.parameters()) + [xt]):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_peak_memory_is_lower_on_a_deep_mlp():
    # The model is 20 layers of width 1024 at batch 256 (see the report for its figures);
    # the same shape at a quarter width keeps this test fast.
    chaingrad.manual_seed(0)
    layers = []
    for _ in range(20):
        layers += [nn.Linear(256, 256), nn.ReLU()]
    model = nn.Sequential(*layers)
    x = chaingrad.randn(256, 256)

    def peak(run):
        for p in model.parameters():
            p.grad = chaingrad.zeros_like(p)  # gradients exist already: measure activations only
        gc.collect()
        chaingrad._reset_peak_storage_bytes()
        base = chaingrad._live_counts()["storage_bytes"]
        run(x).sum().backward()
        used = chaingrad._live_counts()["storage_peak_bytes"] - base
        return used, [p.grad.clone() for p in model.parameters()]

    plain_peak, plain_grads = peak(model)
    ckpt_peak, ckpt_grads = peak(lambda a: checkpoint_sequential(model, 4, a, use_reentrant=False))
    assert all(chaingrad.equal(a, b) for a, b in zip(plain_grads, ckpt_grads))
    assert ckpt_peak < 0.65 * plain_peak, (ckpt_peak, plain_peak)
