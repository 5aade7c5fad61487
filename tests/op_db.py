"""The operator table: one ``OpInfo`` per operator drives every test in ``test_ops.py``.

An entry names the op (its function form ``lib.<name>(x, ...)`` and method form
``x.<name>(...)`` are derived unless ``op``/``variants`` say otherwise), a numpy reference and
a sample generator. ``lib`` is ``chaingrad`` or ``torch``, so one lambda runs on both.
Sample arguments are numpy arrays (tensor inputs: floating arrays require grad) or plain
Python values; ``layout`` makes an input non-contiguous ('T': a transposed view, 'S': a view
sliced with steps). Adding an op = adding one entry to ``OPS``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

# ---------------------------------------------------------------------------------- structure


@dataclass
class Sample:
    args: Tuple[Any, ...]
    kwargs: Dict[str, Any] = field(default_factory=dict)
    desc: str = ""
    layout: Tuple[Optional[str], ...] = ()  # per positional arg: None, 'T' or 'S'
    grad: Optional[Tuple[bool, ...]] = None  # per positional arg; default: floating arrays
    numeric: bool = True  # finite differences are valid here (False at ties and kinks)

    def requires_grad(self, i: int) -> bool:
        a = self.args[i]
        if not (isinstance(a, np.ndarray) and a.dtype.kind == "f"):
            return False
        return True if self.grad is None else bool(self.grad[i])

    def differentiable(self) -> bool:
        return any(self.requires_grad(i) for i in range(len(self.args)))

    def layout_of(self, i: int) -> Optional[str]:
        return self.layout[i] if i < len(self.layout) else None

    def __repr__(self) -> str:
        parts = []
        for i, a in enumerate(self.args):
            if isinstance(a, np.ndarray):
                lay = self.layout_of(i)
                parts.append(f"{a.dtype.name}{list(a.shape)}{lay or ''}")
            else:
                parts.append(repr(a))
        parts += [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return (self.desc + ":" if self.desc else "") + ",".join(parts)


@dataclass
class OpInfo:
    name: str
    ref: Optional[Callable[..., Any]]                    # numpy reference: ref(*args, **kwargs)
    samples: Callable[[np.random.Generator], List[Sample]]
    op: Optional[Callable[..., Any]] = None              # op(lib, *args, **kwargs); default lib.<name>
    variants: Dict[str, Callable[..., Any]] = field(default_factory=dict)  # other forms (forward + name)
    method: bool = True                                  # derive the x.<name>(...) form
    function: bool = True                                # derive the lib.<name>(x, ...) form
    grad: bool = True                                    # differentiable at all
    gradgrad: bool = True                                # second derivatives checked
    rtol: float = 1e-7
    atol: float = 1e-9
    f32_rtol: float = 2e-4                               # float32 vs float64
    f32_atol: float = 2e-5
    grad_rtol: float = 1e-6                              # gradients vs torch (float64)
    grad_atol: float = 1e-8
    numpy_dtype: bool = True                             # result dtype must equal numpy's
    name_xfail: Optional[str] = None                     # grad_fn name known to differ from PyTorch
    f32: bool = True                                     # run the float32-vs-float64 check

    def forms(self) -> Dict[str, Callable[..., Any]]:
        """Every way of calling the op: primary first."""
        out: Dict[str, Callable[..., Any]] = {}
        if self.op is not None:
            out["op"] = self.op
        name = self.name.split(".")[0]
        if self.function and self.op is None:
            out["function"] = lambda lib, x, *a, **k: getattr(lib, name)(x, *a, **k)
        if self.method and self.op is None:
            out["method"] = lambda lib, x, *a, **k: getattr(x, name)(*a, **k)
        out.update(self.variants)
        return out

    def primary(self) -> Callable[..., Any]:
        return next(iter(self.forms().values()))


# ---------------------------------------------------------------------------------- inputs


def _arr(rng: np.random.Generator, shape: Sequence[int], lo: float = -2.0, hi: float = 2.0,
         avoid: Sequence[float] = (), margin: float = 0.15) -> np.ndarray:
    """Uniform values in [lo, hi], pushed at least `margin` away from the points in `avoid`
    (kinks where finite differences are meaningless), and away from each other (no ties)."""
    a = rng.uniform(lo, hi, size=tuple(shape))
    for p in avoid:
        near = np.abs(a - p) < margin
        a = np.where(near, p + np.where(a >= p, margin, -margin) * (1 + rng.uniform(0, 1, a.shape)), a)
    return np.asarray(a, dtype=np.float64)


def _distinct(rng: np.random.Generator, shape: Sequence[int], lo: float = -2.0, hi: float = 2.0) -> np.ndarray:
    """Values at least 0.05 apart (max/min/sort-like ops: no ties, no ambiguity)."""
    n = int(np.prod(shape)) if len(shape) else 1
    grid = np.linspace(lo, hi, max(n, 2) * 2)
    vals = rng.permutation(grid)[:n] + rng.uniform(-0.01, 0.01, n)
    return vals.reshape(tuple(shape)).astype(np.float64)


def rand_shape(rng: np.random.Generator, max_dims: int = 3, max_size: int = 3) -> Tuple[int, ...]:
    return tuple(int(s) for s in rng.integers(1, max_size + 1, size=int(rng.integers(0, max_dims + 1))))


def rand_broadcast_pair(rng: np.random.Generator) -> Tuple[Tuple[int, ...], Tuple[int, ...]]:
    """Two shapes that broadcast together: size-1 and missing leading dims at random."""
    full = rand_shape(rng, 3, 3)
    a = tuple(1 if rng.random() < 0.3 else s for s in full)
    b = tuple(1 if rng.random() < 0.3 else s for s in full)
    b = b[int(rng.integers(0, len(b) + 1)):] if b else b
    return a, b


def unary_samples(lo: float = -2.0, hi: float = 2.0, avoid: Sequence[float] = (), ints: bool = False,
                  extra: Sequence[Any] = ()) -> Callable[[np.random.Generator], List[Sample]]:
    def gen(rng: np.random.Generator) -> List[Sample]:
        a = lambda s: _arr(rng, s, lo, hi, avoid)  # noqa: E731
        out = [Sample((a(()),) + tuple(extra)), Sample((a((4,)),) + tuple(extra)),
               Sample((a((2, 3)),) + tuple(extra)),
               Sample((a((3, 2)),) + tuple(extra), layout=("T",), desc="transposed"),
               Sample((a((2, 3)),) + tuple(extra), layout=("S",), desc="stepped"),
               Sample((a(rand_shape(rng)),) + tuple(extra), desc="random")]
        if ints:
            out.append(Sample((rng.integers(1 if lo >= 0 else -3, 4, size=(2, 3)),) + tuple(extra), desc="int"))
        return out
    return gen


def binary_samples(lo: float = -2.0, hi: float = 2.0, lo2: Optional[float] = None, hi2: Optional[float] = None,
                   avoid: Sequence[float] = (), ints: bool = True) -> Callable[[np.random.Generator], List[Sample]]:
    lo2 = lo if lo2 is None else lo2
    hi2 = hi if hi2 is None else hi2

    def gen(rng: np.random.Generator) -> List[Sample]:
        a = lambda s: _arr(rng, s, lo, hi, avoid)  # noqa: E731
        b = lambda s: _arr(rng, s, lo2, hi2, avoid)  # noqa: E731
        pa, pb = rand_broadcast_pair(rng)
        out = [Sample((a(()), b(()))), Sample((a((2, 3)), b((2, 3)))),
               Sample((a((3, 1)), b((1, 4))), desc="broadcast"),
               Sample((a((4,)), b((2, 4))), desc="broadcast"),
               Sample((a(()), b((2, 3))), desc="0-d"),
               Sample((a((3, 2)), b((3, 2))), layout=("T", "S"), desc="noncontig"),
               Sample((a(pa), b(pb)), desc="random broadcast")]
        if ints:
            out.append(Sample((rng.integers(1, 4, size=(2, 3)), rng.integers(1, 4, size=(3,))), desc="int"))
            out.append(Sample((rng.integers(1, 4, size=(2, 3)), b((3,))), desc="int-float"))
            out.append(Sample((a((2, 3)).astype(np.float32), b((3,))), grad=(False, True), desc="float32-float64"))
            out.append(Sample((a((2, 3)).astype(np.float32), b((3,))), desc="float32-float64 both", numeric=False))
            # float32 results: finite differences are too coarse, PyTorch's gradients still compared
            out.append(Sample((a((2, 3)).astype(np.float32), b(())), grad=(False, True), desc="float32-0d float64",
                              numeric=False))
            out.append(Sample((rng.integers(1, 4, size=(2, 3)), b(()).astype(np.float32)), desc="int-0d float32",
                              numeric=False))
        return out
    return gen


def reduction_samples(dims: bool = True, lo: float = -2.0, hi: float = 2.0, distinct: bool = False,
                      multi_dim: bool = True, ints: bool = False, keepdim: bool = True,
                      extra: Dict[str, Any] = None) -> Callable[[np.random.Generator], List[Sample]]:
    extra = extra or {}

    def gen(rng: np.random.Generator) -> List[Sample]:
        a = (lambda s: _distinct(rng, s, lo, hi)) if distinct else (lambda s: _arr(rng, s, lo, hi))  # noqa: E731
        out = [Sample((a(()),), dict(extra)), Sample((a((3, 4)),), dict(extra)),
               Sample((a((4, 3)),), dict(extra), layout=("T",), desc="transposed")]
        if dims:
            out += [Sample((a(()),), dict(extra, dim=0)),
                    Sample((a((3, 4)),), dict(extra, dim=1)),
                    Sample((a((2, 3, 2)),), dict(extra, dim=-1, keepdim=True) if keepdim else dict(extra, dim=-1)),
                    Sample((a((3, 4)),), dict(extra, dim=0), layout=("S",), desc="stepped")]
            if multi_dim:
                out.append(Sample((a((2, 3, 2)),), dict(extra, dim=(0, 2))))
        if ints:
            out.append(Sample((rng.integers(-3, 4, size=(2, 3)),), dict(extra), desc="int"))
        return out
    return gen


def dim_samples(lo: float = -2.0, hi: float = 2.0, positive: bool = False, with_zeros: bool = False,
                ints: bool = False) -> Callable[[np.random.Generator], List[Sample]]:
    """Ops taking a required `dim` (softmax, cumsum, ...)."""
    def gen(rng: np.random.Generator) -> List[Sample]:
        a = lambda s: _arr(rng, s, lo, hi) if not positive else _arr(rng, s, 0.5, 1.5)  # noqa: E731
        out = [Sample((a(()), 0)), Sample((a((5,)), 0)), Sample((a((3, 4)), 1)), Sample((a((3, 4)), 0)),
               Sample((a((2, 3, 2)), -2)), Sample((a((4, 3)), 1), layout=("T",), desc="transposed"),
               Sample((a((3, 4)),), {"dim": 1}, desc="keyword"),
               Sample((a((3, 4)), -1), layout=("S",), desc="stepped")]
        if with_zeros:
            z = a((2, 4))
            z[0, 1] = 0.0
            z[1, 2] = 0.0
            z[1, 3] = 0.0
            out.append(Sample((z, 1), desc="zeros"))
        if ints:
            out.append(Sample((rng.integers(-3, 4, size=(2, 3)), 1), desc="int"))
        return out
    return gen


def just(*samples: Sample) -> Callable[[np.random.Generator], List[Sample]]:
    return lambda rng: list(samples)


def gen(f: Callable[[np.random.Generator], List[Sample]]) -> Callable[[np.random.Generator], List[Sample]]:
    return f


# ---------------------------------------------------------------------------------- references

_erf = np.vectorize(math.erf, otypes=[np.float64])


def _keep(dims: Any, ndim: int) -> Optional[Tuple[int, ...]]:
    if dims is None:
        return None
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    return tuple(d % max(ndim, 1) for d in dims) if ndim else None


def _red(f: Callable[..., Any]) -> Callable[..., Any]:
    """A numpy reduction with PyTorch's (dim, keepdim) arguments."""
    def r(x: np.ndarray, dim: Any = None, keepdim: bool = False, **kw: Any) -> Any:
        return f(x, axis=_keep(dim, x.ndim), keepdims=keepdim, **kw)
    return r


