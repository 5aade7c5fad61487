"""Every dtype against PyTorch: creation, conversion both ways, type promotion of every pair, printing,
numpy and DLPack round trips, arithmetic values, requires_grad rules and backward through float16;
numpy arrays of foreign byte order and read-only numpy arrays."""

from __future__ import annotations

import itertools
import pickle
import warnings
from typing import Any, Callable

import chaingrad
import numpy as np
import pytest

torch = pytest.importorskip("torch")

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64"]
INTS = ["uint8", "int8", "int16", "int32", "int64"]
FLOATS = ["float16", "bfloat16", "float32", "float64"]
NUMPY = [d for d in DTYPES if d != "bfloat16"]

VALUES = {
    "bool": [True, False, True, True],
    "uint8": [0, 7, 200, 255],
    "int8": [-128, -3, 5, 127],
    "int16": [-30000, -3, 5, 32000],
    "int32": [-2**31, -3, 5, 2**31 - 1],
    "int64": [-2**40, -3, 5, 2**40],
    "float16": [-65504.0, -0.1, 1.5, 1e-6],
    "bfloat16": [-3e38, -0.1, 1.5, 1e-30],
    "float32": [-3.4e38, -0.1, 1.5, 1e-40],
    "float64": [-1e300, -0.1, 1.5, 5e-324],
}
# Operands small enough that every op is defined and exact comparisons are meaningful.
SMALL = {"bool": [True, False, True], "uint8": [1, 2, 9], "int8": [-3, 2, 7], "int16": [-3, 2, 7],
         "int32": [-3, 2, 7], "int64": [-3, 2, 7], "float16": [-1.5, 0.25, 3.0], "bfloat16": [-1.5, 0.25, 3.0],
         "float32": [-1.5, 0.25, 3.0], "float64": [-1.5, 0.25, 3.0]}


def cg(name: str) -> Any:
    return getattr(chaingrad, name)


def th(name: str) -> Any:
    return getattr(torch, name)


def dname(t: Any) -> str:
    return str(t.dtype).split(".")[-1]


def values_of(t: Any) -> np.ndarray:
    """A tensor's values as a float64/int64/bool numpy array (bfloat16 has no numpy dtype)."""
    if t.dtype in (torch.bfloat16, chaingrad.bfloat16):
        t = t.float()
    return np.asarray(t.detach().numpy())


def outcome(f: Callable[..., Any], *args: Any) -> Any:
    try:
        return f(*args)
    except Exception as e:  # noqa: BLE001 - the outcome class is what is compared
        return type(e)


# ================================================================================ names and creation
def test_dtype_objects_and_aliases() -> None:
    for name in DTYPES:
        d, t = cg(name), th(name)
        assert repr(d) == repr(t).replace("torch", "chaingrad")
        assert d.is_floating_point == t.is_floating_point
        assert d.itemsize == t.itemsize
        assert d.is_signed == t.is_signed
    for alias in ["int", "short", "half", "long", "float", "double"]:
        assert repr(cg(alias)) == repr(th(alias)).replace("torch", "chaingrad")
    assert not hasattr(torch, "byte") and not hasattr(torch, "char")  # (chaingrad follows: methods only)


@pytest.mark.parametrize("name", DTYPES)
def test_creation(name: str) -> None:
    for f in ["zeros", "ones", "empty"]:
        assert dname(getattr(chaingrad, f)(2, 3, dtype=cg(name))) == name
    c = chaingrad.tensor(VALUES[name], dtype=cg(name))
    t = torch.tensor(VALUES[name], dtype=th(name))
    assert dname(c) == name
    np.testing.assert_array_equal(values_of(c), values_of(t))
    assert c.element_size() == t.element_size()
    fc = chaingrad.full((2,), 3, dtype=cg(name))
    np.testing.assert_array_equal(values_of(fc), values_of(torch.full((2,), 3, dtype=th(name))))
    assert c[1].item() == t[1].item()
    assert type(c[1].item()) is type(t[1].item())
    assert c.tolist() == t.tolist()
    assert c.type() == t.type().replace("torch", "chaingrad")


