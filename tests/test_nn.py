"""Tests for chaingrad.nn (Module, Parameter, layers, init), with PyTorch as the oracle where it
is installed (chaingrad.nn.functional: test_nn_functional.py)."""

import copy
import math
import warnings
from collections import OrderedDict

import numpy as np
import pytest

pytest.importorskip("chaingrad._C")
import chaingrad  # noqa: E402
import chaingrad.nn as nn  # noqa: E402
import chaingrad.nn.functional as F  # noqa: E402
from nn_util import cg, copy_weights, npy, th  # noqa: E402

RNG = np.random.default_rng(0)


# ============================================================================ Module basics
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(8, 3)
        self.register_buffer("count", chaingrad.zeros((1,), dtype=chaingrad.int64))
        self.register_buffer("scratch", chaingrad.zeros((2,)), persistent=False)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


def test_registration_and_traversal():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert len(list(net.parameters())) == 4
    assert [n for n, _ in net.named_buffers()] == ["count", "scratch"]
    assert [n for n, _ in net.named_children()] == ["fc1", "act", "fc2"]
    assert [n for n, _ in net.named_modules()] == ["", "fc1", "act", "fc2"]
    assert list(net.children())[0] is net.fc1
    assert list(net.state_dict().keys()) == [
        "count",
        "fc1.weight",
        "fc1.bias",
        "fc2.weight",
        "fc2.bias",
    ]
    assert net.get_submodule("fc1") is net.fc1
    assert net.get_parameter("fc2.bias") is net.fc2.bias
    assert "fc1" in dir(net)


def test_setattr_rules():
    m = nn.Module()
    p = nn.Parameter(chaingrad.zeros((2,)))
    m.w = p
    assert m._parameters["w"] is p and m.w is p
    m.w = None
    assert m.w is None and "w" in m._parameters
    with pytest.raises(TypeError, match="cannot assign"):
        m.w = chaingrad.zeros((2,))  # a plain tensor is not a Parameter
    m.sub = nn.Linear(2, 2)
    assert "sub" in m._modules
    with pytest.raises(TypeError):
        m.sub = 3
    del m.sub
    assert "sub" not in m._modules
    m.register_buffer("b", chaingrad.ones((1,)))
    with pytest.raises(TypeError):
        m.b = 5
    with pytest.raises(KeyError):
        m.register_buffer("a.b", None)
    with pytest.raises(KeyError):
        m.register_parameter("forward", None)
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        _ = m.nope

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(chaingrad.zeros((1,)))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()


def test_shared_parameters_listed_once():
    lin = nn.Linear(3, 3)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(seq.parameters())) == 2
    assert len(list(seq.modules())) == 3
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias"]
    assert len(list(seq.named_parameters(remove_duplicate=False))) == 4


def test_register_parameter_requires_parameter():
    m = nn.Module()
    with pytest.raises(TypeError, match="chaingrad.nn.Parameter or None required"):
        m.register_parameter("p", chaingrad.zeros((3,)))
    m.register_parameter("p", None)
    assert m.p is None and list(m.parameters()) == []


def test_train_eval_and_apply():
    net = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5), nn.Sequential(nn.Dropout()))
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "Dropout", "Dropout", "Sequential", "Sequential"]


def test_zero_grad():
    lin = nn.Linear(3, 2)
    lin(cg(RNG.standard_normal((4, 3)).astype(np.float32))).sum().backward()
    assert lin.weight.grad is not None
    lin.zero_grad(set_to_none=False)
    assert np.all(npy(lin.weight.grad) == 0)
    lin.zero_grad()
    assert lin.weight.grad is None and lin.bias.grad is None


def test_forward_hooks():
    lin = nn.Linear(2, 2)
    calls = []
    h1 = lin.register_forward_pre_hook(lambda m, args: calls.append("pre"))
    h2 = lin.register_forward_hook(lambda m, args, out: out * 0)
    out = lin(cg(np.ones((1, 2), dtype=np.float32)))
    assert calls == ["pre"] and np.all(npy(out) == 0)
    h1.remove()
    h2.remove()
    out = lin(cg(np.ones((1, 2), dtype=np.float32)))
    assert calls == ["pre"] and not np.all(npy(out) == 0)


def test_missing_forward():
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        nn.Module()(1)


