"""The autograd engine (issue "Autograd engine"): recording, backward, autograd.grad, higher
order, grad modes, hooks, the leaf/data API, in-place safety, custom Functions, gradcheck and
leaks. Values are checked against central finite differences (float64) and, when PyTorch is
installed, against PyTorch running the same code (``lib`` is either module)."""

from __future__ import annotations

import gc
import threading
import warnings

import numpy as np
import pytest

pytest.importorskip("chaingrad._C")
import chaingrad as cg  # noqa: E402

try:  # the oracle; every comparison with it is skipped when it is missing
    import torch
except ImportError:  # pragma: no cover - depends on the environment
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
LIBS = [cg] + ([torch] if torch is not None else [])
both_libs = pytest.mark.parametrize("lib", LIBS, ids=lambda m: m.__name__)


def npy(t) -> np.ndarray:
    return t.detach().numpy()


def t64(lib, a, requires_grad=False):
    return lib.tensor(np.asarray(a, dtype=np.float64).tolist(), dtype=lib.float64, requires_grad=requires_grad)


def fd_grads(f, arrays, eps=1e-6):
    """Central finite differences of the scalar f(*chaingrad float64 tensors) w.r.t. each array."""
    arrays = [np.array(a, dtype=np.float64) for a in arrays]

    def value(arrs):
        with cg.no_grad():
            return f(*[t64(cg, a) for a in arrs]).item()

    grads = []
    for i, a in enumerate(arrays):
        g = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            plus = [b.copy() for b in arrays]
            minus = [b.copy() for b in arrays]
            plus[i][idx] += eps
            minus[i][idx] -= eps
            g[idx] = (value(plus) - value(minus)) / (2 * eps)
        grads.append(g)
    return grads


def lib_of(t):
    """The module a tensor belongs to (lets one test function run on both libraries)."""
    return cg if isinstance(t, cg.Tensor) else torch


def check_grads(f, arrays, atol=1e-6, rtol=1e-5):
    """Gradients of f from chaingrad's backward == finite differences (== PyTorch when installed).
    An input f does not use keeps .grad None (like PyTorch) and has a zero numerical gradient."""
    xs = [t64(cg, a, requires_grad=True) for a in arrays]
    f(*xs).backward()
    got = [None if x.grad is None else npy(x.grad) for x in xs]
    for g, want in zip(got, fd_grads(f, arrays)):
        np.testing.assert_allclose(np.zeros_like(want) if g is None else g, want, atol=atol, rtol=rtol)
    if torch is not None:
        ts = [t64(torch, a, requires_grad=True) for a in arrays]
        f(*ts).backward()
        for g, tt in zip(got, ts):
            assert (g is None) == (tt.grad is None)
            if g is not None:
                np.testing.assert_allclose(g, tt.grad.numpy(), atol=1e-10, rtol=1e-10)
    return got


def live_nodes() -> int:
    gc.collect()
    return cg._live_counts()["nodes"]


# =============================== 1. recording ===============================================
@both_libs
def test_requires_grad_propagation_and_is_leaf(lib):
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    c = lib.tensor([3.0, 4.0])
    assert x.requires_grad and x.is_leaf and x.grad_fn is None
    assert not c.requires_grad and c.is_leaf
    y = x * c
    assert y.requires_grad and not y.is_leaf and y.grad_fn is not None
    z = c * 2
    assert not z.requires_grad and z.is_leaf and z.grad_fn is None
    with lib.no_grad():
        w = x * 2
    assert not w.requires_grad and w.is_leaf
    assert (y + z).requires_grad and (z + y).requires_grad
    d = y.detach()
    assert not d.requires_grad and d.is_leaf


GRAD_FN_NAMES = [
    ("x + y", "AddBackward0"), ("x * y", "MulBackward0"), ("x ** 2", "PowBackward0"),
    ("x ** y", "PowBackward1"), ("x.sum()", "SumBackward0"), ("x.mean()", "MeanBackward0"),
    ("a.mm(b)", "MmBackward0"), ("x.tanh()", "TanhBackward0"), ("x - y", "SubBackward0"),
    ("x / y", "DivBackward0"), ("x.exp()", "ExpBackward0"), ("x.log()", "LogBackward0"),
    ("x.sigmoid()", "SigmoidBackward0"), ("x.relu()", "ReluBackward0"), ("x.view(3)", "ViewBackward0"),
    ("a.t()", "TBackward0"), ("x[0]", "SelectBackward0"), ("x[1:]", "SliceBackward0"),
    ("a @ b", "MmBackward0"), ("-x", "NegBackward0"), ("x.clone()", "CloneBackward0"),
    ("a.sum(0)", "SumBackward1"), ("x * 2", "MulBackward0"), ("1 - x", "RsubBackward1"),
    ("x.unsqueeze(0)", "UnsqueezeBackward0"), ("x.expand(2, 3)", "ExpandBackward0"),
    ("x.dot(y)", "DotBackward0"), ("x.clamp(0, 1)", "ClampBackward1"),
]