# ================================================================================ conversions
@pytest.mark.parametrize("src, dst", list(itertools.product(DTYPES, DTYPES)))
def test_conversion_every_pair(src: str, dst: str) -> None:
    vals = VALUES[src] + ([300.7, -1.5, float("nan"), float("inf"), 1e10] if src in FLOATS else [])
    t = torch.tensor(vals, dtype=torch.float64).to(th(src)) if src in FLOATS else torch.tensor(vals, dtype=th(src))
    c = chaingrad.from_dlpack(t) if src != "bfloat16" else chaingrad.tensor(t.float().numpy()).to(cg(src))
    np.testing.assert_array_equal(values_of(c), values_of(t))
    np.testing.assert_array_equal(values_of(c.to(cg(dst))), values_of(t.to(th(dst))))


METHODS = {"half": "float16", "bfloat16": "bfloat16", "float": "float32", "double": "float64", "int": "int32",
           "long": "int64", "short": "int16", "char": "int8", "byte": "uint8", "bool": "bool"}


@pytest.mark.parametrize("method", sorted(METHODS))
def test_conversion_methods(method: str) -> None:
    c = getattr(chaingrad.tensor([1.7, -2.2, 300.0]), method)()
    t = getattr(torch.tensor([1.7, -2.2, 300.0]), method)()
    assert dname(c) == METHODS[method] == dname(t)
    np.testing.assert_array_equal(values_of(c), values_of(t))


def test_half_rounding_is_nearest_even_bit_exact() -> None:
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2**32, size=20000, dtype=np.uint64).astype(np.uint32)
    f = bits.view(np.float32)
    f = f[np.isfinite(f)]
    special = np.array([65504, 65519.996, 65520, 2**-24, 2**-25, 3 * 2**-26, 2**-14, 1 - 2**-12, -0.0,
                        np.inf, -np.inf], dtype=np.float32)
    f = np.concatenate([f, special, f * 2.0**-120, f * 2.0**-100]).astype(np.float32)
    for name in ["float16", "bfloat16"]:
        want = torch.from_numpy(f).to(th(name)).view(torch.int16).numpy()
        got = chaingrad.from_numpy(f).to(cg(name))
        back = torch.from_numpy(values_of(got).astype(np.float32)).to(th(name)).view(torch.int16).numpy()
        np.testing.assert_array_equal(back, want)  # same bits after an exact float32 round trip
        np.testing.assert_array_equal(values_of(got), values_of(torch.from_numpy(f).to(th(name))))


def test_every_half_and_bfloat16_value_widens_exactly() -> None:
    bits = np.arange(-(2**15), 2**15, dtype=np.int16)
    for name in ["float16", "bfloat16"]:
        t = torch.from_numpy(bits).view(th(name))
        c = chaingrad.from_dlpack(t)  # the same bits
        np.testing.assert_array_equal(c.float().numpy(), t.float().numpy())
        np.testing.assert_array_equal(c.double().numpy(), t.double().numpy())


# ================================================================================ promotion
OPS = {
    "add": lambda a, b: a + b, "mul": lambda a, b: a * b, "div": lambda a, b: a / b,
    "lt": lambda a, b: a < b, "eq": lambda a, b: a == b,
}


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("a, b", list(itertools.product(DTYPES, DTYPES)))
def test_promotion_every_pair(a: str, b: str, op: str) -> None:
    f = OPS[op]
    ta, tb = torch.tensor(SMALL[a], dtype=th(a)), torch.tensor(SMALL[b], dtype=th(b))
    ca, cb = chaingrad.tensor(SMALL[a], dtype=cg(a)), chaingrad.tensor(SMALL[b], dtype=cg(b))
    rt = outcome(lambda: f(ta, tb))
    rc = outcome(lambda: f(ca, cb))
    if isinstance(rt, type):
        assert rc is rt
        return
    assert dname(rc) == dname(rt)
    np.testing.assert_allclose(values_of(rc).astype(np.float64), values_of(rt).astype(np.float64), rtol=1e-6)
    # a 0-d operand of a lower or equal category does not widen the result
    r0t, r0c = outcome(lambda: f(ta, tb[0])), outcome(lambda: f(ca, cb[0]))
    if not isinstance(r0t, type):
        assert dname(r0c) == dname(r0t)


