"""Zero-copy exchange with numpy and DLPack (numpy and PyTorch as peers), both directions: every
sharing test writes on one side and reads on the other. Also ``__array__``, ``item()``,
``tolist()`` and the numpy()-on-requires-grad error."""

from __future__ import annotations

import gc
import weakref
from typing import Any, Callable

import chaingrad
import numpy as np
import pytest

torch = pytest.importorskip("torch")

NP_DTYPES = [np.float32, np.float64, np.int64, np.bool_]


def sample(dtype: Any, shape: tuple = (3, 4)) -> np.ndarray:
    a = np.arange(int(np.prod(shape))).reshape(shape)
    return (a % 2 == 0) if dtype is np.bool_ else a.astype(dtype)


def other_value(dtype: Any) -> Any:
    return True if dtype is np.bool_ else 99


# ================================================================================ from_numpy
@pytest.mark.parametrize("dtype", NP_DTYPES)
def test_from_numpy_shares_memory_both_directions(dtype: Any) -> None:
    a = sample(dtype)
    t = chaingrad.from_numpy(a)
    assert t.dtype == getattr(chaingrad, np.dtype(dtype).name)
    assert t.data_ptr() == a.ctypes.data  # no copy
    a[0, 1] = other_value(dtype)  # numpy -> chaingrad
    assert t[0, 1].item() == a[0, 1]
    t[2, 3] = 0  # chaingrad -> numpy
    assert a[2, 3] == 0
    if dtype is not np.bool_:
        t.add_(1)  # an in-place kernel writes into the numpy buffer
        np.testing.assert_array_equal(a, t.numpy())
        assert a[2, 3] == 1