# ============================================================================ Parameter
def test_parameter_basics():
    data = chaingrad.zeros((2, 3))
    p = nn.Parameter(data)
    assert isinstance(p, chaingrad.Tensor) and isinstance(p, nn.Parameter)
    assert p.requires_grad and p.is_leaf and p.grad_fn is None
    with chaingrad.no_grad():
        p.fill_(2.0)
    assert np.all(npy(data) == 2.0)  # shares memory with data
    q = nn.Parameter(chaingrad.ones((2,)), requires_grad=False)
    assert not q.requires_grad
    assert repr(p).startswith("Parameter containing:\ntensor(")
    assert "requires_grad=True" in repr(p)
    assert not isinstance(p * 2, nn.Parameter)
    r = copy.deepcopy(p)
    assert isinstance(r, nn.Parameter) and r is not p
    with chaingrad.no_grad():
        r.fill_(5.0)
    assert np.all(npy(p) == 2.0)
    assert tuple(nn.Parameter().shape) == (0,)


def test_deepcopy_module():
    net = Net()
    clone = copy.deepcopy(net)
    with chaingrad.no_grad():
        clone.fc1.weight.fill_(0.0)
    assert not np.all(npy(net.fc1.weight) == 0)
    assert isinstance(clone.fc1.weight, nn.Parameter)


# ============================================================================ dtype conversion
def test_to_double_keeps_parameter_objects():
    net = Net()
    w = net.fc1.weight
    net(cg(RNG.standard_normal((2, 4)).astype(np.float32))).sum().backward()
    assert net.double() is net
    assert net.fc1.weight is w
    assert w.dtype == chaingrad.float64 and w.requires_grad
    assert w.grad.dtype == chaingrad.float64
    assert net.count.dtype == chaingrad.int64  # integer buffers untouched
    out = net(cg(RNG.standard_normal((2, 4))))
    assert out.dtype == chaingrad.float64
    net.float()
    assert w.dtype == chaingrad.float32
    net.to(chaingrad.float64)
    assert w.dtype == chaingrad.float64
    net.to(dtype=chaingrad.float32, device="cpu")
    assert w.dtype == chaingrad.float32
    with pytest.raises(TypeError, match="floating point"):
        net.to(chaingrad.int64)
    with pytest.raises(RuntimeError, match="CPU"):
        net.to("cuda")


def test_linear_dtype_argument():
    lin = nn.Linear(3, 2, dtype=chaingrad.float64)
    assert lin.weight.dtype == chaingrad.float64 and lin.bias.dtype == chaingrad.float64
    assert nn.Linear(3, 2, bias=False).bias is None


# ============================================================================ state dict
def test_state_dict_detached_and_shared():
    lin = nn.Linear(3, 2)
    sd = lin.state_dict()
    assert isinstance(sd, OrderedDict)
    assert not sd["weight"].requires_grad
    with chaingrad.no_grad():
        lin.weight.fill_(1.5)
    assert np.all(npy(sd["weight"]) == 1.5)  # shares memory like PyTorch
    assert lin.state_dict(keep_vars=True)["weight"] is lin.weight


def test_load_state_dict_roundtrip_and_errors():
    a, b = Net(), Net()
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    for (_, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters()):
        assert np.array_equal(npy(pa), npy(pb))
    assert b.fc1.weight.requires_grad and b.fc1.weight.grad_fn is None

    sd = a.state_dict()
    del sd["fc2.bias"]
    sd["extra.thing"] = chaingrad.zeros((1,))
    with pytest.raises(RuntimeError) as info:
        b.load_state_dict(sd)
    msg = str(info.value)
    assert msg.startswith("Error(s) in loading state_dict for Net:\n\t")
    assert 'Missing key(s) in state_dict: "fc2.bias". ' in msg
    assert 'Unexpected key(s) in state_dict: "extra.thing". ' in msg
    res = b.load_state_dict(sd, strict=False)
    assert res.missing_keys == [] and res.unexpected_keys == []

    sd = a.state_dict()
    sd["fc1.weight"] = chaingrad.zeros((3, 3))
    with pytest.raises(RuntimeError, match="size mismatch for fc1.weight"):
        b.load_state_dict(sd)
    with pytest.raises(TypeError):
        b.load_state_dict([1, 2])


def test_load_state_dict_casts_dtype_and_assign():
    lin = nn.Linear(2, 2)
    sd = {"weight": cg(np.ones((2, 2))), "bias": cg(np.zeros(2))}  # float64 into float32
    lin.load_state_dict(sd)
    assert lin.weight.dtype == chaingrad.float32 and np.all(npy(lin.weight) == 1)
    lin.load_state_dict(sd, assign=True)
    assert lin.weight.dtype == chaingrad.float64 and isinstance(lin.weight, nn.Parameter)