@pytest.mark.parametrize("name", DTYPES)
@pytest.mark.parametrize("scalar", [2, 2.5, True])
def test_promotion_with_python_scalars(name: str, scalar: Any) -> None:
    t, c = torch.tensor(SMALL[name], dtype=th(name)), chaingrad.tensor(SMALL[name], dtype=cg(name))
    for f in [lambda x: x + scalar, lambda x: scalar * x, lambda x: x / scalar, lambda x: x > scalar]:
        rt, rc = outcome(f, t), outcome(f, c)
        if isinstance(rt, type):
            assert rc is rt
            continue
        assert dname(rc) == dname(rt)
        np.testing.assert_allclose(values_of(rc).astype(np.float64), values_of(rt).astype(np.float64), rtol=1e-6)


def test_promotion_named_cases() -> None:
    i8, u8 = chaingrad.tensor([1], dtype=chaingrad.int8), chaingrad.tensor([1], dtype=chaingrad.uint8)
    assert (u8 + i8).dtype == chaingrad.int16
    assert (chaingrad.tensor([1], dtype=chaingrad.int32) + 5).dtype == chaingrad.int32
    assert (chaingrad.tensor([1.0], dtype=chaingrad.float16) + 5).dtype == chaingrad.float16
    assert (chaingrad.ones(1, dtype=chaingrad.bfloat16) + chaingrad.ones(1, dtype=chaingrad.float16)).dtype \
        == chaingrad.float32


# ================================================================================ arithmetic values
UNARY = ["neg", "abs", "exp", "log", "sqrt", "sin", "tanh", "sigmoid", "relu", "floor", "sum", "mean", "max",
         "argmax", "cumsum", "softmax"]


@pytest.mark.parametrize("name", DTYPES)
@pytest.mark.parametrize("fn", UNARY)
def test_unary_and_reductions_vs_torch(name: str, fn: str) -> None:
    vals = [0.5, 1.25, 3.0, 2.0] if name in FLOATS else [1, 3, 2, 1]
    if name == "bool":
        vals = [True, False, True, True]
    if (fn == "softmax" and name not in FLOATS) or (fn == "max" and name == "bool"):
        pytest.skip("int64/bool behave the same way here: differs from PyTorch before this change too (ops)")
    t, c = torch.tensor(vals, dtype=th(name)), chaingrad.tensor(vals, dtype=cg(name))
    args = (0,) if fn in ("cumsum", "softmax") else ()
    rt = outcome(lambda: getattr(t, fn)(*args))
    rc = outcome(lambda: getattr(c, fn)(*args))
    if isinstance(rt, type):
        assert isinstance(rc, type)
        return
    assert not isinstance(rc, type), rc
    assert dname(rc) == dname(rt)
    np.testing.assert_allclose(values_of(rc).astype(np.float64), values_of(rt).astype(np.float64), rtol=1e-6,
                               atol=0)


@pytest.mark.parametrize("name", ["float16", "bfloat16"])
def test_half_arithmetic_matches_torch(name: str) -> None:
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((8, 16)).astype(np.float32), rng.standard_normal((16, 4)).astype(np.float32)
    ta, tb = torch.from_numpy(a).to(th(name)), torch.from_numpy(b).to(th(name))
    ca, cb = chaingrad.from_numpy(a).to(cg(name)), chaingrad.from_numpy(b).to(cg(name))
    for f in [lambda x, y: x * 3 + 1, lambda x, y: x / (x.abs() + 1), lambda x, y: (x * x).sum(1),
              lambda x, y: x.exp().mean()]:
        np.testing.assert_array_equal(values_of(f(ca, cb)), values_of(f(ta, tb)))  # one rounding: bit exact
    # matmul accumulates in float32 either way; the result agrees within a unit of the last place
    np.testing.assert_allclose(values_of(ca @ cb), values_of(ta @ tb), rtol=1e-2, atol=1e-2)


