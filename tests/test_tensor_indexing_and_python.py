"""Indexing (getitem / setitem against numpy), threading (results independent of the thread
count, the GIL released safely), the Python operators, printing, error types and messages, and
a crash fuzz run in a subprocess, all against PyTorch (the oracle).

Known differences from PyTorch are expected failures, as test_tensor_core.py describes.
"""

from __future__ import annotations

import operator
import os
import subprocess
import sys
import textwrap
from typing import Any, Callable, Optional

import chaingrad
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tensor_core_util import (  # noqa: E402
    LAYOUTS,
    NUMERIC,
    assert_close,
    cg,
    data,
    dname,
    npy,
    outcome,
    same_storage_torch,
    strided,
    th,
)


@pytest.fixture
def restore_threads():
    n = chaingrad.get_num_threads()
    yield
    chaingrad.set_num_threads(n)


# ============================================================================ indexing
A_NP = np.arange(60).reshape(3, 4, 5)
INDICES = {
    "int": 0, "neg_int": -1, "slice": slice(1, 3), "step": slice(None, None, 2), "full": slice(None),
    "none": None, "ellipsis": Ellipsis, "ints": (0, 1), "slice_int": (slice(None), 1), "ell_int": (Ellipsis, 2),
    "none_int_none": (None, 0, None), "int_step_neg": (0, slice(1, None, 2), -1), "list": [0, 2],
    "slice_list": (slice(None), [0, 3]), "two_lists": ([0, 2], [1, 3]), "broadcast_lists": ([[0], [2]], [1, 3]),
    "slice_two_lists": (slice(None), [0, 1], [2, 3]), "separated_lists": ([0, 1], slice(None), [2, 3]),
    "int_list_slice": (0, [1, 2], slice(None)), "mask_dim0": np.array([True, False, True]),
    "mask_dim1": (slice(None), np.array([True, False, True, False])), "mask_full": A_NP % 3 == 0,
    "mask_2d": (A_NP.sum(2) % 2 == 0), "ell_list": (Ellipsis, [0, 1]), "none_list": (None, [0, 1]),
    "int_none_ell_none": (1, None, Ellipsis, None), "clamped_slice": slice(-10, 10), "empty_slice": slice(2, 1),
    "past_end": slice(5, None), "true": True, "false": False, "all_ints": (0, 0, 0), "neg_ints": (-3, -4, -5),
    "neg_list": [-1, -3], "list_2d": [[0, 1], [2, 2]], "mask_and_int": (1, np.array([True, False, False, True])),
}


def _convert_index(m: Any, k: Any, as_tensor: bool) -> Any:
    if isinstance(k, tuple):
        return tuple(_convert_index(m, x, as_tensor) for x in k)
    if isinstance(k, np.ndarray):
        return th(k) if m is torch else cg(k)
    if isinstance(k, list) and as_tensor:
        return m.tensor(k)
    return k


@pytest.mark.parametrize("name", list(INDICES))
@pytest.mark.parametrize("as_tensor", [False, True], ids=["py", "tensor"])
def test_getitem_vs_numpy(name: str, as_tensor: bool) -> None:
    k = INDICES[name]
    expected = A_NP[k]
    for layout in LAYOUTS:
        x = LAYOUTS[layout](A_NP)
        got = x[_convert_index(chaingrad, k, as_tensor)]
        assert tuple(got.shape) == expected.shape, layout
        np.testing.assert_array_equal(npy(got), expected)
        assert dname(got) == "int64"
    # Basic indexing gives views (shared memory), advanced indexing copies, as in PyTorch.
    if name in ("true", "false"):
        pytest.xfail("bindings/ops difference: x[True] is a view in chaingrad but a copy in PyTorch "
                     "(a bool scalar index is advanced indexing there)")
    xt, xc = th(A_NP), cg(A_NP)
    rt, rc = xt[_convert_index(torch, k, as_tensor)], xc[_convert_index(chaingrad, k, as_tensor)]
    assert (rc._storage_id() == xc._storage_id()) == same_storage_torch(rt, xt)


