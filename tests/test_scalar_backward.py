"""The engine's 0-d fast path (Node::apply_0d): gradients of 0-d float graphs pass between nodes as
numbers. They must be the same bits as the general tensor path, which anomaly mode forces, and
match PyTorch; hooks, retain_grad, autograd.grad captures and inputs= still see tensors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

pytest.importorskip("chaingrad._C")
import chaingrad as cg  # noqa: E402


def _graph(lib: Any, a: Any, b: Any) -> Any:
    """Every op with a fast path, leaves used many times (sums of 3+ gradients), a non-fast op
    (sin) in the middle so numbers turn into tensors and back."""
    y = a * b + a
    for i in range(5):
        y = (y * 0.5 - b).tanh() + a / (b + 3.0)
        y = (-y).exp() * 0.25 + y**2 - 1.5 / (a * a + 2.0)
        y = y - a * 0.125 + (i + 1.0)
        if i == 2:
            y = y.sin()
    return y


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fast_path_bits_equal_the_tensor_path(dtype: type) -> None:
    def grads(anomaly: bool) -> list[bytes]:
        a = cg.tensor(np.array(0.3, dtype=dtype), requires_grad=True)
        b = cg.tensor(np.array(-0.7, dtype=dtype), requires_grad=True)
        with cg.autograd.set_detect_anomaly(anomaly):
            _graph(cg, a, b).backward()
            ga, gb = cg.autograd.grad(_graph(cg, a, b), [a, b])
        return [t.detach().numpy().tobytes() for t in (a.grad, b.grad, ga, gb)]

    assert grads(False) == grads(True)


def test_fast_path_matches_pytorch() -> None:
    torch = pytest.importorskip("torch")
    a = cg.tensor(0.3, requires_grad=True)
    b = cg.tensor(-0.7, requires_grad=True)
    _graph(cg, a, b).backward()
    ta = torch.tensor(0.3, requires_grad=True)
    tb = torch.tensor(-0.7, requires_grad=True)
    _graph(torch, ta, tb).backward()
    np.testing.assert_allclose(a.grad.item(), ta.grad.item(), rtol=1e-5)
    np.testing.assert_allclose(b.grad.item(), tb.grad.item(), rtol=1e-5)


def test_hooks_retain_grad_and_captures_see_tensors_in_a_scalar_chain() -> None:
    x = cg.tensor(0.2, dtype=cg.float64, requires_grad=True)
    h = x * 3.0
    h.retain_grad()
    seen: list[float] = []
    m = (h + 1.0) * 0.5
    m.register_hook(lambda g: seen.append(g.item()))
    y = (m * m).tanh() * 4.0
    (gh,) = cg.autograd.grad(y, [h], retain_graph=True)
    y.backward()
    t = np.tanh(0.8**2)
    dm = 4.0 * (1 - t * t) * 2 * 0.8
    assert seen == pytest.approx([dm, dm])
    assert gh.item() == pytest.approx(dm * 0.5)
    assert h.grad.item() == pytest.approx(dm)  # both calls fill retain_grad's .grad, as in PyTorch
    assert x.grad.item() == pytest.approx(dm * 1.5)


def test_second_backward_through_a_freed_scalar_graph_raises() -> None:
    x = cg.tensor(0.5, requires_grad=True)
    y = (x * x).tanh() / (x + 2.0)
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


@pytest.mark.parametrize("shape", [(), (3,)])
@pytest.mark.parametrize("op", ["mul", "rmul", "div"])
def test_product_with_a_number_is_freed_like_pytorch(shape, op):
    # PyTorch saves the number as a tensor: a second backward without retain_graph raises, and so
    # does reading grad_fn._saved_other; sums and differences with a number save nothing.
    f = {"mul": lambda x: x * 2.0, "rmul": lambda x: 2.0 * x, "div": lambda x: x / 2.0}[op]
    x = cg.ones(shape, requires_grad=True)
    y = f(x)
    y.sum().backward(retain_graph=True)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full(shape, 4.0 if op != "div" else 1.0))
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.sum().backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        _ = y.grad_fn._saved_other
    z = x + 2.0
    z.sum().backward()
    z.sum().backward()


@pytest.mark.parametrize("number", [2, 2.5, True])
@pytest.mark.parametrize("op", ["mul", "rmul", "div"])
def test_saved_number_shows_as_pytorch_wraps_it(op, number):
    # PyTorch wraps the number in a 0-d tensor: int64 for an int, float64 for a float, bool for a bool.
    if op == "div" and number is True:
        pytest.skip("x / True is x / 1")
    f = {"mul": lambda x: x * number, "rmul": lambda x: number * x, "div": lambda x: x / number}[op]
    y = f(cg.ones(3, requires_grad=True))
    saved = y.grad_fn._saved_other
    want = {int: cg.int64, float: cg.float64, bool: cg.bool}[type(number)]
    assert saved.dim() == 0 and saved.dtype == want and not saved.requires_grad
    assert saved.item() == number


# Every differentiable row of the unary table (kernels/unary_ops.h) and where to evaluate it
# (positive inputs for the ops defined on them).
_UNARY = [n for n in cg._C._unary_method_names if n not in ("negative", "absolute")] + ["gelu"]
_POSITIVE_ONLY = {"sqrt", "rsqrt", "log", "log2", "log10", "log1p", "acosh", "arccosh"}
_UNIT_INTERVAL = {"asin", "acos", "atanh", "arcsin", "arccos", "arctanh"}  # defined on (-1, 1)


def _unary_graph(name: str, a: Any, lib: Any = cg) -> Any:
    """The op between two fast-path nodes, so its incoming gradient and its input's gradient are
    numbers (not 1), and the leaf reached twice."""
    x = a * a + 1.5 if name in _POSITIVE_ONLY else (a * 0.4).tanh() if name in _UNIT_INTERVAL else a * 1.25 + 0.125
    op = getattr(lib, name, None) or getattr(lib.nn.functional, name)
    return op(x) * 0.75 + a * 0.5


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", _UNARY)
def test_every_unary_op_0d_backward_bits_equal_the_tensor_path(name: str, dtype: type) -> None:
    def grads(anomaly: bool, v: float) -> bytes:
        a = cg.tensor(np.array(v, dtype=dtype), requires_grad=True)
        with cg.autograd.set_detect_anomaly(anomaly):
            _unary_graph(name, a).backward()
        return a.grad.detach().numpy().tobytes()

    for v in (0.3, -0.45, 1.7):
        assert grads(False, v) == grads(True, v), v


@pytest.mark.parametrize("name", _UNARY)
def test_every_unary_op_0d_backward_matches_pytorch(name: str) -> None:
    torch = pytest.importorskip("torch")
    for v in (0.3, -0.45, 1.7):
        a = cg.tensor(v, dtype=cg.float64, requires_grad=True)
        _unary_graph(name, a).backward()
        ta = torch.tensor(v, dtype=torch.float64, requires_grad=True)
        _unary_graph(name, ta, torch).backward()
        np.testing.assert_allclose(a.grad.item(), ta.grad.item(), rtol=1e-10, atol=1e-12)
