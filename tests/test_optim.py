"""Tests for chaingrad.optim: SGD / Adam / AdamW against PyTorch, parameter groups,
state dicts, and the fused-kernel path against the pure-Python reference."""

import numpy as np
import pytest

pytest.importorskip("chaingrad._C")
import chaingrad  # noqa: E402
import chaingrad.nn as nn  # noqa: E402
import chaingrad.optim as optim  # noqa: E402
from chaingrad.optim import _functional  # noqa: E402


def cg(a, requires_grad=False):
    t = chaingrad.from_numpy(np.array(a, copy=True))
    return t.requires_grad_() if requires_grad else t


def npy(t):
    return t.detach().numpy().copy()


def make_data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((32, 6))
    y = rng.integers(0, 3, size=32)
    return x, y


def make_models(seed=0):
    """A float64 MLP in chaingrad and an identical one in torch (weights copied)."""
    torch = pytest.importorskip("torch")
    ours = nn.Sequential(
        nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 3)
    )
    ours.double()
    theirs = torch.nn.Sequential(
        torch.nn.Linear(6, 16),
        torch.nn.Tanh(),
        torch.nn.Linear(16, 16),
        torch.nn.ReLU(),
        torch.nn.Linear(16, 3),
    ).double()
    rng = np.random.default_rng(seed + 100)
    with chaingrad.no_grad(), torch.no_grad():
        for p_ours, p_theirs in zip(ours.parameters(), theirs.parameters()):
            init = rng.uniform(-0.5, 0.5, size=tuple(p_theirs.shape))
            p_ours.copy_(cg(init))
            p_theirs.copy_(torch.from_numpy(init))
    return ours, theirs


def train(model, opt, x, y, steps, lib, loss_fn):
    losses = []
    xs, ys = lib.from_numpy(x.copy()), lib.from_numpy(y.copy())
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(model(xs), ys)
        loss.backward()
        opt.step()
        losses.append(float(loss.item()))
    return losses


CONFIGS = [
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3)),
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=1e-2)),
    ("SGD", dict(lr=0.05, momentum=0.5, maximize=True)),
    ("Adam", dict(lr=1e-2)),
    ("Adam", dict(lr=1e-2, betas=(0.8, 0.95), weight_decay=1e-2, amsgrad=True)),
    ("Adam", dict(lr=1e-2, maximize=True, eps=1e-6)),
    ("AdamW", dict(lr=1e-2)),
    ("AdamW", dict(lr=1e-2, weight_decay=0.1, amsgrad=True)),
]


@pytest.mark.parametrize("fused", [True, False], ids=["kernel", "python"])
@pytest.mark.parametrize("name,kwargs", CONFIGS)
def test_training_matches_torch(name, kwargs, fused, monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(_functional, "USE_FUSED_KERNELS", fused)
    ours, theirs = make_models()
    x, y = make_data()
    opt_c = getattr(optim, name)(ours.parameters(), **kwargs)
    opt_t = getattr(torch.optim, name)(theirs.parameters(), foreach=False, **kwargs)
    lc = train(ours, opt_c, x, y, 50, chaingrad, nn.CrossEntropyLoss())
    lt = train(theirs, opt_t, x, y, 50, torch, torch.nn.CrossEntropyLoss())
    assert np.allclose(lc, lt, rtol=0, atol=1e-5), (lc[-3:], lt[-3:])
    if not kwargs.get("maximize"):
        assert lc[-1] < lc[0]
    for pc, pt in zip(ours.parameters(), theirs.parameters()):
        assert np.allclose(npy(pc), pt.detach().numpy(), atol=1e-5)


def test_compiled_kernels_match_python_reference(monkeypatch):
    """When the core ships _sgd_step_/_adam_step_, they must agree with the reference."""
    core = chaingrad._C
    if not (hasattr(core, "_sgd_step_") and hasattr(core, "_adam_step_")):
        pytest.skip("core has no fused optimizer kernels")
    x, y = make_data(3)
    for name, kwargs in CONFIGS:
        results = []
        for fused in (True, False):
            monkeypatch.setattr(_functional, "USE_FUSED_KERNELS", fused)
            model = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3)).double()
            with chaingrad.no_grad():
                for i, p in enumerate(model.parameters()):
                    p.copy_(cg(np.linspace(-0.5, 0.5, p.numel()).reshape(tuple(p.shape)) * (i + 1)))
            opt = getattr(optim, name)(model.parameters(), **kwargs)
            train(model, opt, x, y, 10, chaingrad, nn.CrossEntropyLoss())
            results.append([npy(p) for p in model.parameters()])
        for a, b in zip(*results):
            assert np.allclose(a, b, rtol=1e-10, atol=1e-12), name