@both_libs
@pytest.mark.parametrize("expr,name", GRAD_FN_NAMES, ids=[e for e, _ in GRAD_FN_NAMES])
def test_grad_fn_names(lib, expr, name):
    x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = lib.tensor([4.0, 5.0, 6.0], requires_grad=True)
    a = lib.ones(2, 3, requires_grad=True)
    b = lib.ones(3, 2, requires_grad=True)
    fn = eval(expr, {"x": x, "y": y, "a": a, "b": b})  # noqa: S307 - fixed test expressions
    assert type(fn.grad_fn).__name__ == name
    assert fn.grad_fn.name() == name


def _structure(fn, depth=0):
    """(type name, [children]) of a grad_fn through next_functions."""
    if fn is None:
        return None
    return (type(fn).__name__, [(_structure(n, depth + 1), i) for n, i in fn.next_functions])


@both_libs
def test_next_functions_and_accumulate_grad(lib):
    x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w = lib.tensor([[1.0], [2.0], [3.0]], requires_grad=True)
    c = lib.tensor([1.0, 1.0, 1.0])
    z = ((x * c + x).reshape(1, 3).mm(w)).sum() + (x * x).tanh().mean()
    s = _structure(z.grad_fn)
    acc = ("AccumulateGrad", [])
    assert s == ("AddBackward0", [
        (("SumBackward0", [(("MmBackward0", [
            (("ViewBackward0", [(("AddBackward0", [(("MulBackward0", [(acc, 0), (None, 0)]), 0), (acc, 0)]), 0)]), 0),
            (acc, 0)]), 0)]), 0),
        (("MeanBackward0", [(("TanhBackward0", [(("MulBackward0", [(acc, 0), (acc, 0)]), 0)]), 0)]), 0)])
    leaf_node = z.grad_fn.next_functions[1][0].next_functions[0][0].next_functions[0][0].next_functions[0][0]
    assert type(leaf_node).__name__ == "AccumulateGrad"
    assert leaf_node.variable is x
    # One accumulator per leaf, whatever the number of uses.
    m = (x * x).grad_fn
    assert m.next_functions[0][0] is m.next_functions[1][0] or m.next_functions[0][0] == m.next_functions[1][0]


def test_accumulate_grad_name():
    x = cg.tensor([1.0], requires_grad=True)
    node = (x * x).grad_fn.next_functions[0][0]
    assert type(node).__name__ == node.name() == "AccumulateGrad"


def test_scalar_op_next_functions_like_torch():
    x = cg.tensor([1.0], requires_grad=True)
    assert len((x * 2).grad_fn.next_functions) == 2


@pytest.mark.parametrize("make", [lambda: cg.tensor([1, 2]), lambda: cg.tensor([True, False])])
def test_int_and_bool_tensors_cannot_require_grad(make):
    t = make()
    with pytest.raises(RuntimeError) as e:
        t.requires_grad_()
    # PyTorch 2.13's wording on this path (the attribute setter and factories add "and complex").
    assert str(e.value) == "only Tensors of floating point dtype can require gradients"
    with pytest.raises(RuntimeError, match="floating point and complex dtype can require gradients"):
        cg.tensor([1, 2], requires_grad=True)
    assert not t.requires_grad


# =============================== 2. backward ================================================
def _f_mixed(x, w):
    h = (x.reshape(1, 3).mm(w)).tanh()
    return (h * h).sum() + (x ** 3).mean() + (x * w.reshape(3)).exp().sum()


def test_backward_matches_finite_differences_and_torch():
    check_grads(_f_mixed, [np.array([0.1, -0.2, 0.3]), np.array([[0.5], [-0.4], [0.2]])])


@both_libs
def test_backward_with_gradient_and_autograd_backward(lib):
    x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * x
    y.backward(lib.tensor([1.0, 0.5, 0.0]))
    np.testing.assert_allclose(npy(x.grad), [2.0, 2.0, 0.0])
    x.grad = None
    p, q = x * 2, x ** 3
    lib.autograd.backward([p, q], [lib.ones(3), lib.full((3,), 0.5)])
    np.testing.assert_allclose(npy(x.grad), [3.5, 8.0, 15.5])
    x.grad = None
    lib.autograd.backward((x * x).sum())
    np.testing.assert_allclose(npy(x.grad), [2.0, 4.0, 6.0])


@both_libs
def test_backward_inputs_argument(lib):
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    w = lib.tensor([3.0, 4.0], requires_grad=True)
    (x * w).sum().backward(inputs=[w])
    assert x.grad is None
    np.testing.assert_allclose(npy(w.grad), [1.0, 2.0])
    y = x * 2  # a non-leaf input gets its .grad filled
    (y * y).sum().backward(inputs=[y])
    np.testing.assert_allclose(npy(y.grad), [4.0, 8.0])
    assert x.grad is None


def test_input_buffer_sums_all_consumers():
    # x feeds four consumers, one of them through a chain: the buffer must sum everything.
    check_grads(lambda x: (x * 3).sum() + (x * x).sum() + x.exp().sum() + x.sin().cos().sum(),
                [np.array([0.3, -0.7, 1.1])])


@both_libs
def test_leaf_accumulation_across_calls_and_retain_grad(lib):
    x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * x
    y.retain_grad()
    assert y.retains_grad
    z = y.sum() * 3 + y.mean()
    z.backward(retain_graph=True)
    np.testing.assert_allclose(npy(x.grad), [20 / 3, 40 / 3, 20.0], rtol=1e-6)
    np.testing.assert_allclose(npy(y.grad), [10 / 3] * 3, rtol=1e-6)
    z.backward()
    np.testing.assert_allclose(npy(x.grad), [40 / 3, 80 / 3, 40.0], rtol=1e-6)
    np.testing.assert_allclose(npy(y.grad), [20 / 3] * 3, rtol=1e-6)