@pytest.mark.parametrize("name", list(INDICES))
@pytest.mark.parametrize("as_tensor", [False, True], ids=["py", "tensor"])
def test_setitem_vs_numpy(name: str, as_tensor: bool) -> None:
    k = INDICES[name]
    # A scalar, and a tensor of the indexed shape.
    expected = A_NP.copy()
    expected[k] = -7
    x = strided(A_NP)
    v = x._version
    x[_convert_index(chaingrad, k, as_tensor)] = -7
    np.testing.assert_array_equal(npy(x), expected)
    assert x._version == v + 1
    sub_shape = A_NP[k].shape
    values = -np.arange(int(np.prod(sub_shape))).reshape(sub_shape) - 1
    expected = A_NP.copy()
    expected[k] = values
    x = cg(A_NP)
    x[_convert_index(chaingrad, k, as_tensor)] = cg(values)
    np.testing.assert_array_equal(npy(x), expected)


def test_setitem_broadcast_and_convert() -> None:
    x = chaingrad.zeros(3, 4)
    x[:, 1:3] = chaingrad.tensor([1.0, 2.0])  # broadcast over rows
    x[0] = chaingrad.tensor([5, 6, 7, 8])  # int64 values into a float32 tensor
    x[2] = [9, 9, 9, 9]  # a list
    x[x == 2] = 3.5
    expected = np.zeros((3, 4), np.float32)
    expected[:, 1:3] = [1, 2]
    expected[0] = [5, 6, 7, 8]
    expected[2] = 9
    expected[expected == 2] = 3.5
    np.testing.assert_array_equal(npy(x), expected)
    assert x.dtype == chaingrad.float32
    y = chaingrad.zeros(2, 3, dtype=chaingrad.int64)
    y[0, 1] = 2.7  # truncated like PyTorch
    assert y.tolist() == torch.zeros(2, 3, dtype=torch.int64).index_put_((torch.tensor(0), torch.tensor(1)),
                                                                          torch.tensor(2.7).long()).tolist()
    kt, _ = outcome(lambda: torch.zeros(3).__setitem__(slice(None), torch.ones(2)))
    kc, _ = outcome(lambda: chaingrad.zeros(3).__setitem__(slice(None), chaingrad.ones(2)))
    assert kt == kc == "RuntimeError"


@pytest.mark.xfail(strict=True, reason="bindings bug (csrc/python/register_tensor_ops.cpp to_index): an empty "
                                       "list index becomes a float32 tensor and is rejected; PyTorch treats "
                                       "x[[]] as an empty integer index")
def test_getitem_empty_list() -> None:
    assert tuple(chaingrad.zeros(3, 4)[[]].shape) == (0, 4)


@pytest.mark.parametrize("key", [3, -4, (0, 4), (0, 0, 5), (0, 0, 0, 0), [5], ([0], [9]), (slice(None), 5),
                                 "a", 1.5, (0, "x"), {1: 2}, object()],
                         ids=lambda k: repr(k)[:20])
def test_getitem_errors(key: Any) -> None:
    kt, mt = outcome(lambda: th(A_NP)[key])
    kc, mc = outcome(lambda: cg(A_NP)[key])
    assert kt != "ok"
    assert kc in ("IndexError", "TypeError"), mc
    if kt == "IndexError" and isinstance(key, (int, list, tuple)):
        assert kc == "IndexError", mc
    kc2, mc2 = outcome(lambda: cg(A_NP).__setitem__(key, 1))
    assert kc2 in ("IndexError", "TypeError"), mc2


def test_index_error_messages() -> None:
    x = chaingrad.zeros(3, 4)
    with pytest.raises(IndexError, match="index 3 is out of bounds for dimension 0 with size 3"):
        x[3]
    with pytest.raises(IndexError, match="too many indices"):
        x[0, 0, 0]
    with pytest.raises(IndexError):
        x[chaingrad.tensor([0, 7])]
    with pytest.raises(IndexError):
        x[chaingrad.tensor([True, False])]