def test_each_update_is_one_kernel_call(monkeypatch):
    calls = []
    monkeypatch.setattr(_functional, "USE_FUSED_KERNELS", True)

    class FakeCore:
        @staticmethod
        def _sgd_step_(*args):
            calls.append(("sgd", args))

        @staticmethod
        def _adam_step_(*args):
            calls.append(("adam", args))

    monkeypatch.setattr(chaingrad, "_C", FakeCore, raising=False)
    w = nn.Parameter(chaingrad.ones((3,)))
    w.grad = chaingrad.ones((3,))
    opt = optim.SGD([w], lr=0.5, momentum=0.9, dampening=0.0, nesterov=True, weight_decay=0.1)
    opt.step()
    opt.step()
    assert [c[0] for c in calls] == ["sgd", "sgd"]
    args = calls[0][1]
    assert args[0] is w and args[1] is w.grad
    assert args[2] is opt.state[w]["momentum_buffer"]
    assert args[3:] == (0.5, 0.9, 0.0, True, 0.1, False, True)
    assert calls[1][1][-1] is False  # first_step only once
    calls.clear()
    opt = optim.AdamW([w], lr=0.01, betas=(0.8, 0.9), eps=1e-7, weight_decay=0.2, amsgrad=True)
    opt.step()
    opt.step()
    args = calls[1][1]
    state = opt.state[w]
    assert args[0] is w and args[1] is w.grad
    assert args[2] is state["exp_avg"] and args[3] is state["exp_avg_sq"]
    assert args[4] is state["max_exp_avg_sq"]
    assert args[5:] == (2, 0.01, 0.8, 0.9, 1e-7, 0.2, True, True, False)
    assert float(state["step"].item()) == 2.0