def test_backward_error_messages():
    x = cg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(RuntimeError) as e:
        (x * 2).backward()
    assert str(e.value) == "grad can be implicitly created only for scalar outputs"
    with pytest.raises(RuntimeError) as e:
        (x * 2).backward(cg.ones(4))
    assert str(e.value) == ("Mismatch in shape: grad_output[0] has a shape of chaingrad.Size([4]) and output[0] "
                            "has a shape of chaingrad.Size([3]).")
    with pytest.raises(RuntimeError) as e:
        cg.ones(3).sum().backward()
    assert str(e.value) == "element 0 of tensors does not require grad and does not have a grad_fn"
    y = (x.tanh() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError) as e:
        y.backward()
    assert str(e.value) == (
        "Trying to backward through the graph a second time (or directly access saved tensors after they have "
        "already been freed). Saved intermediate values of the graph are freed when you call .backward() or "
        "autograd.grad(). Specify retain_graph=True if you need to backward through the graph a second time or if "
        "you need to access saved tensors after calling backward.")


@needs_torch
def test_backward_error_messages_match_torch():
    def msgs(lib):
        out = []
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        for f in (lambda: (x * 2).backward(), lambda: (x * 2).backward(lib.ones(4)),
                  lambda: lib.ones(3).sum().backward()):
            with pytest.raises(RuntimeError) as e:
                f()
            out.append(str(e.value).replace("torch.", "chaingrad."))
        return out

    assert msgs(cg) == msgs(torch)


def test_retain_graph_false_frees_saved_tensors():
    n = 256 * 256
    x = cg.randn(256, 256, requires_grad=True)
    gc.collect()
    start = cg._live_counts()
    loss = x.tanh().exp().sigmoid().sum()  # saves three outputs of n floats each
    built = cg._live_counts()
    assert built["storage_bytes"] - start["storage_bytes"] >= 3 * 4 * n
    loss.backward()
    gc.collect()
    after = cg._live_counts()
    # The three saved buffers are gone; x.grad (n floats) is new.
    assert after["storage_bytes"] - start["storage_bytes"] <= 4 * n + 64
    assert after["storages"] - start["storages"] <= 2  # x.grad and the 0-d loss
    loss2 = x.tanh().exp().sum()
    loss2.backward(retain_graph=True)
    gc.collect()
    kept = cg._live_counts()
    assert kept["storage_bytes"] - after["storage_bytes"] >= 2 * 4 * n  # retained: still saved
    loss2.backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        loss2.backward()


# =============================== 3. autograd.grad ===========================================
@both_libs
def test_autograd_grad_returns_tuple_and_leaves_grad_untouched(lib):
    x = t64(lib, [1.0, 2.0], requires_grad=True)
    w = t64(lib, [3.0, 4.0], requires_grad=True)
    out = lib.autograd.grad((x * x * w).sum(), [x, w])
    assert isinstance(out, tuple) and len(out) == 2
    np.testing.assert_allclose(npy(out[0]), [6.0, 16.0])
    np.testing.assert_allclose(npy(out[1]), [1.0, 4.0])
    assert x.grad is None and w.grad is None
    (g,) = lib.autograd.grad((x * 3).sum(), x)
    np.testing.assert_allclose(npy(g), [3.0, 3.0])
    (g,) = lib.autograd.grad(x * x, x, grad_outputs=lib.ones_like(x))
    np.testing.assert_allclose(npy(g), [2.0, 4.0])


@both_libs
def test_autograd_grad_runs_only_the_needed_part(lib):
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    b = lib.tensor([3.0, 4.0], requires_grad=True)
    ran = []
    e = b.exp()
    e.grad_fn.register_prehook(lambda g: ran.append("exp"))
    e.register_hook(lambda g: ran.append("e.hook"))
    m = x * x
    m.grad_fn.register_prehook(lambda g: ran.append("mul"))
    z = (m + e).sum()
    (g,) = lib.autograd.grad(z, x)
    np.testing.assert_allclose(npy(g), [2.0, 4.0])
    assert ran == ["mul"]
    assert b.grad is None and x.grad is None


UNUSED_MSG = ("The differentiated Tensor at index 1 appears to not have been used in the graph. "
              "Set allow_unused=True if this is the desired behavior.")


@both_libs
def test_autograd_grad_unused_inputs(lib):
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    u = lib.tensor([3.0, 4.0], requires_grad=True)
    y = (x * x).sum()
    with pytest.raises(RuntimeError) as e:
        lib.autograd.grad(y, [x, u], retain_graph=True)
    assert str(e.value) == UNUSED_MSG
    gx, gu = lib.autograd.grad(y, [x, u], allow_unused=True, retain_graph=True)
    np.testing.assert_allclose(npy(gx), [2.0, 4.0])
    assert gu is None
    gx, gu = lib.autograd.grad(y, [x, u], materialize_grads=True)
    np.testing.assert_allclose(npy(gu), [0.0, 0.0])
    assert tuple(gu.shape) == (2,)


