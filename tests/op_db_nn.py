"""Operator-table entries for ``nn.functional`` (linear, activations, losses with weights and reductions)
and the fused loss kernels of ``chaingrad._C``; ``op_db`` appends ``NN_OPS`` to ``OPS`` (same ``OpInfo`` format)."""

from __future__ import annotations

from typing import Any, Callable, List, Optional, Tuple

import numpy as np
from op_db import _F, F, OpInfo, Sample, _arr, _distinct, _log_softmax, _sigmoid, _softmax, gen

# ---------------------------------------------------------------------------------- references

def _cross_entropy(x: np.ndarray, t: np.ndarray, reduction: str = "mean", **kw: Any) -> np.ndarray:
    lp = _log_softmax(x, 1 if x.ndim > 1 else 0)
    if t.dtype.kind == "f":
        per = -(lp * t).sum(axis=1 if x.ndim > 1 else 0)
        if reduction == "mean":
            return per.sum() / (x.size / x.shape[1 if x.ndim > 1 else 0])
    else:
        return _nll(lp, t, reduction)
    return per.sum() if reduction == "sum" else per


def _nll(lp: np.ndarray, t: np.ndarray, reduction: str = "mean", ignore_index: int = -100) -> np.ndarray:
    valid = t != ignore_index
    safe = np.where(valid, t, 0)
    if lp.ndim == 1:
        per = -lp[safe] * valid
    else:
        per = -np.take_along_axis(lp, safe[:, None], axis=1)[:, 0] * valid
    return {"mean": per.sum() / valid.sum(), "sum": per.sum(), "none": per}[reduction]


def _reduce(per: np.ndarray, reduction: str) -> np.ndarray:
    return {"mean": per.mean(), "sum": per.sum(), "none": per}[reduction]


def _linear(x: np.ndarray, w: np.ndarray, b: Optional[np.ndarray] = None) -> np.ndarray:
    y = np.matmul(x, w.T)
    return y if b is None else y + b


def _fused(name: str, c_args: Callable[..., Tuple[Any, ...]],
           torch_call: Optional[Callable[..., Any]] = None) -> Callable[..., Any]:
    """chaingrad._C._<name>(*c_args(...)) for chaingrad, nn.functional.<name> for PyTorch."""
    def op(lib: Any, *a: Any, **k: Any) -> Any:
        if lib.__name__ == "chaingrad":
            return getattr(lib._C, "_" + name)(*c_args(*a, **k))
        if torch_call is not None:
            return torch_call(_F(lib), *a, **k)
        return getattr(_F(lib), name)(*a, **k)
    return op


# ---------------------------------------------------------------------------------- the table

