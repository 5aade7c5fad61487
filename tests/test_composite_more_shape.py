"""The shape helpers (_composite_shape.py) and the search / order-statistic helpers (_composite_stats.py):
values and gradients against PyTorch when installed, against numpy and finite differences otherwise;
PyTorch's errors."""

from __future__ import annotations

import warnings
from typing import Any

import chaingrad as cg
import numpy as np
import pytest

try:
    import torch
except ImportError:  # the cross-checks skip
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch not installed")

rng = np.random.default_rng(7)
M = rng.standard_normal((4, 6))
V = rng.standard_normal(5)
T3 = rng.standard_normal((2, 3, 4))
NANS = M.copy()
NANS[1, 2] = NANS[3, 0] = NANS[3, 5] = np.nan
NANS[2] = np.nan
REPEATS = np.array([[1.0, 2.0, 2.0, 1.0, 3.0, 3.0], [4.0, 4.0, 0.5, 0.5, 0.5, -1.0]])
INTS = np.array([0, 3, 1, 3, 3, 7, 1])

# name -> (function of (library, *tensors), inputs); float inputs are float64 and differentiable
CASES: dict = {
    "tensor_split_n": (lambda L, x: L.tensor_split(x, 4, dim=1), (M,)),
    "tensor_split_idx": (lambda L, x: x.tensor_split([1, -2, 9]), (M,)),
    "tensor_split_tensor": (lambda L, x: L.tensor_split(x, L.tensor([2, 3]), 1), (M,)),
    "hsplit": (lambda L, x: L.hsplit(x, 3), (M,)),
    "hsplit_1d": (lambda L, v: L.hsplit(v, [2]), (V,)),
    "vsplit": (lambda L, x: x.vsplit([1, 3]), (M,)),
    "dsplit": (lambda L, x: L.dsplit(x, 2), (T3,)),
    "dstack": (lambda L, x, v: L.dstack([x[:1, :5], v, v * 2]), (M, V)),
    "atleast_3d": (lambda L, x, v: L.atleast_3d(x, v, v[0]), (M, V)),
    "column_stack": (lambda L, x, v: L.column_stack([x[:, :4].t(), v[:4], v[:4] * 3]), (M, V)),
    "unflatten": (lambda L, x: L.unflatten(x, 1, (2, -1)), (M,)),
    "unflatten_method": (lambda L, x: x.unflatten(-1, (2, 1, 2)), (T3,)),
    "cartesian_prod": (lambda L, v: L.cartesian_prod(v[:2], v[2:], v[:3]), (V,)),
    "cartesian_prod_one": (lambda L, v: L.cartesian_prod(v), (V,)),
    "combinations": (lambda L, v: L.combinations(v), (V,)),
    "combinations_r3_repl": (lambda L, v: L.combinations(v[:4], 3, with_replacement=True), (V,)),
    "combinations_r1": (lambda L, v: L.combinations(v, 1), (V,)),
    "block_diag": (lambda L, x, v: L.block_diag(x[:2, :3], v, v[0], x[:1]), (M, V)),
    "vander": (lambda L, v: L.vander(v), (V,)),
    "vander_inc": (lambda L, v: L.vander(v * 0, 3, increasing=True), (V,)),
    "trapezoid": (lambda L, x: L.trapezoid(x), (M,)),
    "trapezoid_x": (lambda L, x, v: L.trapezoid(x[:, :5], v.sort().values, dim=1), (M, V)),
    "trapezoid_dx": (lambda L, x: L.trapezoid(x, dx=0.3, dim=0), (M,)),
    "cumulative_trapezoid": (lambda L, x: L.cumulative_trapezoid(x, dx=2.0), (M,)),
    "cumulative_trapezoid_x": (lambda L, x, v: L.cumulative_trapezoid(x[:, :5], v.sort().values), (M, V)),
    "rot90": (lambda L, x: L.rot90(x), (M,)),
    "rot90_k2": (lambda L, x: x.rot90(2, [1, 2]), (T3,)),
    "rot90_k3": (lambda L, x: L.rot90(x, -1, (2, 0)), (T3,)),
    "rot90_k0": (lambda L, x: L.rot90(x, 4), (M,)),
    "kthvalue": (lambda L, x: L.kthvalue(x, 3), (M,)),
    "kthvalue_dim0": (lambda L, x: x.kthvalue(2, 0, True), (M,)),
    "mode": (lambda L, x: L.mode(x), (REPEATS,)),
    "mode_dim0": (lambda L, x: x.mode(0, keepdim=True), (REPEATS,)),
    "quantile": (lambda L, x: L.quantile(x, 0.3), (M,)),
    "quantile_dim": (lambda L, x: L.quantile(x, L.tensor([0.0, 0.25, 0.9, 1.0], dtype=L.float64), dim=1), (M,)),
    "quantile_keepdim": (lambda L, x: x.quantile(0.6, dim=0, keepdim=True), (M,)),
    "quantile_nan": (lambda L, x: L.quantile(x, 0.5, dim=1), (NANS,)),
    "nanquantile": (lambda L, x: L.nanquantile(x, 0.5, dim=1), (NANS,)),
    "nanquantile_all": (lambda L, x: x.nanquantile(L.tensor([0.1, 0.7], dtype=L.float64)), (NANS,)),
}
for _how in ("lower", "higher", "midpoint", "nearest"):
    CASES[f"quantile_{_how}"] = (lambda L, x, h=_how: L.quantile(x, L.tensor([0.2, 0.5, 0.7], dtype=L.float64),
                                                                  dim=1, interpolation=h), (M,))