def test_autograd_grad_unused_check_runs_before_any_backward_work():
    x = cg.tensor([1.0, 2.0], requires_grad=True)
    u = cg.tensor([3.0, 4.0], requires_grad=True)
    calls = []
    h = x.tanh()
    h.register_hook(lambda g: calls.append("hook"))
    y = (h * 2).sum()
    with pytest.raises(RuntimeError) as e:
        cg.autograd.grad(y, [x, u])  # no retain_graph: a run would free the graph
    assert str(e.value) == UNUSED_MSG
    assert calls == []
    (g,) = cg.autograd.grad(y, [x])  # the graph is intact
    np.testing.assert_allclose(npy(g), 2 * (1 - np.tanh([1.0, 2.0]) ** 2), rtol=1e-6)
    # An input whose node is reached, but through another of its outputs only.
    z = cg.tensor([1.0, 2.0], requires_grad=True) * 1
    a, b = z[0], z[1]
    calls.clear()
    a.register_hook(lambda g: calls.append("a"))
    with pytest.raises(RuntimeError) as e:
        cg.autograd.grad(a * 3, [z, b])
    assert str(e.value) == UNUSED_MSG
    assert calls == []


# =============================== 4. higher order ============================================
@both_libs
@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
def test_x_cubed_three_times(lib):
    x = lib.tensor(2.0, requires_grad=True)
    y = x ** 3
    (g1,) = lib.autograd.grad(y, x, create_graph=True)
    assert g1.requires_grad and g1.grad_fn is not None
    (g2,) = lib.autograd.grad(g1, x, create_graph=True)
    (g3,) = lib.autograd.grad(g2, x)
    assert (g1.item(), g2.item(), g3.item()) == (12.0, 12.0, 6.0)
    x.grad = None
    (x ** 3).backward(create_graph=True)
    g = x.grad
    assert g.requires_grad
    x.grad = None
    g.backward()
    assert x.grad.item() == 12.0


def _hvp(lib, xv, wv, vv):
    x = t64(lib, xv, requires_grad=True)
    w = t64(lib, wv, requires_grad=True)
    v = t64(lib, vv)
    f = ((x.reshape(1, 3).mm(w)).tanh() ** 2).sum() + (x.sin() * x).sum()
    (g,) = lib.autograd.grad(f, x, create_graph=True)
    (hv,) = lib.autograd.grad((g * v).sum(), x)
    return npy(g), npy(hv)


