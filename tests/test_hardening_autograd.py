"""Issue 11, engine classes: what user code hands back to the engine is validated as PyTorch
does it (hooks, node hooks, custom Function.backward), multi-output nodes, custom Function
details, grad-mode decorators, legacy names and devices, save/load of requires_grad.
Each case runs on chaingrad and, when installed, on PyTorch: outcome (value or exception type
and message) must agree."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("chaingrad._C")
import chaingrad  # noqa: E402

try:
    import torch
except ImportError:  # the oracle is optional
    torch = None


def outcome(fn, lib):
    try:
        r = fn(lib)
    except Exception as e:  # noqa: BLE001 - the class and message are what is compared
        return ("raise", type(e).__name__, str(e).replace("chaingrad.", "torch."))
    return ("value", normalize(r))


def normalize(r):
    if isinstance(r, tuple):
        return tuple(normalize(x) for x in r)
    if hasattr(r, "detach") and hasattr(r, "numpy"):
        return ("tensor", r.detach().numpy().tolist(), str(r.dtype).split(".")[-1])
    return r


def check(fn, expected=None):
    got = outcome(fn, chaingrad)
    if torch is not None:
        assert got == outcome(fn, torch)
    if expected is not None:
        assert got[0] == "raise" and expected in got[2], got
    return got


# ------------------------------------------------------------------ hooks handing back gradients
def _mul(lib):
    x = lib.ones(3, requires_grad=True)
    y = lib.ones(3, requires_grad=True)
    return x, y, x * y


HOOK_CASES = {
    "tensor_size": lambda lib: _tensor_hook(lib, lambda g: lib.ones(2)),
    "tensor_size_1x3": lambda lib: _tensor_hook(lib, lambda g: g.reshape(1, 3)),
    "tensor_dtype": lambda lib: _tensor_hook(lib, lambda g: g.double()),
    "tensor_not_tensor": lambda lib: _tensor_hook(lib, lambda g: 3),
    "tensor_list": lambda lib: _tensor_hook(lib, lambda g: [g]),
    "tensor_none_keeps": lambda lib: _tensor_hook(lib, lambda g: None),
    "leaf_size": lambda lib: _leaf_hook(lib, lambda g: lib.ones(2)),
    "leaf_dtype": lambda lib: _leaf_hook(lib, lambda g: g.double()),
    "post_size": lambda lib: _post_hook(lib, lambda gi, go: (lib.ones(2), gi[1])),
    "post_dtype": lambda lib: _post_hook(lib, lambda gi, go: (gi[0].double(), gi[1])),
    "post_elem": lambda lib: _post_hook(lib, lambda gi, go: (5, gi[1])),
    "post_list": lambda lib: _post_hook(lib, lambda gi, go: [gi[0], gi[1]]),
    "post_count": lambda lib: _post_hook(lib, lambda gi, go: (gi[0],)),
    "post_none": lambda lib: _post_hook(lib, lambda gi, go: (None, gi[1])),
    "post_scale": lambda lib: _post_hook(lib, lambda gi, go: (gi[0] * 3, gi[1])),
    "pre_dtype": lambda lib: _pre_hook(lib, lambda go: (go[0].double(),)),
    "pre_int": lambda lib: _pre_hook(lib, lambda go: 5),
    "pre_tensor": lambda lib: _pre_hook(lib, lambda go: go[0]),
    "pre_count": lambda lib: _pre_hook(lib, lambda go: (go[0], go[0])),
    "pre_scale": lambda lib: _pre_hook(lib, lambda go: (go[0] * 2,)),
}


def _tensor_hook(lib, hook):
    x, y, z = _mul(lib)
    z.register_hook(hook)
    z.sum().backward()
    return x.grad


def _leaf_hook(lib, hook):
    x = lib.ones(3, requires_grad=True)
    x.register_hook(hook)
    (x * 2).sum().backward()
    return x.grad


def _post_hook(lib, hook):
    x, y, z = _mul(lib)
    z.grad_fn.register_hook(hook)
    z.sum().backward()
    return x.grad


def _pre_hook(lib, hook):
    x, y, z = _mul(lib)
    z.grad_fn.register_prehook(hook)
    z.sum().backward()
    return x.grad


@pytest.mark.parametrize("case", sorted(HOOK_CASES))
def test_hook_results_are_validated(case):
    check(HOOK_CASES[case])


def test_hook_messages():
    check(HOOK_CASES["tensor_size"], "hook '<lambda>' has changed the size of value")
    check(HOOK_CASES["tensor_not_tensor"], "expected Variable, but hook returned 'int'")
    check(HOOK_CASES["leaf_dtype"], "has changed the type of value (was torch.FloatTensor got torch.DoubleTensor)")


# ------------------------------------------------------------------ custom Function.backward
def _function(lib, result, nargs=1):
    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, *rest):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return result(lib, g)

    x = lib.ones(3, requires_grad=True)
    rest = [lib.ones(3) if i % 2 == 0 else 2 for i in range(nargs - 1)]
    y = F.apply(x, *rest)
    (y * x).sum().backward()
    return x.grad


FUNCTION_CASES = {
    "shape": lambda lib: _function(lib, lambda lib, g: lib.ones(2)),
    "scalar_shape": lambda lib: _function(lib, lambda lib, g: g.sum()),
    "expanded_is_summed": lambda lib: _function(lib, lambda lib, g: g.expand(2, 3)),
    "dtype_cast": lambda lib: _function(lib, lambda lib, g: g.double()),
    "int_dtype_cast": lambda lib: _function(lib, lambda lib, g: lib.ones(3, dtype=lib.int64)),
    "not_tensor": lambda lib: _function(lib, lambda lib, g: 3),
    "string": lambda lib: _function(lib, lambda lib, g: "abc"),
    "list": lambda lib: _function(lib, lambda lib, g: [g]),
    "too_many": lambda lib: _function(lib, lambda lib, g: (g, g, g), nargs=2),
    "too_few": lambda lib: _function(lib, lambda lib, g: (g,), nargs=2),
    "trailing_none": lambda lib: _function(lib, lambda lib, g: (g, g, None, None), nargs=2),
    "extra_not_none": lambda lib: _function(lib, lambda lib, g: (g, None, g)),
    "grad_for_non_tensor": lambda lib: _function(lib, lambda lib, g: (g, None, 5), nargs=3),
}


@pytest.mark.parametrize("case", sorted(FUNCTION_CASES))
def test_function_backward_results_are_validated(case):
    check(FUNCTION_CASES[case])


def test_function_messages():
    check(FUNCTION_CASES["shape"], "Function FBackward returned an invalid gradient at index 0 - got [2] but "
                                   "expected shape compatible with [3]")
    check(FUNCTION_CASES["too_many"],
          "function FBackward returned an incorrect number of gradients (expected 2, got 3)")
    check(FUNCTION_CASES["not_tensor"], "expected Variable or None (got int)")
    assert check(FUNCTION_CASES["dtype_cast"])[1][2] == "float32"


# ------------------------------------------------------------------ multi-output nodes
def test_output_nr_and_hook_called_with_none():
    for lib in filter(None, (chaingrad, torch)):
        x = lib.ones(4, requires_grad=True)
        a, b = x.split(2)
        assert (a.output_nr, b.output_nr, x.output_nr, (x * 2).output_nr) == (0, 1, 0, 0)
        seen = []
        a.register_hook(seen.append)
        b.sum().backward(retain_graph=True)
        assert seen == [None]
        np.testing.assert_array_equal(x.grad.numpy(), [0, 0, 1, 1])
        a.register_hook(lambda g, lib=lib: lib.zeros(2))
        with pytest.raises(RuntimeError, match="can't replace a None gradient with a non-None value"):
            b.sum().backward()


MULTI_VIEW_CASES = {
    "unbind": lambda lib, u: u.unbind()[0].add_(1),
    "chunk": lambda lib, u: u.chunk(2)[1].mul_(2),
    "split_sizes": lambda lib, u: u.split([1, 2])[0].zero_(),
    "setitem_view_of_split": lambda lib, u: u.split(2)[0].__setitem__(0, 1.0),
    "unbind_dim1_copy": lambda lib, u: u.unbind(1)[0].copy_(lib.ones(3)),
    "leaf_unbind": lambda lib, u: lib.ones(3, 2, requires_grad=True).unbind()[0].add_(1),
    "no_grad_source": lambda lib, u: lib.ones(3, 2).unbind()[0].add_(1).sum(),
}


@pytest.mark.parametrize("case", sorted(MULTI_VIEW_CASES))
def test_inplace_on_multi_view_outputs(case):
    def run(lib):
        u = lib.ones(3, 2, requires_grad=True).clone()
        return MULTI_VIEW_CASES[case](lib, u)

    check(run)


def test_multi_output_gradients_first_and_second_order():
    def run(lib):
        w = lib.arange(6.0).reshape(3, 2).requires_grad_()
        a, b = w.chunk(2, dim=1)
        p, q, r = w.unbind()
        (g,) = lib.autograd.grad((a * b).sum() + (p * r).sum(), w, create_graph=True)
        (h,) = lib.autograd.grad((g * g).sum(), w)
        return g, h

    check(run)


# ------------------------------------------------------------------ custom Function details
def test_mark_dirty_returns_the_input_object():
    for lib in filter(None, (chaingrad, torch)):
        class Dirty(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                x.mul_(2)
                ctx.mark_dirty(x)
                return x

            @staticmethod
            def backward(ctx, g):
                return g * 2

        a = lib.ones(3, requires_grad=True)
        b = a.clone()
        v0 = b._version
        y = Dirty.apply(b)
        assert y is b and b.grad_fn.name() == "DirtyBackward" and b._version > v0
        y.sum().backward()
        np.testing.assert_array_equal(a.grad.numpy(), [2, 2, 2])
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad has been used in an in-place"):
            Dirty.apply(lib.ones(3, requires_grad=True))
        c = lib.ones(3)
        assert Dirty.apply(c) is c


def test_function_ctx_behaviour():
    def run(lib):
        class Mat(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, k=2):
                ctx.set_materialize_grads(False)
                return x * 1, x * k

            @staticmethod
            def backward(ctx, g1, g2):
                return (g2 if g1 is None else g1), None

        class Setup(lib.autograd.Function):
            @staticmethod
            def forward(x, k):
                return x * k

            @staticmethod
            def setup_context(ctx, inputs, output):
                ctx.k = inputs[1]
                ctx.save_for_backward(inputs[0])

            @staticmethod
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return g * ctx.k * x, None

        a = lib.ones(2, requires_grad=True)
        y1, y2 = Mat.apply(a, k=3)
        y2.sum().backward()
        Setup.apply(a, 3.0).sum().backward()
        return a.grad

    check(run)


def test_legacy_function_call_raises():
    def run(lib):
        class F(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x

        return F()(lib.ones(2))

    check(run, "Legacy autograd function with non-static forward method is deprecated")


# ------------------------------------------------------------------ grad-mode decorators
@pytest.mark.parametrize("libname", ["chaingrad", "torch"])
def test_grad_mode_decorators_bare_and_on_generators(libname):
    lib = chaingrad if libname == "chaingrad" else torch
    if lib is None:
        pytest.skip("torch not installed")
    if True:
        @lib.no_grad
        def bare():
            return lib.is_grad_enabled()

        @lib.enable_grad
        def bare_enable():
            return lib.is_grad_enabled()

        @lib.inference_mode
        def bare_inference():
            return lib.is_grad_enabled(), lib.is_inference_mode_enabled()

        @lib.no_grad()
        def gen():
            for _ in range(3):
                yield lib.is_grad_enabled()

        assert bare() is False and bare.__name__ == "bare"
        assert bare_inference() == (False, True)
        with lib.no_grad():
            assert bare_enable() is True
        g = gen()
        assert next(g) is False and lib.is_grad_enabled()
        assert g.send(None) is False and lib.is_grad_enabled()
        assert list(g) == [False]


# ------------------------------------------------------------------ legacy names and devices
DEVICE_CASES = {
    "repr": lambda lib: (repr(lib.device("cpu")), str(lib.device("cpu", 0)), repr(lib.device("cpu:0"))),
    "eq": lambda lib: (lib.device("cpu") == lib.device("cpu"), lib.zeros(1).device == lib.device("cpu")),
    "tensor_device": lambda lib: repr(lib.zeros(2).device),
    "factory_cpu": lambda lib: lib.ones(2, device=lib.device("cpu")).to(lib.device("cpu")).to(device="cpu"),
    "factory_cuda": lambda lib: lib.zeros(2, device="cuda"),
    "to_cuda": lambda lib: lib.zeros(2).to("cuda:0"),
    "tensor_cuda": lambda lib: lib.tensor([1.0], device=lib.device("cuda")),
    "method_cuda": lambda lib: lib.zeros(2).cuda(),
    "bad_type": lambda lib: lib.device("foo"),
    "bad_string": lambda lib: lib.device("cpu:x"),
    "to_mps": lambda lib: lib.zeros(2).to("mps"),
    "cuda_available": lambda lib: (lib.cuda.is_available(), lib.cuda.device_count()),
    "default_device": lambda lib: _default_device(lib),
    "variable": lambda lib: _variable(lib),
}


def _default_device(lib):
    # torch keeps a global device mode once set: reset it so later tests see the default state
    try:
        lib.set_default_device("cpu")
        return repr(lib.get_default_device())
    finally:
        lib.set_default_device(None)


def _variable(lib):
    v = lib.autograd.Variable(lib.ones(2), requires_grad=True)
    (v * 2).sum().backward()
    return type(v).__name__, v.requires_grad, v.is_leaf, v.grad, lib.autograd.Variable(lib.ones(1)).requires_grad


@pytest.mark.parametrize("case", sorted(DEVICE_CASES))
def test_devices_and_legacy_names(case):
    check(DEVICE_CASES[case])


# ------------------------------------------------------------------ save / load
def test_save_load_keeps_requires_grad():
    import io

    for lib in filter(None, (chaingrad, torch)):
        x = lib.ones(3, requires_grad=True)
        buf = io.BytesIO()
        lib.save({"x": x, "y": x * 2, "w": lib.ones(2)}, buf)
        back = lib.load(io.BytesIO(buf.getvalue()))
        assert [(t.requires_grad, t.is_leaf) for t in back.values()] == [(True, True), (True, True), (False, True)]
        (back["y"] * 3).sum().backward()
        np.testing.assert_array_equal(back["y"].grad.numpy(), [3, 3, 3])