# no-gradient functions: name -> (function, inputs), compared by value only
SEARCH: dict = {
    "isin": (lambda L, a: L.isin(a, L.tensor([3, 7, 9])), (INTS,)),
    "isin_invert_scalar": (lambda L, a: L.isin(a, 3, invert=True), (INTS,)),
    "argwhere": (lambda L, x: L.argwhere(x > 0.3), (M,)),
    "argwhere_method": (lambda L, a: a.argwhere(), (INTS,)),
    "bincount": (lambda L, a: L.bincount(a), (INTS,)),
    "bincount_weights": (lambda L, a: a.bincount(L.arange(7, dtype=L.float64) * 0.5, minlength=10), (INTS,)),
    "bincount_f32_weights": (lambda L, a: a.bincount(L.ones(7)), (INTS,)),
    "histc": (lambda L, x: L.histc(x, bins=7), (M,)),
    "histc_range": (lambda L, x: x.histc(5, -1, 1), (M,)),
    "bucketize": (lambda L, x: L.bucketize(x, L.tensor([-1.0, 0.0, 0.5, 1.0], dtype=L.float64)), (M,)),
    "bucketize_right": (lambda L, a: L.bucketize(a, L.tensor([1, 3, 7]), right=True, out_int32=True), (INTS,)),
    "searchsorted": (lambda L, x: L.searchsorted(x.sort().values, x[:, :2]), (M,)),
    "searchsorted_side": (lambda L, a: L.searchsorted(L.tensor([1, 3, 3, 7]), a, side="right"), (INTS,)),
    "searchsorted_sorter": (lambda L, v: L.searchsorted(v, v[:2] + 0.1, sorter=v.argsort()), (V,)),
    "tril_indices": (lambda L: L.tril_indices(4, 3, 1), ()),
    "triu_indices": (lambda L: L.triu_indices(3, 5, -1), ()),
    "tril_indices_empty": (lambda L: L.tril_indices(0, 3), ()),
}

NOT_DIFFERENTIABLE: set = set()
# PyTorch's vander backward fails ("modified by an inplace operation"); gradcheck covers chaingrad's
NO_TORCH_GRAD = {"vander", "vander_inc"}
# finite differences step over a sort order or a selection boundary here; their gradients are checked
# against PyTorch
NO_GRADCHECK = {"quantile_nan", "nanquantile", "nanquantile_all", "mode", "mode_dim0"}


def _outputs(value: Any) -> list:
    return list(value) if isinstance(value, (tuple, list)) else [value]


def _numpy(t: Any) -> np.ndarray:
    return t.detach().numpy()


def _weights(shape: Any) -> np.ndarray:
    n = int(np.prod(shape))
    return np.cos(np.arange(n) * 1.3 + 0.2).reshape(tuple(shape))


