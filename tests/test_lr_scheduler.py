"""Tests for chaingrad.optim.lr_scheduler: every scheduler's learning rates (and momenta) step by
step and its state dict, against torch.optim.lr_scheduler when PyTorch is installed."""

import math
import warnings

import numpy as np
import pytest

pytest.importorskip("chaingrad._C")
import chaingrad  # noqa: E402
from chaingrad.optim import lr_scheduler as sched  # noqa: E402


def torch_or_skip():
    return pytest.importorskip("torch")


def optimizers(kind="sgd", groups=1):
    """The same optimizer (two parameter groups with different lrs if ``groups == 2``) in
    chaingrad and in torch."""
    torch = torch_or_skip()

    def make(lib, optim):
        params = [lib.zeros(2, requires_grad=True) for _ in range(groups)]
        spec = [{"params": [p], "lr": 0.1 * (i + 1)} for i, p in enumerate(params)]
        if kind == "sgd":
            return optim.SGD(spec, lr=0.1, momentum=0.9)
        return optim.Adam(spec, lr=0.1)

    return make(chaingrad, chaingrad.optim), make(torch, torch.optim)


def clean(state):
    """A state dict with plain Python values (Counters to dicts) for comparison."""
    out = {}
    for k, v in state.items():
        out[k] = dict(v) if isinstance(v, dict) else v
    return out


def run_both(make_ours, make_theirs, steps=25, kind="sgd", groups=2, metric=None):
    """Step both schedulers ``steps`` times, comparing lrs, momenta and state dicts each step."""
    ours_opt, theirs_opt = optimizers(kind, groups)
    ours, theirs = make_ours(ours_opt), make_theirs(theirs_opt)
    for i in range(steps + 1):
        assert ours.get_last_lr() == theirs.get_last_lr(), f"step {i}"
        for g, h in zip(ours_opt.param_groups, theirs_opt.param_groups):
            assert g["lr"] == h["lr"]
            assert g.get("momentum") == h.get("momentum")
            assert g.get("betas") == h.get("betas")
            assert g.get("initial_lr") == h.get("initial_lr")
        assert clean(ours.state_dict()) == clean(theirs.state_dict()), f"step {i}"
        ours_opt.step()
        theirs_opt.step()
        if metric is None:
            ours.step()
            theirs.step()
        else:
            ours.step(metric(i))
            theirs.step(metric(i))
    return ours, theirs


def test_step_lr():
    torch = torch_or_skip()
    run_both(lambda o: sched.StepLR(o, step_size=4, gamma=0.5),
             lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=4, gamma=0.5))


def test_multi_step_lr_with_repeated_milestones():
    torch = torch_or_skip()
    run_both(lambda o: sched.MultiStepLR(o, [3, 7, 7, 12], gamma=0.3),
             lambda o: torch.optim.lr_scheduler.MultiStepLR(o, [3, 7, 7, 12], gamma=0.3))


def test_exponential_lr():
    torch = torch_or_skip()
    run_both(lambda o: sched.ExponentialLR(o, 0.87),
             lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.87))


@pytest.mark.parametrize("eta_min", [0.0, 0.01])
def test_cosine_annealing_over_several_periods(eta_min):
    torch = torch_or_skip()
    run_both(lambda o: sched.CosineAnnealingLR(o, T_max=6, eta_min=eta_min),
             lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=6, eta_min=eta_min),
             steps=40)


def test_lambda_lr_per_group():
    torch = torch_or_skip()
    fns = [lambda e: 0.95**e, lambda e: 1.0 / (1 + e)]
    run_both(lambda o: sched.LambdaLR(o, fns), lambda o: torch.optim.lr_scheduler.LambdaLR(o, fns))


@pytest.mark.parametrize("start,end,total", [(1 / 3, 1.0, 5), (1.0, 0.1, 8), (0.5, 0.5, 3)])
def test_linear_lr(start, end, total):
    torch = torch_or_skip()
    run_both(lambda o: sched.LinearLR(o, start, end, total),
             lambda o: torch.optim.lr_scheduler.LinearLR(o, start, end, total))