def test_hessian_vector_product():
    xv, wv, vv = [0.2, -0.5, 0.7], [[0.3, 0.1], [-0.2, 0.4], [0.5, -0.6]], [1.0, -2.0, 0.5]
    g, hv = _hvp(cg, xv, wv, vv)
    # Finite differences of the gradient along v.
    eps = 1e-6
    gp, _ = _hvp(cg, np.array(xv) + eps * np.array(vv), wv, vv)
    gm, _ = _hvp(cg, np.array(xv) - eps * np.array(vv), wv, vv)
    np.testing.assert_allclose(hv, (gp - gm) / (2 * eps), rtol=1e-5, atol=1e-7)
    if torch is not None:
        tg, thv = _hvp(torch, xv, wv, vv)
        np.testing.assert_allclose(g, tg, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(hv, thv, rtol=1e-10, atol=1e-12)


@both_libs
def test_second_grad_without_create_graph_raises(lib):
    x = lib.tensor(2.0, requires_grad=True)
    (g,) = lib.autograd.grad(x ** 3, x)
    assert not g.requires_grad
    with pytest.raises(RuntimeError) as e:
        lib.autograd.grad(g, x)
    assert str(e.value) == "element 0 of tensors does not require grad and does not have a grad_fn"


# =============================== 5. grad modes ==============================================
@both_libs
def test_grad_modes(lib):
    x = lib.ones(2, requires_grad=True)
    assert lib.is_grad_enabled()
    with lib.no_grad():
        assert not lib.is_grad_enabled()
        assert not (x * 2).requires_grad
        with lib.enable_grad():
            assert lib.is_grad_enabled() and (x * 2).requires_grad
        assert not lib.is_grad_enabled()
    assert lib.is_grad_enabled()
    lib.no_grad()  # not entered: nothing changes
    assert lib.is_grad_enabled()

    @lib.no_grad()
    def f(t):
        return t * 2

    @lib.enable_grad()
    def g(t):
        return t * 2

    @lib.set_grad_enabled(False)
    def h(t):
        return t * 2

    assert not f(x).requires_grad and lib.is_grad_enabled()
    with lib.no_grad():
        assert g(x).requires_grad
    assert not h(x).requires_grad and lib.is_grad_enabled()
    with lib.set_grad_enabled(False):
        assert not lib.is_grad_enabled()
    assert lib.is_grad_enabled()
    lib.set_grad_enabled(False)  # as a plain call it switches at once
    try:
        assert not lib.is_grad_enabled()
    finally:
        lib.set_grad_enabled(True)
    assert lib.is_grad_enabled()
    with lib.inference_mode():
        assert not lib.is_grad_enabled() and lib.is_inference_mode_enabled()
        assert not (x * 2).requires_grad
    assert not lib.is_inference_mode_enabled()

    @lib.inference_mode()
    def k(t):
        return t * 2

    assert not k(x).requires_grad
    with lib.inference_mode(False):
        assert lib.is_grad_enabled() and (x * 2).requires_grad


@both_libs
def test_grad_mode_is_thread_local(lib):
    seen = {}
    started, release = threading.Event(), threading.Event()

    def worker():
        seen["before"] = lib.is_grad_enabled()
        x = lib.ones(1, requires_grad=True)
        started.set()
        release.wait(5)
        seen["after"] = lib.is_grad_enabled()
        seen["records"] = (x * 2).requires_grad
        with lib.no_grad():
            seen["inner"] = lib.is_grad_enabled()

    with lib.no_grad():
        th = threading.Thread(target=worker)
        th.start()
        started.wait(5)
        release.set()
        th.join()
        assert not lib.is_grad_enabled()
    assert lib.is_grad_enabled()
    assert seen == {"before": True, "after": True, "records": True, "inner": False}


# =============================== 6. hooks ===================================================
@both_libs
def test_tensor_hooks_replace_gradient_and_remove(lib):
    x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 10
    h = y.register_hook(lambda g: g.clamp(-1, 1))
    (y * y).sum().backward(retain_graph=True)
    np.testing.assert_allclose(npy(x.grad), [10.0, 10.0, 10.0])
    h.remove()
    x.grad = None
    (y * y).sum().backward()
    np.testing.assert_allclose(npy(x.grad), [200.0, 400.0, 600.0])
    # Leaf hook: what it returns is accumulated.
    x.grad = None
    hx = x.register_hook(lambda g: g * 2)
    (x * x).sum().backward()
    np.testing.assert_allclose(npy(x.grad), [4.0, 8.0, 12.0])
    hx.remove()
    x.grad = None
    (x * x).sum().backward()
    np.testing.assert_allclose(npy(x.grad), [2.0, 4.0, 6.0])
    with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that doesn't require gradient"):
        lib.ones(1).register_hook(lambda g: g)


@both_libs
def test_node_hooks_and_post_accumulate_hook(lib):
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    y = x * lib.tensor([3.0, 3.0])
    seen = {}

    def pre(grad_outputs):
        seen["pre"] = npy(grad_outputs[0]).tolist()
        return (grad_outputs[0] * 2,)

    def post(grad_inputs, grad_outputs):
        seen["post"] = (npy(grad_inputs[0]).tolist(), npy(grad_outputs[0]).tolist(), grad_inputs[1])
        return (grad_inputs[0] + 1, None)

    hp = y.grad_fn.register_prehook(pre)
    hq = y.grad_fn.register_hook(post)
    def post_acc(t):
        seen["acc"] = npy(t.grad).tolist()

    x.register_post_accumulate_grad_hook(post_acc)
    y.sum().backward(retain_graph=True)
    assert seen == {"pre": [1.0, 1.0], "post": ([6.0, 6.0], [2.0, 2.0], None), "acc": [7.0, 7.0]}
    np.testing.assert_allclose(npy(x.grad), [7.0, 7.0])
    hp.remove()
    hq.remove()
    x.grad = None
    y.sum().backward()
    np.testing.assert_allclose(npy(x.grad), [3.0, 3.0])


def _hook_order(lib):
    log = []

    def rec(name):
        def f(*args):
            log.append(name)

        return f

    a = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = lib.tensor([4.0, 5.0, 6.0], requires_grad=True)
    a.register_hook(rec("a.hook1"))
    a.register_hook(rec("a.hook2"))
    a.register_post_accumulate_grad_hook(rec("a.post"))
    b.register_post_accumulate_grad_hook(rec("b.post"))
    b.register_hook(rec("b.hook"))
    c = a * b
    c.register_hook(rec("c.hook"))
    c.grad_fn.register_prehook(rec("c.fn.pre"))
    c.grad_fn.register_hook(rec("c.fn.post"))
    d = c.sin() + a.exp()
    d.register_hook(rec("d.hook"))
    d.grad_fn.register_hook(rec("d.fn.post"))
    d.grad_fn.register_prehook(rec("d.fn.pre"))
    c.retain_grad()
    e1 = b.tanh()
    e1.register_hook(rec("e1.hook"))
    e2 = (e1 * c).sum()
    e2.grad_fn.register_prehook(rec("e2.fn.pre"))
    f = d.sum() + c.mean() + e2
    f.grad_fn.register_prehook(rec("f.fn.pre"))
    f.register_hook(rec("f.hook"))
    f.backward()
    # Several roots at once, and a second independent branch.
    g1 = (a * 2).sum()
    g1.register_hook(rec("g1.hook"))
    g2 = (b.exp() * a).sum()
    g2.register_hook(rec("g2.hook"))
    g2.grad_fn.register_prehook(rec("g2.fn.pre"))
    lib.autograd.backward([g1, g2])
    return log


# Recorded from PyTorch 2.13 running _hook_order(torch).
EXPECTED_HOOK_ORDER = [
    "f.hook", "f.fn.pre", "e2.fn.pre", "e1.hook", "d.hook", "d.fn.pre", "d.fn.post", "c.hook", "c.fn.pre",
    "c.fn.post", "a.hook1", "a.hook2", "a.post", "b.hook", "b.post",
    "g2.hook", "g2.fn.pre", "b.hook", "b.post", "g1.hook", "a.hook1", "a.hook2", "a.post",
]


def test_hook_call_order():
    assert _hook_order(cg) == EXPECTED_HOOK_ORDER


@needs_torch
def test_hook_call_order_matches_torch():
    assert _hook_order(cg) == _hook_order(torch)


# =============================== 7. leaf / data API =======================================
@both_libs
def test_leaf_and_data_api(lib):
    x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    assert x.grad is None
    d = x.detach()
    assert not d.requires_grad and d.is_leaf
    d[0] = 5.0  # shares memory with x
    assert x[0].item() == 5.0
    y = x * 2
    y.detach_()
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf
    assert not x.data.requires_grad
    x.data.mul_(2)  # invisible to autograd: no version error below
    z = x * x
    x.data[0] = 1.0
    z.sum().backward()
    np.testing.assert_allclose(npy(x.grad), [2.0, 8.0, 12.0])  # saved x is read at backward time
    x.grad.zero_()
    np.testing.assert_allclose(npy(x.grad), [0.0, 0.0, 0.0])
    x.grad = lib.ones(3)
    (x * 1).sum().backward()
    np.testing.assert_allclose(npy(x.grad), [2.0, 2.0, 2.0])
    x.grad = None
    assert x.grad is None
    w = lib.ones(2)
    assert w.requires_grad_() is w and w.requires_grad
    w.requires_grad_(False)
    assert not w.requires_grad


def test_non_leaf_grad_warning():
    x = cg.tensor([1.0], requires_grad=True)
    y = x * 2
    with pytest.warns(UserWarning, match="The .grad attribute of a Tensor that is not a leaf Tensor is being accessed"):
        assert y.grad is None
    y.retain_grad()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert y.grad is None
        assert x.grad is None


@needs_torch
def test_non_leaf_grad_warning_text_matches_torch():
    def text(lib):
        y = lib.tensor([1.0], requires_grad=True) * 2
        with pytest.warns(UserWarning) as rec:
            y.grad  # noqa: B018
        return str(rec[0].message).split(" (Triggered internally at")[0]

    assert text(cg) == text(torch)


# =============================== 8. in-place safety ========================================
def test_version_counter_shared_by_views():
    y = cg.zeros(4)
    v = y[1:3]
    assert y._version == v._version == 0
    v.mul_(2)
    assert y._version == v._version == 1
    y.add_(1)
    assert y._version == v._version == 2
    assert y.detach()._version == 2


@both_libs
def test_modified_saved_tensor_raises(lib):
    x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x.tanh()
    y.add_(1)
    with pytest.raises(RuntimeError) as e:
        y.sum().backward()
    prefix = "chaingrad" if lib is cg else "torch"
    assert str(e.value) == (
        f"one of the variables needed for gradient computation has been modified by an inplace operation: "
        f"[{prefix}.FloatTensor [3]], which is output 0 of Tanh, is at version 1; expected version 0 instead. "
        f"Hint: enable anomaly detection to find the operation that failed to compute its gradient, with "
        f"{prefix}.autograd.set_detect_anomaly(True, check_nan=False).")
    a = x * 1
    b = a * a  # saves its input a
    a.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        b.sum().backward()


@both_libs
def test_inplace_on_leaf_raises(lib):
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError) as e:
        x.add_(1)
    assert str(e.value) == "a leaf Variable that requires grad is being used in an in-place operation."
    with pytest.raises(RuntimeError) as e:
        x[0].mul_(2)
    assert str(e.value) == "a view of a leaf Variable that requires grad is being used in an in-place operation."
    with lib.no_grad():
        x.add_(1)  # allowed without recording
    np.testing.assert_allclose(npy(x), [2.0, 3.0])


