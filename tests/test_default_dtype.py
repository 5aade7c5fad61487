"""``set_default_dtype`` / ``get_default_dtype``: the floating dtype of Python floats, of integer
inputs promoted to float, of creation functions without ``dtype=`` and of nn layers' parameters,
checked against PyTorch's (when installed) side by side."""

import chaingrad as cg
import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _restore_default():
    yield
    cg.set_default_dtype(cg.float32)


# Each case builds a tensor with the module it is given (chaingrad or torch).
CASES = {
    "tensor_float": lambda m: m.tensor(1.5),
    "tensor_list": lambda m: m.tensor([[1.0, 2.0], [3.0, 4.5]]),
    "tensor_mixed_list": lambda m: m.tensor([1, 2.5, True]),
    "tensor_empty_list": lambda m: m.tensor([]),
    "tensor_int_list": lambda m: m.tensor([1, 2]),
    "tensor_bool": lambda m: m.tensor([True]),
    "tensor_np_float32_scalar": lambda m: m.tensor(np.float32(1.5)),
    "tensor_np_float32_in_list": lambda m: m.tensor([np.float32(1.5)]),
    "tensor_np_float32_with_float": lambda m: m.tensor([np.float32(1.5), 2.5]),
    "tensor_np_array_float32": lambda m: m.tensor(np.ones(2, np.float32)),
    "tensor_explicit_float32": lambda m: m.tensor([1.5], dtype=m.float32),
    "as_tensor_list": lambda m: m.as_tensor([1.5, 2.0]),
    "Tensor_sizes": lambda m: m.Tensor(2, 3),
    "Tensor_list": lambda m: m.Tensor([1.0, 2.0]),
    "zeros": lambda m: m.zeros(2, 3),
    "ones": lambda m: m.ones(2),
    "empty": lambda m: m.empty(3),
    "rand": lambda m: m.rand(2),
    "randn": lambda m: m.randn(2, 2),
    "full_float": lambda m: m.full((2,), 1.5),
    "full_int": lambda m: m.full((2,), 2),
    "full_bool": lambda m: m.full((2,), True),
    "arange_int": lambda m: m.arange(3),
    "arange_float": lambda m: m.arange(0.0, 1.0, 0.25),
    "arange_float_step": lambda m: m.arange(0, 2, 0.5),
    "linspace": lambda m: m.linspace(0, 1, 5),
    "eye": lambda m: m.eye(3),
    "randint": lambda m: m.randint(0, 5, (3,)),
    "zeros_like_int": lambda m: m.zeros_like(m.arange(3)),
    "rand_explicit_float32": lambda m: m.rand(2, dtype=m.float32),
    "int_plus_float": lambda m: m.arange(3) + 1.5,
    "int_times_float": lambda m: m.arange(3) * 0.1,
    "int_true_divide": lambda m: m.arange(3) / 2,
    "int_exp": lambda m: m.arange(3).exp(),
    "int_sqrt": lambda m: m.sqrt(m.arange(4)),
    "int_sigmoid": lambda m: m.sigmoid(m.arange(4)),
    "float32_times_float": lambda m: m.ones(2, dtype=m.float32) * 2.5,
    "float32_plus_0d_default": lambda m: m.ones(2, dtype=m.float32) + m.tensor(1.5),
    "where_floats": lambda m: m.where(m.tensor([True, False]), 1.5, 2.5),
    "where_int_and_float": lambda m: m.where(m.tensor([True, False]), m.arange(2), 2.5),
    "linear_weight": lambda m: m.nn.Linear(3, 2).weight,
    "linear_bias": lambda m: m.nn.Linear(3, 2).bias,
    "conv_weight": lambda m: m.nn.Conv1d(1, 2, 3).weight,
    "embedding_weight": lambda m: m.nn.Embedding(4, 2).weight,
    "batchnorm_running_mean": lambda m: m.nn.BatchNorm1d(3).running_mean,
    "layernorm_weight": lambda m: m.nn.LayerNorm(3).weight,
}