def test_load_state_dict_message_matches_torch():
    torch = pytest.importorskip("torch")
    ours, theirs = nn.Linear(2, 3), torch.nn.Linear(2, 3)
    with pytest.raises(RuntimeError) as a:
        ours.load_state_dict({"weight": chaingrad.ones((3, 2)), "foo": chaingrad.ones((1,))})
    with pytest.raises(RuntimeError) as b:
        theirs.load_state_dict({"weight": torch.ones(3, 2), "foo": torch.ones(1)})
    assert str(a.value) == str(b.value)


# ============================================================================ containers
def test_sequential():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    seq = nn.Sequential(a, b, c)
    assert len(seq) == 3 and seq[0] is a and seq[-1] is c
    assert list(seq) == [a, b, c]
    sub = seq[1:]
    assert isinstance(sub, nn.Sequential) and list(sub) == [b, c]
    x = cg(RNG.standard_normal((5, 2)).astype(np.float32))
    assert np.allclose(npy(seq(x)), npy(c(b(a(x)))))
    seq.append(nn.Tanh())
    assert len(seq) == 4
    del seq[1]
    assert list(seq._modules.keys()) == ["0", "1", "2"]
    seq[0] = nn.Identity()
    assert isinstance(seq[0], nn.Identity)
    with pytest.raises(IndexError):
        seq[10]
    named = nn.Sequential(OrderedDict([("first", nn.Linear(1, 1)), ("act", nn.ReLU())]))
    assert [n for n, _ in named.named_children()] == ["first", "act"]
    assert isinstance(named[1], nn.ReLU)


def test_module_list_and_dict():
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(layers) == 3
    assert len(list(layers.parameters())) == 6
    layers.append(nn.ReLU())
    layers += [nn.Tanh()]
    assert len(layers) == 5 and isinstance(layers[-1], nn.Tanh)
    assert isinstance(layers[1:3], nn.ModuleList) and len(layers[1:3]) == 2
    del layers[0]
    assert list(layers._modules.keys()) == ["0", "1", "2", "3"]
    layers.insert(0, nn.Identity())
    assert isinstance(layers[0], nn.Identity)

    md = nn.ModuleDict({"a": nn.Linear(1, 1), "b": nn.ReLU()})
    assert "a" in md and len(md) == 2 and list(md) == ["a", "b"]
    md["c"] = nn.Tanh()
    assert list(md.keys()) == ["a", "b", "c"]
    assert [n for n, _ in md.named_parameters()] == ["a.weight", "a.bias"]


def test_repr_matches_torch():
    torch = pytest.importorskip("torch")
    ours = nn.Sequential(
        nn.Linear(2, 3),
        nn.ReLU(),
        nn.ReLU(inplace=True),
        nn.Dropout(0.25),
        nn.Tanh(),
        nn.Sigmoid(),
        nn.Identity(),
        nn.Softmax(dim=1),
        nn.LogSoftmax(dim=-1),
        nn.Flatten(),
        nn.Linear(3, 1, bias=False),
        nn.Sequential(nn.Linear(1, 1)),
        nn.ModuleList([nn.Linear(1, 1), nn.Linear(1, 1), nn.ReLU()]),
        nn.MSELoss(),
        nn.CrossEntropyLoss(),
    )
    tn = torch.nn
    theirs = tn.Sequential(
        tn.Linear(2, 3),
        tn.ReLU(),
        tn.ReLU(inplace=True),
        tn.Dropout(0.25),
        tn.Tanh(),
        tn.Sigmoid(),
        tn.Identity(),
        tn.Softmax(dim=1),
        tn.LogSoftmax(dim=-1),
        tn.Flatten(),
        tn.Linear(3, 1, bias=False),
        tn.Sequential(tn.Linear(1, 1)),
        tn.ModuleList([tn.Linear(1, 1), tn.Linear(1, 1), tn.ReLU()]),
        tn.MSELoss(),
        tn.CrossEntropyLoss(),
    )
    assert repr(ours) == repr(theirs)
    assert repr(nn.Module()) == "Module()"