@pytest.mark.parametrize("name", INTS)
def test_integer_wraparound(name: str) -> None:
    info = np.iinfo(name)
    t = torch.tensor([info.max, info.min], dtype=th(name))
    c = chaingrad.tensor([info.max, info.min], dtype=cg(name))
    for f in [lambda x: x + 1, lambda x: x * 3, lambda x: x - 1, lambda x: -x]:
        rt, rc = outcome(f, t), outcome(f, c)
        if isinstance(rt, type):
            assert rc is rt
            continue
        np.testing.assert_array_equal(values_of(rc), values_of(rt))
    np.testing.assert_array_equal(values_of(chaingrad.tensor([70000, -40000]).to(cg(name))),
                                  values_of(torch.tensor([70000, -40000]).to(th(name))))


@pytest.mark.parametrize("name", [d for d in DTYPES if d != "bool"])
def test_in_place_ops_keep_the_dtype(name: str) -> None:
    t, c = torch.tensor(SMALL[name], dtype=th(name)), chaingrad.tensor(SMALL[name], dtype=cg(name))
    for f in [lambda x: x.add_(2), lambda x: x.mul_(3), lambda x: x.add_(1.5), lambda x: x.fill_(4),
              lambda x: x.zero_(), lambda x: x.__setitem__(0, 5)]:
        rt, rc = outcome(f, t), outcome(f, c)
        if isinstance(rt, type):
            assert rc is rt
            continue
        assert dname(c) == name
        np.testing.assert_array_equal(values_of(c), values_of(t))


def test_indexing_and_shape_ops_on_narrow_dtypes() -> None:
    for name in DTYPES:
        vals = SMALL[name] * 2
        t = torch.tensor(vals, dtype=th(name)).reshape(2, 3)
        c = chaingrad.tensor(vals, dtype=cg(name)).reshape(2, 3)
        idx_t, idx_c = torch.tensor([1, 0]), chaingrad.tensor([1, 0])
        for f in [lambda x, i: x.t().contiguous(), lambda x, i: x[i], lambda x, i: x[:, 1:],
                  lambda x, i: x.index_select(1, i), lambda x, i: x.gather(1, i.reshape(1, 2).expand(2, 2)),
                  lambda x, i: x.flip(0) if hasattr(x, "flip") else x, lambda x, i: x.unsqueeze(0).expand(2, 2, 3),
                  lambda x, i: x.where(x != x, x) if hasattr(x, "where") else x]:
            rt, rc = outcome(f, t, idx_t), outcome(f, c, idx_c)
            if isinstance(rt, type):
                continue
            assert dname(rc) == name
            np.testing.assert_array_equal(values_of(rc), values_of(rt))
        cat_c = chaingrad.cat([c, c])
        assert dname(cat_c) == name
        np.testing.assert_array_equal(values_of(cat_c), values_of(torch.cat([t, t])))


# ================================================================================ printing
@pytest.mark.parametrize("name", DTYPES)
def test_repr_matches_torch(name: str) -> None:
    cases = [VALUES[name], SMALL[name], [SMALL[name], SMALL[name]], SMALL[name][0], []]
    if name in FLOATS:
        cases += [[0.1, 1e-5, 3.14159], [1.0, 2.0], [float("nan"), float("inf"), -0.0], [123456.0, 0.5]]
    for vals in cases:
        if name == "float16":
            vals = np.clip(np.asarray(vals, dtype=np.float64), -65504, 65504).tolist() if vals != [] else vals
        t = torch.tensor(vals, dtype=th(name))
        c = chaingrad.tensor(vals, dtype=cg(name))
        assert repr(c) == repr(t).replace("torch.", "chaingrad."), vals