# ============================================================================ threads
def _thread_workloads(a: chaingrad.Tensor, b: chaingrad.Tensor) -> dict:
    return {
        "exp": lambda: a.exp(), "add_bcast": lambda: a + b, "t_add": lambda: a.t() + 1, "sum": lambda: a.sum(),
        "sum0": lambda: a.sum(0), "sum1": lambda: a.sum(1), "mean": lambda: a.mean(), "max1": lambda: a.max(1)[0],
        "argmax0": lambda: a.argmax(0), "cumsum1": lambda: a.cumsum(1), "var": lambda: a.var(),
        "norm": lambda: a.norm(),
        "where": lambda: chaingrad.where(a > 0, a, b), "clamp": lambda: a.clamp(-1, 1), "lt": lambda: a < b,
        "prod1": lambda: a.prod(1), "mask": lambda: a[a > 0], "sigmoid": lambda: a.sigmoid(),
        "contiguous": lambda: a.t().contiguous(), "softmax": lambda: a.softmax(1), "std0": lambda: a.std(0),
        "setitem": lambda: a.clone().__setitem__(a > 1, 0.0), "add_": lambda: a.clone().add_(1),
        "sum0_big": lambda: a.sum(0, keepdim=True), "copy_dtype": lambda: a.double(),
    }


def test_threads_give_identical_results(restore_threads: None) -> None:
    """Loops above the grain size run on several threads; results must not depend on that."""
    a = cg(data("float32", (700, 1001)))
    b = cg(data("float32", (1001,)))
    results = {}
    for n in (1, 2):
        chaingrad.set_num_threads(n)
        assert chaingrad.get_num_threads() == n
        for name, fn in _thread_workloads(a, b).items():
            r = fn()
            results.setdefault(name, []).append(None if r is None else npy(r).copy())
    for name, (r1, r2) in results.items():
        if r1 is not None:
            np.testing.assert_array_equal(r1, r2, err_msg=name)
    chaingrad.set_num_threads(1)
    mm1 = npy(a @ a.t()).copy()
    chaingrad.set_num_threads(2)
    np.testing.assert_allclose(npy(a @ a.t()), mm1, rtol=1e-5, atol=1e-3)  # BLAS blocking may differ


def test_float64_full_reductions_independent_of_thread_count(restore_threads: None) -> None:
    a = cg(data("float64", (700, 1001)))
    results = []
    for n in (1, 2):
        chaingrad.set_num_threads(n)
        results.append([r.item() for r in (a.sum(), a.mean(), a.var(), a.norm(), (a / 100 + 1).prod(),
                                           a[:, ::2].sum())])
    assert results[0] == results[1]


def test_set_num_threads_validation(restore_threads: None) -> None:
    with pytest.raises(RuntimeError, match="positive"):
        chaingrad.set_num_threads(0)
    with pytest.raises(RuntimeError, match="positive"):
        chaingrad.set_num_threads(-3)
    with pytest.raises(TypeError):
        chaingrad.set_num_threads(1.5)
    chaingrad.set_num_threads(3)
    assert chaingrad.get_num_threads() == 3


def test_large_inplace_and_dim_reductions_release_the_gil_safely() -> None:
    """Above 65536 elements the bindings drop the GIL; argument parsing must still be safe."""
    x = chaingrad.ones(300_000)
    x.add_(1)
    x.sub_(1, alpha=0.5)
    assert x[0].item() == 1.5
    assert x.sum(0).item() == 450_000.0
    assert x.mean(0).item() == 1.5
    assert x.reshape(600, 500).sum((0, 1)).item() == 450_000.0


# ============================================================================ Python operators
OPERATORS = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul, "truediv": operator.truediv,
    "pow": operator.pow, "matmul": operator.matmul, "lt": operator.lt, "le": operator.le, "gt": operator.gt,
    "ge": operator.ge, "eq": operator.eq, "ne": operator.ne,
}