@both_libs
def test_seed_copyslices_example(lib):
    x1, x2, x3 = (lib.tensor(v, requires_grad=True) for v in (1.0, 2.0, 3.0))
    y = lib.randn(3)
    y[0] = x1 * x2 * x3
    y[1] = x1 + x2 + x3
    y[2] = x1 + x2 * x3
    assert type(y.grad_fn).__name__ == "CopySlices"
    y.backward(lib.tensor([0.1, 0.2, 0.3]))
    np.testing.assert_allclose([x1.grad.item(), x2.grad.item(), x3.grad.item()], [1.1, 1.4, 1.0], rtol=1e-6)


def _through_view(lib, which, xv=3.0, wv=(1.0, 2.0, 3.0)):
    x = t64(lib, xv, requires_grad=True)
    w = t64(lib, list(wv), requires_grad=True)
    y = w * 1
    v = y[1:]
    v[0] = x * 2
    k = t64(lib, [1.0, 10.0, 100.0])
    if which == "base":
        out = (y * k).sum()
    elif which == "view":
        out = (v * k[1:]).sum() * 3
    else:
        out = (y * k).sum() + (v * v).sum()
    out.backward()
    return npy(x.grad), npy(w.grad), type(v.grad_fn).__name__


@pytest.mark.parametrize("which", ["base", "view", "both"])
def test_write_through_view_gradients(which):
    gx, gw, vname = _through_view(cg, which)

    def f(x, w):
        y = w * 1
        v = y[1:]
        v[0] = x * 2
        k = t64(cg, [1.0, 10.0, 100.0])
        return {"base": lambda: (y * k).sum(), "view": lambda: (v * k[1:]).sum() * 3,
                "both": lambda: (y * k).sum() + (v * v).sum()}[which]()

    fx, fw = fd_grads(f, [np.array(3.0), np.array([1.0, 2.0, 3.0])])
    np.testing.assert_allclose(gx, fx, rtol=1e-6)
    np.testing.assert_allclose(gw, fw, rtol=1e-6, atol=1e-8)
    assert vname == "AsStridedBackward0"
    if torch is not None:
        tx, tw, tname = _through_view(torch, which)
        np.testing.assert_allclose(gx, tx)
        np.testing.assert_allclose(gw, tw)
        assert vname == tname