@pytest.mark.parametrize("make", [
    lambda a: a.T, lambda a: a[:, ::2], lambda a: a[::-1], lambda a: a[:, ::-2], lambda a: a[1:, 1:3],
    lambda a: a[::2, ::-1].T, lambda a: a[None, :, None], lambda a: a[:0], lambda a: a[1, 2, ...],
    lambda a: np.broadcast_to(a[:1], (5, 4)),
], ids=["T", "step", "neg_rows", "neg_step_cols", "slice", "neg_T", "newaxis", "empty", "0d", "broadcast"])
def test_from_numpy_non_contiguous_and_negative_strides(make: Callable[[np.ndarray], np.ndarray]) -> None:
    base = np.arange(12.0).reshape(3, 4)
    view = make(base)
    t = chaingrad.from_numpy(view)
    assert tuple(t.shape) == view.shape
    assert t.stride() == tuple(s // view.itemsize for s in view.strides)
    np.testing.assert_array_equal(t.numpy(), view)
    np.testing.assert_array_equal(np.asarray(t + 0), view)  # kernels read the strides right
    if view.size and view.flags.writeable:
        base += 100  # shared: the tensor sees writes to the base array
        np.testing.assert_array_equal(t.numpy(), view)
        t.mul_(-1) if view.ndim else t.fill_(-1.0)
        np.testing.assert_array_equal(t.numpy(), view)


def test_from_numpy_keeps_the_array_alive() -> None:
    a = np.arange(1000.0)
    ref = weakref.ref(a) if hasattr(a, "__weakref__") else None
    t = chaingrad.from_numpy(a)
    del a
    gc.collect()
    assert t[999].item() == 999.0
    v = t[10:20]
    del t
    gc.collect()
    assert v.sum().item() == sum(range(10, 20))
    del v
    gc.collect()
    if ref is not None:
        assert ref() is None  # and released once the last view is gone


@pytest.mark.parametrize("arr, exc", [
    (np.arange(3, dtype=np.uint16), TypeError), (np.arange(3, dtype=np.uint64), TypeError),
    (np.array([1 + 2j]), TypeError),
    (np.array(["a"]), TypeError), (np.array([None]), TypeError),
])
def test_from_numpy_rejects_unsupported_dtypes(arr: np.ndarray, exc: type) -> None:
    with pytest.raises(exc, match="can't convert np.ndarray of type"):
        chaingrad.from_numpy(arr)


def test_from_numpy_argument_errors() -> None:
    with pytest.raises(TypeError):
        chaingrad.from_numpy([1, 2])
    with pytest.raises(TypeError):
        chaingrad.from_numpy(chaingrad.zeros(2))
    rec = np.zeros(3, dtype=[("a", np.float64), ("b", np.int8)])
    with pytest.raises((TypeError, ValueError)):
        chaingrad.from_numpy(rec)
    raw = np.zeros(9, np.uint8)[1:].view(np.float64)  # misaligned but a multiple of the itemsize
    t = chaingrad.from_numpy(raw)
    assert t.numel() == 1


# ================================================================================ numpy()
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
def test_numpy_shares_memory_both_directions(dtype: str) -> None:
    t = chaingrad.zeros(3, 4, dtype=getattr(chaingrad, dtype))
    a = t.numpy()
    assert a.dtype == np.dtype(dtype) and a.shape == (3, 4)
    assert a.ctypes.data == t.data_ptr()
    a[1, 2] = 1  # numpy -> chaingrad
    assert t[1, 2].item() == 1
    t[0, 0] = 1  # chaingrad -> numpy
    assert a[0, 0] == 1
    if dtype != "bool":
        t += 2
        assert a[0, 0] == 3


@pytest.mark.parametrize("view, ref", [
    (lambda t: t.transpose(0, 2), lambda a: a.transpose(2, 1, 0)), (lambda t: t[:, 1], lambda a: a[:, 1]),
    (lambda t: t[..., ::2], lambda a: a[..., ::2]),
    (lambda t: t.expand(2, 2, 3, 4), lambda a: np.broadcast_to(a, (2, 2, 3, 4))),
    (lambda t: t[1, 2, 3], lambda a: a[1, 2, 3]), (lambda t: t[:, :0], lambda a: a[:, :0]),
    (lambda t: t.flip(1), lambda a: a[:, ::-1]), (lambda t: t[1:, 1:, 2:], lambda a: a[1:, 1:, 2:]),
], ids=["transpose", "select", "step", "expand", "0d", "empty", "flip", "offset"])
def test_numpy_of_views_keeps_strides_and_offsets(view: Callable, ref: Callable) -> None:
    t = chaingrad.arange(24.0).reshape(2, 3, 4)
    v = view(t)
    a = v.numpy()
    assert a.strides == tuple(s * 4 for s in v.stride())
    np.testing.assert_array_equal(a, ref(np.arange(24.0, dtype=np.float32).reshape(2, 3, 4)))
    if a.size and v._storage_id() == t._storage_id() and 0 not in v.stride():
        a[...] = -1  # a view of a view: the write lands in t
        assert (view(t) == -1).all().item()


def test_numpy_view_results_are_transposes() -> None:
    t = chaingrad.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(t.t().numpy(), np.arange(6.0).reshape(2, 3).T)
    np.testing.assert_array_equal(t.expand(2, 2, 3).numpy(), np.broadcast_to(np.arange(6.0).reshape(2, 3), (2, 2, 3)))


def test_numpy_outlives_the_tensor() -> None:
    t = chaingrad.arange(10.0)
    a = t.numpy()
    del t
    gc.collect()
    np.testing.assert_array_equal(a, np.arange(10.0))


def test_numpy_on_requires_grad_tensor() -> None:
    t = chaingrad.tensor([1.0, 2.0], requires_grad=True)
    msg = "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead."
    with pytest.raises(RuntimeError) as info:
        t.numpy()
    assert str(info.value) == msg
    with pytest.raises(RuntimeError) as info:
        (t * 2).numpy()
    assert str(info.value) == msg
    np.testing.assert_array_equal(t.detach().numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(t.numpy(force=True), [1.0, 2.0])
    with chaingrad.no_grad():
        np.testing.assert_array_equal((t * 2).numpy(), [2.0, 4.0])  # no graph: no grad required


# ================================================================================ __array__
def test_array_protocol_shares_and_converts() -> None:
    t = chaingrad.arange(4.0)
    a = np.asarray(t)
    assert a.dtype == np.float32 and a.ctypes.data == t.data_ptr()
    a[0] = 9
    assert t[0].item() == 9
    d = np.asarray(t, dtype=np.float64)
    assert d.dtype == np.float64
    d[1] = -1
    assert t[1].item() == 1  # a converted copy
    c = np.array(t)  # numpy's default copy=True
    c[2] = -5
    assert t[2].item() == 2
    assert np.array(t, copy=False).ctypes.data == t.data_ptr()
    with pytest.raises(ValueError):
        np.array(t, dtype=np.float64, copy=False)
    np.testing.assert_array_equal(np.add(t, 1), [10, 2, 3, 4])
    assert np.asarray(chaingrad.tensor(2.5)).shape == ()


def test_array_protocol_refuses_requires_grad_like_torch() -> None:
    t = chaingrad.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="Use tensor.detach"):
        np.asarray(t)
    with pytest.raises(RuntimeError, match="Use tensor.detach"):
        np.asarray(torch.tensor([1.0], requires_grad=True))


# ================================================================================ DLPack
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
def test_numpy_from_dlpack_shares_chaingrad_memory(dtype: str) -> None:
    t = chaingrad.zeros(2, 3, dtype=getattr(chaingrad, dtype))
    a = np.from_dlpack(t)
    assert a.dtype == np.dtype(dtype) and a.shape == (2, 3)
    assert a.flags.writeable  # DLPack 1.0 capsule: numpy may write
    a[0, 1] = 1  # numpy -> chaingrad
    assert t[0, 1].item() == 1
    t[1, 2] = 1  # chaingrad -> numpy
    assert a[1, 2] == 1


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
def test_torch_from_dlpack_shares_chaingrad_memory(dtype: str) -> None:
    t = chaingrad.zeros(2, 3, dtype=getattr(chaingrad, dtype))
    tt = torch.from_dlpack(t)
    assert str(tt.dtype) == f"torch.{dtype}" and tuple(tt.shape) == (2, 3)
    assert tt.data_ptr() == t.data_ptr()
    tt[0, 1] = 1  # torch -> chaingrad
    assert t[0, 1].item() == 1
    t[1, 2] = 1  # chaingrad -> torch
    assert tt[1, 2].item() == 1


@pytest.mark.parametrize("make", [
    lambda m: m.arange(12.0).reshape(3, 4).t(), lambda m: m.arange(12.0).reshape(3, 4)[:, 1::2],
    lambda m: m.arange(12.0).reshape(3, 4)[1], lambda m: m.arange(12.0).reshape(3, 4)[1, 2],
    lambda m: m.zeros(0, 3), lambda m: m.arange(4.0).expand(3, 4), lambda m: m.arange(12.0).reshape(3, 4)[1:, 2:],
], ids=["t", "step", "row", "0d", "empty", "expanded", "offset"])
def test_dlpack_views_round_trip_through_torch_and_numpy(make: Callable[[Any], Any]) -> None:
    c, ref = make(chaingrad), make(torch)
    tt = torch.from_dlpack(c)
    assert tt.stride() == c.stride() == ref.stride()
    np.testing.assert_array_equal(tt.numpy(), ref.numpy())
    assert tt.numel() == 0 or tt.data_ptr() == c.data_ptr()
    back = chaingrad.from_dlpack(ref)  # and torch's views into chaingrad
    assert back.stride() == ref.stride()
    np.testing.assert_array_equal(back.numpy(), ref.numpy())
    assert back.numel() == 0 or back.data_ptr() == ref.data_ptr()
    if c.numel() and c.stride() and 0 not in c.stride():
        a = np.from_dlpack(c)
        np.testing.assert_array_equal(a, ref.numpy())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.int64, torch.bool])
