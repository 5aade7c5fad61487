"""Tensor creation and conversion against PyTorch: ``tensor()`` (dtype inference, ragged input,
numpy and tensor sources), the factories and their ``*_like`` forms, random numbers and
seeding, ``chaingrad.Size``, shape queries and dtype conversions.

chaingrad's generator is std::mt19937_64 (one per thread, default seed 0x5eed); uniform floats
take its top 24 (float32) or 53 (float64) bits and normals come from Box-Muller. The same seed
gives the same numbers, but the streams differ from PyTorch's, so random tests check
reproducibility and distributions, not values.
"""

from __future__ import annotations

import pickle
import warnings
from typing import Any, Callable

import chaingrad
import numpy as np
import pytest

torch = pytest.importorskip("torch")


def dname(t: Any) -> str:
    return str(t.dtype).split(".")[-1]


def outcome(fn: Callable[[], Any]) -> tuple:
    try:
        return "ok", fn()
    except Exception as e:  # noqa: BLE001
        return type(e).__name__, str(e)


# ================================================================================ tensor()
TENSOR_DATA = [
    "2", "2.5", "True", "-0.0", "[1, 2, 3]", "[1.0, 2, 3]", "[True, False]", "[1, True]", "[True, 2.5]",
    "[[1, 2], [3, 4]]", "[[[1.5]], [[2.5]]]", "(1, 2)", "((1, 2), (3, 4))", "range(4)", "[]", "[[]]", "[[], []]",
    "np.float64(2.5)", "np.float32(2.5)", "np.int64(3)", "np.bool_(True)", "[np.float64(2.5)]",
    "[1.0, np.float64(2.5)]", "[np.float32(1.0), 2]", "np.array(2.5)", "np.array([1, 2])", "np.array([1.5, 2.0])",
    "np.array([[1.5]], np.float32)", "np.array([True])", "np.arange(12.0).reshape(3, 4).T", "np.arange(6)[::2]",
    "[m.tensor(1), m.tensor(2)]", "[m.tensor(1), m.tensor(2.5, dtype=m.float64)]", "[[1, 2], m.tensor([3.0, 4.0])]",
    "[np.array([1, 2]), np.array([3, 4])]", "m.Size([2, 3])", "[1e300, 1]", "[2**62, 1]",
]