@pytest.mark.parametrize("name", list(OPERATORS))
def test_operators_and_reflected_match_torch(name: str) -> None:
    op = OPERATORS[name]
    a, b = data("float32", (3, 3)), np.abs(data("float32", (3, 3))) + 0.5
    assert_close(op(cg(a), cg(b)), op(th(a), th(b)).numpy(), rtol=1e-6)
    if name != "matmul":
        for s in ((2, 2.5) if name == "sub" else (2, 2.5, True)):  # bool - tensor raises in PyTorch
            assert_close(op(cg(b), s), op(th(b), s).numpy(), rtol=1e-6)
            assert_close(op(s, cg(b)), op(s, th(b)).numpy(), rtol=1e-6)
    assert_close(-cg(a), -a)
    assert_close(+cg(a), a)
    assert_close(abs(cg(a)), np.abs(a))


@pytest.mark.parametrize("op, iop", [(operator.add, operator.iadd), (operator.sub, operator.isub),
                                     (operator.mul, operator.imul), (operator.truediv, operator.itruediv),
                                     (operator.pow, operator.ipow)])
@pytest.mark.parametrize("dtype", NUMERIC)
@pytest.mark.parametrize("other", ["scalar_int", "scalar_float", "tensor_same", "tensor_bcast", "tensor_float64"])
def test_inplace_operators(op: Callable, iop: Callable, dtype: str, other: str) -> None:
    """`x op= y` writes into x's memory (identity, storage and views kept) unless the result
    type cannot be cast back, which PyTorch refuses with a RuntimeError."""
    a = np.abs(data(dtype, (3, 4))) + 1
    o = {"scalar_int": 2, "scalar_float": 1.5, "tensor_same": np.abs(data(dtype, (3, 4))) + 1,
         "tensor_bcast": np.abs(data(dtype, (4,))) + 1, "tensor_float64": np.abs(data("float64", (3, 4))) + 1}[other]
    xt, xc = th(a), cg(a)
    ot, oc = (th(o), cg(o)) if isinstance(o, np.ndarray) else (o, o)
    view_c = xc[1]
    kt, rt = outcome(lambda: iop(xt, ot))
    ident, ptr, storage = id(xc), xc.data_ptr(), xc._storage_id()
    kc, rc = outcome(lambda: iop(xc, oc))
    if kc != kt and iop is operator.isub and dtype == "int64" and other == "scalar_int":
        pytest.xfail("ops bug (csrc/ops/inplace.cpp sub_(Tensor&, Scalar)): int64 tensor -= 1 raises \"result type "
                     "Float can't be cast to the desired output type Long\"; PyTorch computes it")
    assert kc == kt, (rc, rt)
    if kt != "ok":
        return
    assert id(rc) == ident and rc.data_ptr() == ptr and rc._storage_id() == storage
    assert dname(rc) == dname(rt)
    assert_close(rc, rt.numpy(), rtol=1e-6)
    assert_close(view_c, rt.numpy()[1], rtol=1e-6)


def test_operator_with_unsupported_types() -> None:
    x = chaingrad.ones(2)
    for bad in ("a", None, object(), {1: 2}):
        for op in (operator.add, operator.mul, operator.truediv, operator.lt):
            with pytest.raises(TypeError):
                op(x, bad)
            with pytest.raises(TypeError):
                op(bad, x)
    assert (x == None) is False and (x != None) is True  # noqa: E711 - Python's identity fallback, as PyTorch
    with pytest.raises(TypeError):
        x @ 2