@pytest.mark.parametrize("default", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_dtype_matches_torch(name, default):
    torch = pytest.importorskip("torch")
    old = torch.get_default_dtype()
    torch.set_default_dtype(getattr(torch, default))
    try:
        want = str(CASES[name](torch).dtype).split(".")[-1]
    finally:
        torch.set_default_dtype(old)
    cg.set_default_dtype(getattr(cg, default))
    got = str(CASES[name](cg).dtype).split(".")[-1]
    assert got == want


def test_get_default_dtype_follows_set():
    assert cg.get_default_dtype() == cg.float32
    cg.set_default_dtype(cg.float64)
    assert cg.get_default_dtype() == cg.float64
    assert cg.tensor([1.5]).dtype == cg.float64
    cg.set_default_dtype(cg.float32)
    assert cg.get_default_dtype() == cg.float32
    assert cg.tensor([1.5]).dtype == cg.float32


def test_python_floats_keep_double_precision():
    cg.set_default_dtype(cg.float64)
    assert cg.tensor([0.1]).item() == 0.1
    assert cg.tensor([[0.1, 1 / 3]]).numpy()[0, 1] == 1 / 3
    assert cg.full((1,), 0.1).item() == 0.1
    np.testing.assert_array_equal(cg.arange(0.0, 1.0, 0.1).numpy(), np.arange(0.0, 1.0, 0.1))
    assert (cg.arange(3) * 0.1).numpy()[1] == 0.1


@pytest.mark.parametrize("default", ["float16", "bfloat16"])
def test_16_bit_defaults(default):
    torch = pytest.importorskip("torch")
    cg.set_default_dtype(getattr(cg, default))
    old = torch.get_default_dtype()
    torch.set_default_dtype(getattr(torch, default))
    try:
        for make in (lambda m: m.tensor([1.5, 2.0]), lambda m: m.zeros(2), lambda m: m.arange(3) * 1.5):
            assert str(make(cg).dtype).split(".")[-1] == str(make(torch).dtype).split(".")[-1]
        np.testing.assert_array_equal(cg.tensor([1.5, 2.0]).float().numpy(), [1.5, 2.0])
    finally:
        torch.set_default_dtype(old)


def test_repr_omits_the_default_dtype():
    torch = pytest.importorskip("torch")
    makers = [lambda m: m.tensor([1.5]), lambda m: m.tensor([1.5], dtype=m.float32), lambda m: m.tensor([]),
              lambda m: m.tensor([], dtype=m.float32), lambda m: m.tensor([2])]
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        want = [repr(make(torch)).replace("torch.", "chaingrad.") for make in makers]
    finally:
        torch.set_default_dtype(old)
    cg.set_default_dtype(cg.float64)
    assert [repr(make(cg)) for make in makers] == want


@pytest.mark.parametrize("bad", ["int64", "bool", "int32"])
def test_non_float_dtypes_raise_as_torch(bad):
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError) as want:
        torch.set_default_dtype(getattr(torch, bad))
    with pytest.raises(TypeError) as got:
        cg.set_default_dtype(getattr(cg, bad))
    assert str(got.value) == str(want.value) == "only floating-point types are supported as the default type"
    assert cg.get_default_dtype() == cg.float32


@pytest.mark.parametrize("bad", ["float", 1, None])
def test_non_dtype_objects_raise_as_torch(bad):
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError) as want:
        torch.set_default_dtype(bad)
    with pytest.raises(TypeError) as got:
        cg.set_default_dtype(bad)
    assert str(got.value) == str(want.value)


def test_float64_training_step_matches_torch():
    torch = pytest.importorskip("torch")
    cg.set_default_dtype(cg.float64)
    rng = np.random.default_rng(0)
    w0, x0 = rng.standard_normal((2, 3)), rng.standard_normal((4, 3))
    lin = cg.nn.Linear(3, 2)
    with cg.no_grad():
        lin.weight.copy_(cg.tensor(w0))
        lin.bias.zero_()
    loss = (lin(cg.tensor(x0.tolist())).tanh() ** 2).sum()
    loss.backward()
    assert lin.weight.grad.dtype == cg.float64
    tw = torch.tensor(w0, requires_grad=True)
    ((torch.tensor(x0) @ tw.T).tanh() ** 2).sum().backward()
    np.testing.assert_allclose(lin.weight.grad.numpy(), tw.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_the_setting_belongs_to_the_calling_thread():
    # chaingrad keeps no process-wide mutable state: like grad mode, the default is per thread.
    import threading

    seen = []
    cg.set_default_dtype(cg.float64)
    t = threading.Thread(target=lambda: seen.append((cg.get_default_dtype(), cg.tensor([1.5]).dtype)))
    t.start()
    t.join()
    assert seen == [(cg.float32, cg.float32)]
    assert cg.tensor([1.5]).dtype == cg.float64