def _run(lib: Any, table: dict, name: str, grad: bool) -> tuple:
    f, inputs = table[name]
    xs = [lib.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in inputs]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outs = _outputs(f(lib, *xs))
    grads = None
    if grad:
        live = [o for o in outs if o.requires_grad]
        sum((o * lib.tensor(_weights(o.shape))).sum() for o in live).backward()
        grads = [None if x.grad is None else _numpy(x.grad) for x in xs]
    return outs, grads


def _same_values(ours: list, theirs: list) -> None:
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert tuple(a.shape) == tuple(b.shape)
        assert str(a.dtype).rsplit(".", 1)[-1] == str(b.dtype).rsplit(".", 1)[-1]
        np.testing.assert_allclose(_numpy(a), _numpy(b), rtol=1e-7, atol=1e-9)


@needs_torch
@pytest.mark.parametrize("name", list(CASES))
def test_values_equal_pytorch(name: str) -> None:
    _same_values(_run(cg, CASES, name, False)[0], _run(torch, CASES, name, False)[0])


@needs_torch
@pytest.mark.parametrize("name", list(SEARCH))
def test_search_values_equal_pytorch(name: str) -> None:
    _same_values(_run(cg, SEARCH, name, False)[0], _run(torch, SEARCH, name, False)[0])


@needs_torch
@pytest.mark.parametrize("name", [n for n in CASES if n not in NOT_DIFFERENTIABLE | NO_TORCH_GRAD])
def test_gradients_equal_pytorch(name: str) -> None:
    _, ours = _run(cg, CASES, name, True)
    _, theirs = _run(torch, CASES, name, True)
    for a, b in zip(ours, theirs):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", [n for n in CASES if n not in NOT_DIFFERENTIABLE | NO_GRADCHECK])
def test_gradcheck_and_gradgradcheck(name: str) -> None:
    f, inputs = CASES[name]
    xs = tuple(cg.tensor(a, requires_grad=True) for a in inputs)

    def fn(*a: Any) -> tuple:
        return tuple(o for o in _outputs(f(cg, *a)) if o.requires_grad and o.numel())

    assert cg.autograd.gradcheck(fn, xs)
    assert cg.autograd.gradgradcheck(fn, xs)


# ---- numpy references, without PyTorch -----------------------------------------------------------

NUMPY = {
    "tensor_split_n": lambda x: np.array_split(x, 4, axis=1),
    "tensor_split_idx": lambda x: np.array_split(x, [1, -2, 9]),
    "hsplit": lambda x: np.hsplit(x, 3),
    "dsplit": lambda x: np.dsplit(x, 2),
    "dstack": lambda x, v: [np.dstack([x[:1, :5], v, v * 2])],
    "column_stack": lambda x, v: [np.column_stack([x[:, :4].T, v[:4], v[:4] * 3])],
    "vander": lambda v: [np.vander(v)],
    "vander_inc": lambda v: [np.vander(v * 0, 3, increasing=True)],
    "trapezoid": lambda x: [np.trapezoid(x)],
    "trapezoid_x": lambda x, v: [np.trapezoid(x[:, :5], np.sort(v), axis=1)],
    "trapezoid_dx": lambda x: [np.trapezoid(x, dx=0.3, axis=0)],
    "rot90": lambda x: [np.rot90(x)],
    "rot90_k3": lambda x: [np.rot90(x, -1, (2, 0))],
    "kthvalue": lambda x: [np.sort(x, 1)[:, 2], np.argsort(x, 1, kind="stable")[:, 2]],
    "quantile": lambda x: [np.quantile(x, 0.3)],
    "quantile_dim": lambda x: [np.quantile(x, [0.0, 0.25, 0.9, 1.0], axis=1)],
    "nanquantile": lambda x: [np.nanquantile(x, 0.5, axis=1)],
    "quantile_nearest": lambda x: [np.quantile(x, [0.2, 0.5, 0.7], axis=1, method="nearest")],
    "quantile_midpoint": lambda x: [np.quantile(x, [0.2, 0.5, 0.7], axis=1, method="midpoint")],
}


