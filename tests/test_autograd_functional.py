"""chaingrad.autograd.functional against PyTorch 2.13 (and finite differences without it): the same
values, the same nesting and shapes, create_graph, strict errors (type and message), and
vectorize=True / strategy="forward-mode" giving the loop's result."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

pytest.importorskip("chaingrad._C")
import chaingrad  # noqa: E402
import chaingrad.autograd.functional as F  # noqa: E402
from functional_helpers import needs_torch, same, t64, to_numpy, torch  # noqa: E402, F401

RNG = np.random.default_rng(14)
X = RNG.uniform(-1, 1, (3,))
Y = RNG.uniform(-1, 1, (3,))
W = RNG.uniform(-1, 1, (2, 3))
S = RNG.uniform(-1, 1, ())


_t = t64


# Functions written once for both libraries (lib is chaingrad or torch).
FUNCS: dict = {
    "elementwise": (lambda lib: (lambda x: x ** 2 * x.sin()), lambda lib: _t(lib, X)),
    "tuple_in_out": (lambda lib: (lambda x, y: (x * y, x.exp() + y.sum())), lambda lib: (_t(lib, X), _t(lib, Y))),
    "matrix": (lambda lib: (lambda w: (w @ lib.ones(3, dtype=lib.float64)).tanh()), lambda lib: _t(lib, W)),
    "matrix_vector": (lambda lib: (lambda w, x: lib.tanh(w @ x)), lambda lib: (_t(lib, W), _t(lib, X))),
    "scalar_input": (lambda lib: (lambda s: lib.stack([s.sin(), s * s])), lambda lib: _t(lib, S)),
    "unused_input": (lambda lib: (lambda x, y: x.sin()), lambda lib: (_t(lib, X), _t(lib, Y))),
}
SCALAR_FUNCS: dict = {
    "cubic": (lambda lib: (lambda x: (x ** 3).sum()), lambda lib: _t(lib, X)),
    "two_inputs": (lambda lib: (lambda x, y: (x.sin() * y).sum() + (x * x * y).sum()),
                   lambda lib: (_t(lib, X), _t(lib, Y))),
    "matrix": (lambda lib: (lambda w: (w.tanh() ** 2).sum()), lambda lib: _t(lib, W)),
    "linear_in_y": (lambda lib: (lambda x, y: (x.exp() + y).sum()), lambda lib: (_t(lib, X), _t(lib, Y))),
}


_np = to_numpy
_same = same


def _vec(lib: Any, like: Any, seed: int) -> Any:
    rng = np.random.default_rng(seed)
    if isinstance(like, tuple):
        return tuple(_vec(lib, x, seed + i) for i, x in enumerate(like))
    return _t(lib, rng.standard_normal(tuple(like.shape)))


def _run(lib: Any, case: tuple, fn: Callable[..., Any]) -> Any:
    make_f, make_x = case
    return fn(lib, make_f(lib), make_x(lib))


def _both(case: tuple, fn: Callable[..., Any]) -> None:
    ours = _np(_run(chaingrad, case, fn))
    if torch is None:
        return
    _same(ours, _np(_run(torch, case, fn)))


def _fd_jacobian(f: Callable[..., Any], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    cols = []
    for k in range(x.size):
        d = np.zeros(x.size)
        d[k] = eps
        p = f(chaingrad.tensor(x + d.reshape(x.shape), dtype=chaingrad.float64)).numpy()
        m = f(chaingrad.tensor(x - d.reshape(x.shape), dtype=chaingrad.float64)).numpy()
        cols.append(((p - m) / (2 * eps)).reshape(-1))
    return np.stack(cols, 1).reshape(np.shape(f(chaingrad.tensor(x))) + x.shape)


# ---- values, nesting and shapes ---------------------------------------------------------------
@pytest.mark.parametrize("name", FUNCS)
def test_jacobian(name: str) -> None:
    _both(FUNCS[name], lambda lib, f, x: lib.autograd.functional.jacobian(f, x))


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("how", ["vectorize", "forward"])
def test_jacobian_vectorized_and_forward_equal_the_loop(name: str, how: str) -> None:
    case = FUNCS[name]
    kw = {"vectorize": True} if how == "vectorize" else {"vectorize": True, "strategy": "forward-mode"}
    loop = _np(_run(chaingrad, case, lambda lib, f, x: F.jacobian(f, x)))
    _same(_as_tuples(_np(_run(chaingrad, case, lambda lib, f, x: F.jacobian(f, x, **kw)))), loop)


def _as_tuples(v: Any) -> Any:  # forward mode nests in lists, as PyTorch's does
    return tuple(_as_tuples(e) for e in v) if isinstance(v, (tuple, list)) else v


def test_jacobian_matches_finite_differences() -> None:
    f = FUNCS["elementwise"][0](chaingrad)
    np.testing.assert_allclose(F.jacobian(f, chaingrad.tensor(X)).numpy(), _fd_jacobian(f, X), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", SCALAR_FUNCS)
@pytest.mark.parametrize("kw", [{}, {"vectorize": True}, {"outer_jacobian_strategy": "forward-mode",
                                                          "vectorize": True}], ids=["loop", "vectorize", "fwd"])
def test_hessian(name: str, kw: dict) -> None:
    _both(SCALAR_FUNCS[name], lambda lib, f, x: lib.autograd.functional.hessian(f, x, **kw))


@pytest.mark.parametrize("name", FUNCS)
def test_vjp(name: str) -> None:
    def run(lib: Any, f: Any, x: Any) -> Any:
        out = f(*x) if isinstance(x, tuple) else f(x)
        return lib.autograd.functional.vjp(f, x, _vec(lib, out, 3))
    _both(FUNCS[name], run)


@pytest.mark.parametrize("name", FUNCS)
def test_jvp(name: str) -> None:
    _both(FUNCS[name], lambda lib, f, x: lib.autograd.functional.jvp(f, x, _vec(lib, x, 5)))


@pytest.mark.parametrize("name", SCALAR_FUNCS)
@pytest.mark.parametrize("which", ["hvp", "vhp"])
def test_hvp_vhp(name: str, which: str) -> None:
    _both(SCALAR_FUNCS[name], lambda lib, f, x: getattr(lib.autograd.functional, which)(f, x, _vec(lib, x, 7)))


def test_v_may_be_omitted_for_one_element() -> None:
    case = (lambda lib: (lambda s: s.exp()), lambda lib: _t(lib, S))
    for fn in ("vjp", "jvp"):
        _both(case, lambda lib, f, x, fn=fn: getattr(lib.autograd.functional, fn)(f, x))
    case = (lambda lib: (lambda s: s ** 3), lambda lib: _t(lib, S))
    for fn in ("hvp", "vhp"):
        _both(case, lambda lib, f, x, fn=fn: getattr(lib.autograd.functional, fn)(f, x))


# ---- create_graph -----------------------------------------------------------------------------
@pytest.mark.parametrize("fn", ["jacobian", "hessian", "vjp", "jvp", "hvp", "vhp"])
def test_create_graph_results_are_differentiable(fn: str) -> None:
    def run(lib: Any) -> Any:
        x = _t(lib, X, requires_grad=True)
        f = (lambda x: (x ** 3).sum()) if fn in ("hessian", "hvp", "vhp") else (lambda x: x ** 3)
        F_ = lib.autograd.functional
        if fn in ("jacobian", "hessian"):
            r = getattr(F_, fn)(f, x, create_graph=True)
        elif fn == "vjp":
            r = F_.vjp(f, x, lib.ones(3, dtype=lib.float64), create_graph=True)[1]
        else:
            r = getattr(F_, fn)(f, x, lib.ones(3, dtype=lib.float64), create_graph=True)[1]
        assert r.requires_grad
        (g,) = lib.autograd.grad(r.sum(), x)
        return r, g
    ours = _np(run(chaingrad))
    if torch is not None:
        _same(ours, _np(run(torch)))


def test_results_are_detached_without_create_graph() -> None:
    x = chaingrad.tensor(X, requires_grad=True)
    out, v = F.vjp(lambda x: x * 2, x, chaingrad.ones(3, dtype=chaingrad.float64))
    assert not out.requires_grad and not v.requires_grad
    assert not F.jacobian(lambda x: x * 2, x).requires_grad


# ---- errors -----------------------------------------------------------------------------------
def _error(lib: Any, call: Callable[[Any], Any]) -> tuple:
    with pytest.raises(Exception) as info:
        call(lib)
    return type(info.value).__name__, str(info.value).replace("torch.", "").replace("chaingrad.", "")


ERRORS = {
    "strict_independent_input": lambda lib: lib.autograd.functional.jacobian(
        lambda x, y: x.sin(), (_t(lib, X), _t(lib, Y)), strict=True),
    "strict_output_no_grad": lambda lib: lib.autograd.functional.vjp(
        lambda x: lib.ones(3, dtype=lib.float64), _t(lib, X), lib.ones(3, dtype=lib.float64), strict=True),
    "strict_linear_hessian": lambda lib: lib.autograd.functional.hessian(
        lambda x: x.sum(), _t(lib, X), strict=True),
    "strict_jvp_independent": lambda lib: lib.autograd.functional.jvp(
        lambda x, y: x.sin(), (_t(lib, X), _t(lib, Y)), (_t(lib, X), _t(lib, Y)), strict=True),
    "strict_hvp_linear": lambda lib: lib.autograd.functional.hvp(
        lambda x: x.sum(), _t(lib, X), _t(lib, X), strict=True),
    "strict_vhp_linear": lambda lib: lib.autograd.functional.vhp(
        lambda x: x.sum(), _t(lib, X), _t(lib, X), strict=True),
    "strict_vectorize": lambda lib: lib.autograd.functional.jacobian(
        lambda x: x * 2, _t(lib, X), strict=True, vectorize=True),
    "forward_strict": lambda lib: lib.autograd.functional.jacobian(
        lambda x: x * 2, _t(lib, X), strict=True, strategy="forward-mode", vectorize=True),
    "forward_create_graph": lambda lib: lib.autograd.functional.jacobian(
        lambda x: x * 2, _t(lib, X), create_graph=True, strategy="forward-mode"),
    "forward_no_vectorize": lambda lib: lib.autograd.functional.jacobian(
        lambda x: x * 2, _t(lib, X), strategy="forward-mode"),
    "bad_strategy": lambda lib: lib.autograd.functional.jacobian(lambda x: x, _t(lib, X), strategy="sideways"),
    "not_a_tensor_output": lambda lib: lib.autograd.functional.vjp(lambda x: 3, _t(lib, X)),
    "not_a_tensor_input": lambda lib: lib.autograd.functional.jacobian(lambda x: x, (_t(lib, X), 2)),
    "v_none_needs_one_element": lambda lib: lib.autograd.functional.vjp(lambda x: x * 2, _t(lib, X)),
    "v_none_jvp": lambda lib: lib.autograd.functional.jvp(lambda x: x * 2, _t(lib, X)),
    "v_wrong_size": lambda lib: lib.autograd.functional.jvp(lambda x: x * 2, _t(lib, X), lib.ones(2)),
    "v_wrong_length": lambda lib: lib.autograd.functional.jvp(
        lambda x, y: x * y, (_t(lib, X), _t(lib, Y)), (_t(lib, X),)),
    "v_entry_size": lambda lib: lib.autograd.functional.vhp(
        lambda x, y: (x * y).sum(), (_t(lib, X), _t(lib, Y)), (_t(lib, X), lib.ones(2))),
    "hessian_tuple_output": lambda lib: lib.autograd.functional.hessian(lambda x: (x.sum(), x.sum()), _t(lib, X)),
    "hessian_not_scalar": lambda lib: lib.autograd.functional.hessian(lambda x: x * 2, _t(lib, X)),
    "hvp_not_scalar": lambda lib: lib.autograd.functional.hvp(lambda x: x * 2, _t(lib, X), _t(lib, X)),
}


@needs_torch
@pytest.mark.parametrize("name", ERRORS)
def test_errors_match_torch(name: str) -> None:
    assert _error(chaingrad, ERRORS[name]) == _error(torch, ERRORS[name])


def test_strict_errors_without_torch() -> None:
    with pytest.raises(RuntimeError, match="independent of input 1"):
        ERRORS["strict_independent_input"](chaingrad)
    with pytest.raises(RuntimeError, match="does not require gradients"):
        ERRORS["strict_output_no_grad"](chaingrad)


def test_non_strict_unused_input_gives_zeros() -> None:
    jac = F.jacobian(lambda x, y: x.sin(), (chaingrad.tensor(X), chaingrad.tensor(Y)))
    assert isinstance(jac, tuple) and jac[1].shape == (3, 3) and not jac[1].numpy().any()


# ---- is_grads_batched -------------------------------------------------------------------------
def test_is_grads_batched_equals_rows() -> None:
    x = chaingrad.tensor(W, requires_grad=True)
    y = x.tanh() * 3
    vs = chaingrad.tensor(RNG.standard_normal((4, 2, 3)))
    (batched,) = chaingrad.autograd.grad(y, x, vs, retain_graph=True, is_grads_batched=True)
    rows = [chaingrad.autograd.grad(y, x, vs[i], retain_graph=True)[0].numpy() for i in range(4)]
    np.testing.assert_allclose(batched.numpy(), np.stack(rows), rtol=1e-12)
    if torch is not None:
        tx = torch.tensor(W, requires_grad=True)
        (tb,) = torch.autograd.grad(tx.tanh() * 3, tx, torch.tensor(vs.numpy()), is_grads_batched=True)
        np.testing.assert_allclose(batched.numpy(), tb.numpy(), rtol=1e-12)