# ============================================================================ repr / str
STR_CASES = [
    "m.tensor([0., 4., 8., 12.])", "m.tensor(28.)", "m.tensor(3)", "m.tensor(True)", "m.tensor([1, 2, 3])",
    "m.tensor([1.5, 2], dtype=m.float64)", "m.tensor(5, dtype=m.float64)", "m.arange(12).reshape(3, 4)",
    "m.arange(12.).reshape(3, 4) / 7", "m.zeros(0)", "m.zeros(2, 0, 3)", "m.zeros(0, dtype=m.int64)",
    "m.tensor([True, False])", "m.tensor([1e10, 1.])", "m.tensor([1e-10, 1.])",
    "m.tensor([float('nan'), float('inf'), -float('inf'), 1.])", "m.arange(2000.)", "m.arange(24.).reshape(2, 3, 4)",
    "m.tensor([1., 2.], requires_grad=True)", "m.tensor([1., 2.], requires_grad=True) * 2", "m.tensor(1e20)",
    "m.tensor(-0.)", "m.tensor([123456789.])", "m.tensor([0.1, 0.25])", "m.tensor([1, 2], dtype=m.float64) * 1e-5",
    "m.arange(10.).reshape(2, 5).t()", "m.tensor([[1.5]])", "m.ones(3, 3, dtype=m.bool)", "m.tensor(-5)",
    "m.tensor([100000, -3])", "m.arange(1500).reshape(500, 3)", "m.tensor([[]])", "m.tensor(2.).sum()",
    "m.arange(6.).reshape(2, 3)[:, ::2]",
]


@pytest.mark.parametrize("expr", STR_CASES)
def test_str_and_repr_match_torch(expr: str) -> None:
    t = eval(expr, {"m": torch})  # noqa: S307 - fixed test expressions
    c = eval(expr, {"m": chaingrad})  # noqa: S307
    assert str(c) == str(t).replace("torch", "chaingrad")
    assert repr(c) == repr(t).replace("torch", "chaingrad")


def test_repr_examples_from_the_docs() -> None:
    assert str(chaingrad.arange(4.0) * 4) == "tensor([ 0.,  4.,  8., 12.])"
    assert str(chaingrad.tensor([0.0, 4.0, 8.0, 12.0])) == "tensor([ 0.,  4.,  8., 12.])"
    assert str(chaingrad.tensor(28.0)) == "tensor(28.)"
    assert repr(chaingrad.tensor([1, 2], dtype=chaingrad.float64)) == "tensor([1., 2.], dtype=chaingrad.float64)"
    assert repr(chaingrad.zeros(2, 3).shape) == "chaingrad.Size([2, 3])"


# ============================================================================ errors
def test_broadcast_error_names_both_shapes() -> None:
    with pytest.raises(RuntimeError) as info:
        chaingrad.zeros(2, 3) + chaingrad.zeros(3, 2)
    msg = "\n".join([str(info.value), *getattr(info.value, "__notes__", [])])
    assert str(info.value) == (
        "The size of tensor a (3) must match the size of tensor b (2) at non-singleton dimension 1")
    assert "[2, 3]" in msg and "[3, 2]" in msg
    with pytest.raises(RuntimeError, match=r"\[4\].*\[5\]"):
        chaingrad.where(chaingrad.zeros(4) > 0, chaingrad.zeros(4), chaingrad.zeros(5))