def test_chaingrad_from_dlpack_shares_torch_memory(dtype: Any) -> None:
    src = torch.zeros(3, 4, dtype=dtype)
    t = chaingrad.from_dlpack(src)
    assert str(t.dtype) == str(dtype).replace("torch", "chaingrad")
    assert t.data_ptr() == src.data_ptr()
    t[0, 0] = 1  # chaingrad -> torch
    assert src[0, 0].item() == 1
    src[2, 3] = 1  # torch -> chaingrad
    assert t[2, 3].item() == 1


@pytest.mark.parametrize("dtype", NP_DTYPES)
def test_chaingrad_from_dlpack_shares_numpy_memory(dtype: Any) -> None:
    src = np.zeros((3, 4), dtype=dtype)
    t = chaingrad.from_dlpack(src)
    assert t.data_ptr() == src.ctypes.data
    t[0, 0] = 1  # chaingrad -> numpy
    assert src[0, 0] == 1
    src[2, 3] = 1  # numpy -> chaingrad
    assert t[2, 3].item() == 1


def test_from_dlpack_negative_strides_and_offsets() -> None:
    a = np.arange(12.0).reshape(3, 4)[::-1, 1::2]
    t = chaingrad.from_dlpack(a)
    np.testing.assert_array_equal(t.numpy(), a)
    f = torch.arange(10.0)[2:7]
    tf = chaingrad.from_dlpack(f)
    assert tf.tolist() == [2.0, 3.0, 4.0, 5.0, 6.0] and tf.data_ptr() == f.data_ptr()


