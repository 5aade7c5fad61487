"""The autograd engine (issue "Autograd engine"): recording, backward, autograd.grad, higher
order and grad modes (hooks, the leaf/data API, in-place safety, custom Functions, gradcheck and
leaks: test_autograd_hooks_and_functions.py). Values are checked against central finite
differences (float64) and, when PyTorch is installed, against PyTorch running the same code
(``lib`` is either module)."""

from __future__ import annotations

import gc
import threading

import numpy as np
import pytest

pytest.importorskip("chaingrad._C")
import chaingrad as cg  # noqa: E402
from autograd_util import (  # noqa: E402
    both_libs,
    check_grads,
    needs_torch,
    npy,
    t64,
    torch,
)


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