@pytest.mark.parametrize("call, exc, match", [
    (lambda: chaingrad.zeros(2, dtype="x"), TypeError, "dtype"),
    (lambda: chaingrad.zeros(2.5), TypeError, None),
    (lambda: chaingrad.zeros(-1), RuntimeError, "negative dimension"),
    (lambda: chaingrad.zeros(2, 3).view(1.5, 4), TypeError, None),
    (lambda: chaingrad.zeros(2, 3).reshape(-1, -1), RuntimeError, "only one dimension can be inferred"),
    (lambda: chaingrad.zeros(2, 3).view(7), RuntimeError, "invalid for input of size 6"),
    (lambda: chaingrad.zeros(2, 3).sum(dim="a"), TypeError, None),
    (lambda: chaingrad.zeros(2, 3).sum(dim=5), IndexError, "Dimension out of range"),
    (lambda: chaingrad.zeros(2, 3).transpose(0, 1.5), TypeError, None),
    (lambda: chaingrad.zeros(2, 3).to("cuda"), AssertionError, "Torch not compiled with CUDA enabled"),
    (lambda: chaingrad.zeros(2, 3).to(5), TypeError, None),
    (lambda: chaingrad.zeros(2, 3).item(), RuntimeError, "a Tensor with 6 elements cannot be converted to Scalar"),
    (lambda: float(chaingrad.zeros(2)), ValueError, "only one element tensors"),
    (lambda: bool(chaingrad.zeros(2)), RuntimeError, "ambiguous"),
    (lambda: len(chaingrad.tensor(1.0)), TypeError, "len\\(\\) of a 0-d tensor"),
    (lambda: chaingrad.tensor([[1, 2], [3]]), ValueError, r"expected sequence of length 2 at dim 1 \(got 1\)"),
    (lambda: chaingrad.tensor([1, 2]).sqrt_(), (RuntimeError, TypeError), None),
    (lambda: chaingrad.tensor([1, 2]).__iadd__(1.5), RuntimeError, "can't be cast"),
    (lambda: chaingrad.arange(0, 10, 0), RuntimeError, "step must be nonzero"),
    (lambda: chaingrad.empty(2**62), RuntimeError, "overflow"),
    (lambda: chaingrad.zeros(2**31, 2**31), RuntimeError, "overflow"),
    (lambda: chaingrad.ones(3) + 2**70, RuntimeError, "Overflow"),
    (lambda: chaingrad.tensor(1.0).expand(2**40, 2**40) + 1, RuntimeError, "overflow"),
    (lambda: chaingrad.eye(-2), RuntimeError, None),
    (lambda: chaingrad.linspace(0, 1, -1), RuntimeError, None),
])
def test_errors_have_the_right_type_and_reason(call: Callable[[], Any], exc: Any, match: Optional[str]) -> None:
    with pytest.raises(exc, match=match):
        call()


# ---- crash fuzz: a few hundred random calls with odd arguments in a subprocess -------------------
_FUZZ_SCRIPT = textwrap.dedent(r"""
    import random, sys, warnings
    warnings.simplefilter("ignore")
    import numpy as np
    import chaingrad as cg
    seed, n = int(sys.argv[1]), int(sys.argv[2])
    rng = random.Random(seed)
    ODD = [None, "abc", 2**62, 2**63, -1, -2**40, 1.5, float("nan"), float("inf"), (), [], [2, -3], (2**31, 2**31),
           [[1], [2, 3]], True, 0, 1, 3, -3, (0, 1), [0, 5], slice(None, None, -1), Ellipsis, object(), {1: 2},
           np.array([1, 2]), np.zeros((2, 2), np.int32), np.float64(2.5), b"x", 1j]
    def tensors():
        return [cg.zeros(2, 3), cg.arange(6).reshape(2, 3), cg.tensor(1.5), cg.zeros(0, 3),
                cg.ones(3, 1, dtype=cg.bool), cg.arange(24.).reshape(2, 3, 4).transpose(0, 2), cg.randn(4),
                cg.arange(10.)[::3], cg.tensor([1.0, 2.0], requires_grad=True)]
    def odd():
        r = rng.random()
        if r < 0.15:
            return rng.choice(tensors())
        return rng.choice(ODD)
    FACTORIES = ["zeros", "ones", "empty", "full", "arange", "linspace", "eye", "rand", "randn", "randint", "tensor",
                 "from_numpy", "from_dlpack", "zeros_like", "ones_like", "full_like", "empty_like", "rand_like",
                 "cat", "stack", "where", "randperm", "as_tensor", "Size", "manual_seed", "set_num_threads"]
    METHODS = sorted(m for m in dir(cg.Tensor)
                     if (not m.startswith("_") or m in ("__getitem__", "__setitem__", "__add__", "__radd__",
                         "__sub__", "__rsub__", "__mul__", "__matmul__", "__rmatmul__", "__pow__", "__rpow__",
                         "__truediv__", "__rtruediv__", "__lt__", "__eq__", "__array__", "__dlpack__", "__len__",
                         "__iter__", "__float__", "__int__", "__index__", "__bool__", "__format__", "__neg__"))
                     and m not in ("backward", "register_hook", "register_post_accumulate_grad_hook",
                     "data", "grad", "_base", "retain_grad", "normal_", "uniform_", "_make_subclass", "_set_name"))
    EXPECTED = (TypeError, ValueError, RuntimeError, IndexError, OverflowError, AttributeError,
                NotImplementedError, ZeroDivisionError, BufferError, KeyError, MemoryError, StopIteration,
                AssertionError)  # AssertionError: "Torch not compiled with CUDA enabled", as PyTorch
    for i in range(n):
        args = [odd() for _ in range(rng.randrange(4))]
        kwargs = {}
        if rng.random() < 0.15:
            kwargs[rng.choice(["dim", "dtype", "keepdim", "out", "alpha", "requires_grad"])] = odd()
        name = rng.choice(FACTORIES) if rng.random() < 0.3 else rng.choice(METHODS)
        print(i, name, repr(args)[:120], repr(kwargs)[:60], file=sys.stderr, flush=True)
        try:
            # (inside the try: properties such as mT may raise)
            f = getattr(cg, name) if name in FACTORIES else getattr(rng.choice(tensors()), name)
            if not callable(f):
                continue
            r = f(*args, **kwargs)
            if hasattr(r, "numel") and callable(r.numel) and r.numel() < 10000:
                repr(r)
                if hasattr(r, "sum"):
                    r.sum()
        except EXPECTED:
            pass
    cg.set_num_threads(2)
    print("fuzz-done")
""")