# ============================================================================ layers vs torch
def test_mlp_forward_backward_matches_torch():
    torch = pytest.importorskip("torch")
    ours = nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 7), nn.Sigmoid(), nn.Linear(7, 2))
    ours.double()
    theirs = torch.nn.Sequential(
        torch.nn.Linear(5, 7),
        torch.nn.Tanh(),
        torch.nn.Linear(7, 7),
        torch.nn.Sigmoid(),
        torch.nn.Linear(7, 2),
    ).double()
    copy_weights(ours, theirs)
    x = RNG.standard_normal((9, 5))
    out_c = ours(cg(x))
    out_t = theirs(th(x))
    assert np.allclose(npy(out_c), out_t.detach().numpy(), atol=1e-12)
    (out_c * out_c).sum().backward()
    (out_t * out_t).sum().backward()
    for (_, pc), (_, pt) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert np.allclose(npy(pc.grad), pt.grad.numpy(), atol=1e-12)


def test_linear_init_distribution():
    lin = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    w = npy(lin.weight)
    b = npy(lin.bias)
    assert w.shape == (300, 400) and b.shape == (300,)
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    # kaiming_uniform_(a=sqrt(5)) is U(-1/sqrt(fan_in), 1/sqrt(fan_in)): std = bound/sqrt(3)
    assert abs(w.std() - bound / math.sqrt(3)) < 0.02 * bound
    assert abs(w.mean()) < 0.02 * bound


def test_dropout():
    x = chaingrad.ones((200, 500))
    d = nn.Dropout(0.3)
    y = npy(d(x))
    zero_frac = (y == 0).mean()
    assert abs(zero_frac - 0.3) < 0.01
    assert np.allclose(y[y != 0], 1 / 0.7)
    d.eval()
    assert np.array_equal(npy(d(x)), npy(x))
    assert F.dropout(x, 0.3, training=False) is x
    assert np.all(npy(F.dropout(x, 1.0)) == 0)
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
        nn.Dropout(1.5)
    with pytest.raises(ValueError, match="but got -0.1"):
        F.dropout(x, -0.1)
    xr = cg(np.ones(1000), requires_grad=True)
    y = F.dropout(xr, 0.5)
    y.sum().backward()
    assert np.array_equal(npy(xr.grad), npy(y))  # gradient is the mask / (1 - p)


# ============================================================================ init
def test_init_functions():
    torch = pytest.importorskip("torch")
    for name, param in [
        ("linear", None),
        ("conv2d", None),
        ("sigmoid", None),
        ("tanh", None),
        ("relu", None),
        ("leaky_relu", None),
        ("leaky_relu", 0.2),
        ("selu", None),
    ]:
        assert nn.init.calculate_gain(name, param) == torch.nn.init.calculate_gain(name, param)
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        nn.init.calculate_gain("foo")
    with pytest.raises(ValueError, match="not a valid number"):
        nn.init.calculate_gain("leaky_relu", True)

    t = chaingrad.empty((64, 32, 3))
    assert nn.init._calculate_fan_in_and_fan_out(t) == (96, 192)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        nn.init.xavier_uniform_(chaingrad.empty((3,)))

    p = nn.Parameter(chaingrad.empty((256, 512)))
    assert nn.init.xavier_uniform_(p) is p and p.grad_fn is None
    bound = math.sqrt(6 / (256 + 512))
    assert np.abs(npy(p)).max() <= bound
    nn.init.xavier_normal_(p, gain=2.0)
    assert abs(npy(p).std() - 2.0 * math.sqrt(2 / 768)) < 0.02 * 2.0 * math.sqrt(2 / 768)
    nn.init.kaiming_uniform_(p, mode="fan_out", nonlinearity="relu")
    assert np.abs(npy(p)).max() <= math.sqrt(2) * math.sqrt(3 / 256)
    nn.init.kaiming_normal_(p, nonlinearity="relu")
    assert abs(npy(p).std() - math.sqrt(2 / 512)) < 0.02 * math.sqrt(2 / 512)
    with pytest.raises(ValueError, match="Mode fan_up not supported"):
        nn.init.kaiming_uniform_(p, mode="fan_up")
    nn.init.uniform_(p, -0.5, 0.25)
    assert npy(p).min() >= -0.5 and npy(p).max() <= 0.25
    nn.init.normal_(p, 3.0, 0.1)
    assert abs(npy(p).mean() - 3.0) < 0.01
    nn.init.constant_(p, 0.5)
    assert np.all(npy(p) == 0.5)
    nn.init.ones_(p)
    assert np.all(npy(p) == 1)
    nn.init.zeros_(p)
    assert np.all(npy(p) == 0)
    assert p.requires_grad and p.is_leaf
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        nn.init.kaiming_uniform_(chaingrad.empty((0, 3)))
    assert any("zero-element" in str(x.message) for x in w)
