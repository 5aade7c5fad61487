"""Forward-mode AD over the whole op table: for every differentiable sample of ``tests/op_db.py``
the tangent forward mode gives equals the reverse-mode Jacobian times the tangent (float64),
central finite differences where they are meaningful, and PyTorch's ``forward_ad`` when installed.
Also the ``forward_ad`` API itself (levels, errors, views and in-place ops, forward over reverse)."""

from __future__ import annotations

import zlib
from typing import Any, List, Tuple

import numpy as np
import pytest

pytest.importorskip("chaingrad._C")
import chaingrad  # noqa: E402
import chaingrad.autograd.forward_ad as fwAD  # noqa: E402
from op_db import OPS  # noqa: E402
from test_ops import GRAD_CASES, Call, _flat, _np  # noqa: E402

try:
    import torch
    import torch.autograd.forward_ad as torch_fwAD
except ImportError:  # the PyTorch comparisons are skipped
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")


def _tangents(call: Call, seed: str) -> List[np.ndarray]:
    rng = np.random.default_rng(zlib.crc32(seed.encode()))
    return [rng.standard_normal(tuple(leaf.shape)) for leaf in call.leaves]


def _replace(args: Any, mapping: List[Tuple[Any, Any]]) -> Any:
    if isinstance(args, list):
        return [_replace(a, mapping) for a in args]
    for old, new in mapping:
        if args is old:
            return new
    return args


def _forward(lib: Any, fw: Any, call: Call, form: Any, tangents: List[np.ndarray]) -> List[Any]:
    """Tangents of the op's floating outputs (None where forward mode gives none)."""
    with fw.dual_level():
        duals = [fw.make_dual(leaf.detach(), lib.from_numpy(t.astype(np.float64)).to(leaf.dtype))
                 for leaf, t in zip(call.leaves, tangents)]
        mapping = list(zip(call.leaves, duals))
        args = [_replace(a, mapping) for a in call.args]
        outs = _flat(form(lib, *args, **call.kwargs))
        result = []
        for o in outs:
            if not hasattr(o, "dtype") or not o.dtype.is_floating_point:
                continue
            t = fw.unpack_dual(o).tangent
            result.append(None if t is None else _np(t))
        return result


def _reverse_jt(call: Call, form: Any, tangents: List[np.ndarray]) -> List[np.ndarray]:
    """J t from reverse mode: one VJP per output element (the rows of the Jacobian)."""
    outs = [o for o in call.run(form) if hasattr(o, "dtype") and o.dtype.is_floating_point]
    result = []
    for o in outs:
        jt = np.zeros(tuple(o.shape))
        if o.requires_grad:
            flat = o.reshape(-1)
            for k in range(o.numel()):
                grads = chaingrad.autograd.grad(flat[k], call.leaves, retain_graph=True, allow_unused=True)
                jt.reshape(-1)[k] = sum(float((_np(g) * t).sum()) for g, t in zip(grads, tangents) if g is not None)
        result.append(jt)
    return result


def _finite_differences(call: Call, form: Any, tangents: List[np.ndarray], eps: float = 1e-6) -> List[np.ndarray]:
    def at(sign: float) -> List[np.ndarray]:
        with chaingrad.no_grad():
            moved = [leaf + sign * eps * chaingrad.from_numpy(t) for leaf, t in zip(call.leaves, tangents)]
            args = [_replace(a, list(zip(call.leaves, moved))) for a in call.args]
            outs = _flat(form(chaingrad, *args, **call.kwargs))
        return [_np(o) for o in outs if hasattr(o, "dtype") and o.dtype.is_floating_point]
    return [(p - m) / (2 * eps) for p, m in zip(at(1.0), at(-1.0))]


def _check(actual: List[Any], expected: List[np.ndarray], rtol: float, atol: float, what: str) -> None:
    assert len(actual) == len(expected), what
    for k, (a, e) in enumerate(zip(actual, expected)):
        a = np.zeros(e.shape) if a is None else a
        if np.float32 in (a.dtype, np.asarray(e).dtype):  # mixed-precision samples: float32 rounding
            rtol, atol = max(rtol, 1e-5), max(atol, 1e-6)
        assert a.shape == e.shape, f"{what}: output {k} tangent shape {a.shape} != {e.shape}"
        np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, err_msg=f"{what}: output {k}")


def _reverse_is_a_convention(op: Any, sample: Any) -> bool:
    """embedding's padding_idx and scale_grad_by_freq change its VJP only (a training convention):
    the forward reads the padding rows, so forward mode (PyTorch's too) differs from reverse there."""
    return op.name == "embedding" and (sample.kwargs.get("padding_idx") is not None
                                       or sample.kwargs.get("scale_grad_by_freq", False))


