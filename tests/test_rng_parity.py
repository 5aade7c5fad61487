"""The global generator draws PyTorch's numbers: after the same manual_seed, rand, randn, normal_,
uniform_, randint, randperm and bernoulli give PyTorch's values (float32 normals of >= 16 elements
within a few ulps: PyTorch computes those with its own AVX2 log/sin/cos)."""

from __future__ import annotations

from typing import Any, Callable

import chaingrad as cg
import numpy as np
import pytest

torch = pytest.importorskip("torch")

EXACT = {
    "rand_f32": lambda L: L.rand(37),
    "rand_f64": lambda L: L.rand(3, 5, dtype=L.float64),
    "randn_small": lambda L: L.randn(3),
    "randn_small_f64": lambda L: L.randn(15, dtype=L.float64),
    "randn_f64": lambda L: L.randn(37, dtype=L.float64),
    "kept_normal": lambda L: (L.randn(3), L.randn(5), L.rand(2)),
    "normal_mean_std_f64": lambda L: L.empty(40, dtype=L.float64).normal_(2, 3),
    "normal_small_mean_std": lambda L: L.empty(7, dtype=L.float64).normal_(2, 3),
    "normal_small_f32": lambda L: L.empty(9).normal_(-1, 0.5),
    "normal_transposed": lambda L: L.empty(4, 5).t().normal_(),
    "uniform": lambda L: L.empty(100).uniform_(-3, 5),
    "uniform_f64": lambda L: L.empty(100, dtype=L.float64).uniform_(-3, 5),
    "uniform_transposed": lambda L: L.empty(6, 5).t().uniform_(),
    "randint": lambda L: L.randint(0, 10, (20,)),
    "randint_wide": lambda L: L.randint(-5, 2**40, (20,)),
    "randperm": lambda L: L.randperm(50),
    "bernoulli_f32": lambda L: L.bernoulli(L.rand(50)),
    "bernoulli_f64": lambda L: L.bernoulli(L.rand(50, dtype=L.float64)),
    "linear_init": lambda L: L.nn.Linear(7, 5).weight.detach(),
}
CLOSE = {
    "randn_f32": lambda L: L.randn(10, 100),
    "randn_f32_tail": lambda L: L.randn(37),
    "mixed": lambda L: (L.randn(20), L.randperm(7), L.randint(0, 3, (4,)), L.randn(2)),
}


def _draw(lib: Any, seed: int, f: Callable[[Any], Any]) -> list:
    lib.manual_seed(seed)
    out = f(lib)
    return [t.numpy() for t in (out if isinstance(out, tuple) else (out,))]


@pytest.mark.parametrize("seed", [0, 1, 42, 2**40 + 7])
@pytest.mark.parametrize("name", list(EXACT))
def test_same_numbers_as_pytorch(name: str, seed: int) -> None:
    for a, b in zip(_draw(cg, seed, EXACT[name]), _draw(torch, seed, EXACT[name])):
        assert a.shape == b.shape and np.array_equal(a, b)


@pytest.mark.parametrize("seed", [0, 42])
@pytest.mark.parametrize("name", list(CLOSE))
def test_float32_normals_within_ulps_of_pytorch(name: str, seed: int) -> None:
    for a, b in zip(_draw(cg, seed, CLOSE[name]), _draw(torch, seed, CLOSE[name])):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_state_replays_the_kept_normal() -> None:
    cg.manual_seed(3)
    cg.randn(1)  # leaves the second normal of a pair for the next draw
    state = cg.get_rng_state()
    first = cg.randn(5).numpy()
    cg.set_rng_state(state)
    assert np.array_equal(cg.randn(5).numpy(), first)
    with pytest.raises(RuntimeError, match="invalid generator state"):
        cg.set_rng_state(state[:-1])
