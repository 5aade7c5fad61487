"""Diagnostics: errors that name the culprit, anomaly mode and the NaN check, saved-tensor hooks.

Error messages keep PyTorch's exception type and text (``str(e)``, compared with PyTorch's own
message when it is installed, ``torch`` spelled ``chaingrad``); the culprit details are attached
as an exception note (``e.__notes__``), which tracebacks and ``pytest.raises(match=)`` show too.
"""

import sys
import threading
import warnings

import numpy as np
import pytest

pytest.importorskip("chaingrad._C")
import chaingrad  # noqa: E402
from chaingrad.autograd.graph import (  # noqa: E402
    disable_saved_tensors_hooks,
    save_on_cpu,
    saved_tensors_hooks,
)

needs_notes = pytest.mark.skipif(
    sys.version_info < (3, 11), reason="exception notes need Python 3.11"
)


def torch_or_skip():
    return pytest.importorskip("torch")


def raised(fn, exc=RuntimeError):
    with pytest.raises(exc) as info:
        fn()
    return info.value


def notes(e):
    return "\n".join(getattr(e, "__notes__", []))


def torch_message(fn, exc=RuntimeError):
    """PyTorch's message for the same misuse, spelled as chaingrad spells it."""
    return str(raised(fn, exc)).replace("torch.", "chaingrad.")


# ----------------------------------------------------------------------- errors naming the culprit
@needs_notes
def test_inplace_on_saved_output():
    def run(lib):
        x = lib.tensor([0.1, 0.2, 0.3], requires_grad=True)
        y = x.tanh()
        y.add_(1)
        y.sum().backward()

    e = raised(lambda: run(chaingrad))
    assert str(e).startswith(
        "one of the variables needed for gradient computation has been modified by an inplace "
        "operation: [chaingrad.FloatTensor [3]], which is output 0 of Tanh, is at version 1; "
        "expected version 0 instead."
    )
    n = notes(e)
    assert n.startswith("Culprit: TanhBackward0 saved its own output 0 (shape [3], dtype float32)")
    assert "at version 0; it is now at version 1" in n
    torch = pytest.importorskip("torch")
    assert str(e) == torch_message(lambda: run(torch))