@pytest.mark.parametrize("op,sample", GRAD_CASES)
def test_jvp_equals_reverse_jacobian_times_tangent(op: Any, sample: Any) -> None:
    if _reverse_is_a_convention(op, sample):
        pytest.skip("reverse mode zeroes/scales embedding rows by convention; checked against PyTorch")
    form = op.primary()
    call = Call(chaingrad, sample)
    tangents = _tangents(call, op.name)
    ours = _forward(chaingrad, fwAD, call, form, tangents)
    _check(ours, _reverse_jt(call, form, tangents), 1e-7, 1e-9, "forward vs reverse")
    if sample.numeric:
        _check(ours, _finite_differences(call, form, tangents), 1e-4, 1e-6, "forward vs finite differences")


@needs_torch
@pytest.mark.parametrize("op,sample", GRAD_CASES)
def test_jvp_matches_torch(op: Any, sample: Any) -> None:
    form = op.primary()
    call = Call(chaingrad, sample)
    tangents = _tangents(call, op.name)
    ours = _forward(chaingrad, fwAD, call, form, tangents)
    try:
        theirs = _forward(torch, torch_fwAD, Call(torch, sample), form, tangents)
    except (RuntimeError, NotImplementedError) as e:  # PyTorch has no forward rule for this op
        pytest.skip(f"torch forward AD: {e}")
    theirs = [np.zeros(o.shape) if t is None else t for t, o in zip(theirs, ours)] if len(theirs) == len(ours) \
        else theirs
    _check(ours, [t if t is not None else np.zeros(()) for t in theirs], 1e-7, 1e-9, "forward vs torch")


def test_every_op_is_covered() -> None:
    assert {c.values[0].name for c in GRAD_CASES} == {op.name for op in OPS if op.grad} - {
        op.name for op in OPS if op.grad and not any(c.values[0] is op for c in GRAD_CASES)}


# ---- the forward_ad API -----------------------------------------------------------------------
def _x() -> Any:
    return chaingrad.tensor([0.5, 1.0, 2.0], dtype=chaingrad.float64)


def _error(lib: Any, fw: Any, case: str) -> tuple:
    x = lib.tensor([0.5, 1.0, 2.0])
    with pytest.raises(Exception) as info:
        if case == "no_level":
            fw.make_dual(x, lib.ones(3))
        else:
            with fw.dual_level():
                if case == "size":
                    fw.make_dual(x, lib.ones(2))
                elif case == "int_primal":
                    fw.make_dual(lib.arange(3), lib.ones(3))
                elif case == "nested":
                    with fw.dual_level():
                        pass
                elif case == "twice":
                    fw.make_dual(fw.make_dual(x, lib.ones(3)), lib.ones(3))
                elif case == "exit_wrong":
                    fw.exit_dual_level(level=1)
    return type(info.value).__name__, str(info.value).replace("torch.", "").replace("chaingrad.", "")


@pytest.mark.parametrize("case", ["no_level", "size", "int_primal", "nested", "twice", "exit_wrong"])
def test_api_errors(case: str) -> None:
    ours = _error(chaingrad, fwAD, case)
    if torch is not None:
        assert ours == _error(torch, torch_fwAD, case)


def test_dual_basics() -> None:
    x = _x()
    with fwAD.dual_level() as level:
        assert level == 0
        d = fwAD.make_dual(x, chaingrad.ones(3, dtype=chaingrad.float64))
        assert not d.requires_grad and d._base is x
        out = fwAD.unpack_dual(d.sin() * d)
        assert isinstance(out, fwAD.UnpackedDualTensor) and isinstance(out, tuple)
        np.testing.assert_allclose(out.tangent.numpy(), np.cos(x.numpy()) * x.numpy() + np.sin(x.numpy()))
        assert fwAD.unpack_dual(out.primal).tangent is None  # the primal is a plain view
        assert fwAD.unpack_dual(x).tangent is None
        assert not (d * 2).requires_grad  # forward mode alone records no history
        assert fwAD.unpack_dual(d.detach()).tangent is None
        with chaingrad.no_grad():  # forward mode ignores grad mode
            np.testing.assert_allclose(fwAD.unpack_dual(d * 3).tangent.numpy(), [3.0] * 3)
    assert fwAD.unpack_dual(d).tangent is None  # dropped when the level exits


def test_inplace_and_views() -> None:
    x = _x()
    with fwAD.dual_level():
        d = fwAD.make_dual(x, chaingrad.tensor([1.0, 2.0, 3.0], dtype=chaingrad.float64))
        y = d.clone()
        y.mul_(3)
        np.testing.assert_allclose(fwAD.unpack_dual(y).tangent.numpy(), [3.0, 6.0, 9.0])
        z = chaingrad.zeros(5, dtype=chaingrad.float64)
        z[1:4] = d
        np.testing.assert_allclose(fwAD.unpack_dual(z).tangent.numpy(), [0, 1, 2, 3, 0])
        np.testing.assert_allclose(fwAD.unpack_dual(z[1:3]).tangent.numpy(), [1, 2])
        w = d.view(3, 1).t().exp()
        np.testing.assert_allclose(fwAD.unpack_dual(w).tangent.numpy(), [np.exp(x.numpy()) * [1, 2, 3]])


