"""Integer arithmetic edge cases and NaN clamp bounds, against PyTorch's results (when installed)
and the values PyTorch 2.13 documents: INT64_MIN // -1 wraps instead of trapping, integer
division by zero raises (RuntimeError "ZeroDivisionError", also a Python ZeroDivisionError),
and clamp/clip with a NaN bound give NaN."""

from __future__ import annotations

import math
from typing import Any, Callable, List

import numpy as np
import pytest

pytest.importorskip("chaingrad._C")
import chaingrad  # noqa: E402

try:
    import torch
except ImportError:  # the PyTorch comparisons are skipped
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")

INT64_MIN = -(2**63)
NAN = float("nan")


def _values(t: Any) -> List[Any]:
    return t.tolist() if t.dim() else [t.item()]


# ------------------------------------------------------------------ the most negative integer / -1

MIN_CASES = [
    ("floordiv_scalar", lambda L: L.tensor([INT64_MIN, 7]) // -1, [INT64_MIN, -7]),
    ("floordiv_tensor", lambda L: L.tensor([INT64_MIN, 7]) // L.tensor([-1, -1]), [INT64_MIN, -7]),
    ("mod_scalar", lambda L: L.tensor([INT64_MIN, 7]) % -1, [0, 0]),
    ("mod_tensor", lambda L: L.tensor([INT64_MIN, -7]) % L.tensor([-1, -1]), [0, 0]),
    ("remainder", lambda L: L.remainder(L.tensor([INT64_MIN]), -1), [0]),
    ("remainder_tensor", lambda L: L.remainder(L.tensor([INT64_MIN]), L.tensor([-1])), [0]),
    ("broadcast_0d", lambda L: L.tensor([[INT64_MIN], [5]]) // L.tensor(-1), [[INT64_MIN], [-5]]),
]


@pytest.mark.parametrize("name,fn,expected", MIN_CASES, ids=[c[0] for c in MIN_CASES])
def test_min_int_by_minus_one_does_not_trap(name: str, fn: Callable[[Any], Any], expected: List[Any]) -> None:
    assert _values(fn(chaingrad)) == expected


@needs_torch
@pytest.mark.parametrize("name,fn,expected", MIN_CASES, ids=[c[0] for c in MIN_CASES])
def test_min_int_by_minus_one_matches_torch(name: str, fn: Callable[[Any], Any], expected: List[Any]) -> None:
    assert _values(fn(chaingrad)) == _values(fn(torch))


# ------------------------------------------------------------------------------ division by zero

ZERO_CASES = [
    ("floordiv_scalar", lambda L: L.tensor([1, -7]) // 0),
    ("mod_scalar", lambda L: L.tensor([1, -7]) % 0),
    ("remainder_scalar", lambda L: L.remainder(L.tensor([1, -7]), 0)),
    ("floordiv_tensor", lambda L: L.tensor([3, 4]) // L.tensor([1, 0])),
    ("remainder_tensor", lambda L: L.remainder(L.tensor([3, 4]), L.tensor([0, 1]))),
    ("broadcast", lambda L: L.tensor([[3], [4]]) // L.tensor([2, 0])),
    ("strided_divisor", lambda L: L.tensor([[3, 4], [5, 6]]) // L.tensor([[1, 2], [0, 3]]).t()),
]


@pytest.mark.parametrize("name,fn", ZERO_CASES, ids=[c[0] for c in ZERO_CASES])
def test_integer_division_by_zero_raises(name: str, fn: Callable[[Any], Any]) -> None:
    with pytest.raises(RuntimeError, match="^ZeroDivisionError$") as info:
        fn(chaingrad)
    assert isinstance(info.value, ZeroDivisionError)


@needs_torch
@pytest.mark.parametrize("name,fn", ZERO_CASES, ids=[c[0] for c in ZERO_CASES])
def test_integer_division_by_zero_matches_torch(name: str, fn: Callable[[Any], Any]) -> None:
    with pytest.raises(RuntimeError) as expected:
        fn(torch)
    with pytest.raises(RuntimeError) as got:
        fn(chaingrad)
    assert str(got.value) == str(expected.value)


def test_augmented_division_by_zero_leaves_tensor_unchanged() -> None:
    t = chaingrad.tensor([5, 6])
    with pytest.raises(ZeroDivisionError):
        t //= chaingrad.tensor([1, 0])
    assert t.tolist() == [5, 6]


def test_empty_and_float_division_by_zero_do_not_raise() -> None:
    empty = chaingrad.tensor([], dtype=chaingrad.int64)
    assert (empty // 0).tolist() == []
    assert (empty % empty).tolist() == []
    assert (chaingrad.tensor([1.0, -1.0]) // 0).tolist() == [math.inf, -math.inf]
    r = (chaingrad.tensor([1.0]) % 0).item()
    assert math.isnan(r)


@needs_torch
def test_integer_floordiv_and_remainder_signs_match_torch() -> None:
    rng = np.random.default_rng(11)
    a = rng.integers(-50, 50, size=200)
    b = rng.integers(-9, 9, size=200)
    b[b == 0] = 3
    ca, cb = chaingrad.tensor(a.tolist()), chaingrad.tensor(b.tolist())
    ta, tb = torch.tensor(a.tolist()), torch.tensor(b.tolist())
    assert (ca // cb).tolist() == (ta // tb).tolist()
    assert (ca % cb).tolist() == (ta % tb).tolist()
    for s in (-7, -1, 1, 4):
        assert (ca // s).tolist() == (ta // s).tolist()
        assert (ca % s).tolist() == (ta % s).tolist()


# ------------------------------------------------------------------------------ clamp with NaN

CLAMP_CASES = [
    ("min_nan", lambda L: L.clamp(L.tensor([1.0, NAN, 3.0]), min=NAN)),
    ("max_nan", lambda L: L.clamp(L.tensor([1.0, NAN, 3.0]), max=NAN)),
    ("both_max_nan", lambda L: L.clamp(L.tensor([1.0, 5.0]), 0.0, NAN)),
    ("both_min_nan", lambda L: L.clamp(L.tensor([1.0, 5.0]), NAN, 2.0)),
    ("clip_method", lambda L: L.tensor([1.0, -2.0]).clip(NAN, 1.0)),
    ("int_input_nan_min", lambda L: L.clamp(L.tensor([1, 2]), min=NAN)),
    ("tensor_min_nan", lambda L: L.clamp(L.tensor([1.0, 5.0]), min=L.tensor([NAN, 0.0]), max=L.tensor(2.0))),
    ("tensor_max_nan", lambda L: L.clamp(L.tensor([1.0, NAN, 3.0]), max=L.tensor([NAN, 1.0, NAN]))),
    ("tensor_0d_nan", lambda L: L.clamp(L.tensor([1.0, 2.0]), min=L.tensor(NAN))),
    ("no_nan", lambda L: L.clamp(L.tensor([1.0, NAN, 3.0]), 1.5, 2.5)),
]

CLAMP_EXPECTED = {
    "min_nan": [NAN, NAN, NAN], "max_nan": [NAN, NAN, NAN], "both_max_nan": [NAN, NAN],
    "both_min_nan": [NAN, NAN], "clip_method": [NAN, NAN], "int_input_nan_min": [NAN, NAN],
    "tensor_min_nan": [NAN, 2.0], "tensor_max_nan": [NAN, NAN, NAN], "tensor_0d_nan": [NAN, NAN],
    "no_nan": [1.5, NAN, 2.5],
}


def _same(got: List[float], want: List[float]) -> bool:
    return len(got) == len(want) and all((math.isnan(g) and math.isnan(w)) or g == w for g, w in zip(got, want))


@pytest.mark.parametrize("name,fn", CLAMP_CASES, ids=[c[0] for c in CLAMP_CASES])
def test_clamp_nan_bound_propagates(name: str, fn: Callable[[Any], Any]) -> None:
    got = fn(chaingrad)
    assert got.dtype.is_floating_point
    assert _same(got.tolist(), CLAMP_EXPECTED[name]), got


@needs_torch
@pytest.mark.parametrize("name,fn", CLAMP_CASES, ids=[c[0] for c in CLAMP_CASES])
def test_clamp_nan_bound_matches_torch(name: str, fn: Callable[[Any], Any]) -> None:
    assert _same(fn(chaingrad).tolist(), fn(torch).tolist())
