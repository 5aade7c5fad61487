"""Compare chaingrad._tensor_str.format_tensor against ``repr`` of real torch tensors."""

from __future__ import annotations

import importlib
import importlib.util
import math
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import numpy as np
import pytest

torch = pytest.importorskip("torch")


def _load_module() -> Any:
    """Import chaingrad._tensor_str, falling back to its file (it is pure Python)."""
    try:
        return importlib.import_module("chaingrad._tensor_str")
    except ImportError:
        path = Path(__file__).resolve().parents[1] / "python" / "chaingrad" / "_tensor_str.py"
        spec = importlib.util.spec_from_file_location("_chaingrad_tensor_str", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses looks the module up by name
        spec.loader.exec_module(module)
        return module


ts = _load_module()

DEFAULT_OPTS: Dict[str, Any] = {
    "precision": 4,
    "threshold": 1000,
    "edgeitems": 3,
    "linewidth": 80,
    "sci_mode": None,
}


@pytest.fixture(autouse=True)
def _reset_printoptions():
    """Every test starts and ends with default options in both libraries."""
    torch.set_printoptions(profile="default")
    ts.set_printoptions(profile="default")
    yield
    torch.set_printoptions(profile="default")
    ts.set_printoptions(profile="default")


def _set_both(**kwargs: Any) -> None:
    torch.set_printoptions(**kwargs)
    ts.set_printoptions(**kwargs)


def _dtype_name(t: Any) -> str:
    return str(t.dtype).split(".", 1)[1]


def _suffixes_of(t: Any) -> List[str]:
    """The autograd items torch prints, rebuilt from the tensor's attributes."""
    if t.grad_fn is not None:
        return [f"grad_fn=<{type(t.grad_fn).__name__}>"]
    if t.requires_grad:
        return ["requires_grad=True"]
    return []


def _expected(t: Any) -> str:
    return repr(t).replace("torch", "chaingrad")


def _actual(t: Any, module_name: str = "chaingrad") -> str:
    name = _dtype_name(t)
    return ts.format_tensor(
        t.detach().numpy(),
        dtype_name=name,
        is_default_dtype=ts.is_default_dtype_name(name),
        suffixes=_suffixes_of(t),
        module_name=module_name,
    )


def _check(t: Any) -> None:
    assert _actual(t) == _expected(t)


# --------------------------------------------------------------------------- cases


def _build_cases() -> List[Tuple[str, np.ndarray]]:
    rng = np.random.default_rng(20240613)
    cases: List[Tuple[str, np.ndarray]] = []

    def add(name: str, arr: Any, dtype: Any = np.float32) -> None:
        cases.append((name, np.asarray(arr, dtype=dtype)))

    nan, inf = math.nan, math.inf

    # 0-d tensors
    for v in [
        28.0,
        0.0,
        -0.0,
        1.5,
        -2.25,
        1e-5,
        1e10,
        123456789.0,
        1e8,
        0.1,
        100.0,
        nan,
        inf,
        -inf,
        3.14159265,
        1e-4,
        999.99999,
    ]:
        add(f"scalar_{v!r}", v)
        add(f"scalar64_{v!r}", v, np.float64)
    for v in [0, 3, -7, 2**40, -(2**62)]:
        add(f"scalar_int_{v}", v, np.int64)
    add("scalar_true", True, np.bool_)
    add("scalar_false", False, np.bool_)

    # small hand-written 1-D tensors
    hand = {
        "ints": [0.0, 4.0, 8.0, 12.0],
        "tenths": [1.1, 2.2, 3.3],
        "neg_zero": [-0.0, 1.0],
        "neg_zero_frac": [-0.0, 1.5],
        "only_zero": [0.0, -0.0, 0.0],
        "zero_nan_inf": [0.0, nan, inf, -inf],
        "one_ninf": [1.0, -inf],
        "frac_nan": [1.5, nan],
        "big_ninf": [100.0, -inf, nan],
        "ratio_1000": [1.0, 1000.0],
        "ratio_1001": [1.0, 1001.0],
        "ratio_frac_1000": [0.5, 500.0],
        "ratio_frac_over": [0.5, 500.5],
        "max_1e8": [1e8, 1.0e8],
        "max_over_1e8": [1.5e8, 2e8],
        "min_1e-4": [1e-4, 0.05],
        "min_below_1e-4": [9e-5, 0.05],
        "round_up": [9.99995, 0.99999, -9.99996],
        "round_half": [0.00005, 0.00015, 0.5],
        "mixed_sign": [-1.0, 2.0, -300.0],
        "mixed_frac": [-1.25, 2.5, -300.125],
        "huge": [1e30, -1e-30, 5.0],
        "tiny": [1e-38, 2e-40, -3e-39],
        "all_nan": [nan, nan],
        "all_inf": [inf, -inf],
        "neg_only": [-1.0, -2.0, -3.0],
        "neg_zero_sci": [-0.0, 1e-6, 1.0],
        "int_big_1e7": [12345678.0, 1.0],
        "sci_neg": [-1e12, 3e-3],
    }
    for name, data in hand.items():
        add(f"hand_{name}", data)
        add(f"hand64_{name}", data, np.float64)
    add("hand64_precise", [0.1 + 0.2, 1 / 3, 2 / 3], np.float64)
    add("hand64_1e8_plus", [1e8 + 1, 1.0], np.float64)

    # ranges of many lengths (exercise wrapping)
    for n in [1, 2, 5, 9, 10, 11, 12, 13, 16, 17, 25, 26, 27, 40, 100]:
        add(f"arange_{n}", np.arange(n) * 4)
        add(f"arange64_{n}", np.arange(n) * 1.5, np.float64)
    add("arange_neg", np.arange(-20, 20))

    # random normal at various scales
    for scale in [1e-9, 1e-5, 1e-3, 0.1, 1.0, 10.0, 1e3, 1e5, 1e7, 1e9, 1e20]:
        for shape in [(7,), (3, 4), (2, 3, 5)]:
            data = rng.normal(size=shape) * scale
            add(f"normal_{scale:g}_{shape}", data)
            add(f"normal64_{scale:g}_{shape}", data, np.float64)
    for shape in [(30,), (6, 14), (3, 4, 9)]:
        data = rng.normal(size=shape)
        data.reshape(-1)[::5] = np.nan
        data.reshape(-1)[2::7] = np.inf
        data.reshape(-1)[3::11] = -np.inf
        add(f"normal_special_{shape}", data)
    add("normal_rounded", np.round(rng.normal(size=(4, 6)) * 100))
    add("uniform_positive", rng.uniform(0, 1, size=(5, 5)))

    # multi-dimensional layouts
    add("mat_2x2", [[1.0, 2.0], [3.0, 4.0]])
    add("mat_1x1", [[5.0]])
    add("mat_wide", rng.normal(size=(4, 20)))
    add("mat_wide_int_vals", np.arange(60).reshape(3, 20) * 10)
    add("cube", np.arange(24).reshape(2, 3, 4))
    add("rank4", rng.normal(size=(2, 2, 2, 3)))
    add("rank5", np.arange(32).reshape(2, 2, 2, 2, 2))
    add("singletons", np.ones((1, 1, 3)))
    add("col", rng.normal(size=(6, 1)))

    # summarisation (> 1000 elements)
    add("long_1d", np.arange(1001))
    add("long_1d_normal", rng.normal(size=5000))
    add("big_2d", rng.normal(size=(40, 40)))
    add("big_2d_tall", rng.normal(size=(500, 3)))
    add("big_2d_wide", rng.normal(size=(3, 500)))
    add("big_3d", rng.normal(size=(12, 10, 10)))
    add("big_4d", np.arange(5 * 5 * 5 * 10).reshape(5, 5, 5, 10))
    add("big_2d_small_edges", rng.normal(size=(1001, 1)) * 1e6)
    big_mixed = rng.normal(size=(50, 50))
    big_mixed[25, 25] = 1e12  # hidden by summarisation: must not force sci mode
    add("big_hidden_outlier", big_mixed)
    big_visible = rng.normal(size=(50, 50))
    big_visible[0, 0] = 1e12
    add("big_visible_outlier", big_visible)

    # empty tensors
    for shape in [(0,), (0, 3), (3, 0), (2, 0, 4), (0, 0)]:
        add(f"empty_{shape}", np.zeros(shape))
        add(f"empty64_{shape}", np.zeros(shape), np.float64)
        add(f"empty_int_{shape}", np.zeros(shape), np.int64)
        add(f"empty_bool_{shape}", np.zeros(shape), np.bool_)

    # int64
    add("int_small", [1, 2, 3], np.int64)
    add("int_neg", [-1, 20, -300], np.int64)
    add("int_range", np.arange(100), np.int64)
    add("int_random", rng.integers(-(10**6), 10**6, size=(5, 7)), np.int64)
    add("int_huge", [2**62, -(2**62), 0], np.int64)
    add("int_long", rng.integers(-(10**12), 10**12, size=150), np.int64)
    add("int_big_2d", rng.integers(0, 10, size=(40, 30)), np.int64)
    add("int_cube", np.arange(60).reshape(3, 4, 5), np.int64)

    # bool
    add("bool_pair", [True, False], np.bool_)
    add("bool_true", [True, True], np.bool_)
    add("bool_false", [False, False, False], np.bool_)
    add("bool_long", rng.integers(0, 2, size=100).astype(bool), np.bool_)
    add("bool_2d", rng.integers(0, 2, size=(4, 5)).astype(bool), np.bool_)
    add("bool_big", rng.integers(0, 2, size=(30, 40)).astype(bool), np.bool_)

    # other dtypes (dtype= is always shown for them)
    add("int32", [1, -2, 3], np.int32)
    add("int16_2d", np.arange(12).reshape(3, 4), np.int16)
    add("uint8", [0, 255, 7], np.uint8)
    add("float16", [0.5, 1.25, -3.0], np.float16)
    add("float16_int", [1.0, 2.0], np.float16)
    return cases


CASES = _build_cases()
CASE_IDS = [name for name, _ in CASES]
FLOAT_CASES = [(n, a) for n, a in CASES if a.dtype in (np.float32, np.float64)]


def _tensor(arr: np.ndarray) -> Any:
    return torch.from_numpy(np.array(arr, copy=True))


VARIANTS: Dict[str, Callable[[Any], Any]] = {
    "leaf": lambda t: t.requires_grad_(),
    "add": lambda t: t.requires_grad_() + 0,
    "mul": lambda t: t.requires_grad_() * 1,
    "clone": lambda t: t.requires_grad_().clone(),
    "view": lambda t: t.requires_grad_().view(t.shape),
}


@pytest.mark.parametrize("arr", [a for _, a in CASES], ids=CASE_IDS)
def test_plain(arr: np.ndarray) -> None:
    _check(_tensor(arr))


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("arr", [a for _, a in FLOAT_CASES], ids=[n for n, _ in FLOAT_CASES])
def test_autograd_suffixes(arr: np.ndarray, variant: str) -> None:
    t = VARIANTS[variant](_tensor(arr))
    _check(t)


OPTION_SETS: List[Dict[str, Any]] = [
    {"precision": 2},
    {"precision": 0},
    {"precision": 8},
    {"linewidth": 40},
    {"linewidth": 120},
    {"linewidth": 10},
    {"threshold": 10},
    {"threshold": 5, "edgeitems": 1},
    {"threshold": 5, "edgeitems": 0},
    {"edgeitems": 0},
    {"threshold": 20, "edgeitems": 5},
    {"threshold": 0},
    {"sci_mode": True},
    {"sci_mode": False},
    {"sci_mode": True, "precision": 2},
    {"profile": "short"},
    {"profile": "full"},
    {"profile": "short", "precision": 6, "linewidth": 50},
]
SUBSET = [
    (n, a)
    for n, a in CASES
    if not n.startswith(("normal64_", "hand64_", "arange64_", "scalar64_", "empty64_"))
]


@pytest.mark.parametrize("options", OPTION_SETS, ids=[repr(o) for o in OPTION_SETS])
@pytest.mark.parametrize("arr", [a for _, a in SUBSET], ids=[n for n, _ in SUBSET])
def test_printoptions(arr: np.ndarray, options: Dict[str, Any]) -> None:
    _set_both(**options)
    t = _tensor(arr)
    _check(t)
    if t.dtype.is_floating_point:
        _check(t.requires_grad_() * 1)


@pytest.mark.parametrize("n", range(1, 60))
@pytest.mark.parametrize("linewidth", [30, 80])
def test_suffix_wrapping_float64(n: int, linewidth: int) -> None:
    """Lengths chosen so that suffixes land on either side of the wrap limit."""
    _set_both(linewidth=linewidth)
    base = torch.arange(n, dtype=torch.float64) * 1.25
    _check(base)
    _check(base.clone().requires_grad_())
    _check(base.clone().requires_grad_() + 0)
    _check(base.reshape(1, n).clone().requires_grad_() * 1)


@pytest.mark.parametrize("n", range(1, 40))
def test_suffix_wrapping_long_names(n: int) -> None:
    t = (torch.arange(n, dtype=torch.float64) + 0.5).requires_grad_()
    _check(t.to(torch.float32))  # ToCopyBackward0
    _check(t.unsqueeze(0).expand(2, n))  # ExpandBackward0
    _check(torch.nn.functional.hardtanh(t, -1e9, 1e9))  # HardtanhBackward0


@pytest.mark.parametrize("text", ["tensor([1., 2.])", "tensor([[1., 2.],\n        [3., 4.]])"])
@pytest.mark.parametrize("linewidth", [10, 20, 30, 80])
def test_append_suffixes_matches_torch(text: str, linewidth: int) -> None:
    add_suffixes = getattr(torch._tensor_str, "_add_suffixes", None)
    if add_suffixes is None:
        pytest.skip("torch._tensor_str._add_suffixes not available")
    _set_both(linewidth=linewidth)
    items = ["dtype=torch.float64", "grad_fn=<SomethingBackward0>", "x" * 25]
    for k in range(len(items) + 1):
        expected = add_suffixes(text, items[:k], 7, force_newline=False)
        assert ts._append_suffixes(text, items[:k], 7, linewidth) == expected


def test_module_name_torch_gives_exact_repr() -> None:
    for t in [
        torch.tensor([1.0, 2.0], dtype=torch.float64),
        torch.zeros(0, 3, dtype=torch.int64),
        torch.tensor([], dtype=torch.bool),
        torch.tensor(2.5, dtype=torch.float64),
    ]:
        assert _actual(t, module_name="torch") == repr(t)


def test_examples_from_brief() -> None:
    def fmt(arr: Any, dtype: Any, name: str, **kw: Any) -> str:
        return ts.format_tensor(
            np.asarray(arr, dtype=dtype),
            dtype_name=name,
            is_default_dtype=ts.is_default_dtype_name(name),
            suffixes=kw.get("suffixes", []),
        )

    assert fmt([0, 4, 8, 12], np.float32, "float32") == "tensor([ 0.,  4.,  8., 12.])"
    assert fmt(28, np.float32, "float32") == "tensor(28.)"
    assert fmt(True, np.bool_, "bool") == "tensor(True)"
    assert fmt([True, False], np.bool_, "bool") == "tensor([ True, False])"
    assert fmt([], np.float32, "float32") == "tensor([])"
    assert fmt(np.zeros((0, 3)), np.float32, "float32") == "tensor([], size=(0, 3))"
    assert fmt([], np.int64, "int64") == "tensor([], dtype=chaingrad.int64)"
    assert (
        fmt([1, 2], np.float64, "float64", suffixes=["requires_grad=True"])
        == "tensor([1., 2.], dtype=chaingrad.float64, requires_grad=True)"
    )
    assert fmt([1e10], np.float32, "float32") == "tensor([1.0000e+10])"
    assert fmt([[1, 2], [3, 4]], np.float32, "float32") == "tensor([[1., 2.],\n        [3., 4.]])"


def test_is_default_dtype_name_matches_torch() -> None:
    for dtype in [
        torch.float32,
        torch.float64,
        torch.float16,
        torch.int64,
        torch.int32,
        torch.bool,
        torch.uint8,
    ]:
        shown = "dtype=" in repr(torch.ones(2, dtype=dtype))
        assert ts.is_default_dtype_name(str(dtype).split(".", 1)[1]) is (not shown)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"precision": 7},
        {"threshold": 5, "edgeitems": 2},
        {"profile": "short"},
        {"profile": "full", "linewidth": 100},
        {"sci_mode": True},
        {"profile": "short", "sci_mode": False},
    ],
)
def test_get_set_printoptions_match_torch(kwargs: Dict[str, Any]) -> None:
    assert ts.get_printoptions() == DEFAULT_OPTS
    assert ts.get_printoptions() == torch._tensor_str.get_printoptions()
    _set_both(**kwargs)
    assert ts.get_printoptions() == torch._tensor_str.get_printoptions()
    _set_both(linewidth=90)  # sci_mode resets to None, other options persist
    assert ts.get_printoptions() == torch._tensor_str.get_printoptions()


