"""RMSprop and Adagrad against PyTorch: 50 float64 training steps agree to 1e-10, state dicts
have PyTorch's keys and round-trip, bad hyper-parameters raise PyTorch's errors."""

import numpy as np
import pytest

pytest.importorskip("chaingrad._C")
import chaingrad  # noqa: E402
import chaingrad.nn as nn  # noqa: E402
import chaingrad.optim as optim  # noqa: E402
from test_optim import make_data, make_models, npy, train  # noqa: E402

CONFIGS = [
    ("RMSprop", dict(lr=1e-2)),
    ("RMSprop", dict(lr=1e-2, alpha=0.9, eps=1e-6, weight_decay=1e-2)),
    ("RMSprop", dict(lr=5e-3, momentum=0.9)),
    ("RMSprop", dict(lr=5e-3, momentum=0.5, centered=True, weight_decay=1e-3)),
    ("RMSprop", dict(lr=1e-3, centered=True, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=1e-2)),
    ("Adagrad", dict(lr=0.05, initial_accumulator_value=0.3, eps=1e-6)),
    ("Adagrad", dict(lr=0.05, maximize=True)),
]


@pytest.mark.parametrize("name,kwargs", CONFIGS)
def test_fifty_steps_match_torch(name, kwargs):
    torch = pytest.importorskip("torch")
    ours, theirs = make_models()
    x, y = make_data()
    opt_c = getattr(optim, name)(ours.parameters(), foreach=False, **kwargs)
    opt_t = getattr(torch.optim, name)(theirs.parameters(), foreach=False, **kwargs)
    lc = train(ours, opt_c, x, y, 50, chaingrad, nn.CrossEntropyLoss())
    lt = train(theirs, opt_t, x, y, 50, torch, torch.nn.CrossEntropyLoss())
    np.testing.assert_allclose(lc, lt, rtol=0, atol=1e-10)
    if not kwargs.get("maximize"):
        assert lc[-1] < lc[0]
    for pc, pt in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(npy(pc), pt.detach().numpy(), rtol=0, atol=1e-10)
    sc, st = opt_c.state_dict(), opt_t.state_dict()
    assert sc["param_groups"] == st["param_groups"]
    assert sc["state"].keys() == st["state"].keys()
    for i in st["state"]:
        assert sc["state"][i].keys() == st["state"][i].keys()
        for key, value in st["state"][i].items():
            np.testing.assert_allclose(sc["state"][i][key].numpy(), value.numpy(), atol=1e-10)


@pytest.mark.parametrize("name,kwargs", [CONFIGS[3], CONFIGS[7]])
def test_state_dict_round_trip_continues_identically(name, kwargs):
    x, y = make_data()
    model_a = nn.Sequential(nn.Linear(6, 3)).double()
    model_b = nn.Sequential(nn.Linear(6, 3)).double()
    model_b.load_state_dict(model_a.state_dict())
    opt_a = getattr(optim, name)(model_a.parameters(), **kwargs)
    train(model_a, opt_a, x, y, 5, chaingrad, nn.CrossEntropyLoss())
    opt_b = getattr(optim, name)(model_b.parameters(), **kwargs)
    model_b.load_state_dict(model_a.state_dict())
    opt_b.load_state_dict(opt_a.state_dict())
    la = train(model_a, opt_a, x, y, 5, chaingrad, nn.CrossEntropyLoss())
    lb = train(model_b, opt_b, x, y, 5, chaingrad, nn.CrossEntropyLoss())
    assert la == lb


def test_adagrad_state_exists_before_the_first_step():
    p = chaingrad.zeros(3, requires_grad=True)
    opt = optim.Adagrad([p], initial_accumulator_value=0.5)
    assert opt.state[p]["sum"].tolist() == [0.5, 0.5, 0.5]
    assert opt.state[p]["step"].item() == 0.0


@pytest.mark.parametrize(
    "name,kwargs,message",
    [
        ("RMSprop", dict(lr=-1.0), "Invalid learning rate: -1.0"),
        ("RMSprop", dict(alpha=-0.1), "Invalid alpha value: -0.1"),
        ("RMSprop", dict(momentum=-0.1), "Invalid momentum value: -0.1"),
        ("RMSprop", dict(eps=-1.0), "Invalid epsilon value: -1.0"),
        ("Adagrad", dict(lr_decay=-1.0), "Invalid lr_decay value: -1.0"),
        ("Adagrad", dict(initial_accumulator_value=-1.0),
         "Invalid initial_accumulator_value value: -1.0"),
        ("Adagrad", dict(weight_decay=-1.0), "Invalid weight_decay value: -1.0"),
    ],
)
def test_invalid_hyper_parameters(name, kwargs, message):
    p = chaingrad.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match=message):
        getattr(optim, name)([p], **kwargs)