def _python_env() -> dict:
    env = dict(os.environ)
    pkg = os.path.dirname(os.path.dirname(os.path.abspath(chaingrad.__file__)))
    env["PYTHONPATH"] = pkg + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("OMP_NUM_THREADS", "2")
    return env


@pytest.mark.parametrize("seed", range(4))
def test_fuzz_no_crash(seed: int) -> None:
    """Random calls (odd arguments: None, strings, huge and negative sizes, floats for ints...) may
    raise, but must never kill the interpreter."""
    proc = subprocess.run([sys.executable, "-c", _FUZZ_SCRIPT, str(seed), "150"],
                          capture_output=True, text=True, timeout=120, env=_python_env())
    last = proc.stderr.strip().splitlines()[-3:]
    assert proc.returncode >= 0, f"crashed with signal {-proc.returncode} after: {last}"
    assert proc.returncode == 0 and "fuzz-done" in proc.stdout, proc.stderr[-2000:]


def _crashes(code: str) -> int:
    script = "import chaingrad\ntry:\n    " + code + "\nexcept Exception:\n    pass"
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=_python_env())
    return proc.returncode


@pytest.mark.parametrize("code", [
    "chaingrad.tensor(1.5).stride(0)", "chaingrad.tensor(1.5).size(0)", "chaingrad.randperm(2**62)",
    "chaingrad.arange(2**62)", "chaingrad.randint(0, 5, (2**31, 2**31))", "chaingrad.zeros(2**62, 2**62, 0)",
    "chaingrad.ones(1000, 1003).sum(0)", "chaingrad.ones(100000).add_(1)", "chaingrad.ones(100000).mean(0)",
    "chaingrad.ones(100000).sub_(1, alpha=2)", "chaingrad.tensor(1.5).unbind()", "chaingrad.tensor(1.5).split(1)",
    "chaingrad.tensor(1.5).chunk(2)", "chaingrad.zeros(3).add_(chaingrad.ones(2, 3))",
    "chaingrad.randn(4).div_(chaingrad.zeros(2, 3))", "chaingrad.tensor(1.0).mul_(chaingrad.tensor([True, False]))",
    "chaingrad.zeros(3).copy_(chaingrad.ones(4))",
])
def test_former_crashers_raise_or_work(code: str) -> None:
    """Inputs that once killed the interpreter (out-of-bounds reads/writes, Python calls without
    the GIL, size overflows); each runs in its own process."""
    assert _crashes(code) == 0