INPLACE_CASES = {
    "exp_": lambda x, w: (lambda y: (y.exp_(), y.sum())[1])(x * 2),
    "iadd": lambda x, w: (lambda y: (y.__iadd__(1), (y * y).sum())[1])(x * 2),
    "mul_tensor": lambda x, w: (lambda y: (y.mul_(w), y.sum())[1])(x * 2),
    "pow_": lambda x, w: (lambda y: (y.pow_(3), y.sum())[1])(x * 1),
    "chain": lambda x, w: (lambda y: (y.mul_(w), y.sub_(x), y.div_(w), y.sum())[-1])(x.sin()),
    "view_mul": lambda x, w: (lambda y: (y[1:].mul_(w[1:]), (y * y).sum())[1])(x * 1),
    "view_of_view": lambda x, w: (lambda y: (y[1:][1:].mul_(x[0]), y.sum() + (y[1:] * w[1:]).sum())[1])(w * 1),
    "base_then_view": lambda x, w: (lambda y, v: (y.mul_(x), (v * v).sum())[1])(*(lambda y: (y, y[1:]))(w * 1)),
    "zero_view": lambda x, w: (lambda y: (y[0].zero_(), (y * w).sum())[1])(x * w),
    "clamp_": lambda x, w: (lambda y: (y.clamp_(-0.5, 0.5), (y * w).sum())[1])(x * 1),
}


@pytest.mark.parametrize("case", sorted(INPLACE_CASES))
def test_inplace_on_non_leaves_gradients(case):
    f = INPLACE_CASES[case]
    check_grads(f, [np.array([0.3, -0.2, 0.7]), np.array([1.5, -0.8, 2.0])])


def test_inplace_on_view_created_in_no_grad_raises():
    w = cg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = w * 1
    with cg.no_grad():
        v = y[1:]
    with pytest.raises(RuntimeError, match="A view was created in no_grad mode and is being modified inplace"):
        v.mul_(2)


def test_stale_view_after_base_write_is_rebuilt():
    w = cg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x = cg.tensor(2.0, requires_grad=True)
    y = w * 1
    v = y[1:]
    assert type(v.grad_fn).__name__ == "SliceBackward0"
    y.mul_(x)
    assert type(v.grad_fn).__name__ == "AsStridedBackward0"
    v.sum().backward()
    np.testing.assert_allclose(npy(w.grad), [0.0, 2.0, 2.0])
    assert x.grad.item() == 5.0
    # A view of a base that had no history gets one when the base is written.
    z = cg.zeros(3)
    u = z[1:]
    assert not u.requires_grad
    z[2] = x * 3
    assert u.requires_grad
    u.sum().backward()
    assert x.grad.item() == 8.0