def test_from_dlpack_raw_capsules_and_lifetime() -> None:
    src = torch.arange(6.0)
    t = chaingrad.from_dlpack(src.__dlpack__())  # a legacy capsule
    assert t.data_ptr() == src.data_ptr()
    cap = np.arange(4.0).__dlpack__(max_version=(1, 0))  # a versioned one
    t2 = chaingrad.from_dlpack(cap)
    assert t2.tolist() == [0.0, 1.0, 2.0, 3.0]
    with pytest.raises(TypeError):
        chaingrad.from_dlpack(cap)  # already consumed
    del src
    gc.collect()
    assert t.sum().item() == 15.0  # the producer's memory lives as long as the tensor
    c = chaingrad.arange(5.0)
    out = torch.from_dlpack(c)
    del c
    gc.collect()
    assert out.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    unused = chaingrad.arange(3.0).__dlpack__()  # never consumed: freed with the capsule
    del unused
    gc.collect()


def test_dlpack_protocol_arguments() -> None:
    t = chaingrad.arange(3.0)
    assert t.__dlpack_device__() == (1, 0)
    with pytest.raises(BufferError):
        t.__dlpack__(dl_device=(2, 0))
    copied = np.from_dlpack(t, copy=True)
    copied[0] = 7
    assert t[0].item() == 0
    with pytest.raises(RuntimeError, match="require gradient"):
        torch.from_dlpack(chaingrad.tensor([1.0], requires_grad=True))
    with pytest.raises(TypeError, match="unsupported dtype"):
        chaingrad.from_dlpack(np.arange(3, dtype=np.uint16))
    with pytest.raises(TypeError):
        chaingrad.from_dlpack([1, 2, 3])


def test_from_dlpack_read_only_producer_gets_a_copy() -> None:
    a = np.arange(4.0)
    a.flags.writeable = False
    t = chaingrad.from_dlpack(a)
    t[0] = 5  # chaingrad has no read-only tensors: it must not write into the frozen buffer
    assert a[0] == 0 and t[0].item() == 5


# ================================================================================ item / tolist
@pytest.mark.parametrize("value, dtype, py_type", [
    (2.5, chaingrad.float32, float), (2.5, chaingrad.float64, float), (3, chaingrad.int64, int),
    (True, chaingrad.bool, bool),
])
def test_item_returns_python_numbers(value: Any, dtype: Any, py_type: type) -> None:
    for t in (chaingrad.tensor(value, dtype=dtype), chaingrad.tensor([[value]], dtype=dtype),
              chaingrad.full((3, 2), value, dtype=dtype)[1:2, 1]):
        r = t.item()
        assert type(r) is py_type and r == value
    with pytest.raises(RuntimeError, match="a Tensor with 2 elements cannot be converted to Scalar"):
        chaingrad.zeros(2, dtype=dtype).item()
    with pytest.raises(RuntimeError, match="0 elements"):
        chaingrad.zeros(0, dtype=dtype).item()


def test_tolist_matches_torch() -> None:
    for make in (lambda m: m.arange(6).reshape(2, 3), lambda m: m.arange(6.0).reshape(2, 3).t(),
                 lambda m: m.tensor(2.5), lambda m: m.tensor([True, False]), lambda m: m.zeros(2, 0),
                 lambda m: m.tensor([[1.5]], dtype=m.float64), lambda m: m.arange(24).reshape(2, 3, 4)[:, ::2, 1]):
        a, b = make(chaingrad).tolist(), make(torch).tolist()
        assert a == b and type(a) is type(b)
        if isinstance(a, list) and a and isinstance(a[0], list) and a[0]:
            assert type(a[0][0]) is type(b[0][0])
    assert chaingrad.tensor([1.0], requires_grad=True).tolist() == [1.0]