def _softmax(x: np.ndarray, dim: int) -> np.ndarray:
    if x.ndim == 0:
        return np.ones_like(x)
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


def _log_softmax(x: np.ndarray, dim: int) -> np.ndarray:
    if x.ndim == 0:
        return np.zeros_like(x)
    m = x.max(axis=dim, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=dim, keepdims=True))


def _logsumexp(x: np.ndarray, dim: Any, keepdim: bool = False) -> np.ndarray:
    ax = _keep(dim, x.ndim)
    m = np.max(x, axis=ax, keepdims=True)
    r = np.log(np.sum(np.exp(x - m), axis=ax, keepdims=True)) + m
    return r if keepdim or ax is None else np.squeeze(r, axis=ax)


def _norm(x: np.ndarray, p: Any = "fro", dim: Any = None, keepdim: bool = False) -> np.ndarray:
    ax = _keep(dim, x.ndim)
    a = np.abs(x)
    if p in ("fro", 2, 2.0):
        return np.sqrt(np.sum(a * a, axis=ax, keepdims=keepdim))
    if p == 1:
        return np.sum(a, axis=ax, keepdims=keepdim)
    if p == math.inf:
        return np.max(a, axis=ax, keepdims=keepdim)
    if p == -math.inf:
        return np.min(a, axis=ax, keepdims=keepdim)
    return np.sum(a ** p, axis=ax, keepdims=keepdim) ** (1.0 / p)


