"""Operator-table entries for normalization, embedding, sorting/selection, one_hot, gelu(tanh) and
the smooth L1 / Huber losses; ``op_db`` appends ``NORM_OPS`` to ``OPS`` (same ``OpInfo`` format)."""

from __future__ import annotations

import math
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np
from op_db import F, OpInfo, Sample, _arr, _distinct, fn, gen

# ---------------------------------------------------------------------------------- references

def _layer_norm(x: np.ndarray, shape: Any, w: Optional[np.ndarray] = None, b: Optional[np.ndarray] = None,
                eps: float = 1e-5) -> np.ndarray:
    k = 1 if isinstance(shape, int) else len(shape)
    axes = tuple(range(x.ndim - k, x.ndim))
    mu = x.mean(axis=axes, keepdims=True)
    y = (x - mu) / np.sqrt(x.var(axis=axes, keepdims=True) + eps)
    if w is not None:
        y = y * w
    return y if b is None else y + b


def _batch_norm(x: np.ndarray, rm: Optional[np.ndarray], rv: Optional[np.ndarray], w: Optional[np.ndarray] = None,
                b: Optional[np.ndarray] = None, training: bool = False, momentum: float = 0.1,
                eps: float = 1e-5) -> np.ndarray:
    axes = (0,) + tuple(range(2, x.ndim))
    cshape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    if training:
        mu, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    else:
        mu, var = rm.reshape(cshape), rv.reshape(cshape)
    y = (x - mu) / np.sqrt(var + eps)
    if w is not None:
        y = y * w.reshape(cshape)
    return y if b is None else y + b.reshape(cshape)


def _gelu_tanh(x: np.ndarray, approximate: str = "tanh") -> np.ndarray:
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def _sort(x: np.ndarray, dim: int = -1, descending: bool = False, stable: Any = None) -> Tuple[np.ndarray, ...]:
    if x.ndim == 0:
        return x.copy(), np.array(0)
    idx = np.argsort(-x if descending else x, axis=dim, kind="stable")
    return np.take_along_axis(x, idx, axis=dim), idx


def _topk(x: np.ndarray, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Tuple[np.ndarray, ...]:
    v, i = _sort(x, dim, descending=largest)
    if x.ndim == 0:
        return v, i
    sl = [slice(None)] * x.ndim
    sl[dim] = slice(0, k)
    return v[tuple(sl)], i[tuple(sl)]


def _smooth(x: np.ndarray, t: np.ndarray, reduction: str = "mean", beta: float = 1.0, huber: bool = False) -> Any:
    d = np.abs(x - t)
    if huber:
        per = np.where(d < beta, 0.5 * d * d, beta * (d - 0.5 * beta))
    else:
        per = np.where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta)
    return {"mean": per.mean(), "sum": per.sum(), "none": per}[reduction]


def _pair(rng: np.random.Generator, shape: Sequence[int], beta: float) -> Tuple[np.ndarray, np.ndarray]:
    """(input, target) whose differences stay clear of the kinks at 0 and +-beta."""
    t = _arr(rng, shape)
    return t + _arr(rng, shape, -2.5 * beta, 2.5 * beta, avoid=(-beta, 0.0, beta), margin=0.1 * beta), t


def _ln_op(lib: Any, x: Any, shape: Any, *a: Any, **k: Any) -> Any:
    return lib.nn.functional.layer_norm(x, shape, *a, **k)


def _emb(lib: Any, w: Any, idx: Any, **k: Any) -> Any:
    return lib.nn.functional.embedding(idx, w, **k)


def _emb_ref(w: np.ndarray, idx: np.ndarray, **k: Any) -> np.ndarray:
    return w[idx]


def _bn_samples(rng: np.random.Generator) -> List[Sample]:
    out = []
    for shape, lay in (((4, 3), ()), ((2, 3, 4), ()), ((2, 3, 2, 2), ()), ((3, 4), ("T",))):
        c = shape[1]
        x, w, b = _arr(rng, shape), _arr(rng, (c,)), _arr(rng, (c,))
        rm, rv = _arr(rng, (c,)), _arr(rng, (c,), 0.5, 1.5)
        out.append(Sample((x, None, None, w, b), {"training": True}, layout=lay, desc="train"))
        out.append(Sample((x, rm, rv, w, b), {"training": True, "momentum": 0.3}, layout=lay,
                          grad=(True, False, False, True, True), desc="train+running"))
        out.append(Sample((x, rm, rv, w, b), {"training": False}, layout=lay,
                          grad=(True, False, False, True, True), desc="eval"))
    x = _arr(rng, (5, 2, 3))
    out.append(Sample((x, None, None), {"training": True, "eps": 1e-3}, desc="no affine"))
    out.append(Sample((x, _arr(rng, (2,)), _arr(rng, (2,), 0.5, 1.5)), {"training": False}, grad=(True, False, False),
                      desc="eval no affine"))
    return out


# ---------------------------------------------------------------------------------- the entries

_ids = np.array([[1, 4, 0], [2, 1, 1]])