@pytest.mark.parametrize("kind", ["sgd", "adam"])
@pytest.mark.parametrize("strategy,three_phase", [("cos", False), ("linear", False), ("cos", True)])
def test_one_cycle(kind, strategy, three_phase):
    torch = torch_or_skip()
    kwargs = dict(max_lr=[1.0, 0.5], total_steps=30, anneal_strategy=strategy,
                  three_phase=three_phase)
    run_both(lambda o: sched.OneCycleLR(o, **kwargs),
             lambda o: torch.optim.lr_scheduler.OneCycleLR(o, **kwargs), steps=29, kind=kind)


def test_one_cycle_epochs_and_errors():
    ours_opt, _ = optimizers()
    s = sched.OneCycleLR(ours_opt, max_lr=0.1, epochs=2, steps_per_epoch=3)
    assert s.total_steps == 6
    for _ in range(6):
        ours_opt.step()
        s.step()
    with pytest.raises(ValueError, match="Tried to step 7 times"):
        s.step()
    with pytest.raises(ValueError, match="You must define either total_steps"):
        sched.OneCycleLR(ours_opt, max_lr=0.1)


@pytest.mark.parametrize(
    "kwargs",
    [dict(), dict(patience=2, factor=0.5), dict(mode="max", patience=1, cooldown=2),
     dict(threshold_mode="abs", threshold=0.05, patience=0, min_lr=[0.02, 0.01])],
)
def test_reduce_on_plateau(kwargs):
    torch = torch_or_skip()
    losses = [1.0, 0.9, 0.95, 0.96, 0.97, 0.89, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]
    run_both(lambda o: sched.ReduceLROnPlateau(o, **kwargs),
             lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(o, **kwargs),
             steps=40, metric=lambda i: losses[i % len(losses)])


def test_state_dict_round_trip_resumes_the_schedule():
    opt, _ = optimizers()
    a = sched.CosineAnnealingLR(opt, T_max=10)
    for _ in range(4):
        opt.step()
        a.step()
    saved = a.state_dict()
    expected = []
    for _ in range(5):
        opt.step()
        a.step()
        expected.append(a.get_last_lr())
    opt2, _ = optimizers()
    for g, lr in zip(opt2.param_groups, saved["_last_lr"]):
        g["lr"] = lr
    b = sched.CosineAnnealingLR(opt2, T_max=10)
    b.load_state_dict(saved)
    got = []
    for _ in range(5):
        opt2.step()
        b.step()
        got.append(b.get_last_lr())
    assert got == expected


def test_closed_form_with_epoch_argument_matches_torch():
    torch = torch_or_skip()
    ours_opt, theirs_opt = optimizers()
    ours = sched.StepLR(ours_opt, 3, 0.5)
    theirs = torch.optim.lr_scheduler.StepLR(theirs_opt, 3, 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours.step(7)
        theirs.step(7)
    assert ours.get_last_lr() == theirs.get_last_lr()


def test_resume_requires_initial_lr_and_warns_on_order():
    opt, _ = optimizers()
    with pytest.raises(KeyError, match="param 'initial_lr' is not specified in param_groups"):
        sched.StepLR(opt, 2, last_epoch=3)
    s = sched.StepLR(opt, 2)
    with pytest.warns(UserWarning, match="Detected call of `lr_scheduler.step\\(\\)` before"):
        s.step()
    with pytest.warns(UserWarning, match="please use `get_last_lr\\(\\)`"):
        s.get_lr()
    with pytest.raises(TypeError, match="list is not an Optimizer"):
        sched.StepLR([], 2)


def test_scheduler_drives_training_lr():
    """A scheduler's rate is the one the optimizer uses: SGD's step size follows it."""
    w = chaingrad.tensor([1.0], dtype=chaingrad.float64, requires_grad=True)
    opt = chaingrad.optim.SGD([w], lr=1.0)
    s = sched.ExponentialLR(opt, 0.5)
    values = []
    for _ in range(3):
        w.grad = chaingrad.ones_like(w)
        before = w.item()
        opt.step()
        values.append(before - w.item())
        s.step()
    np.testing.assert_allclose(values, [1.0, 0.5, 0.25])
    assert math.isclose(s.get_last_lr()[0], 0.125)