def test_forward_over_reverse_hvp() -> None:
    p = _x().requires_grad_()
    v = chaingrad.tensor([1.0, -1.0, 0.5], dtype=chaingrad.float64)
    with fwAD.dual_level():
        d = fwAD.make_dual(p, v)
        (g,) = chaingrad.autograd.grad((d.sin() * d * d).sum(), d, create_graph=True)
        hv = fwAD.unpack_dual(g).tangent
    x = p.detach().numpy()
    h = 2 * np.sin(x) + 4 * x * np.cos(x) - x * x * np.sin(x)  # diagonal Hessian of sum x^2 sin x
    np.testing.assert_allclose(hv.detach().numpy(), h * v.numpy(), rtol=1e-12)
    _, ref = chaingrad.autograd.functional.hvp(lambda x: (x.sin() * x * x).sum(), p.detach(), v)
    np.testing.assert_allclose(hv.detach().numpy(), ref.numpy(), rtol=1e-12)


def test_native_rules_skip_the_fallback() -> None:
    chaingrad._C._reset_forward_ad_counts()
    w = chaingrad.tensor(np.random.default_rng(0).standard_normal((4, 4)))
    with fwAD.dual_level():
        d = fwAD.make_dual(chaingrad.ones(4, 4, dtype=chaingrad.float64), chaingrad.ones(4, 4, dtype=chaingrad.float64))
        out = ((d @ w).tanh() * 2 + d / 3).sum()
        fwAD.unpack_dual(out)
    counts = chaingrad._C._forward_ad_counts()
    assert counts["fallback"] == 0 and counts["native"] >= 5


def _custom_functions(lib: Any) -> tuple:
    class Square(lib.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            ctx.save_for_backward(x)
            ctx.save_for_forward(x)
            return x * x

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            (x,) = ctx.saved_tensors
            return 2 * x * g

        @staticmethod
        def jvp(ctx: Any, t: Any) -> Any:
            (x,) = ctx.saved_tensors
            return 2 * x * t

    class ScaleWithContext(lib.autograd.Function):  # setup_context style, two inputs
        @staticmethod
        def forward(x: Any, k: float) -> Any:
            return x * k

        @staticmethod
        def setup_context(ctx: Any, inputs: tuple, output: Any) -> None:
            ctx.k = inputs[1]

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            return g * ctx.k, None

        @staticmethod
        def jvp(ctx: Any, t: Any, _: Any) -> Any:
            return t * ctx.k

    class NoJvp(lib.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            return x * 2

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            return g * 2

    return Square, ScaleWithContext, NoJvp


def _custom_jvp(lib: Any, fw: Any) -> List[np.ndarray]:
    square, scale, _ = _custom_functions(lib)
    x = lib.tensor([0.5, 1.0, 2.0], dtype=lib.float64)
    with fw.dual_level():
        d = fw.make_dual(x, lib.tensor([1.0, -1.0, 2.0], dtype=lib.float64))
        out = scale.apply(square.apply(d).sin(), 3.0)
        return [_np(fw.unpack_dual(out).tangent)]


def test_custom_function_jvp() -> None:
    (ours,) = _custom_jvp(chaingrad, fwAD)
    x, t = np.array([0.5, 1.0, 2.0]), np.array([1.0, -1.0, 2.0])
    np.testing.assert_allclose(ours, 3 * np.cos(x * x) * 2 * x * t, rtol=1e-12)
    if torch is not None:
        np.testing.assert_allclose(ours, _custom_jvp(torch, torch_fwAD)[0], rtol=1e-12)
    _, _, no_jvp = _custom_functions(chaingrad)
    with fwAD.dual_level():
        d = fwAD.make_dual(chaingrad.ones(2), chaingrad.ones(2))
        with pytest.raises(NotImplementedError, match="You must implement the jvp function"):
            no_jvp.apply(d)


def test_tangent_of_a_0d_gradient_without_create_graph() -> None:
    # The engine's 0-d scalar path passes gradients as numbers: with a dual level active it must
    # step aside so that the gradient carries its tangent, d/dx (2x e^(x^2)) t (as PyTorch gives).
    x0, t0 = 0.7, 1.5
    with fwAD.dual_level():
        x = fwAD.make_dual(chaingrad.tensor(x0, dtype=chaingrad.float64).requires_grad_(),
                           chaingrad.tensor(t0, dtype=chaingrad.float64))
        (g,) = chaingrad.autograd.grad((x * x).exp(), x)
        tangent = fwAD.unpack_dual(g).tangent
    assert abs(g.item() - 2 * x0 * np.exp(x0 ** 2)) < 1e-12
    assert tangent is not None
    assert abs(tangent.item() - (2 + 4 * x0 ** 2) * np.exp(x0 ** 2) * t0) < 1e-10