@pytest.mark.parametrize("expr", TENSOR_DATA)
def test_tensor_infers_dtype_and_shape_like_torch(expr: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rt = torch.tensor(eval(expr, {"m": torch, "np": np}))  # noqa: S307 - fixed expressions
        rc = chaingrad.tensor(eval(expr, {"m": chaingrad, "np": np}))  # noqa: S307
    assert tuple(rc.shape) == tuple(rt.shape)
    expected = dname(rt).replace("int32", "int64")  # chaingrad has no int32: numpy int32 widens
    assert dname(rc) == expected
    np.testing.assert_array_equal(rc.numpy(), rt.numpy())


@pytest.mark.parametrize("expr, dtype", [
    ("[1, 2]", "float32"), ("[1.7, -2.7]", "int64"), ("[0, 2]", "bool"), ("3.5", "int64"), ("[[1.5, 2]]", "float64"),
    ("[True, False]", "float64"), ("np.array([1.5, 2.5])", "float32"), ("np.array([1, 0])", "bool"),
])
def test_tensor_with_explicit_dtype(expr: str, dtype: str) -> None:
    rt = torch.tensor(eval(expr, {"np": np}), dtype=getattr(torch, dtype))  # noqa: S307
    rc = chaingrad.tensor(eval(expr, {"np": np}), dtype=getattr(chaingrad, dtype))  # noqa: S307
    assert dname(rc) == dtype
    np.testing.assert_array_equal(rc.numpy(), rt.numpy())
    assert chaingrad.tensor([1, 2], dtype=float).dtype == chaingrad.float64  # Python types as dtypes
    assert chaingrad.tensor([1.5], dtype=int).dtype == chaingrad.int64
    assert chaingrad.tensor([1.5], dtype=np.float64).dtype == chaingrad.float64


@pytest.mark.parametrize("expr", [
    "[[1, 2], [3]]", "[[1, 2], [3, 4, 5]]", "[[[1, 2]], [[3, 4], [5, 6]]]", "[[1], [2, 3]]",
    "[m.tensor([1.0, 2.0]), m.tensor([3.0])]",
])
def test_tensor_ragged_raises_value_error_like_torch(expr: str) -> None:
    kt, mt = outcome(lambda: torch.tensor(eval(expr, {"m": torch})))  # noqa: S307
    kc, mc = outcome(lambda: chaingrad.tensor(eval(expr, {"m": chaingrad})))  # noqa: S307
    assert kc == "ValueError"
    if kt == "ValueError" and "expected sequence" in mt:
        assert mc == mt
    assert "expected sequence of length" in mc


def test_tensor_ragged_message() -> None:
    with pytest.raises(ValueError) as info:
        chaingrad.tensor([[1, 2], [3]])
    assert str(info.value) == "expected sequence of length 2 at dim 1 (got 1)"


@pytest.mark.parametrize("bad", ["None", "'abc'", "['a']", "[1, None]", "{1: 2}", "object()", "[[1, 2], 3]",
                                 "[1, [2, 3]]", "2**70", "[2**64]"])
def test_tensor_bad_data_errors_like_torch(bad: str) -> None:
    kt, mt = outcome(lambda: torch.tensor(eval(bad)))  # noqa: S307
    kc, mc = outcome(lambda: chaingrad.tensor(eval(bad)))  # noqa: S307
    assert kt != "ok"
    assert kc in ("TypeError", "ValueError", "RuntimeError"), mc
    if bad != "['a']":
        assert kc == kt, (mc, mt)


def test_tensor_unsupported_values() -> None:
    with pytest.raises(TypeError):
        chaingrad.tensor(1j)  # no complex dtypes
    with pytest.raises(TypeError):
        chaingrad.tensor(np.array([1 + 2j]))
    # numpy arrays with negative strides are copied (PyTorch refuses them in torch.tensor)
    assert chaingrad.tensor(np.arange(6)[::-2]).tolist() == [5, 3, 1]


def test_tensor_copies_its_source() -> None:
    a = np.arange(4.0)
    t = chaingrad.tensor(a)
    a[0] = 9
    assert t[0].item() == 0
    src = chaingrad.arange(3.0)
    with pytest.warns(UserWarning, match="clone"):
        c = chaingrad.tensor(src)
    src.add_(1)
    assert c.tolist() == [0.0, 1.0, 2.0] and c._storage_id() != src._storage_id()
    with pytest.warns(UserWarning):
        assert chaingrad.tensor(chaingrad.tensor([1, 2]), dtype=chaingrad.float64).dtype == chaingrad.float64


def test_tensor_requires_grad() -> None:
    t = chaingrad.tensor([1.0, 2.0], requires_grad=True)
    assert t.requires_grad and t.is_leaf and t.grad_fn is None
    with pytest.raises(RuntimeError, match="Only Tensors of floating point and complex dtype can require gradients"):
        chaingrad.tensor([1, 2], requires_grad=True)
    assert chaingrad.tensor(3.0, requires_grad=True).dim() == 0
    assert chaingrad.tensor([1, 2], dtype=chaingrad.float32, requires_grad=True).requires_grad


def test_tensor_from_0d_tensors_and_numpy_scalars() -> None:
    parts = [chaingrad.tensor(1.5), chaingrad.tensor(2.5)]
    t = chaingrad.tensor(parts)
    assert t.tolist() == [1.5, 2.5] and t.dtype == chaingrad.float32
    with pytest.warns(UserWarning, match="requires_grad=True to a scalar"):
        chaingrad._factories._warned_scalar_grad[0] = False
        chaingrad.tensor([chaingrad.tensor(1.0, requires_grad=True)])
    assert chaingrad.tensor(np.int64(7)).item() == 7
    assert chaingrad.tensor(np.float32(0.5)).dtype == chaingrad.float32


def test_tensor_large_nested_list_is_fast_enough() -> None:
    rows = np.random.default_rng(0).random((400, 500)).tolist()
    t = chaingrad.tensor(rows)
    assert tuple(t.shape) == (400, 500) and t.dtype == chaingrad.float32
    np.testing.assert_allclose(t.numpy(), np.array(rows, np.float32))


# ================================================================================ factories
@pytest.mark.parametrize("expr", [
    "m.linspace(-1, 1, 1)",
    "m.zeros(2, 3)", "m.zeros((2, 3))", "m.zeros([2, 3])", "m.zeros(m.Size([2, 3]))", "m.zeros(())", "m.zeros(0)",
    "m.zeros(2, 3, dtype=m.int64)", "m.ones(4)", "m.ones(2, 2, dtype=m.bool)", "m.ones(3, dtype=m.float64)",
    "m.full((2, 2), 7)", "m.full((2,), 2.5)", "m.full((2,), True)", "m.full((3,), 1.5, dtype=m.float64)",
    "m.full([2], 3, dtype=m.float32)", "m.full((), 4)", "m.arange(5)", "m.arange(1, 7, 2)", "m.arange(5.0)",
    "m.arange(0, 1, 0.1)", "m.arange(10, 0, -3)", "m.arange(0, -1, -0.25)", "m.arange(1, 2.5, 0.5)",
    "m.arange(5, dtype=m.float64)", "m.arange(0)", "m.arange(m.tensor(4))", "m.linspace(0, 1, 5)",
    "m.linspace(2, 3, 0)", "m.linspace(0, 10, 7, dtype=m.float64)", "m.linspace(0, 1, 2)",
    "m.eye(3)", "m.eye(2, 4)", "m.eye(3, dtype=m.int64)", "m.eye(0)",
])
def test_factories_match_torch(expr: str) -> None:
    rt = eval(expr, {"m": torch})  # noqa: S307
    rc = eval(expr, {"m": chaingrad})  # noqa: S307
    assert tuple(rc.shape) == tuple(rt.shape)
    assert dname(rc) == dname(rt)
    assert rc.is_contiguous() and rc.stride() == rt.stride()
    np.testing.assert_allclose(rc.numpy().astype(np.float64), rt.numpy().astype(np.float64), rtol=1e-6, atol=1e-7)


def test_linspace_endpoints_are_exact() -> None:
    for start, end, steps in ((0.0, 1.0, 11), (-3.3, 7.7, 101), (1e-3, 1e3, 7)):
        t = chaingrad.linspace(start, end, steps, dtype=chaingrad.float64)
        assert t[0].item() == start and t[-1].item() == end
        np.testing.assert_allclose(t.numpy(), torch.linspace(start, end, steps, dtype=torch.float64).numpy(),
                                   rtol=1e-14, atol=1e-14)


def test_empty_has_the_requested_geometry() -> None:
    e = chaingrad.empty(3, 4, dtype=chaingrad.float64)
    assert tuple(e.shape) == (3, 4) and e.dtype == chaingrad.float64 and e.is_contiguous()
    assert chaingrad.empty(0).numel() == 0
    assert chaingrad.empty((2, 2), requires_grad=True).requires_grad


@pytest.mark.parametrize("call, exc", [
    (lambda: chaingrad.zeros(-1), RuntimeError), (lambda: chaingrad.ones(2, -3), RuntimeError),
    (lambda: chaingrad.zeros(2.5), TypeError), (lambda: chaingrad.zeros("3"), TypeError),
    (lambda: chaingrad.zeros(2, dtype="float"), TypeError), (lambda: chaingrad.full((2,), "x"), TypeError),
    (lambda: chaingrad.arange(0, 10, 0), RuntimeError), (lambda: chaingrad.arange(0, 10, -1), RuntimeError),
    (lambda: chaingrad.linspace(0, 1, -2), RuntimeError), (lambda: chaingrad.eye(-1), RuntimeError),
    (lambda: chaingrad.zeros(2, requires_grad=True, dtype=chaingrad.int64), RuntimeError),
    (lambda: chaingrad.empty(2**62), RuntimeError), (lambda: chaingrad.ones(2**40, 2**40), RuntimeError),
])
def test_factory_errors(call: Callable[[], Any], exc: type) -> None:
    with pytest.raises(exc):
        call()


@pytest.mark.parametrize("name", ["zeros_like", "ones_like", "empty_like", "rand_like", "randn_like"])
def test_like_factories(name: str) -> None:
    src = chaingrad.arange(6.0, dtype=chaingrad.float64).reshape(2, 3).t()
    out = getattr(chaingrad, name)(src)
    assert tuple(out.shape) == (3, 2) and out.dtype == chaingrad.float64 and out._storage_id() != src._storage_id()
    assert getattr(chaingrad, name)(src, dtype=chaingrad.float32).dtype == chaingrad.float32
    assert getattr(chaingrad, name)(src, requires_grad=True).requires_grad
    if name == "zeros_like":
        assert not out.any().item()
    if name == "ones_like":
        assert out.all().item()
    f = chaingrad.full_like(chaingrad.zeros(2, dtype=chaingrad.int64), 7)
    assert f.tolist() == [7, 7] and f.dtype == chaingrad.int64


def test_new_factories_inherit_dtype() -> None:
    x = chaingrad.zeros(2, dtype=chaingrad.float64)
    for made, shape in ((x.new_zeros(3), (3,)), (x.new_ones((2, 2)), (2, 2)), (x.new_empty(4), (4,)),
                        (x.new_full((2,), 5), (2,)), (x.new_tensor([1, 2, 3]), (3,))):
        assert made.dtype == chaingrad.float64 and tuple(made.shape) == shape
    assert x.new_zeros(2, dtype=chaingrad.int64).dtype == chaingrad.int64
    assert x.new_full((2,), 5).tolist() == [5.0, 5.0]


# ================================================================================ random
def test_manual_seed_reproduces_streams() -> None:
    chaingrad.manual_seed(1234)
    assert chaingrad.initial_seed() == 1234
    a = (chaingrad.rand(5), chaingrad.randn(3, 2), chaingrad.randint(0, 10, (6,)), chaingrad.randperm(8),
         chaingrad.rand(2, dtype=chaingrad.float64))
    chaingrad.manual_seed(1234)
    b = (chaingrad.rand(5), chaingrad.randn(3, 2), chaingrad.randint(0, 10, (6,)), chaingrad.randperm(8),
         chaingrad.rand(2, dtype=chaingrad.float64))
    for x, y in zip(a, b):
        assert x.tolist() == y.tolist()
    chaingrad.manual_seed(4321)
    assert chaingrad.rand(5).tolist() != a[0].tolist()
    c1 = chaingrad.rand(5)
    assert c1.tolist() != chaingrad.rand(5).tolist()  # the stream advances


def test_random_shapes_dtypes_and_ranges() -> None:
    chaingrad.manual_seed(0)
    u = chaingrad.rand(100_000)
    assert u.dtype == chaingrad.float32 and tuple(u.shape) == (100_000,)
    assert 0.0 <= u.min().item() and u.max().item() < 1.0
    assert abs(u.mean().item() - 0.5) < 0.01
    n = chaingrad.randn(200, 500, dtype=chaingrad.float64)
    assert n.dtype == chaingrad.float64
    assert abs(n.mean().item()) < 0.02 and abs(n.std().item() - 1.0) < 0.02
    r = chaingrad.randint(-3, 4, (10_000,))
    assert r.dtype == chaingrad.int64 and r.min().item() == -3 and r.max().item() == 3
    assert chaingrad.randint(5, (3,)).max().item() < 5  # randint(high, size)
    assert chaingrad.randint(2, 5, size=(2, 2)).shape == (2, 2)
    p = chaingrad.randperm(50)
    assert sorted(p.tolist()) == list(range(50))
    assert tuple(chaingrad.rand(2, 3).shape) == (2, 3) == tuple(chaingrad.rand((2, 3)).shape)
    assert chaingrad.rand(0).numel() == 0 and chaingrad.randn(()).dim() == 0
    assert chaingrad.rand(3, requires_grad=True).requires_grad
    with pytest.raises(RuntimeError):
        chaingrad.randint(5, 5, (2,))
    with pytest.raises((RuntimeError, TypeError)):
        chaingrad.rand(3, dtype=chaingrad.int64)


# ================================================================================ Size & queries
def test_size_behaves_like_torch_size() -> None:
    s = chaingrad.zeros(2, 3).shape
    assert isinstance(s, chaingrad.Size) and isinstance(s, tuple)
    assert repr(s) == str(s) == "chaingrad.Size([2, 3])"
    assert repr(chaingrad.Size([])) == "chaingrad.Size([])"
    assert s == (2, 3) and s == chaingrad.Size([2, 3]) and hash(s) == hash((2, 3))
    assert s[1] == 3 and s[-1] == 3
    assert isinstance(s[1:], chaingrad.Size) and s[::-1] == (3, 2)
    for combined in (s + (4,), (1,) + s, s * 2, 2 * s):
        assert isinstance(combined, chaingrad.Size)
    assert s + (4,) == (2, 3, 4) and (1,) + s == (1, 2, 3) and s * 2 == (2, 3, 2, 3)
    assert s.numel() == 6 and chaingrad.Size([]).numel() == 1
    assert pickle.loads(pickle.dumps(s)) == s and isinstance(pickle.loads(pickle.dumps(s)), chaingrad.Size)
    assert chaingrad.Size([np.int64(2), chaingrad.tensor(3)]) == (2, 3)
    with pytest.raises(TypeError):
        chaingrad.Size([1.5])
    with pytest.raises(TypeError):
        chaingrad.Size(["a"])
    with pytest.raises(TypeError):
        s + [4]
    list(s)  # iterable


def test_shape_queries_match_torch() -> None:
    for make in (lambda m: m.zeros(2, 3, 4), lambda m: m.tensor(1.5), lambda m: m.zeros(0, 5),
                 lambda m: m.zeros(2, 3, 4).transpose(0, 2)[1:]):
        c, t = make(chaingrad), make(torch)
        assert tuple(c.shape) == tuple(t.shape) and tuple(c.size()) == tuple(t.size())
        assert c.dim() == t.dim() == c.ndim == c.ndimension()
        assert c.numel() == t.numel() == c.nelement()
        for d in range(-t.dim(), t.dim()):
            assert c.size(d) == t.size(d) and c.stride(d) == t.stride(d)
        kc, _ = outcome(lambda c=c, t=t: c.size(t.dim()))
        kt, _ = outcome(lambda t=t: t.size(t.dim()))
        assert kc == kt == "IndexError"
        kc, _ = outcome(lambda c=c: len(c))
        kt, _ = outcome(lambda t=t: len(t))
        assert kc == kt
        if kt == "ok":
            assert len(c) == len(t)
    assert chaingrad.zeros(2, dtype=chaingrad.float64).element_size() == 8


def test_iteration_yields_views_of_rows() -> None:
    x = chaingrad.arange(6).reshape(3, 2)
    rows = list(x)
    assert [r.tolist() for r in rows] == [[0, 1], [2, 3], [4, 5]]
    rows[1][0] = 9
    assert x[1, 0].item() == 9
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        iter(chaingrad.tensor(1.0))


# ================================================================================ conversions
@pytest.mark.parametrize("src", ["float32", "float64", "int64", "bool"])
@pytest.mark.parametrize("method, target", [("float", "float32"), ("double", "float64"), ("long", "int64"),
                                            ("int", "int32"), ("bool", "bool")])
def test_dtype_conversion_methods(src: str, method: str, target: str) -> None:
    values = {"float32": [1.7, -2.3, 0.0], "float64": [1.7, -2.3, 0.0], "int64": [3, -2, 0],
              "bool": [True, False, True]}
    rt = getattr(torch.tensor(values[src], dtype=getattr(torch, src)), method)()
    c = chaingrad.tensor(values[src], dtype=getattr(chaingrad, src))
    rc = getattr(c, method)()
    assert dname(rc) == target
    np.testing.assert_array_equal(rc.numpy(), rt.numpy())
    if src == target:
        assert rc is c  # no copy when the dtype already matches (as PyTorch)
    else:
        assert rc._storage_id() != c._storage_id()


def test_to_variants() -> None:
    x = chaingrad.tensor([1.5, -2.5])
    assert x.to(chaingrad.int64).tolist() == [1, -2]
    assert x.to(dtype=chaingrad.float64).dtype == chaingrad.float64
    assert x.to(chaingrad.float32) is x
    assert x.to("cpu") is x and x.to(device="cpu") is x and x.cpu() is x
    assert x.to("cpu", chaingrad.float64).dtype == chaingrad.float64
    assert x.to(chaingrad.zeros(1, dtype=chaingrad.int64)).dtype == chaingrad.int64  # like another tensor
    c = x.to(chaingrad.float32, copy=True)
    assert c is not x and c._storage_id() != x._storage_id()
    assert x.to(float).dtype == chaingrad.float64 and x.to(int).dtype == chaingrad.int64
    assert x.to(bool).dtype == chaingrad.bool
    assert x.type_as(chaingrad.zeros(1, dtype=chaingrad.float64)).dtype == chaingrad.float64
    assert x.type() == "chaingrad.FloatTensor"
    with pytest.raises(AssertionError, match="Torch not compiled with CUDA enabled"):  # as a CPU-only PyTorch
        x.to("cuda")
    with pytest.raises(TypeError):
        x.to(5)
    with pytest.raises(TypeError):
        x.to(dtype="nope")


def test_conversion_of_views_and_requires_grad() -> None:
    x = chaingrad.arange(6.0).reshape(2, 3).t()
    d = x.double()
    assert d.is_contiguous() and d.tolist() == x.tolist()
    g = chaingrad.tensor([1.0, 2.0], requires_grad=True)
    h = g.double()
    assert h.requires_grad and h.grad_fn is not None
    h.sum().backward()
    assert g.grad.tolist() == [1.0, 1.0] and g.grad.dtype == chaingrad.float32


def test_python_number_conversions() -> None:
    assert float(chaingrad.tensor(2.5)) == 2.5 and int(chaingrad.tensor(2.7)) == 2
    assert float(chaingrad.tensor([3])) == 3.0 and bool(chaingrad.tensor([0.0])) is False
    assert [10, 20, 30][chaingrad.tensor(1)] == 20  # __index__
    with pytest.raises(TypeError):
        [1, 2][chaingrad.tensor(1.0)]
    with pytest.raises(ValueError, match="only one element tensors can be converted to Python scalars"):
        float(chaingrad.zeros(2))
    with pytest.raises(ValueError, match="only one element tensors"):
        int(chaingrad.zeros(0))
    assert f"{chaingrad.tensor(2.5):.2f}" == "2.50"
