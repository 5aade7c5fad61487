"""Tests for chaingrad.nn.utils (gradient clipping, parameter vectors) and
chaingrad.testing.assert_close, against PyTorch when it is installed."""

import math

import numpy as np
import pytest

pytest.importorskip("chaingrad._C")
import chaingrad  # noqa: E402
from chaingrad.nn import utils  # noqa: E402
from chaingrad.testing import assert_close  # noqa: E402


def torch_or_skip():
    return pytest.importorskip("torch")


def params_with_grads(lib, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    shapes = [(3, 4), (4,), (2, 2, 2)]
    out = []
    for s in shapes:
        p = lib.tensor(rng.standard_normal(s), requires_grad=True)
        p.grad = lib.tensor(rng.standard_normal(s) * scale)
        out.append(p)
    return out


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.5, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    torch = torch_or_skip()
    ours, theirs = params_with_grads(chaingrad), params_with_grads(torch)
    a = utils.clip_grad_norm_(ours, max_norm, norm_type=norm_type, foreach=True)
    b = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert a.dim() == 0 and a.dtype == chaingrad.float64
    np.testing.assert_allclose(a.item(), b.item(), rtol=1e-12)
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_clip_grad_norm_single_tensor_no_grads_and_nonfinite():
    p = chaingrad.tensor([3.0, 4.0], requires_grad=True)
    p.grad = chaingrad.tensor([3.0, 4.0])
    total = utils.clip_grad_norm_(p, 1.0)
    assert math.isclose(total.item(), 5.0, rel_tol=1e-6)
    np.testing.assert_allclose(p.grad.numpy(), [0.6, 0.8], rtol=1e-5)
    q = chaingrad.zeros(2, requires_grad=True)
    assert utils.clip_grad_norm_([q], 1.0).item() == 0.0
    p.grad = chaingrad.tensor([float("inf"), 1.0])
    with pytest.raises(RuntimeError, match="The total norm of order 2.0 for gradients"):
        utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)


def test_clip_grad_value_matches_torch():
    torch = torch_or_skip()
    ours, theirs = params_with_grads(chaingrad, 1), params_with_grads(torch, 1)
    assert utils.clip_grad_value_(ours, 0.3) is None
    torch.nn.utils.clip_grad_value_(theirs, 0.3)
    for p, q in zip(ours, theirs):
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())
        assert p.grad.abs().max().item() <= 0.3


def test_parameters_to_vector_round_trip():
    torch = torch_or_skip()
    ours, theirs = params_with_grads(chaingrad, 2), params_with_grads(torch, 2)
    vec = utils.parameters_to_vector(ours)
    np.testing.assert_array_equal(
        vec.detach().numpy(), torch.nn.utils.parameters_to_vector(theirs).detach().numpy()
    )
    vec.sum().backward()  # differentiable: every parameter gets ones
    assert all(p.grad is not None for p in ours)
    new = chaingrad.arange(vec.numel()).double()
    utils.vector_to_parameters(new, ours)
    assert ours[0].tolist()[0] == [0.0, 1.0, 2.0, 3.0] and ours[1].tolist() == [12.0, 13.0, 14.0, 15.0]
    assert ours[0].requires_grad and ours[0].is_leaf
    with pytest.raises(TypeError, match="expected torch.Tensor, but got: int"):
        utils.vector_to_parameters(3, ours)


def test_nn_utils_is_reachable_as_attribute():
    assert chaingrad.nn.utils.clip_grad_norm_ is utils.clip_grad_norm_


# ---------------------------------------------------------------- assert_close
def message_cases(lib):
    nan, inf = float("nan"), float("inf")
    t = lib.tensor
    return [
        lambda: (t([1.0, 2.0, 3.0]), t([1.0, 2.5, 3.0])),
        lambda: (t([[1, 2], [3, 4]]), t([[1, 2], [3, 5]])),
        lambda: (1.0, 1.5),
        lambda: (1, 2),
        lambda: (1, 0),
        lambda: (True, False),
        lambda: (1, 1.0),
        lambda: (t([1.0]), t([1.0, 2.0])),
        lambda: (t([1.0]), t([1.0], dtype=lib.float64)),
        lambda: (t([nan]), t([nan])),
        lambda: ([t([1.0]), t([2.0])], [t([1.0]), t([3.0])]),
        lambda: ({"a": t([1.0])}, {"a": t([2.0])}),
        lambda: ({"a": 1}, {"b": 1}),
        lambda: ([1, 2], [1, 2, 3]),
        lambda: (t(1.0), t(2.0)),
        lambda: (t([1.0, inf]), t([1.0, 2.0])),
        lambda: (np.array([1.0, 2.0]), np.array([1.0, 3.0])),
        lambda: ([1.0, 2.0], [1.0, 3.0]),
        lambda: (t([0.0, 0.0]), t([0.0, 1e-3])),
        lambda: (t([True]), t([False])),
        lambda: (t([1e6, 0.0], dtype=lib.float64), t([1e6 + 0.05, 0.001], dtype=lib.float64)),
        lambda: (t([1.0]), np.array([1.0])),
        lambda: ("a", "b"),
        lambda: (t(1.0), 1.0),
    ]


@pytest.mark.parametrize("case", range(24))
def test_assert_close_messages_match_torch(case):
    torch = torch_or_skip()

    def outcome(lib, assert_fn):
        actual, expected = message_cases(lib)[case]()
        try:
            assert_fn(actual, expected)
        except Exception as e:  # noqa: BLE001 - the type is compared below
            return type(e).__name__, str(e).replace("torch.", "chaingrad.").replace(
                "<class 'chaingrad.Tensor'>", "<class 'chaingrad._C.Tensor'>"
            )
        return "OK", ""

    ours = outcome(chaingrad, assert_close)
    theirs = outcome(torch, torch.testing.assert_close)
    if ours[0] == "TypeError":  # the class path names the implementation module
        assert theirs[0] == "TypeError" and "No comparison pair" in ours[1]
    else:
        assert ours == theirs


def test_assert_close_options():
    assert_close(chaingrad.tensor([float("nan")]), chaingrad.tensor([float("nan")]), equal_nan=True)
    assert_close(chaingrad.tensor([1.0, 2.0]), chaingrad.tensor([1, 2]), check_dtype=False)
    assert_close(chaingrad.tensor([1.0]), chaingrad.tensor([1.1]), rtol=0.0, atol=0.2)
    assert_close([chaingrad.tensor([1.0])], (chaingrad.tensor([1.0]),))
    with pytest.raises(AssertionError, match="^custom$"):
        assert_close(chaingrad.tensor([1.0]), chaingrad.tensor([2.0]), msg="custom")
    with pytest.raises(AssertionError, match="^Xtensor-likes|^XTensor-likes"):
        assert_close(chaingrad.tensor([1.0]), chaingrad.tensor([2.0]), msg=lambda m: "X" + m)
    with pytest.raises(ValueError, match="Both 'rtol' and 'atol' must be either specified"):
        assert_close(chaingrad.tensor([1.0]), chaingrad.tensor([1.0]), rtol=1e-3)
    with pytest.raises(AssertionError, match="1.3e-06 allowed"):
        assert_close(chaingrad.tensor([1.0]), chaingrad.tensor([1.0001]))
    assert_close(chaingrad.tensor([1.0]), chaingrad.tensor([1.000001]))  # within float32 defaults
    assert chaingrad.testing.assert_close is assert_close