@needs_notes
def test_inplace_on_saved_input_names_the_input():
    def run(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        w = lib.tensor([3.0, 4.0], dtype=lib.float64, requires_grad=True)
        a = x.double() * 2
        b = w * a  # MulBackward0 saves a (its input 1) for w's gradient
        a.add_(1)
        a.mul_(2)
        b.sum().backward()

    e = raised(lambda: run(chaingrad))
    assert "which is output 0 of Mul, is at version 2; expected version 0 instead" in str(e)
    n = notes(e)
    assert "MulBackward0 saved its input 1 (shape [2], dtype float64)" in n
    assert "at version 0; it is now at version 2" in n
    torch = pytest.importorskip("torch")
    assert str(e) == torch_message(lambda: run(torch))


@needs_notes
def test_inplace_on_saved_tensor_without_grad():
    def run(lib):
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        d = lib.zeros(3)
        y = x * d
        d.add_(1)
        y.sum().backward()

    e = raised(lambda: run(chaingrad))
    assert "[chaingrad.FloatTensor [3]] is at version 1; expected version 0 instead" in str(e)
    assert (
        "MulBackward0 saved a tensor that does not require grad (shape [3], dtype float32)"
        in notes(e)
    )
    torch = pytest.importorskip("torch")
    assert str(e) == torch_message(lambda: run(torch))


@needs_notes
def test_backward_twice_names_the_node():
    def run(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x.exp().sum()
        y.backward()
        y.backward()

    e = raised(lambda: run(chaingrad))
    assert str(e).startswith("Trying to backward through the graph a second time")
    assert "ExpBackward0" in notes(e)
    torch = pytest.importorskip("torch")
    assert str(e) == torch_message(lambda: run(torch))


@needs_notes
def test_unused_input_fails_before_any_backward_work():
    calls = []
    a = chaingrad.randn(3, requires_grad=True)
    b = chaingrad.randn(2, 3, dtype=chaingrad.float64, requires_grad=True)
    h = a * 2
    h.register_hook(lambda g: calls.append("h"))
    a.register_hook(lambda g: calls.append("a"))
    y = h.sum()
    y.grad_fn.register_prehook(lambda g: calls.append("sum"))
    e = raised(lambda: chaingrad.autograd.grad(y, [a, b]))
    assert str(e) == (
        "The differentiated Tensor at index 1 appears to not have been used in the graph. "
        "Set allow_unused=True if this is the desired behavior."
    )
    assert (
        "input 1 (shape [2, 3], dtype float64, a leaf) is not reachable from the outputs"
        in notes(e)
    )
    assert calls == []  # no hook on any path ran: the check precedes the backward pass
    # a non-leaf input, not in the graph
    c = b * 2
    e = raised(lambda: chaingrad.autograd.grad(y, [c, a]))
    assert "index 0" in str(e) and "output 0 of MulBackward0" in notes(e)
    assert calls == []
    # the graph is intact: the same call with allow_unused works and runs the hooks once
    ga, gb = chaingrad.autograd.grad(y, [a, b], allow_unused=True)
    assert gb is None and np.allclose(ga.numpy(), 2.0)
    assert sorted(calls) == ["a", "h", "sum"]


def test_unused_input_message_matches_torch():
    torch = torch_or_skip()

    def run(lib):
        a = lib.ones(3, requires_grad=True)
        b = lib.ones(3, requires_grad=True)
        lib.autograd.grad((a * 2).sum(), [a, b])

    assert str(raised(lambda: run(chaingrad))) == torch_message(lambda: run(torch))


@needs_notes
def test_root_errors_name_the_tensor():
    e = raised(lambda: chaingrad.zeros(2, 2).sum().backward())
    assert str(e) == "element 0 of tensors does not require grad and does not have a grad_fn"
    assert "tensor 0 (shape [], dtype float32) has requires_grad=False" in notes(e)
    x = chaingrad.ones(3, requires_grad=True)
    e = raised(lambda: (x * 2).backward())
    assert str(e) == "grad can be implicitly created only for scalar outputs"
    assert "output 0 has shape [3], dtype float32 (3 elements)" in notes(e)
    # pytest.raises(match=) sees the note as well
    with pytest.raises(RuntimeError, match=r"output 0 has shape \[3\]"):
        (x * 2).backward()


# ------------------------------------------------------------------------------------ anomaly mode
def nan_graph(lib):
    x = lib.tensor([0.0, 1.0], requires_grad=True)
    y = (x.sqrt() * 0).sum()  # d/dx at 0: inf * 0 = nan in SqrtBackward0
    return x, y


def test_anomaly_nan_error_and_creation_trace():
    with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
        ctx = chaingrad.autograd.detect_anomaly()
    with ctx:
        assert chaingrad.autograd.is_anomaly_enabled() and chaingrad.is_anomaly_enabled()
        x, y = nan_graph(chaingrad)
        sqrt_node = y.grad_fn.next_functions[0][0].next_functions[0][0]
        assert sqrt_node.name() == "SqrtBackward0"
        assert "y = (x.sqrt() * 0).sum()" in sqrt_node._creation_trace
        with pytest.warns(UserWarning) as record:
            e = raised(y.backward)
    assert not chaingrad.autograd.is_anomaly_enabled()
    assert str(e) == "Function 'SqrtBackward0' returned nan values in its 0th output."
    warning = next(str(w.message) for w in record if "Error detected" in str(w.message))
    assert warning.startswith(
        "Error detected in SqrtBackward0. Traceback of forward call that caused the error:\n"
    )
    assert "in nan_graph" in warning and "y = (x.sqrt() * 0).sum()" in warning
    if sys.version_info >= (3, 11):
        assert (
            "SqrtBackward0 computed the gradient for its input 0 (shape [2], dtype float32) "
            "with 1 NaN" in notes(e)
        )

    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with torch.autograd.detect_anomaly():
            _, yt = nan_graph(torch)
            assert str(e) == str(raised(yt.backward))


def test_anomaly_inf_is_not_an_anomaly_like_torch():
    with chaingrad.autograd.set_detect_anomaly(True):
        x = chaingrad.tensor([0.0, 4.0], requires_grad=True)
        x.sqrt().sum().backward()
    assert np.isinf(x.grad.numpy()[0]) and x.grad.numpy()[1] == 0.25


def test_anomaly_check_nan_false():
    with chaingrad.autograd.set_detect_anomaly(True, check_nan=False):
        assert not chaingrad.autograd.is_anomaly_check_nan_enabled()
        x, y = nan_graph(chaingrad)
        y.backward()
    assert np.isnan(x.grad.numpy()[0])
    assert chaingrad.autograd.is_anomaly_check_nan_enabled()


def test_set_detect_anomaly_as_a_function():
    chaingrad.autograd.set_detect_anomaly(True)
    try:
        assert chaingrad.autograd.is_anomaly_enabled()
    finally:
        chaingrad.autograd.set_detect_anomaly(False)
    assert not chaingrad.autograd.is_anomaly_enabled()


def test_no_trace_recorded_when_off():
    x, y = nan_graph(chaingrad)
    assert y.grad_fn._creation_trace == ""
    y.backward()  # no checks either
    assert np.isnan(x.grad.numpy()[0])


def test_error_in_backward_warns_with_the_creation_stack():
    class Bad(chaingrad.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.clone()

        @staticmethod
        def backward(ctx, g):
            raise ValueError("Some error in backward")

    def run_fn(a):
        out = Bad.apply(a)
        return out.sum()

    with chaingrad.autograd.set_detect_anomaly(True):
        inp = chaingrad.rand(3, requires_grad=True)
        out = run_fn(inp)
        with pytest.warns(UserWarning, match="Error detected in BadBackward") as record:
            with pytest.raises(ValueError, match="Some error in backward"):
                out.backward()
    text = "\n".join(str(w.message) for w in record)
    assert "out = Bad.apply(a)" in text and "in run_fn" in text


def test_node_created_before_anomaly_mode():
    x, y = nan_graph(chaingrad)
    with chaingrad.autograd.set_detect_anomaly(True):
        with pytest.warns(UserWarning, match="No forward pass information available"):
            with pytest.raises(RuntimeError, match="returned nan values"):
                y.backward()


def test_double_backward_records_the_parent():
    with chaingrad.autograd.set_detect_anomaly(True):
        x = chaingrad.tensor([1.0, 2.0], requires_grad=True)
        y = x.exp().sum()
        (g,) = chaingrad.autograd.grad(y, x, create_graph=True)
    trace = g.grad_fn._creation_trace
    assert "Previous calculation was induced by" in trace
    assert "Traceback of forward call that induced the previous calculation:" in trace
    assert "y = x.exp().sum()" in trace


# ----------------------------------------------------------------------------- the cheap NaN check
def test_nan_check_without_stacks():
    with chaingrad.autograd.set_nan_check(True):
        assert chaingrad.autograd.is_nan_check_enabled()
        x, y = nan_graph(chaingrad)
        assert y.grad_fn._creation_trace == ""  # nothing recorded
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # and nothing warned
            e = raised(y.backward)
    assert not chaingrad.autograd.is_nan_check_enabled()
    assert str(e) == "Function 'SqrtBackward0' returned nan values in its 0th output."
    if sys.version_info >= (3, 11):
        assert "set_detect_anomaly(True)" in notes(e)


def test_nan_check_inf():
    def run():
        x = chaingrad.tensor([0.0, 4.0], requires_grad=True)
        w = chaingrad.tensor([1.0, 1.0], requires_grad=True)
        (x.sqrt() * w).sum().backward()
        return x

    with chaingrad.autograd.set_nan_check(True):
        e = raised(run)
        assert str(e) == "Function 'SqrtBackward0' returned inf values in its 0th output."
        if sys.version_info >= (3, 11):
            assert "with 1 inf of 2 elements; it flows to AccumulateGrad" in notes(e)
    with chaingrad.autograd.set_nan_check(True, check_inf=False):
        assert np.isinf(run().grad.numpy()[0])


def test_nan_check_names_the_input():
    with chaingrad.autograd.set_nan_check(True):
        a = chaingrad.tensor([1.0, 2.0], requires_grad=True)
        b = chaingrad.tensor([0.0, 1.0], requires_grad=True)
        e = raised(lambda: (a / b).sum().backward())  # d/da = 1/b: inf at b = 0
    assert str(e) == "Function 'DivBackward0' returned inf values in its 0th output."
    if sys.version_info >= (3, 11):
        assert notes(e).startswith(
            "Culprit: DivBackward0 computed the gradient for its input 0 (shape [2], dtype "
            "float32) with 1 inf of 2 elements"
        )


# ------------------------------------------------------------------------------ saved-tensor hooks
def test_pack_and_unpack_calls_match_torch():
    def run(lib, graph):
        log = []
        x = lib.tensor([0.5, 1.0, 2.0], requires_grad=True)

        def pack(t):
            log.append(("pack", t is x, lib.is_grad_enabled()))
            return t

        def unpack(t):
            log.append(("unpack",))
            return t

        with graph.saved_tensors_hooks(pack, unpack):
            y = (x * x).exp().tanh()
        y.sum().backward()
        return log, x.grad.detach().numpy()

    log, grad = run(chaingrad, chaingrad.autograd.graph)
    packs = [e for e in log if e[0] == "pack"]
    assert (
        len(packs) == 4 and packs[0] == ("pack", True, False) and packs[1] == ("pack", True, False)
    )
    assert log.count(("unpack",)) == 4
    x = np.array([0.5, 1.0, 2.0], dtype=np.float32)
    t = np.tanh(np.exp(x * x))
    np.testing.assert_allclose(grad, (1 - t * t) * np.exp(x * x) * 2 * x, rtol=1e-5)
    torch = pytest.importorskip("torch")
    tlog, tgrad = run(torch, torch.autograd.graph)
    assert [e[:2] for e in log] == [e[:2] for e in tlog]
    np.testing.assert_allclose(grad, tgrad, rtol=1e-5)


def test_hooks_replace_the_saved_tensor():
    x = chaingrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with saved_tensors_hooks(
        lambda t: t.detach().numpy().copy(), lambda a: chaingrad.from_numpy(a * 2)
    ):
        y = x * x
    assert np.allclose(y.grad_fn._saved_self.detach().numpy(), [2, 4, 6])
    y.sum().backward()
    assert np.allclose(x.grad.numpy(), [4, 8, 12])  # 2 * (2x): the unpacked values were used


def test_hooks_work_with_create_graph():
    def run(lib, graph):
        log = []
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        with graph.saved_tensors_hooks(
            lambda t: (log.append("pack"), t.clone())[1], lambda t: (log.append("unpack"), t)[1]
        ):
            y = (x**3).sum()
        (g,) = lib.autograd.grad(y, x, create_graph=True)
        g.sum().backward()
        return log, g.detach().numpy(), x.grad.detach().numpy()

    log, g, gg = run(chaingrad, chaingrad.autograd.graph)
    np.testing.assert_allclose(g, [3, 12, 27])
    np.testing.assert_allclose(gg, [6, 12, 18])
    assert log == ["pack", "unpack"]
    torch = pytest.importorskip("torch")
    tlog, tg, tgg = run(torch, torch.autograd.graph)
    assert log == tlog
    np.testing.assert_allclose(g, tg)
    np.testing.assert_allclose(gg, tgg)


def test_hooks_errors_match_torch():
    x = chaingrad.ones(3, requires_grad=True)
    with saved_tensors_hooks(lambda t: t, lambda t: 5):
        y = x * x
    e = raised(lambda: y.sum().backward(), TypeError)
    assert (
        str(e)
        == "Output of saved tensor unpack_hook expected to be a Tensor but got result of type int"
    )

    w = chaingrad.ones(3)

    def inplace(t):
        t.add_(1)
        return t

    def save_modified():
        with saved_tensors_hooks(inplace, lambda t: t):
            x * w

    e = raised(save_modified)
    assert str(e).startswith("A saved tensor pack hook is modifying its input in place.")
    assert chaingrad._C._saved_tensors_hooks_depth() == 0  # the failed block still popped its hooks
    torch = pytest.importorskip("torch")
    xt, wt = torch.ones(3, requires_grad=True), torch.ones(3)

    def torch_modified():
        with torch.autograd.graph.saved_tensors_hooks(inplace, lambda t: t):
            xt * wt

    assert str(e) == str(raised(torch_modified))


def test_hooks_nest_innermost_wins():
    log = []
    x = chaingrad.ones(2, requires_grad=True)
    with saved_tensors_hooks(lambda t: log.append("outer") or t, lambda t: t):
        with saved_tensors_hooks(lambda t: log.append("inner") or t, lambda t: t):
            x.exp()
        x.exp()
    x.exp()
    assert log == ["inner", "outer"]


def test_hooks_are_thread_local():
    log = []
    x = chaingrad.ones(2, requires_grad=True)

    def other_thread():
        x.exp()

    with saved_tensors_hooks(lambda t: log.append("pack") or t, lambda t: t):
        t = threading.Thread(target=other_thread)
        t.start()
        t.join()
    assert log == []


def test_custom_function_saves_through_hooks():
    log = []

    class Square(chaingrad.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    x = chaingrad.tensor([1.0, 3.0], requires_grad=True)
    with saved_tensors_hooks(
        lambda t: log.append("pack") or t, lambda t: log.append("unpack") or t
    ):
        y = Square.apply(x)
    y.sum().backward()
    assert log == ["pack", "unpack"]
    assert np.allclose(x.grad.numpy(), [2, 6])


def test_disable_saved_tensors_hooks_matches_torch():
    with disable_saved_tensors_hooks("hooks are off here"):
        e = raised(lambda: save_on_cpu().__enter__())
        assert str(e) == "hooks are off here"
        x = chaingrad.ones(2, requires_grad=True)
        x.exp().sum().backward()  # saving without hooks still works
    with save_on_cpu():
        with pytest.raises(RuntimeError, match="nope"):
            with disable_saved_tensors_hooks("nope"):
                pass
    assert chaingrad._C._saved_tensors_hooks_get_disabled_error_message() is None
    torch = pytest.importorskip("torch")
    with torch.autograd.graph.disable_saved_tensors_hooks("hooks are off here"):
        assert str(raised(lambda: torch.autograd.graph.save_on_cpu().__enter__())) == str(e)


def test_save_on_cpu_keeps_copies():
    x = chaingrad.tensor([1.0, 2.0], requires_grad=True)
    d = chaingrad.tensor([3.0, 4.0])
    with save_on_cpu(pin_memory=True):
        y = x * d
    d.add_(10)  # the saved copy is unaffected (and, as with any hooks, not version-checked)
    y.sum().backward()
    assert np.allclose(x.grad.numpy(), [3.0, 4.0])


def test_saved_attributes():
    x = chaingrad.tensor([1.0, 2.0], requires_grad=True)
    w = chaingrad.tensor([3.0, 4.0], requires_grad=True)
    y = x * w
    assert y.grad_fn._saved_self is x and y.grad_fn._saved_other is w
    z = x.tanh()
    assert np.allclose(z.grad_fn._saved_result.detach().numpy(), z.detach().numpy())
    torch = pytest.importorskip("torch")
    xt = torch.tensor([1.0, 2.0], requires_grad=True)
    wt = torch.tensor([3.0, 4.0], requires_grad=True)
    assert (xt * wt).grad_fn._saved_self is xt  # the same identity rule


def test_saved_leaf_outlives_its_python_object():
    x = chaingrad.tensor([1.0, 2.0], requires_grad=True)
    w = chaingrad.tensor([3.0, 4.0], requires_grad=True)
    y = (x * w).sum()
    del w  # only the graph holds its values now
    saved = y.grad_fn.next_functions[0][0]._saved_other
    assert np.allclose(saved.detach().numpy(), [3.0, 4.0]) and saved.requires_grad
    y.backward()
    assert np.allclose(x.grad.numpy(), [3.0, 4.0])


# --------------------------------------------------------------------------------- generator state
def test_rng_state_roundtrip():
    chaingrad.manual_seed(123)
    chaingrad.randn(5)
    state = chaingrad.get_rng_state()
    assert state.dtype == chaingrad.int64 and state.dim() == 1
    a = chaingrad.randn(7).numpy()
    d1 = chaingrad.nn.functional.dropout(chaingrad.ones(50), 0.5).numpy()
    chaingrad.set_rng_state(state)
    assert np.array_equal(chaingrad.randn(7).numpy(), a)
    assert np.array_equal(chaingrad.nn.functional.dropout(chaingrad.ones(50), 0.5).numpy(), d1)
    assert chaingrad.initial_seed() == 123
    with pytest.raises(TypeError):
        chaingrad.set_rng_state(chaingrad.ones(3))
