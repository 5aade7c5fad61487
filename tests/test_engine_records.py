"""The engine's per-node records (engine/graph_task.h): a node only one edge leads to gets its
record when its gradient arrives and gives it back once it ran, so the links of a chain reuse a
few records. Gradients must not depend on which record or which path (numbers or tensors) a
link took, nor on references to the nodes made while backward runs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

pytest.importorskip("chaingrad._C")
import chaingrad as cg  # noqa: E402


class _Twice(cg.autograd.Function):
    """A node without the 0-d fast path: its gradient leaves as a tensor."""

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        return x * 2.0

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return g * 2.0


@pytest.mark.parametrize("dtype", [cg.float32, cg.float64])
def test_chain_links_switch_between_numbers_and_tensors(dtype: Any) -> None:
    # Records used again carry a number one time and a tensor the next: 3,000 links, every tenth a
    # Python Function between 0-d fast-path nodes.
    x = cg.tensor(1.0, dtype=dtype, requires_grad=True)
    y = x
    expected = 1.0
    for i in range(3000):
        if i % 10 == 3:
            y = _Twice.apply(y) * 0.5
        elif i % 2:
            y = y * 1.0001
            expected *= 1.0001
        else:
            y = y + 0.5
    y = y * (1.0 / expected)  # keeps the gradient near 1
    y.backward()
    assert x.grad.dtype == dtype
    np.testing.assert_allclose(x.grad.item(), 1.0, rtol=1e-3 if dtype == cg.float32 else 1e-9)


def test_chain_in_the_middle_of_shared_nodes_matches_pytorch() -> None:
    torch = pytest.importorskip("torch")

    def run(lib: Any) -> list[float]:
        a = lib.tensor(0.4, requires_grad=True)
        b = lib.tensor(-0.3, requires_grad=True)
        s = a * b  # several consumers: a tracked node
        y = s
        for _ in range(200):  # links only one edge leads to
            y = (y * 0.99).tanh() + 0.01
        z = y * s + s * a + (s + b).sin()  # three gradients into s, two into a and b each
        z.backward()
        return [a.grad.item(), b.grad.item()]

    np.testing.assert_allclose(run(cg), run(torch), rtol=1e-5)


def test_references_to_chain_nodes_made_during_backward() -> None:
    # A hook takes new references to the nodes below while backward runs (grad_fn.next_functions):
    # the links were walked without records and must still run once each.
    x = cg.tensor(2.0, dtype=cg.float64, requires_grad=True)
    y = x
    for _ in range(50):
        y = y * 1.5 + 0.0
    held: list[Any] = []

    def grab(g: Any) -> None:
        fn = y.grad_fn
        while fn is not None and fn.next_functions:
            held.append(fn)
            fn = fn.next_functions[0][0]

    handle = y.register_hook(grab)
    (y * 1.0).backward()
    handle.remove()  # (the hook holds y: a cycle through the node otherwise)
    assert len(held) > 50
    held.clear()
    np.testing.assert_allclose(x.grad.item(), 1.5**50)


def test_autograd_grad_on_two_threads_through_one_retained_chain() -> None:
    import threading

    x = cg.tensor(0.5, dtype=cg.float64, requires_grad=True)
    y = x
    for _ in range(20000):
        y = y * 1.00001 + 0.0
    results: list[float] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(5):
                (g,) = cg.autograd.grad(y, [x], retain_graph=True)
                results.append(g.item())
        except BaseException as e:  # noqa: BLE001 (reported below)
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 10 and len(set(results)) == 1
    np.testing.assert_allclose(results[0], 1.00001**20000, rtol=1e-9)