@pytest.mark.parametrize("name", list(NUMPY))
def test_values_equal_numpy(name: str) -> None:
    f, inputs = CASES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = NUMPY[name](*inputs)
        ours = _outputs(f(cg, *[cg.tensor(a) for a in inputs]))
    assert len(ours) == len(expected)
    for a, b in zip(ours, expected):
        np.testing.assert_allclose(_numpy(a), b, rtol=1e-9, atol=1e-12)


def test_search_helpers_against_numpy() -> None:
    a = cg.tensor(INTS)
    assert cg.isin(a, cg.tensor([3, 7])).tolist() == np.isin(INTS, [3, 7]).tolist()
    assert cg.bincount(a).tolist() == np.bincount(INTS).tolist()
    assert cg.bincount(cg.tensor([], dtype=cg.int64)).tolist() == []
    assert cg.argwhere(a).tolist() == np.argwhere(INTS).tolist()
    assert cg.histc(cg.tensor(M), 6).tolist() == np.histogram(M, 6, (M.min(), M.max()))[0].tolist()
    assert cg.histc(cg.tensor([1.0, 2.0, 1.0]), bins=4, min=0, max=3).tolist() == [0.0, 2.0, 1.0, 0.0]
    bounds = np.array([-1.0, 0.0, 0.5])
    assert cg.bucketize(cg.tensor(M), cg.tensor(bounds)).tolist() == np.searchsorted(bounds, M).tolist()
    assert cg.tril_indices(3, 3).tolist() == [list(r) for r in np.tril_indices(3)]
    assert cg.triu_indices(3, 4, 1).tolist() == [list(r) for r in np.triu_indices(3, 1, 4)]
    m = cg.mode(cg.tensor(REPEATS))
    assert isinstance(m, cg.return_types.mode) and m.values.tolist() == [1.0, 0.5] and m.indices.tolist() == [3, 4]
    k = cg.kthvalue(cg.tensor([3.0, 1.0, 2.0]), 2)
    assert isinstance(k, cg.return_types.kthvalue) and (k.values.item(), k.indices.item()) == (2.0, 2)


def test_gradients_reach_the_selected_elements() -> None:
    x = cg.tensor([[3.0, 1.0, 2.0, 5.0]], dtype=cg.float64, requires_grad=True)
    cg.kthvalue(x, 2).values.sum().backward()
    assert x.grad.tolist() == [[0.0, 0.0, 1.0, 0.0]]
    x.grad = None
    cg.quantile(x, 0.5).backward()  # halfway between 2 and 3
    assert x.grad.tolist() == [[0.5, 0.0, 0.5, 0.0]]
    x.grad = None
    cg.mode(cg.tensor([[1.0, 2.0, 1.0]], dtype=cg.float64) * x[:, :3] - 2).values.sum().backward()
    assert x.grad.tolist() == [[0.0, 0.0, 1.0, 0.0]]  # values [1, 0, 0]: mode 0, last at index 2


def test_edge_inputs() -> None:
    assert [tuple(p.shape) for p in cg.tensor_split(cg.zeros(0, 2), 3)] == [(0, 2)] * 3
    assert [p.tolist() for p in cg.tensor_split(cg.arange(5), 3)] == [[0, 1], [2, 3], [4]]
    assert cg.combinations(cg.arange(2), 3).shape == (0, 3)
    assert tuple(cg.block_diag().shape) == (1, 0)
    assert cg.block_diag(cg.tensor([[1, 2]]), cg.tensor([[0.5]])).dtype == cg.float32
    assert cg.kthvalue(cg.tensor(4.0), 1).values.item() == 4.0
    assert tuple(cg.vander(cg.tensor([1.0, 2.0]), 0).shape) == (2, 0)
    assert cg.nanquantile(cg.tensor([np.nan, np.nan]), 0.5).isnan().item()
    assert cg.quantile(cg.tensor([1.0, np.nan]), 0.5).isnan().item()
    # vander's cumprod form: the gradient at x = 0 is finite (x ** 0 would make 0 * inf)
    x = cg.tensor([0.0, 2.0], dtype=cg.float64, requires_grad=True)
    cg.vander(x, 3).sum().backward()
    assert x.grad.tolist() == [1.0, 5.0]