def _var(x: np.ndarray, dim: Any = None, keepdim: bool = False, correction: float = 1, unbiased: Any = None) -> Any:
    if unbiased is not None:
        correction = 1 if unbiased else 0
    return np.var(x, axis=_keep(dim, x.ndim), ddof=correction, keepdims=keepdim)


def _max_dim(x: np.ndarray, dim: Any = None, keepdim: bool = False, is_max: bool = True) -> Any:
    if dim is None:
        return np.max(x) if is_max else np.min(x)
    d = dim % max(x.ndim, 1)
    if x.ndim == 0:
        return x.copy(), np.array(0)
    v = (np.max if is_max else np.min)(x, axis=d, keepdims=keepdim)
    i = (np.argmax if is_max else np.argmin)(x, axis=d, keepdims=keepdim)
    return v, i


def _gelu(x: np.ndarray, approximate: str = "none") -> np.ndarray:
    return 0.5 * x * (1 + _erf(x / math.sqrt(2)))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def _softplus(x: np.ndarray, beta: float = 1.0, threshold: float = 20.0) -> np.ndarray:
    return np.where(x * beta > threshold, x, np.log1p(np.exp(x * beta)) / beta)


def _clamp(x: np.ndarray, min: Any = None, max: Any = None) -> np.ndarray:  # noqa: A002
    r = x
    if min is not None:
        r = np.maximum(r, min)
    if max is not None:
        r = np.minimum(r, max)
    return r


