"""The native Tensor type (written against the CPython API): object identity, subclasses,
weak references and attributes, and the number slots' fast paths against their general case
(results and errors must be the same whichever path an operand takes)."""

import gc
import weakref

import chaingrad
import numpy as np
import pytest

torch = pytest.importorskip("torch")


def test_same_tensor_is_same_object():
    x = chaingrad.ones(3, requires_grad=True)
    y = x * 2
    assert y.grad_fn is not None
    # A tensor handed back by the core is the Python object that already wraps it.
    (g,) = chaingrad.autograd.grad(y.sum(), x, retain_graph=True)
    x.grad = g
    assert x.grad is g
    assert x.grad is x.grad
    v = x[0:2]
    assert v._base is x


def test_weakref_and_attributes_and_gc():
    x = chaingrad.ones(2)
    x.label = "weights"
    assert x.label == "weights"
    assert x.__dict__ == {"label": "weights"}
    r = weakref.ref(x)
    assert r() is x
    del x
    gc.collect()
    assert r() is None


def test_uninitialised_tensor_is_refused():
    t = chaingrad.Tensor.__new__(chaingrad.Tensor)
    with pytest.raises(TypeError):
        t.numel()
    with pytest.raises(TypeError):
        t * 2


def test_subclass_keeps_type_and_number_slots():
    class Tagged(chaingrad.Tensor):
        pass

    p = chaingrad.nn.Parameter(chaingrad.ones(2))
    assert type(p).__name__ == "Parameter"
    q = p * 3 + 1
    assert type(q) is chaingrad.Tensor
    np.testing.assert_allclose(q.detach().numpy(), [4.0, 4.0])
    t = chaingrad.Tensor._make_subclass(Tagged, chaingrad.zeros(2))
    assert isinstance(t, Tagged)
    assert (t - 1).tolist() == [-1.0, -1.0]


def _outcome(f):
    try:
        return f()
    except Exception as e:  # noqa: BLE001 - the exception type is what is compared
        return type(e)


@pytest.mark.parametrize("op", ["add", "sub", "mul", "truediv", "pow"])
@pytest.mark.parametrize("other", [2, 2.5, True, np.float32(1.5), np.int64(3)])
def test_number_operands_match_torch(op, other):
    import operator

    py_op = getattr(operator, op)
    a = chaingrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    ta = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    # The operator syntax goes through the number slot; the dunder names through pybind11.
    cases = [
        (lambda: py_op(a, other), lambda: py_op(ta, other), lambda: getattr(a, f"__{op}__")(other)),
        (lambda: py_op(other, a), lambda: py_op(other, ta), lambda: getattr(a, f"__r{op}__")(other)),
    ]
    for mine, theirs, dunder in cases:
        m, t, d = _outcome(mine), _outcome(theirs), _outcome(dunder)
        if isinstance(t, type):
            assert m is RuntimeError or issubclass(m, t)
            assert d is m
            continue
        assert str(m.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
        np.testing.assert_allclose(m.detach().numpy(), t.detach().numpy(), rtol=1e-6)
        np.testing.assert_allclose(d.detach().numpy(), m.detach().numpy())


def test_tensor_operands_and_ndarray_fallback():
    a = chaingrad.tensor([1.0, 2.0], requires_grad=True)
    b = chaingrad.tensor([3.0, 4.0], requires_grad=True)
    y = (a * b + a / b - b ** a) ** 2
    y.sum().backward()
    ta = torch.tensor([1.0, 2.0], requires_grad=True)
    tb = torch.tensor([3.0, 4.0], requires_grad=True)
    ((ta * tb + ta / tb - tb ** ta) ** 2).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-5)
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-5)
    # numpy arrays take the general path (numpy's promotion, as PyTorch does)
    r = a.detach() + np.ones(2)
    assert r.dtype == chaingrad.float64
    np.testing.assert_allclose((-a).detach().numpy(), [-1.0, -2.0])


def test_slot_errors_match_torch():
    a, b = chaingrad.ones(2), chaingrad.ones(3)
    with pytest.raises(RuntimeError, match=r"must match the size of tensor b \(3\)"):
        a * b
    with pytest.raises(RuntimeError, match=r"must match the size of tensor b \(3\)"):
        torch.ones(2) * torch.ones(3)
    with pytest.raises(TypeError):
        a * "x"
    with pytest.raises(TypeError):
        "x" - a
    with pytest.raises(TypeError):
        pow(a, 2, 3)
    with pytest.raises(RuntimeError):
        chaingrad.ones(2, dtype=chaingrad.int64) * (2**70)  # beyond int64: the general path's error


def test_many_wrappers_do_not_leak():
    counts = chaingrad._live_counts()
    x = chaingrad.tensor(1.0, requires_grad=True)
    for _ in range(1000):
        y = x * 2.0 + x
        del y
    del x
    gc.collect()
    after = chaingrad._live_counts()
    assert after["tensors"] == counts["tensors"]
    assert after["nodes"] == counts["nodes"]
