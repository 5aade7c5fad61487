"""``chaingrad.special``: the ``torch.special`` functions chaingrad can compute.

Most are aliases of the top-level ops; ``entr``, ``ndtr``, ``log_ndtr`` and ``xlog1py`` are composed
from native differentiable ops, so backward of any order works through all of them.
"""

from __future__ import annotations

import math
from typing import Any

from . import _C
from ._C import Tensor
from ._composite_math import _as_tensor, _check_tensor, _float, logit, sinc, xlog1py, xlogy
from ._functions import where

__all__ = ["entr", "erf", "erfc", "exp2", "expit", "expm1", "log1p", "log_ndtr", "log_softmax", "logit",
           "logsumexp", "ndtr", "round", "sinc", "softmax", "xlog1py", "xlogy"]


def erf(input: Tensor) -> Tensor:
    """The error function."""
    _check_tensor("special_erf", input)
    return input.erf()


def erfc(input: Tensor) -> Tensor:
    """The complementary error function ``1 - erf(x)``."""
    _check_tensor("special_erfc", input)
    return input.erfc()


def expit(input: Tensor) -> Tensor:
    """The logistic sigmoid ``1 / (1 + exp(-x))``."""
    _check_tensor("special_expit", input)
    return input.sigmoid()


def exp2(input: Tensor) -> Tensor:
    """``2 ** x``."""
    _check_tensor("special_exp2", input)
    return input.exp2()


def expm1(input: Tensor) -> Tensor:
    """``exp(x) - 1``, accurate near 0."""
    _check_tensor("special_expm1", input)
    return input.expm1()


def log1p(input: Tensor) -> Tensor:
    """``log(1 + x)``, accurate near 0."""
    _check_tensor("special_log1p", input)
    return input.log1p()


def round(input: Tensor, *, decimals: int = 0) -> Tensor:  # noqa: A001 - PyTorch's name
    """Rounds half to even, to ``decimals`` decimal places."""
    _check_tensor("special_round", input)
    if decimals == 0:
        return input.round()
    if decimals > 0:
        scale = 10.0 ** decimals
        return (input * scale).round() / scale
    scale = 10.0 ** -decimals  # PyTorch divides for negative decimals (10 ** -2 is not exact)
    return (input / scale).round() * scale


def logsumexp(input: Tensor, dim: Any, keepdim: bool = False) -> Tensor:
    """``log(sum(exp(x), dim))`` without overflow."""
    _check_tensor("special_logsumexp", input)
    return input.logsumexp(dim, keepdim)


def softmax(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """Softmax along ``dim`` (computed in ``dtype`` when given)."""
    _check_tensor("special_softmax", input)
    return (input if dtype is None else input.to(dtype)).softmax(dim)


def log_softmax(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """Log-softmax along ``dim`` (computed in ``dtype`` when given)."""
    _check_tensor("special_log_softmax", input)
    return (input if dtype is None else input.to(dtype)).log_softmax(dim)


def entr(input: Tensor) -> Tensor:
    """The elementwise entropy ``-x * log(x)``: 0 at ``x = 0``, ``-inf`` for ``x < 0``."""
    _check_tensor("special_entr", input)
    x = _float(input)
    positive = x > 0
    safe = where(positive, x, _as_tensor(1, x))  # log's 1/x stays finite in the discarded branch
    outside = where(x == 0, _C._full((), 0, x.dtype), _C._full((), -math.inf, x.dtype))
    outside = where(x.isnan(), x, outside)
    return where(positive, -safe * safe.log(), outside)


_SQRT1_2 = math.sqrt(0.5)
# log_ndtr switches to its asymptotic series below this point, where erfc underflows in float32
# (the series' first omitted term, 945 / x**10, is below 1e-7 there).
_TAIL = -10.0


def ndtr(input: Tensor) -> Tensor:
    """The standard normal CDF, ``(1 + erf(x / sqrt(2))) / 2``."""
    _check_tensor("special_ndtr", input)
    return (_float(input) * -_SQRT1_2).erfc() * 0.5


def log_ndtr(input: Tensor) -> Tensor:
    """``log(ndtr(x))``, accurate far into the left tail (an asymptotic series below x = -10)."""
    _check_tensor("special_log_ndtr", input)
    x = _float(input)
    # log(ndtr) left of 0; right of it log1p(-ndtr(-x)), as ndtr rounds to 1 there. Each branch reads its
    # clamped side only, so neither makes an infinite derivative the where would multiply by 0.
    left = ndtr(x.clamp(_TAIL, 0)).log()
    right = (-ndtr(-x.clamp(min=0))).log1p()
    near = where(x > 0, right, left)
    t = x.clamp(max=_TAIL)
    r = (t * t).reciprocal()
    series = 1 + r * (-1 + r * (3 + r * (-15 + r * 105)))
    tail = -0.5 * t * t - (-t).log() - 0.5 * math.log(2 * math.pi) + series.log()
    return where(x < _TAIL, tail, near)