@pytest.mark.parametrize("call, error, message", [
    (lambda: cg.tensor_split(cg.tensor(1.0), 2), RuntimeError,
     "tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims"),
    (lambda: cg.tensor_split(cg.ones(3), 0), RuntimeError, "number of sections must be larger than 0, got 0"),
    (lambda: cg.hsplit(cg.ones(2, 5), 2), RuntimeError,
     "torch.hsplit attempted to split along dimension 1, but the size of the dimension 5 is not divisible by the "
     "split_size 2!"),
    (lambda: cg.vsplit(cg.ones(4), 2), RuntimeError,
     "torch.vsplit requires a tensor with at least 2 dimension, but got a tensor with 1 dimensions!"),
    (lambda: cg.unflatten(cg.ones(2, 6), 1, (4, -1)), RuntimeError, "don't multiply up to the size of dim 1"),
    (lambda: cg.cartesian_prod(cg.ones(2, 2)), RuntimeError, r"Expect a 1D vector, but got shape \[2, 2\]"),
    (lambda: cg.block_diag(cg.ones(1, 1, 1)), RuntimeError,
     "torch.block_diag: Input tensors must have 2 or fewer dimensions. Input 0 has 3 dimensions"),
    (lambda: cg.vander(cg.ones(2, 2)), RuntimeError, "x must be a one-dimensional tensor."),
    (lambda: cg.rot90(cg.ones(2, 2), 1, [0]), RuntimeError, "expected total rotation dims == 2, but got dims = 1"),
    (lambda: cg.rot90(cg.ones(2, 2), 1, [1, 1]), RuntimeError,
     "expected rotation dims to be different, but got dim0 = 1 and dim1 = 1"),
    (lambda: cg.bincount(cg.tensor([-1, 2])), RuntimeError, "bincount only supports 1-d non-negative integral inputs."),
    (lambda: cg.histc(cg.tensor([1, 2])), RuntimeError, "\"histogram_cpu\" not implemented for 'Long'"),
    (lambda: cg.kthvalue(cg.ones(2), 3), RuntimeError, r"kthvalue\(\): selected number k out of range for dimension 0"),
    (lambda: cg.quantile(cg.ones(2), 1.5), RuntimeError, r"quantile\(\) q must be in the range \[0, 1\] but got 1.5"),
    (lambda: cg.quantile(cg.tensor([1, 2]), 0.5), RuntimeError,
     r"quantile\(\) input tensor must be either float or double dtype"),
    (lambda: cg.quantile(cg.ones(2), 0.5, interpolation="cubic"), RuntimeError,
     r"quantile\(\) interpolation must be one of linear, lower, higher, midpoint or nearest, but got cubic"),
    (lambda: cg.searchsorted(cg.ones(3), cg.ones(2), side="middle"), RuntimeError,
     r"torch.searchsorted\(\): side can only be 'left' or 'right' but got middle"),
    (lambda: cg.bucketize(cg.ones(2), cg.ones(2, 2)), RuntimeError,
     r"boundaries tensor must be 1 dimension, but got dim\(2\)"),
])
def test_errors(call: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        call()


@needs_torch
@pytest.mark.parametrize("call", [
    lambda L: L.hsplit(L.ones(2, 5), 2),
    lambda L: L.vsplit(L.ones(4), 2),
    lambda L: L.rot90(L.ones(2, 2), 1, [1, 1]),
    lambda L: L.block_diag(L.ones(1, 1, 1)),
    lambda L: L.kthvalue(L.ones(2), 3),
    lambda L: L.quantile(L.ones(2), 1.5),
    lambda L: L.bincount(L.tensor([-1, 2])),
    lambda L: L.histc(L.tensor([1, 2])),
    lambda L: L.nanquantile(L.tensor([1, 2]), 0.5),
    lambda L: L.nanquantile(L.ones(2), L.tensor([1.5])),
    lambda L: L.quantile(L.ones(2), 0.5, interpolation="cubic"),
    lambda L: L.quantile(L.ones(0, 3), 0.5, dim=1),
    lambda L: L.trapezoid(L.tensor(1.0)),
])
def test_error_messages_equal_pytorch(call: Any) -> None:
    with pytest.raises(Exception) as theirs:
        call(torch)
    with pytest.raises(type(theirs.value)) as ours:
        call(cg)
    assert str(ours.value).split("\n")[0] == str(theirs.value).split("\n")[0]