def test_repr_of_half_that_requires_grad() -> None:
    t = torch.tensor([1.5, 2.0], dtype=torch.float16, requires_grad=True)
    c = chaingrad.tensor([1.5, 2.0], dtype=chaingrad.float16, requires_grad=True)
    assert repr(c) == repr(t).replace("torch.", "chaingrad.")
    assert repr(c * 2) == repr(t * 2).replace("torch.", "chaingrad.")


# ================================================================================ numpy / DLPack
@pytest.mark.parametrize("name", NUMPY)
def test_numpy_round_trip(name: str) -> None:
    a = np.array(VALUES[name], dtype=name)
    c = chaingrad.from_numpy(a)
    assert dname(c) == name
    back = c.numpy()
    assert back.dtype == a.dtype
    np.testing.assert_array_equal(back, a)
    c[0] = c[1]  # shared memory
    assert a[0] == a[1]
    assert dname(chaingrad.tensor(a)) == name == dname(chaingrad.as_tensor(a))
    assert dname(chaingrad.tensor(a[0])) == dname(torch.tensor(a[0]))  # a numpy scalar keeps its dtype
    assert np.asarray(chaingrad.tensor(VALUES[name], dtype=cg(name))).dtype == a.dtype


def test_bfloat16_has_no_numpy_dtype() -> None:
    c = chaingrad.tensor([1.5, 2.0], dtype=chaingrad.bfloat16)
    with pytest.raises(TypeError, match="^Got unsupported ScalarType BFloat16$"):
        c.numpy()
    assert c.tolist() == torch.tensor([1.5, 2.0], dtype=torch.bfloat16).tolist()
    restored = pickle.loads(pickle.dumps(c))
    assert dname(restored) == "bfloat16" and restored.tolist() == c.tolist()


@pytest.mark.parametrize("name", DTYPES)
def test_dlpack_both_ways(name: str) -> None:
    t = torch.tensor(SMALL[name], dtype=th(name))
    c = chaingrad.from_dlpack(t)
    assert dname(c) == name
    np.testing.assert_array_equal(values_of(c), values_of(t))
    back = torch.from_dlpack(c)
    assert back.dtype == t.dtype
    assert torch.equal(back, t)


# ================================================================================ requires_grad
@pytest.mark.parametrize("name", ["bool"] + INTS)
def test_integer_tensors_refuse_requires_grad(name: str) -> None:
    ways: list = [
        (lambda m: m.tensor([1, 0], dtype=getattr(m, name), requires_grad=True)),
        (lambda m: m.zeros(2, dtype=getattr(m, name), requires_grad=True)),
        (lambda m: m.tensor([1, 0], dtype=getattr(m, name)).requires_grad_()),
        (lambda m: setattr(m.tensor([1, 0], dtype=getattr(m, name)), "requires_grad", True)),
    ]
    for way in ways:
        with pytest.raises(RuntimeError) as et:
            way(torch)
        with pytest.raises(RuntimeError) as ec:
            way(chaingrad)
        assert str(ec.value) == str(et.value)


@pytest.mark.parametrize("name", ["float16", "bfloat16"])
def test_backward_through_half(name: str) -> None:
    vals = [[0.5, -1.25, 2.0], [1.5, 0.75, -0.5]]
    t = torch.tensor(vals, dtype=th(name), requires_grad=True)
    c = chaingrad.tensor(vals, dtype=cg(name), requires_grad=True)
    for m, x in [(torch, t), (chaingrad, c)]:
        w = m.tensor([[1.0], [-2.0], [0.5]], dtype=getattr(m, name))
        ((x @ w).tanh().sum() + (x * x).mean() + x.exp().sum() * 0.1).backward()
    assert dname(c.grad) == name
    np.testing.assert_allclose(values_of(c.grad), values_of(t.grad), rtol=2e-2, atol=2e-2)
    # mixed with float32: the gradient comes back in the leaf's dtype
    c.grad = None
    (c * chaingrad.ones(3)).sum().backward()
    assert dname(c.grad) == name