# =============================== 9. custom Functions =======================================
def _custom_classes(lib):
    class MyExp(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            y = x.exp() * k
            ctx.save_for_backward(y)
            ctx.k = k
            return y

        @staticmethod
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            ctx.seen_needs = ctx.needs_input_grad
            return g * y, None

    class SplitFloor(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, w):
            ctx.save_for_backward(x, w)
            f = x.floor()
            ctx.mark_non_differentiable(f)
            return x * w, f

        @staticmethod
        def backward(ctx, g, gf):
            x, w = ctx.saved_tensors
            return (g * w if ctx.needs_input_grad[0] else None), (g * x if ctx.needs_input_grad[1] else None)

    return MyExp, SplitFloor


@both_libs
def test_custom_function(lib):
    MyExp, SplitFloor = _custom_classes(lib)
    x = t64(lib, [0.5, 1.0], requires_grad=True)
    y = MyExp.apply(x, 2.0)
    assert type(y.grad_fn).__name__ == "MyExpBackward" and y.grad_fn.name() == "MyExpBackward"
    y.sum().backward()
    np.testing.assert_allclose(npy(x.grad), 2 * np.exp([0.5, 1.0]))
    assert y.grad_fn is not None
    # create_graph: the Python backward is recorded too.
    x.grad = None
    (g,) = lib.autograd.grad(MyExp.apply(x, 2.0).sum(), x, create_graph=True)
    assert g.requires_grad
    (gg,) = lib.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(npy(gg), 2 * np.exp([0.5, 1.0]))
    # needs_input_grad, mark_non_differentiable, several outputs.
    w = t64(lib, [3.0, 4.0])
    p, f = SplitFloor.apply(x, w)
    assert p.requires_grad and not f.requires_grad
    (p * t64(lib, [1.0, 2.0])).sum().backward()
    np.testing.assert_allclose(npy(x.grad), [3.0, 8.0])
    assert w.grad is None
    # No input requiring grad: nothing recorded.
    q = MyExp.apply(t64(lib, [1.0]), 1.0)
    assert not q.requires_grad and q.grad_fn is None


def test_custom_function_matches_finite_differences():
    def f(x, w):
        MyExp, SplitFloor = _custom_classes(lib_of(x))
        return (MyExp.apply(x * w, 0.5) * SplitFloor.apply(x, w)[0]).sum()

    check_grads(f, [np.array([0.2, -0.3]), np.array([1.1, 0.4])])


def test_custom_function_saved_tensor_checks():
    class Square(cg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * g * x

    a = cg.tensor([1.0, 2.0], requires_grad=True) * 1
    y = Square.apply(a)
    a.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
    y = Square.apply(cg.tensor([1.0, 2.0], requires_grad=True) * 1)
    y.sum().backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.sum().backward()


# =============================== 10. gradcheck ==============================================
def test_gradcheck_and_gradgradcheck_pass():
    x = t64(cg, [0.3, -0.4, 0.9], requires_grad=True)
    w = t64(cg, [[0.2, 0.1], [-0.3, 0.5], [0.4, -0.1]], requires_grad=True)
    assert cg.autograd.gradcheck(lambda a, b: (a.reshape(1, 3).mm(b)).tanh(), (x, w))
    assert cg.autograd.gradgradcheck(lambda a, b: (a.reshape(1, 3).mm(b)).tanh(), (x, w))
    assert cg.autograd.gradcheck(lambda a: (a.sin() * a, a.exp().sum()), (x,))
    assert cg.autograd.gradgradcheck(lambda a: (a ** 3).sum(), (x,))
    MyExp, _ = _custom_classes(cg)
    assert cg.autograd.gradcheck(lambda a: MyExp.apply(a, 3.0), (x,))


def test_gradcheck_fails_on_wrong_backward():
    class Bad(cg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * x * 3  # should be 2

    x = t64(cg, [0.1, 0.2, 0.5], requires_grad=True)
    with pytest.raises(RuntimeError) as e:
        cg.autograd.gradcheck(Bad.apply, (x,))
    report = str(e.value)
    assert "Jacobian mismatch for output 0 with respect to input 0" in report
    assert "worst element: input index 2, output index 2: numerical 1, analytical 1.5" in report
    assert cg.autograd.gradcheck(Bad.apply, (x,), raise_exception=False) is False


def test_gradgradcheck_fails_on_wrong_double_backward():
    class Square(cg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 2 * x.detach()  # right first derivative, its own derivative lost

    x = t64(cg, [0.1, 0.2, 0.5], requires_grad=True)
    assert cg.autograd.gradcheck(Square.apply, (x,))
    with pytest.raises(RuntimeError, match="Jacobian mismatch"):
        cg.autograd.gradgradcheck(Square.apply, (x,))


# =============================== leaks ======================================================
def _scenario_plain():
    x = cg.randn(5, requires_grad=True)
    w = cg.randn(5, requires_grad=True)
    (x * w).tanh().sum().backward()


def _scenario_create_graph():
    x = cg.randn(5, requires_grad=True)
    w = cg.randn(5, requires_grad=True)
    y = (x ** 3 * w).sum()
    (g,) = cg.autograd.grad(y, x, create_graph=True)
    (g2,) = cg.autograd.grad(g.sum(), x, create_graph=True)
    g2.sum().backward()
    (x * w).sum().backward(create_graph=True)  # leaf .grad with history: no cycle through the leaf
    x.grad.sum().backward()


def _scenario_hooks():
    x = cg.randn(5, requires_grad=True)
    w = cg.randn(5, requires_grad=True)
    y = x * w
    y.register_hook(lambda g: g * 2)
    y.retain_grad()
    x.register_hook(lambda g: g)
    y.grad_fn.register_hook(lambda gi, go: None)
    y.grad_fn.register_prehook(lambda go: None)
    x.register_post_accumulate_grad_hook(lambda t: None)
    y.sum().backward(create_graph=True)


def _scenario_hook_captures_tensor():
    x = cg.randn(5, requires_grad=True)
    y = x * 1
    y.register_hook(lambda g: g + y.detach() * 0)  # cycle: y -> grad_fn -> hook -> y
    x.register_hook(lambda g: g + x.detach() * 0)  # cycle: x -> hook -> x
    y.sum().backward()


def _scenario_custom_function_and_views():
    MyExp, _ = _custom_classes(cg)
    x = cg.randn(4, requires_grad=True)
    y = MyExp.apply(x * 1, 2.0)
    z = y * 1
    z[1:].mul_(x[1:])
    z.sum().backward(create_graph=True)


@pytest.mark.parametrize("scenario", [_scenario_plain, _scenario_create_graph, _scenario_hooks,
                                      _scenario_hook_captures_tensor, _scenario_custom_function_and_views],
                         ids=lambda f: f.__name__[len("_scenario_"):])
def test_no_leaks(scenario):
    before = live_nodes()
    storages = cg._live_counts()["storages"]
    scenario()
    assert live_nodes() == before
    assert cg._live_counts()["storages"] == storages
