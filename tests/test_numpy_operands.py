"""numpy arrays as operands of tensor operators: results are tensors with the dtypes PyTorch's
have (numpy's promotion), on either side, in place, and differentiable."""

import operator

import numpy as np
import pytest

pytest.importorskip("chaingrad._C")
import chaingrad  # noqa: E402

ARRAYS = [
    np.array([1.0, 2.0]),
    np.array([1, 2]),
    np.array([1.0, 2.0], dtype=np.float32),
    np.array(3.0),
    np.array([True, False]),
]
SCALARS = [np.float64(2.0), np.int64(3), np.float32(0.5)]
TENSORS = [
    lambda lib: lib.tensor([1.0, 2.0]),
    lambda lib: lib.tensor([1, 2]),
    lambda lib: lib.tensor([1.0, 2.0], dtype=lib.float64),
    lambda lib: lib.tensor(2.0),
]
OPS = [operator.add, operator.sub, operator.mul, operator.truediv, operator.pow, operator.eq,
       operator.ne]


def outcome(value):
    return type(value).__name__, str(value.dtype).rsplit(".", 1)[-1], np.asarray(value).tolist()


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::RuntimeWarning")
@pytest.mark.parametrize("op", OPS, ids=lambda o: o.__name__)
def test_tensor_op_ndarray_matches_torch(op):
    torch = pytest.importorskip("torch")
    compared = 0
    for array in ARRAYS + SCALARS:
        for make in TENSORS:
            ours, theirs = make(chaingrad), make(torch)
            if op is operator.truediv and ours.dtype == chaingrad.int64 and array.dtype.kind in "iub":
                continue  # integer true division: float32 here, numpy's float64 in PyTorch
            if op is operator.sub and (array.dtype == np.bool_ or ours.dtype == chaingrad.bool):
                continue
            try:
                result = op(theirs, array)
            except (TypeError, RuntimeError):
                continue  # PyTorch refuses some mixes (e.g. <, >=); chaingrad computes them
            if not isinstance(result, torch.Tensor):
                continue
            expected = outcome(result)
            got = op(ours, array)
            assert isinstance(got, chaingrad.Tensor)
            assert outcome(got)[1:] == expected[1:], (array, ours, op)
            compared += 1
    assert compared >= 10


@pytest.mark.parametrize("op", [operator.add, operator.mul, operator.sub, operator.lt,
                                operator.ge, operator.eq], ids=lambda o: o.__name__)
def test_ndarray_on_the_left_defers_to_the_tensor(op):
    array = np.array([[1.0], [4.0]])
    tensor = chaingrad.tensor([2.0, 3.0])
    got = op(array, tensor)
    assert isinstance(got, chaingrad.Tensor) and got.shape == (2, 2)
    expected = op(array, np.array([2.0, 3.0]))
    assert str(got.dtype) == "chaingrad." + str(expected.dtype)
    np.testing.assert_array_equal(got.numpy(), expected)


def test_gradients_flow_through_ndarray_operands():
    x = chaingrad.tensor([1.0, 2.0], requires_grad=True)
    y = (x * np.array([3.0, 4.0], dtype=np.float32) + np.ones(2, dtype=np.float32)).sum()
    y.backward()
    assert x.grad.tolist() == [3.0, 4.0]
    z = (np.array([2.0]) * x).sum()  # float64 array: the result (and its graph) is float64
    assert z.dtype == chaingrad.float64


def test_in_place_keeps_dtype_and_numpy_scalars_stay_numbers():
    t = chaingrad.zeros(2)
    t += np.array([1.0, 2.0])
    t *= np.array([2, 2])
    assert t.dtype == chaingrad.float32 and t.tolist() == [2.0, 4.0]
    assert (chaingrad.tensor([1, 2]) + np.int64(3)).dtype == chaingrad.int64
    assert (chaingrad.tensor([1.0]) * np.float64(2.0)).dtype == chaingrad.float32
    assert np.exp(chaingrad.tensor([0.0])).tolist() == [1.0]  # ufuncs still see an array