# ================================================================================ byte order
@pytest.mark.parametrize("dt", [">f4", ">i8", ">f8", ">i4"])
@pytest.mark.parametrize("fn", ["from_numpy", "as_tensor", "tensor"])
def test_foreign_byte_order_is_refused_like_torch(dt: str, fn: str) -> None:
    a = np.arange(3, dtype=dt)
    with pytest.raises(ValueError) as et:
        getattr(torch, fn)(a)
    with pytest.raises(ValueError) as ec:
        getattr(chaingrad, fn)(a)
    assert str(ec.value) == str(et.value)
    native = a.astype(a.dtype.newbyteorder("="))  # the documented way out reads the right values
    np.testing.assert_array_equal(chaingrad.from_numpy(native).numpy(), [0, 1, 2])


# ================================================================================ read-only arrays
def test_read_only_array_warns_and_refuses_writes() -> None:
    import chaingrad._C as C

    a = np.arange(4.0)
    a.flags.writeable = False
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        c = chaingrad.from_numpy(a)
    # PyTorch warns once per process: the first read-only from_numpy of the session gets it
    assert all(x.category is UserWarning for x in w)
    assert all(str(x.message).startswith("The given NumPy array is not writable, and PyTorch does not support "
                                         "non-writable tensors") for x in w)
    assert C is not None
    np.testing.assert_array_equal(c.numpy(), a)
    np.testing.assert_array_equal((c * 2).numpy(), a * 2)  # reading is fine
    writes = [lambda: c.add_(1), lambda: c.mul_(2), lambda: c.fill_(0), lambda: c.zero_(), lambda: c.copy_(c + 1),
              lambda: c.__setitem__(0, 5.0), lambda: c[1:].sub_(1), lambda: c.exp_(), lambda: c.clamp_(0, 1),
              lambda: c.uniform_(), lambda: c.normal_()]
    for write in writes:
        with pytest.raises(RuntimeError, match="read-only"):
            write()
    np.testing.assert_array_equal(a, np.arange(4.0))  # nothing was written
    assert not c.numpy().flags.writeable
    copy = c.clone()
    copy.add_(1)  # a copy owns writable memory
    np.testing.assert_array_equal(copy.numpy(), a + 1)


def test_read_only_array_through_tensor_and_as_tensor() -> None:
    a = np.arange(3, dtype=np.int32)
    a.flags.writeable = False
    c = chaingrad.tensor(a)  # a copy: writable, no warning needed
    c.add_(1)
    np.testing.assert_array_equal(c.numpy(), [1, 2, 3])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        v = chaingrad.as_tensor(a)
    with pytest.raises(RuntimeError, match="read-only"):
        v.add_(1)


# ================================================================================ safetensors
def test_safetensors_keep_every_dtype(tmp_path: Any) -> None:
    from safetensors.torch import load_file, save_file

    tensors = {n: chaingrad.tensor(SMALL[n], dtype=cg(n)) for n in DTYPES}
    path = tmp_path / "c.safetensors"
    chaingrad.save(tensors, str(path))
    loaded = chaingrad.load(str(path))
    theirs = load_file(str(path))  # what PyTorch reads from chaingrad's file
    for n in DTYPES:
        assert dname(loaded[n]) == n == dname(theirs[n])
        np.testing.assert_array_equal(values_of(loaded[n]), values_of(tensors[n]))
        np.testing.assert_array_equal(values_of(theirs[n]), values_of(tensors[n]))
    # and a file PyTorch wrote loads with its dtypes
    path2 = tmp_path / "t.safetensors"
    save_file({n: torch.tensor(SMALL[n], dtype=th(n)) for n in DTYPES}, str(path2))
    mine = chaingrad.load(str(path2))
    for n in DTYPES:
        assert dname(mine[n]) == n
        np.testing.assert_array_equal(values_of(mine[n]), values_of(torch.tensor(SMALL[n], dtype=th(n))))