def test_param_groups_and_errors():
    a = nn.Parameter(chaingrad.ones((2,)))
    b = nn.Parameter(chaingrad.ones((2,)))
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[1]["momentum"] == 0.9
    a.grad = chaingrad.ones((2,))
    b.grad = chaingrad.ones((2,))
    opt.step()
    assert np.allclose(npy(a), 0.9) and np.allclose(npy(b), 0.5)
    c = nn.Parameter(chaingrad.ones((1,)))
    opt.add_param_group({"params": [c], "lr": 1.0})
    assert len(opt.param_groups) == 3
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        optim.SGD(a, lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([a * 2], lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        optim.SGD([1.0], lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        opt.add_param_group({"params": {nn.Parameter(chaingrad.ones((1,)))}})
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        optim.SGD([a], lr=-1)
    with pytest.raises(ValueError, match="Nesterov momentum requires"):
        optim.SGD([a], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1"):
        optim.Adam([a], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="Invalid epsilon value"):
        optim.Adam([a], eps=-1.0)
    with pytest.raises(ValueError, match="Invalid weight_decay value"):
        optim.AdamW([a], weight_decay=-1.0)
    named = optim.SGD([("w", a), ("v", b)], lr=0.1)
    assert named.param_groups[0]["param_names"] == ["w", "v"]


def test_zero_grad_and_skipping_params_without_grad():
    a = nn.Parameter(chaingrad.ones((2,)))
    b = nn.Parameter(chaingrad.ones((2,)))
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = chaingrad.ones((2,))
    opt.step()
    assert np.all(npy(b) == 1) and len(opt.state[b]) == 0
    assert np.allclose(npy(a), 0.9)
    opt.zero_grad(set_to_none=False)
    assert np.all(npy(a.grad) == 0)
    opt.zero_grad()
    assert a.grad is None


def test_closure():
    w = nn.Parameter(cg(np.array([3.0])))

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    opt = optim.SGD([w], lr=0.25)
    with chaingrad.no_grad():
        loss = opt.step(closure)  # the closure still gets gradients
    assert float(loss.item()) == 9.0
    assert np.allclose(npy(w), [1.5])


def test_repr_and_state_dict_format_match_torch():
    torch = pytest.importorskip("torch")
    ours, theirs = make_models()
    x, y = make_data()
    opt_c = optim.Adam(
        [
            {"params": list(ours.parameters())[:2]},
            {"params": list(ours.parameters())[2:], "lr": 0.1},
        ],
        lr=1e-2,
        amsgrad=True,
    )
    opt_t = torch.optim.Adam(
        [
            {"params": list(theirs.parameters())[:2]},
            {"params": list(theirs.parameters())[2:], "lr": 0.1},
        ],
        lr=1e-2,
        amsgrad=True,
    )
    train(ours, opt_c, x, y, 2, chaingrad, nn.CrossEntropyLoss())
    train(theirs, opt_t, x, y, 2, torch, torch.nn.CrossEntropyLoss())
    sc, st = opt_c.state_dict(), opt_t.state_dict()
    assert list(sc.keys()) == ["state", "param_groups"]
    assert list(sc["state"].keys()) == list(st["state"].keys())
    for k in st["state"]:
        assert set(sc["state"][k]) == set(st["state"][k])
        assert float(sc["state"][k]["step"].item()) == float(st["state"][k]["step"].item())
        assert sc["state"][k]["step"].dtype == chaingrad.float32
        for name in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
            assert np.allclose(npy(sc["state"][k][name]), st["state"][k][name].numpy(), atol=1e-10)
    for gc, gt in zip(sc["param_groups"], st["param_groups"]):
        assert gc["params"] == gt["params"]
        for key, value in gc.items():
            assert gt[key] == value, key
    assert repr(optim.SGD(ours.parameters(), lr=0.1)).startswith(
        "SGD (\nParameter Group 0\n    dampening: 0\n"
    )


@pytest.mark.parametrize("name,kwargs", [CONFIGS[0], CONFIGS[5], CONFIGS[8]])
def test_state_dict_round_trip(name, kwargs, tmp_path):
    x, y = make_data(1)
    loss_fn = nn.CrossEntropyLoss()

    def fresh():
        model = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3)).double()
        with chaingrad.no_grad():
            for p in model.parameters():
                p.copy_(cg(np.linspace(-0.3, 0.3, p.numel()).reshape(tuple(p.shape))))
        return model, getattr(optim, name)(model.parameters(), **kwargs)

    model_a, opt_a = fresh()
    train(model_a, opt_a, x, y, 5, chaingrad, loss_fn)
    path = tmp_path / "ckpt.safetensors"
    chaingrad.save({"model": model_a.state_dict(), "optim": opt_a.state_dict()}, path)

    model_b, opt_b = fresh()
    ckpt = chaingrad.load(path)
    model_b.load_state_dict(ckpt["model"])
    opt_b.load_state_dict(ckpt["optim"])
    assert opt_b.state_dict()["param_groups"] == opt_a.state_dict()["param_groups"]

    la = train(model_a, opt_a, x, y, 5, chaingrad, loss_fn)
    lb = train(model_b, opt_b, x, y, 5, chaingrad, loss_fn)
    assert la == lb
    for pa, pb in zip(model_a.parameters(), model_b.parameters()):
        assert np.array_equal(npy(pa), npy(pb))


def test_load_state_dict_copies_and_casts():
    w = nn.Parameter(chaingrad.ones((2,)))
    opt = optim.SGD([w], lr=0.1, momentum=0.9)
    buf = cg(np.array([1.0, 2.0]))  # float64 buffer for a float32 parameter
    opt.load_state_dict(
        {
            "state": {0: {"momentum_buffer": buf}},
            "param_groups": [dict(opt.state_dict()["param_groups"][0])],
        }
    )
    loaded = opt.state[w]["momentum_buffer"]
    assert loaded.dtype == chaingrad.float32 and loaded is not buf
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict({"state": {}, "param_groups": []})
    with pytest.raises(ValueError, match="doesn't match the size"):
        opt.load_state_dict({"state": {}, "param_groups": [{"lr": 0.1, "params": [0, 1]}]})
