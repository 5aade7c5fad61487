"""The autograd engine (issue "Autograd engine"), continued from test_autograd.py: hooks, the
leaf/data API, in-place safety, custom Functions, gradcheck and leaks. Values are checked against
central finite differences (float64) and, when PyTorch is installed, against PyTorch running the
same code (``lib`` is either module)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("chaingrad._C")
import chaingrad as cg  # noqa: E402
from autograd_util import (  # noqa: E402
    both_libs,
    check_grads,
    fd_grads,
    lib_of,
    live_nodes,
    needs_torch,
    npy,
    t64,
    torch,
)


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


def test_node_post_hook_sees_none_for_a_number_operand() -> None:
    # As PyTorch: MulBackward0 of x * 2 has an edge for the number, so its hook gets (grad, None).
    x = cg.ones(2, requires_grad=True)
    y = x * 2
    seen = []
    y.grad_fn.register_hook(lambda gi, go: (seen.append(gi), (gi[0] * 10, None))[1])
    y.sum().backward()
    assert len(seen[0]) == 2 and seen[0][1] is None
    assert x.grad.tolist() == [20.0, 20.0]