def test_printoptions_context_manager() -> None:
    arr = np.array([1.123456, 2.0], dtype=np.float32)
    kwargs = {"dtype_name": "float32", "is_default_dtype": True, "suffixes": []}
    with ts.printoptions(precision=2, sci_mode=True):
        assert ts.get_printoptions()["precision"] == 2
        assert ts.format_tensor(arr, **kwargs) == "tensor([1.12e+00, 2.00e+00])"
    assert ts.get_printoptions() == DEFAULT_OPTS
    assert ts.format_tensor(arr, **kwargs) == "tensor([1.1235, 2.0000])"


@pytest.mark.parametrize("seed", range(60))
def test_random_fuzz(seed: int) -> None:
    """Random shapes, magnitudes, special values, dtypes and options."""
    rng = np.random.default_rng(seed)
    ndim = int(rng.integers(0, 5))
    shape = tuple(int(s) for s in rng.integers(1, 7 if ndim > 2 else 40, size=ndim))
    kind = rng.choice(["float32", "float64", "int64", "bool"])
    if kind == "bool":
        arr = rng.integers(0, 2, size=shape).astype(np.bool_)
    elif kind == "int64":
        arr = rng.integers(-(10 ** int(rng.integers(1, 15))), 10**6, size=shape)
    else:
        arr = rng.normal(size=shape) * 10.0 ** float(rng.integers(-12, 12))
        if rng.random() < 0.5:
            arr = np.round(arr)
        flat = arr.reshape(-1)
        if flat.size and rng.random() < 0.3:
            flat[int(rng.integers(0, flat.size))] = rng.choice([np.nan, np.inf, -np.inf, -0.0])
        arr = arr.astype(kind)
    options: Dict[str, Any] = {}
    if rng.random() < 0.5:
        options = {
            "precision": int(rng.integers(0, 9)),
            "threshold": int(rng.integers(1, 200)),
            "edgeitems": int(rng.integers(0, 4)),
            "linewidth": int(rng.integers(10, 150)),
        }
    _set_both(**options)
    t = _tensor(np.asarray(arr))
    _check(t)
    if t.dtype.is_floating_point:
        _check(t.requires_grad_() + 0)