def _permute(x: np.ndarray, *dims: Any) -> np.ndarray:
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    return np.transpose(x, dims)


# ---------------------------------------------------------------------------------- shorthands

def _F(lib: Any) -> Any:
    return lib.nn.functional


def fn(name: str) -> Callable[..., Any]:
    """lib.<name>(*args): a function-only form (no method)."""
    return lambda lib, *a, **k: getattr(lib, name)(*a, **k)


def F(name: str) -> Callable[..., Any]:
    return lambda lib, *a, **k: getattr(_F(lib), name)(*a, **k)


def unary(name: str, ref: Callable[..., Any], lo: float = -2.0, hi: float = 2.0, avoid: Sequence[float] = (),
          ints: bool = True, **kw: Any) -> OpInfo:
    return OpInfo(name, ref, unary_samples(lo, hi, avoid, ints), **kw)


# ---------------------------------------------------------------------------------- the table

OPS: List[OpInfo] = [
    # ---- elementwise arithmetic
    OpInfo("add", np.add, binary_samples(), variants={"operator": lambda lib, x, y: x + y}),
    OpInfo("add.alpha", lambda x, y, alpha=2: x + alpha * y, binary_samples(ints=False),
           op=lambda lib, x, y, alpha=2: lib.add(x, y, alpha=alpha),
           variants={"method": lambda lib, x, y, alpha=2: x.add(y, alpha=alpha)}),
    OpInfo("add.scalar", lambda x: x + 2.5, unary_samples(ints=True), op=lambda lib, x: x + 2.5,
           variants={"radd": lambda lib, x: 2.5 + x, "method": lambda lib, x: x.add(2.5)}, numpy_dtype=False),
    OpInfo("sub", np.subtract, binary_samples(), variants={"operator": lambda lib, x, y: x - y}),
    OpInfo("sub.scalar", lambda x: x - 1.5, unary_samples(ints=True), op=lambda lib, x: x - 1.5,
           variants={"method": lambda lib, x: x.sub(1.5)}, numpy_dtype=False),
    OpInfo("rsub.scalar", lambda x: 1.5 - x, unary_samples(ints=True), op=lambda lib, x: 1.5 - x, numpy_dtype=False),
    OpInfo("mul", np.multiply, binary_samples(), variants={"operator": lambda lib, x, y: x * y}),
    OpInfo("mul.scalar", lambda x: x * 3, unary_samples(ints=True), op=lambda lib, x: x * 3,
           variants={"rmul": lambda lib, x: 3 * x, "method": lambda lib, x: x.mul(3)}),
    OpInfo("div", lambda x, y: np.true_divide(x, y).astype(np.result_type(x, y, np.float32)),
           binary_samples(lo2=0.5, hi2=2.0), variants={"operator": lambda lib, x, y: x / y}, numpy_dtype=False),
    OpInfo("div.scalar", lambda x: x / 4, unary_samples(), op=lambda lib, x: x / 4,
           variants={"method": lambda lib, x: x.div(4)}),
    OpInfo("rdiv.scalar", lambda x: 2 / x, unary_samples(0.5, 2.0), op=lambda lib, x: 2 / x),
    OpInfo("neg", np.negative, unary_samples(ints=True), variants={"operator": lambda lib, x: -x}),
    OpInfo("pow.tensor_scalar", lambda x, exponent: np.power(x, exponent), gen(lambda rng: [
        s for e in (2, 3, 0.5, -1.5) for s in unary_samples(0.5, 2.0, extra=(e,))(rng)[:4]] + [
        Sample((_arr(rng, (2, 3), 0.5, 2.0),), {"exponent": 2.5}, desc="keyword")]),
        variants={"operator": lambda lib, x, *e, **k: x ** (e[0] if e else k["exponent"])}),
    OpInfo("pow.scalar_tensor", lambda x: np.power(2.5, x), unary_samples(), op=lambda lib, x: 2.5 ** x),
    OpInfo("pow.tensor_tensor", np.power, binary_samples(0.5, 2.0, -1.5, 1.5, ints=False),
           variants={"operator": lambda lib, x, y: x ** y}),
    unary("reciprocal", lambda x: 1 / x, 0.5, 2.0),
    unary("abs", np.abs, avoid=(0,), ints=True, variants={"builtin": lambda lib, x: abs(x)}),
    unary("sign", np.sign, avoid=(0,), ints=True, gradgrad=False),
    unary("sqrt", np.sqrt, 0.5, 2.0),
    unary("rsqrt", lambda x: 1 / np.sqrt(x), 0.5, 2.0),
    unary("square", np.square, ints=True),
    unary("exp", np.exp),
    unary("expm1", np.expm1),
    unary("log", np.log, 0.5, 2.0),
    unary("log1p", np.log1p, -0.5, 2.0),
    unary("log2", np.log2, 0.5, 2.0),
    unary("log10", np.log10, 0.5, 2.0),
    unary("exp2", np.exp2),
    unary("sin", np.sin),
    unary("cos", np.cos),
    unary("tan", np.tan, -1.2, 1.2),
    unary("asin", np.arcsin, -0.9, 0.9, ints=False),
    unary("acos", np.arccos, -0.9, 0.9, ints=False),
    unary("atan", np.arctan),
    unary("sinh", np.sinh),
    unary("cosh", np.cosh),
    unary("asinh", np.arcsinh),
    unary("acosh", np.arccosh, 1.2, 3.0, ints=False),
    unary("atanh", np.arctanh, -0.9, 0.9, ints=False),
    unary("erfc", np.vectorize(math.erfc, otypes=[np.float64])),
    unary("frac", lambda x: x - np.trunc(x), avoid=(-1, 0, 1), ints=False),
    unary("tanh", np.tanh, variants={"F": F("tanh")}),
    unary("sigmoid", _sigmoid, variants={"F": F("sigmoid")}),
    unary("relu", lambda x: np.maximum(x, 0), avoid=(0,), variants={"F": F("relu")}),
    OpInfo("leaky_relu", lambda x, negative_slope=0.01: np.where(x > 0, x, x * negative_slope),
           gen(lambda rng: unary_samples(avoid=(0,))(rng) + [
               Sample((_arr(rng, (2, 3), avoid=(0,)),), {"negative_slope": 0.2})]),
           op=F("leaky_relu")),
    OpInfo("elu", lambda x, alpha=1.0: np.where(x > 0, x, alpha * np.expm1(x)),
           gen(lambda rng: unary_samples(avoid=(0,))(rng) + [
               Sample((_arr(rng, (2, 3), avoid=(0,)),), {"alpha": 0.5})]),
           op=F("elu")),
    OpInfo("gelu", _gelu, unary_samples(), op=F("gelu")),
    OpInfo("silu", lambda x: x * _sigmoid(x), unary_samples(), op=F("silu")),
    OpInfo("softplus", _softplus,
           gen(lambda rng: unary_samples()(rng) + [
               Sample((_arr(rng, (2, 3)),), {"beta": 2.0}),
               Sample((np.array([-30.0, 0.3, 25.0, 30.0]),), desc="threshold"),
               Sample((_arr(rng, (2, 3), -3, 3, avoid=(1.0,)),), {"beta": 2.0, "threshold": 2.0})]),
           op=F("softplus")),
    OpInfo("clamp", _clamp, gen(lambda rng: [
        Sample((_arr(rng, s, avoid=(-0.5, 0.5)),), kw, layout=lay)
        for s, kw, lay in [((), {"min": -0.5, "max": 0.5}, ()), ((2, 3), {"min": -0.5}, ()), ((2, 3), {"max": 0.5}, ()),
                           ((3, 2), {"min": -0.5, "max": 0.5}, ("T",)), ((2, 3), {"min": 0.5, "max": -0.5}, ())]] + [
        Sample((rng.integers(-3, 4, size=(2, 3)),), {"min": -1, "max": 1}, desc="int"),
        Sample((rng.integers(-3, 4, size=(2, 3)),), {"min": 0.5}, desc="int-float bound")]),
        variants={"clip": fn("clip"), "clip method": lambda lib, x, **k: x.clip(**k)}, numpy_dtype=False),
    OpInfo("clamp.tensor", lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi), gen(lambda rng: [
        Sample((_distinct(rng, (2, 3)), _distinct(rng, (2, 3), -1, 0), _distinct(rng, (3,), 0, 1))),
        Sample((_distinct(rng, (2, 3)), _distinct(rng, (), -1, 0), _distinct(rng, (2, 1), 0, 1))),
        Sample((_distinct(rng, (2, 3)), _distinct(rng, (2, 3), 0, 1), _distinct(rng, (2, 3), -1, 0)),
               desc="min > max")]),
        op=lambda lib, x, lo, hi: lib.clamp(x, lo, hi),
        variants={"method": lambda lib, x, lo, hi: x.clamp(min=lo, max=hi)}),
    OpInfo("minimum", np.minimum, gen(lambda rng: [
        Sample((_distinct(rng, s1), _distinct(rng, s2)), layout=lay) for s1, s2, lay in
        [((), (), ()), ((2, 3), (2, 3), ()), ((3, 1), (1, 4), ()), ((3, 2), (3, 2), ("T", "S")), ((), (2, 3), ())]]
        + [Sample((np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 3.0])), desc="ties", numeric=False)])),
    OpInfo("maximum", np.maximum, gen(lambda rng: [
        Sample((_distinct(rng, s1), _distinct(rng, s2)), layout=lay) for s1, s2, lay in
        [((), (), ()), ((2, 3), (2, 3), ()), ((3, 1), (1, 4), ()), ((3, 2), (3, 2), ("T", "S")), ((), (2, 3), ())]]
        + [Sample((np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 3.0])), desc="ties", numeric=False)])),
    OpInfo("where", np.where, gen(lambda rng: [
        Sample((np.asarray(rng.random(s0) > 0.5), _arr(rng, s1), _arr(rng, s2)), layout=lay) for s0, s1, s2, lay in
        [((2, 3), (2, 3), (2, 3), ()), ((3, 1), (1, 4), (3, 4), ()), ((2, 3), (), (2, 3), ()),
         ((3, 2), (3, 2), (3, 2), (None, "T", "S")), ((), (), (), ())]]),
        op=fn("where"), variants={"method": lambda lib, c, x, y: x.where(c, y)}),
    OpInfo("where.scalar", lambda c, x: np.where(c, x, 0.0), gen(lambda rng: [
        Sample((rng.random((2, 3)) > 0.5, _arr(rng, (2, 3))))]),
        op=lambda lib, c, x: lib.where(c, x, 0.0)),

    # ---- reductions
    OpInfo("sum", _red(np.sum), reduction_samples(ints=True)),
    OpInfo("mean", _red(np.mean), reduction_samples()),
    OpInfo("prod", lambda x, dim=None, keepdim=False: np.prod(x, axis=dim, keepdims=keepdim),
           gen(lambda rng: [Sample((_arr(rng, (2, 3), 0.5, 1.5),)), Sample((_arr(rng, ()),)),
                            Sample((_arr(rng, (3, 4), 0.5, 1.5),), {"dim": 1}),
                            Sample((_arr(rng, (2, 3, 2), 0.5, 1.5),), {"dim": 0, "keepdim": True}),
                            Sample((_arr(rng, (4, 3), 0.5, 1.5),), {"dim": 0}, layout=("T",)),
                            Sample((np.array([[1.0, 0.0, 2.0], [0.0, 0.0, 3.0], [1.5, 2.0, 0.5]]),), {"dim": 1},
                                   desc="zeros"),
                            Sample((np.array([1.5, 0.0, 2.0, 0.5]),), desc="zero"),
                            Sample((rng.integers(-3, 4, size=(2, 3)),), desc="int")])),
    OpInfo("max", lambda x, dim=None, keepdim=False: _max_dim(x, dim, keepdim, True), gen(lambda rng: [
        Sample((_distinct(rng, ()),)), Sample((_distinct(rng, (3, 4)),)), Sample((_distinct(rng, (3, 4)),), {"dim": 1}),
        Sample((_distinct(rng, (2, 3, 2)),), {"dim": -1, "keepdim": True}),
        Sample((_distinct(rng, (4, 3)),), {"dim": 0}, layout=("T",)), Sample((_distinct(rng, ()),), {"dim": 0}),
        Sample((rng.integers(-3, 4, size=(2, 3)),), {"dim": 1}, desc="int"),
        Sample((np.array([1.0, 3.0, 3.0, 2.0]),), desc="ties", numeric=False)])),
    OpInfo("min", lambda x, dim=None, keepdim=False: _max_dim(x, dim, keepdim, False), gen(lambda rng: [
        Sample((_distinct(rng, ()),)), Sample((_distinct(rng, (3, 4)),)), Sample((_distinct(rng, (3, 4)),), {"dim": 1}),
        Sample((_distinct(rng, (2, 3, 2)),), {"dim": -1, "keepdim": True}),
        Sample((_distinct(rng, (3, 4)),), {"dim": 0}, layout=("S",)),
        Sample((np.array([1.0, 0.0, 0.0, 2.0]),), desc="ties", numeric=False)])),
    OpInfo("max.binary", np.maximum, gen(lambda rng: [Sample((_distinct(rng, (2, 3)), _distinct(rng, (2, 3))))]),
           op=lambda lib, x, y: lib.max(x, y), variants={"method": lambda lib, x, y: x.max(y)}),
    OpInfo("amax", lambda x, dim=(), keepdim=False: np.max(x, axis=_keep(dim, x.ndim) or None, keepdims=keepdim),
           gen(lambda rng: reduction_samples(distinct=True)(rng) + [
               Sample((np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.5]]),), {"dim": 1}, desc="ties", numeric=False)])),
    OpInfo("amin", lambda x, dim=(), keepdim=False: np.min(x, axis=_keep(dim, x.ndim) or None, keepdims=keepdim),
           reduction_samples(distinct=True)),
    OpInfo("var", _var, gen(lambda rng: [s for s in reduction_samples()(rng) if s.args[0].ndim > 0] + [
        Sample((_arr(rng, (3, 4)),), {"dim": 1, "correction": 0}), Sample((_arr(rng, (3, 4)),), {"unbiased": False}),
        Sample((_arr(rng, (3, 4)),), {"dim": 0, "unbiased": True, "keepdim": True})])),
    OpInfo("std", lambda x, **kw: np.sqrt(_var(x, **kw)), gen(lambda rng: [
        s for s in reduction_samples()(rng) if s.args[0].ndim > 0] + [
        Sample((_arr(rng, (3, 4)),), {"dim": 1, "correction": 0})])),
    OpInfo("norm", _norm, gen(lambda rng: [
        Sample((_arr(rng, s, avoid=(0,)),), kw, layout=lay) for s, kw, lay in [
            ((3, 4), {}, ()), ((), {}, ()), ((3, 4), {"p": 1}, ()), ((3, 4), {"p": 2, "dim": 1}, ()),
            ((3, 4), {"p": "fro", "dim": (0, 1)}, ()), ((2, 3, 2), {"p": "fro", "dim": -1, "keepdim": True}, ()),
            ((4, 3), {"p": 1, "dim": 0}, ("T",)), ((3, 4), {"p": 3.0}, ()), ((3, 4), {"dim": 0}, ("S",))]] + [
        Sample((_distinct(rng, (3, 4), 0.2, 2.0) * np.sign(_arr(rng, (3, 4), avoid=(0,))),), {"p": math.inf}),
        Sample((_distinct(rng, (3, 4), 0.2, 2.0),), {"p": math.inf, "dim": 1}),
        Sample((_distinct(rng, (3, 4), 0.2, 2.0),), {"p": -math.inf, "dim": 0})])),
    OpInfo("logsumexp", _logsumexp, gen(lambda rng: [
        Sample((_arr(rng, s),), kw, layout=lay) for s, kw, lay in [
            ((3, 4), {"dim": 1}, ()), ((), {"dim": 0}, ()), ((2, 3, 2), {"dim": (0, 2)}, ()),
            ((2, 3, 2), {"dim": -1, "keepdim": True}, ()), ((4, 3), {"dim": 0}, ("T",))]])),
    OpInfo("cumsum", lambda x, dim: np.cumsum(x, axis=dim) if x.ndim else x.copy(), dim_samples(ints=True),
           variants={"kw": lambda lib, x, dim: lib.cumsum(x, dim=dim)}),
    OpInfo("cumprod", lambda x, dim: np.cumprod(x, axis=dim) if x.ndim else x.copy(),
           dim_samples(positive=True, with_zeros=True, ints=True)),
    OpInfo("softmax", lambda x, dim: _softmax(x, dim), dim_samples(),
           variants={"F": F("softmax"), "F kw": lambda lib, x, dim: _F(lib).softmax(x, dim=dim)}),
    OpInfo("log_softmax", lambda x, dim: _log_softmax(x, dim), dim_samples(),
           variants={"F": F("log_softmax")}),

    # ---- linear algebra
    OpInfo("dot", np.dot, gen(lambda rng: [Sample((_arr(rng, (4,)), _arr(rng, (4,)))),
                                           Sample((_arr(rng, (4,)), _arr(rng, (4,))), layout=("S", "S")),
                                           Sample((rng.integers(-3, 4, (3,)), rng.integers(-3, 4, (3,))), desc="int")]),
           variants={"matmul": lambda lib, x, y: x @ y}),
    OpInfo("mv", np.matmul, gen(lambda rng: [Sample((_arr(rng, (3, 4)), _arr(rng, (4,)))),
                                             Sample((_arr(rng, (3, 4)), _arr(rng, (4,))), layout=("T", "S"))]),
           variants={"matmul": lambda lib, x, y: x @ y}),
    OpInfo("mm", np.matmul, gen(lambda rng: [Sample((_arr(rng, (3, 4)), _arr(rng, (4, 2)))),
                                             Sample((_arr(rng, (3, 4)), _arr(rng, (4, 2))), layout=("T", "T")),
                                             Sample((_arr(rng, (3, 4)), _arr(rng, (4, 2))), layout=("S", "S")),
                                             Sample((_arr(rng, (1, 4)), _arr(rng, (4, 1)))),
                                             Sample((rng.integers(-3, 4, (2, 3)), rng.integers(-3, 4, (3, 2))),
                                                    desc="int")]),
           variants={"matmul": lambda lib, x, y: x @ y}),
    OpInfo("matmul", np.matmul, gen(lambda rng: [
        Sample((_arr(rng, s1), _arr(rng, s2)), layout=lay) for s1, s2, lay in [
            ((4,), (4,), ()), ((3, 4), (4,), ()), ((4,), (4, 2), ()), ((3, 4), (4, 2), ()), ((2, 3, 4), (4, 2), ()),
            ((2, 3, 4), (4,), ()), ((4,), (2, 4, 3), ()), ((3, 4), (2, 4, 2), ()), ((2, 3, 4), (2, 4, 2), ()),
            ((2, 1, 3, 4), (3, 4, 2), ()), ((2, 3, 4), (1, 4, 2), ()), ((2, 3, 4), (4, 2), ("T", None)),
            ((2, 3, 4), (2, 4, 2), (None, "T")), ((2, 3, 4), (4, 2), ("S", "S"))]]),
        variants={"operator": lambda lib, x, y: x @ y}),
    OpInfo("matmul.no_grad_lhs", np.matmul, gen(lambda rng: [
        Sample((_arr(rng, (3, 4)), _arr(rng, (2, 4, 2))), grad=(False, True)),
        Sample((_arr(rng, (2, 3, 4)), _arr(rng, (4, 2))), grad=(True, False)),
        Sample((_arr(rng, (2, 3, 4)), _arr(rng, (4,))), grad=(True, False))]),
        op=fn("matmul")),
    OpInfo("bmm", np.matmul, gen(lambda rng: [Sample((_arr(rng, (2, 3, 4)), _arr(rng, (2, 4, 2)))),
                                              Sample((_arr(rng, (2, 3, 4)), _arr(rng, (2, 4, 2))),
                                                     layout=("T", "T"))])),
    OpInfo("outer", np.outer, gen(lambda rng: [Sample((_arr(rng, (3,)), _arr(rng, (4,)))),
                                               Sample((_arr(rng, (3,)), _arr(rng, (4,))), layout=("S", "S"))])),
    OpInfo("t", np.transpose, gen(lambda rng: [Sample((_arr(rng, (2, 3)),)), Sample((_arr(rng, (3,)),)),
                                               Sample((_arr(rng, ()),)), Sample((_arr(rng, (3, 2)),), layout=("T",))])),
    OpInfo("T", lambda x: np.transpose(x), gen(lambda rng: [Sample((_arr(rng, (2, 3)),)),
                                                            Sample((_arr(rng, (3, 2)),), layout=("S",))]),
           op=lambda lib, x: x.T),
    OpInfo("mT", lambda x: np.swapaxes(x, -1, -2), gen(lambda rng: [Sample((_arr(rng, (2, 3, 2)),))]),
           op=lambda lib, x: x.mT),
    OpInfo("transpose", lambda x, dim0, dim1: np.swapaxes(x, dim0, dim1), gen(lambda rng: [
        Sample((_arr(rng, (2, 3)), 0, 1)), Sample((_arr(rng, (2, 3, 2)),), {"dim0": 2, "dim1": 0}, desc="keyword"),
                                                      Sample((_arr(rng, (2, 3, 4)), -1, 0)),
                                                      Sample((_arr(rng, (3, 2)), 1, 0), layout=("T",))]),
           variants={"swapaxes": lambda lib, x, *d, **k: x.swapaxes(*(d or (k["dim0"], k["dim1"])))}),
    OpInfo("permute", _permute, gen(lambda rng: [Sample((_arr(rng, (2, 3, 4)), (2, 0, 1))),
                                                 Sample((_arr(rng, (2, 3)), (1, 0)), layout=("S",))]),
           variants={"varargs": lambda lib, x, d: x.permute(*d)}),
    OpInfo("trace", np.trace, gen(lambda rng: [Sample((_arr(rng, (3, 3)),)), Sample((_arr(rng, (2, 4)),)),
                                               Sample((_arr(rng, (4, 3)),), layout=("T",))])),

]

# normalization, embedding, sorting, one_hot, smooth losses (their own file, same format)
from op_db_norm import NORM_OPS  # noqa: E402

OPS += NORM_OPS
# shape and indexing ops (tests/op_db_shape.py), nn.functional and the fused losses (tests/op_db_nn.py)
from op_db_nn import NN_OPS  # noqa: E402
from op_db_shape import SHAPE_OPS  # noqa: E402

OPS += SHAPE_OPS + NN_OPS
# convolution, pooling, unfold/fold, padding and einsum (tests/op_db_conv.py)
from op_db_conv import CONV_OPS  # noqa: E402

OPS += CONV_OPS

OPS_BY_NAME = {o.name: o for o in OPS}
assert len(OPS_BY_NAME) == len(OPS), "duplicate op names in the table"