NN_OPS: List[OpInfo] = [
    # ---- nn.functional
    OpInfo("linear", _linear, gen(lambda rng: [
        Sample((_arr(rng, (3, 4)), _arr(rng, (2, 4)))), Sample((_arr(rng, (3, 4)), _arr(rng, (2, 4)), _arr(rng, (2,)))),
        Sample((_arr(rng, (2, 3, 4)), _arr(rng, (2, 4)), _arr(rng, (2,)))),
        Sample((_arr(rng, (4,)), _arr(rng, (2, 4)), _arr(rng, (2,)))),
        Sample((_arr(rng, (3, 4)), _arr(rng, (2, 4)), _arr(rng, (2,))), layout=("T", "T", None)),
        Sample((_arr(rng, (2, 3, 4)), _arr(rng, (2, 4))), layout=("T", None)),
        Sample((_arr(rng, (2, 3, 4)), _arr(rng, (2, 4)), _arr(rng, (2,))), layout=("S", None, None))]),
        op=F("linear")),
    OpInfo("cross_entropy", _cross_entropy, gen(lambda rng: [
        Sample((_arr(rng, (3, 4)), np.array([0, 3, 1]))),
        Sample((_arr(rng, (3, 4)), np.array([0, 3, 1])), {"reduction": "sum"}),
        Sample((_arr(rng, (3, 4)), np.array([2, 3, 1])), {"reduction": "none"}),
        Sample((_arr(rng, (4,)), np.array(2)), desc="unbatched"),
        Sample((_arr(rng, (4, 3)), np.array([0, 2, 1, 1])), layout=("T",)),
        Sample((_arr(rng, (3, 4)), np.array([0, -100, 1])), desc="ignore_index"),
        Sample((_arr(rng, (3, 4)), _softmax(_arr(rng, (3, 4)), 1)), desc="probabilities"),
        Sample((_arr(rng, (3, 4)), _softmax(_arr(rng, (3, 4)), 1)), {"reduction": "none"}, desc="probabilities")]),
        op=F("cross_entropy"), numpy_dtype=False,
        name_xfail="composed in nn.functional (PyTorch: NllLossBackward0 / DivBackward1)"),
    OpInfo("nll_loss", _nll, gen(lambda rng: [
        Sample((_log_softmax(_arr(rng, (3, 4)), 1), np.array([0, 3, 1]))),
        Sample((_log_softmax(_arr(rng, (3, 4)), 1), np.array([0, 3, 1])), {"reduction": "sum"}),
        Sample((_arr(rng, (3, 4)), np.array([2, 2, 1])), {"reduction": "none"})]),
        op=F("nll_loss"), numpy_dtype=False, name_xfail="composed in nn.functional (PyTorch: NllLossBackward0)"),
    OpInfo("mse_loss", lambda x, y, reduction="mean": _reduce((x - y) ** 2, reduction), gen(lambda rng: [
        Sample((_arr(rng, (2, 3)), _arr(rng, (2, 3)))),
        Sample((_arr(rng, (2, 3)), _arr(rng, (2, 3))), {"reduction": "sum"}),
        Sample((_arr(rng, (3, 2)), _arr(rng, (3, 2))), {"reduction": "none"}, layout=("T", "S"))]),
        op=F("mse_loss"), name_xfail="composed in nn.functional (PyTorch: MseLossBackward0)"),
    OpInfo("l1_loss", lambda x, y, reduction="mean": _reduce(np.abs(x - y), reduction), gen(lambda rng: [
        Sample((_distinct(rng, (2, 3)), _distinct(rng, (2, 3)) + 0.02)),
        Sample((_distinct(rng, (2, 3)), _distinct(rng, (2, 3)) + 0.02), {"reduction": "none"})]),
        op=F("l1_loss")),
    OpInfo("binary_cross_entropy",
           lambda x, y, reduction="mean": _reduce(-(y * np.log(x) + (1 - y) * np.log(1 - x)), reduction),
           gen(lambda rng: [Sample((_arr(rng, (2, 3), 0.1, 0.9), _arr(rng, (2, 3), 0, 1))),
                            Sample((_arr(rng, (2, 3), 0.1, 0.9), _arr(rng, (2, 3), 0, 1)), {"reduction": "none"}),
                            Sample((_arr(rng, (3, 2), 0.1, 0.9), _arr(rng, (3, 2), 0, 1)), {"reduction": "sum"},
                                   layout=("T", "S"))]),
           op=F("binary_cross_entropy"), name_xfail="composed in nn.functional (PyTorch: BinaryCrossEntropyBackward0)"),
    OpInfo("binary_cross_entropy_with_logits",
           lambda x, y, reduction="mean", pos_weight=None: _reduce(
               -((1 if pos_weight is None else pos_weight) * y * np.log(_sigmoid(x))
                 + (1 - y) * np.log(1 - _sigmoid(x))),
               reduction),
           gen(lambda rng: [Sample((_arr(rng, (2, 3)), _arr(rng, (2, 3), 0, 1))),
                            Sample((_arr(rng, (2, 3), -5, 5), _arr(rng, (2, 3), 0, 1)), {"reduction": "none"}),
                            Sample((_arr(rng, (3, 2)), _arr(rng, (3, 2), 0, 1)), {"reduction": "sum"},
                                   layout=("T", "S"))]),
           op=F("binary_cross_entropy_with_logits"),
           name_xfail="composed in nn.functional (PyTorch: BinaryCrossEntropyWithLogitsBackward0)"),
    # weights, ignore_index, label smoothing and pos_weight: PyTorch is the reference
    OpInfo("cross_entropy.options", None, gen(lambda rng: [
        Sample((_arr(rng, (3, 4)), np.array([0, 3, 1]), _arr(rng, (4,), 0.5, 2.0)), grad=(True, False, False)),
        Sample((_arr(rng, (3, 4)), np.array([0, 3, 1]), _arr(rng, (4,), 0.5, 2.0)), {"reduction": "sum"},
               grad=(True, False, False)),
        Sample((_arr(rng, (3, 4)), np.array([0, -100, 1])), {"label_smoothing": 0.2}),
        Sample((_arr(rng, (3, 4)), np.array([0, 2, 1])), {"ignore_index": 2, "reduction": "none"}),
        Sample((_arr(rng, (2, 4, 3)), np.array([[0, 3, 1], [2, 2, 0]])), desc="spatial"),
        Sample((_arr(rng, (3, 4)), _softmax(_arr(rng, (3, 4)), 1)), {"label_smoothing": 0.1}, desc="probabilities")]),
        op=F("cross_entropy"), name_xfail="composed in nn.functional (PyTorch: NllLossBackward0 / ...)"),
    OpInfo("nll_loss.options", None, gen(lambda rng: [
        Sample((_log_softmax(_arr(rng, (3, 4)), 1), np.array([0, 3, 1]), _arr(rng, (4,), 0.5, 2.0)),
               grad=(True, False, False)),
        Sample((_log_softmax(_arr(rng, (3, 4)), 1), np.array([0, 3, 1])), {"ignore_index": 3}),
        Sample((_log_softmax(_arr(rng, (4,)), 0), np.array(2)), desc="unbatched")]),
        op=F("nll_loss"), name_xfail="composed in nn.functional (PyTorch: NllLossBackward0)"),
    OpInfo("binary_cross_entropy.weight", None, gen(lambda rng: [
        Sample((_arr(rng, (2, 3), 0.1, 0.9), _arr(rng, (2, 3), 0, 1), _arr(rng, (2, 3), 0.5, 2)),
               grad=(True, True, False))]),
        op=F("binary_cross_entropy"), name_xfail="composed in nn.functional (PyTorch: BinaryCrossEntropyBackward0)"),
    OpInfo("binary_cross_entropy_with_logits.pos_weight", None, gen(lambda rng: [
        Sample((_arr(rng, (2, 3)), _arr(rng, (2, 3), 0, 1), _arr(rng, (3,), 0.5, 2)), grad=(True, True, False)),
        Sample((_arr(rng, (2, 3)), _arr(rng, (2, 3), 0, 1), _arr(rng, (3,), 0.5, 2)), {"reduction": "none"},
               grad=(True, False, False))]),
        op=lambda lib, x, y, pw, **k: _F(lib).binary_cross_entropy_with_logits(x, y, pos_weight=pw, **k),
        name_xfail="composed in nn.functional (PyTorch: BinaryCrossEntropyWithLogitsBackward0)"),
    # The fused loss kernels (chaingrad._C) against PyTorch's nn.functional: one node each, named like PyTorch's.
    OpInfo("mse_loss.fused", lambda x, y, reduction="mean": _reduce((x - y) ** 2, reduction), gen(lambda rng: [
        Sample((_arr(rng, (2, 3)), _arr(rng, (2, 3)))),
        Sample((_arr(rng, (2, 3)), _arr(rng, (2, 3))), {"reduction": "sum"}),
        Sample((_arr(rng, (3, 2)), _arr(rng, (3, 2))), {"reduction": "none"}, layout=("T", "S"))]),
        op=_fused("mse_loss", lambda x, y, reduction="mean": (x, y, reduction))),
    OpInfo("cross_entropy.fused", _cross_entropy, gen(lambda rng: [
        Sample((_arr(rng, (3, 4)), np.array([0, 3, 1]))),
        Sample((_arr(rng, (3, 4)), np.array([0, 3, 1])), {"reduction": "sum"}),
        Sample((_arr(rng, (3, 4)), np.array([2, -100, 1])), {"reduction": "none"}),
        Sample((_arr(rng, (4,)), np.array(2)), desc="unbatched"),
        Sample((_arr(rng, (4, 3)), np.array([0, 2, 1, 1])), layout=("T",))]),
        op=_fused("cross_entropy", lambda x, t, reduction="mean": (x, t, None, reduction, -100, 0.0)),
        numpy_dtype=False),
    OpInfo("nll_loss.fused", None, gen(lambda rng: [
        Sample((_log_softmax(_arr(rng, (3, 4)), 1), np.array([0, 3, 1]))),
        Sample((_log_softmax(_arr(rng, (3, 4)), 1), np.array([0, 3, 1]), _arr(rng, (4,), 0.5, 2.0)),
               grad=(True, False, False)),
        Sample((_arr(rng, (3, 4)), np.array([2, 2, -100])), {"reduction": "sum"}),
        Sample((_arr(rng, (3, 4)), np.array([2, 2, 1])), {"reduction": "none"}),
        Sample((_arr(rng, (2, 4, 3)), np.array([[0, 3, 1], [2, 2, 0]])), desc="spatial"),
        Sample((_arr(rng, (2, 4, 3)), np.array([[0, 3, 1], [2, 2, 0]])), {"reduction": "none"}, desc="spatial")]),
        op=_fused("nll_loss", lambda x, t, w=None, reduction="mean": (x, t, w, reduction, -100))),
    OpInfo("binary_cross_entropy.fused", None, gen(lambda rng: [
        Sample((_arr(rng, (2, 3), 0.1, 0.9), _arr(rng, (2, 3), 0, 1))),
        Sample((_arr(rng, (2, 3), 0.1, 0.9), _arr(rng, (2, 3), 0, 1), _arr(rng, (2, 3), 0.5, 2)), {"reduction": "sum"},
               grad=(True, True, False)),
        Sample((_arr(rng, (3, 2), 0.1, 0.9), _arr(rng, (3, 2), 0, 1)), {"reduction": "none"}, layout=("T", "S"))]),
        op=_fused("binary_cross_entropy", lambda x, t, w=None, reduction="mean": (x, t, w, reduction))),
    OpInfo("binary_cross_entropy_with_logits.fused", None, gen(lambda rng: [
        Sample((_arr(rng, (2, 3)), _arr(rng, (2, 3), 0, 1))),
        Sample((_arr(rng, (2, 3), -5, 5), _arr(rng, (2, 3), 0, 1), _arr(rng, (2, 3), 0.5, 2)), {"reduction": "none"},
               grad=(True, True, False)),
        Sample((_arr(rng, (2, 3)), _arr(rng, (2, 3), 0, 1), None, _arr(rng, (3,), 0.5, 2)), {"reduction": "sum"},
               grad=(True, True, False, False))]),
        op=_fused("binary_cross_entropy_with_logits",
                  lambda x, t, w=None, pw=None, reduction="mean": (x, t, w, pw, reduction),
                  torch_call=lambda F, x, t, w=None, pw=None, reduction="mean":
                  F.binary_cross_entropy_with_logits(x, t, w, reduction=reduction, pos_weight=pw))),
    OpInfo("dropout.eval", lambda x, p=0.5, training=False: x, gen(lambda rng: [
        Sample((_arr(rng, (2, 3)),), {"p": 0.5, "training": False}), Sample((_arr(rng, (2, 3)),), {"p": 0.0})]),
        op=F("dropout")),
]