NORM_OPS: List[OpInfo] = [
    OpInfo("layer_norm", lambda x, s, *a, **k: _layer_norm(x, s, *a, **k), gen(lambda rng: [
        Sample((_arr(rng, (2, 3, 4)), (4,))),
        Sample((_arr(rng, (2, 3, 4)), [4], _arr(rng, (4,)), _arr(rng, (4,))), desc="list shape"),
        Sample((_arr(rng, (2, 3, 4)), (3, 4), _arr(rng, (3, 4)), _arr(rng, (3, 4)))),
        Sample((_arr(rng, (3, 5)), (5,), _arr(rng, (5,))), {"eps": 1e-2}),
        Sample((_arr(rng, (3, 4)), (4,), _arr(rng, (4,)), _arr(rng, (4,))), layout=("T",), desc="transposed"),
        Sample((_arr(rng, (5,)), (5,), None, _arr(rng, (5,))), desc="bias only"),
        Sample((_arr(rng, (2, 3, 4)), (4,), _arr(rng, (4,)), _arr(rng, (4,))), layout=("S",), desc="stepped")]),
        op=_ln_op, f32_atol=1e-4),
    OpInfo("batch_norm", _batch_norm, _bn_samples, op=F("batch_norm"), f32_atol=1e-4),
    OpInfo("embedding", _emb_ref, gen(lambda rng: [
        Sample((_arr(rng, (5, 3)), _ids)),
        Sample((_arr(rng, (5, 3)), np.array([3, 3, 0, 4]))),
        Sample((_arr(rng, (5, 3)), np.array(2)), desc="0-d index"),
        Sample((_arr(rng, (5, 3)), _ids), layout=("T",), desc="transposed"),
        Sample((_arr(rng, (5, 3)), _ids), {"padding_idx": 1}, numeric=False, desc="padding"),
        Sample((_arr(rng, (5, 3)), _ids), {"padding_idx": -1}, numeric=False, desc="negative padding"),
        Sample((_arr(rng, (5, 3)), _ids), {"scale_grad_by_freq": True}, numeric=False, desc="freq")]),
        op=_emb),
    OpInfo("gelu.tanh", _gelu_tanh, gen(lambda rng: [
        Sample((_arr(rng, s),), {"approximate": "tanh"}, layout=lay) for s, lay in
        (((), ()), ((4,), ()), ((2, 3), ()), ((3, 2), ("T",)))]),
        op=F("gelu")),
    OpInfo("sort", _sort, gen(lambda rng: [
        Sample((_distinct(rng, (5,)),)), Sample((_distinct(rng, (3, 4)),), {"dim": 0}),
        Sample((_distinct(rng, (3, 4)), 1, True), desc="descending"),
        Sample((_distinct(rng, (2, 3, 4)),), {"dim": -2, "descending": True}),
        Sample((_distinct(rng, (3, 4)),), {"stable": True, "dim": 1}, desc="stable"),
        Sample((_distinct(rng, (4, 3)),), {"dim": 0}, layout=("T",)),
        Sample((_distinct(rng, ()),), desc="0-d"),
        Sample((np.array([[2, 0, 1, 1], [3, 3, -1, 0]]),), desc="int ties")])),
    OpInfo("argsort", lambda x, dim=-1, descending=False: _sort(x, dim, descending)[1], gen(lambda rng: [
        Sample((_distinct(rng, (3, 4)),)), Sample((_distinct(rng, (3, 4)),), {"dim": 0, "descending": True}),
        Sample((np.array([1, 0, 1, 2, 0]),), desc="int ties")]), grad=False),
    OpInfo("topk", _topk, gen(lambda rng: [
        Sample((_distinct(rng, (6,)), 3)), Sample((_distinct(rng, (3, 4)), 2), {"dim": 0}),
        Sample((_distinct(rng, (3, 4)), 2), {"largest": False}),
        Sample((_distinct(rng, (2, 3, 4)),), {"k": 1, "dim": 1}),
        Sample((_distinct(rng, (4, 3)), 4), {"dim": 0}, layout=("T",), desc="k = size"),
        Sample((_distinct(rng, (3, 4)), 0), desc="k = 0"),
        Sample((_distinct(rng, ()), 1), desc="0-d")])),
    OpInfo("one_hot", lambda x, num_classes=-1: np.eye(x.max() + 1 if num_classes < 0 else num_classes,
                                                        dtype=np.int64)[x],
           gen(lambda rng: [Sample((np.array([0, 3, 1]),)), Sample((np.array([[0, 2], [1, 1]]),), {"num_classes": 4}),
                            Sample((np.array(2),), {"num_classes": 3}, desc="0-d")]),
           op=F("one_hot"), grad=False),
    OpInfo("where.condition", lambda c: np.nonzero(c), gen(lambda rng: [
        Sample((rng.random((3, 4)) > 0.5,)), Sample((rng.random((5,)) > 0.5,))]),
        op=fn("where"), grad=False),
    OpInfo("smooth_l1_loss", _smooth, gen(lambda rng: [
        Sample(_pair(rng, (2, 3), 1.0)), Sample(_pair(rng, (2, 3), 0.5), {"beta": 0.5, "reduction": "sum"}),
        Sample(_pair(rng, (3, 2), 2.0), {"beta": 2.0, "reduction": "none"}, layout=("T", "S")),
        Sample(_pair(rng, (4,), 1.0), grad=(True, False), desc="target constant")]),
        op=F("smooth_l1_loss")),
    OpInfo("smooth_l1_loss.beta0", lambda x, t, **k: np.abs(x - t).mean(), gen(lambda rng: [
        Sample(_pair(rng, (2, 3), 1.0), {"beta": 0.0})]), op=F("smooth_l1_loss")),
    OpInfo("huber_loss", lambda x, t, reduction="mean", delta=1.0: _smooth(x, t, reduction, delta, True),
           gen(lambda rng: [
               Sample(_pair(rng, (2, 3), 1.0)), Sample(_pair(rng, (2, 3), 0.5), {"delta": 0.5, "reduction": "sum"}),
               Sample(_pair(rng, (3, 2), 2.0), {"delta": 2.0, "reduction": "none"}, layout=("T", "S"))]),
           op=F("huber_loss")),
]
