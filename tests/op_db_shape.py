"""Operator-table entries for the shape ops and indexing (views, reshapes, joins, splits, subscripts,
gather/scatter, index_* and masked ops); ``op_db`` appends ``SHAPE_OPS`` to ``OPS`` (same ``OpInfo`` format)."""

from __future__ import annotations

from typing import Any, Callable, List, Tuple

import numpy as np
from op_db import OpInfo, Sample, _arr, gen

# ---------------------------------------------------------------------------------- references

def _split(x: np.ndarray, size: Any, dim: int = 0) -> Tuple[np.ndarray, ...]:
    n = x.shape[dim]
    if isinstance(size, int):
        cuts = list(range(size, n, size))
    else:
        cuts = list(np.cumsum(size)[:-1])
    return tuple(np.split(x, cuts, axis=dim))


def _chunk(x: np.ndarray, chunks: int, dim: int = 0) -> Tuple[np.ndarray, ...]:
    return _split(x, -(-x.shape[dim] // chunks), dim)


def _shape_args(args: Tuple[Any, ...]) -> Tuple[int, ...]:
    return tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else tuple(args)


def _expand(x: np.ndarray, *size: Any) -> np.ndarray:
    size = _shape_args(size)
    lead = len(size) - x.ndim
    full = tuple(x.shape[i - lead] if s == -1 else s for i, s in enumerate(size))
    return np.broadcast_to(x, full).copy()


def _squeeze(x: np.ndarray, dim: Any = None) -> np.ndarray:
    if dim is None:
        return np.squeeze(x)
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    dims = tuple(d % max(x.ndim, 1) for d in dims if x.ndim and x.shape[d % x.ndim] == 1)
    return np.squeeze(x, axis=dims) if dims else x.copy()


def _narrow(x: np.ndarray, dim: int, start: int, length: int) -> np.ndarray:
    start = start % x.shape[dim]
    return np.take(x, range(start, start + length), axis=dim)


def _flatten(x: np.ndarray, start_dim: int = 0, end_dim: int = -1) -> np.ndarray:
    if x.ndim == 0:
        return x.reshape(1)
    s, e = start_dim % x.ndim, end_dim % x.ndim
    return x.reshape(x.shape[:s] + (-1,) + x.shape[e + 1:])


def _gather(x: np.ndarray, dim: int, index: np.ndarray) -> np.ndarray:
    out = np.empty(index.shape, dtype=x.dtype)
    for pos in np.ndindex(*index.shape):
        src = list(pos)
        src[dim] = index[pos]
        out[pos] = x[tuple(src)]
    return out


def _scatter_add(x: np.ndarray, dim: int, index: np.ndarray, src: np.ndarray) -> np.ndarray:
    out = x.copy()
    for pos in np.ndindex(*index.shape):
        tgt = list(pos)
        tgt[dim] = index[pos]
        out[tuple(tgt)] += src[pos]
    return out


def _getitem(key: Any) -> Callable[..., Any]:
    """x[key]; numpy arrays in the key become tensors of the library in use."""
    def op(lib: Any, x: Any) -> Any:
        return x[_lib_key(lib, key)]
    return op


def _lib_key(lib: Any, key: Any) -> Any:
    if isinstance(key, tuple):
        return tuple(_lib_key(lib, k) for k in key)
    if isinstance(key, np.ndarray):
        return lib.from_numpy(key.copy())
    return key


def _setitem(key: Any) -> Callable[..., Any]:
    def op(lib: Any, x: Any, v: Any) -> Any:
        y = x.clone()
        y[_lib_key(lib, key)] = v
        return y
    return op


def _setitem_ref(key: Any) -> Callable[..., Any]:
    def ref(x: np.ndarray, v: Any) -> np.ndarray:
        y = x.copy()
        y[key] = v
        return y
    return ref


def _getitem_ref(key: Any) -> Callable[..., Any]:
    return lambda x: np.asarray(x[key]).copy()


_idx = np.array([2, 0, 2])


_mask23 = np.array([[True, False, True], [False, False, True]])


_gidx = np.array([[0, 2], [1, 1], [2, 0]])  # gather/scatter index for a (3, 3) input along dim 1


# ---------------------------------------------------------------------------------- the table

SHAPE_OPS: List[OpInfo] = [
    # ---- shape ops
    OpInfo("reshape", lambda x, *s: x.reshape(_shape_args(s)), gen(lambda rng: [
        Sample((_arr(rng, (2, 6)), (3, 4))), Sample((_arr(rng, (2, 3)), (-1,))), Sample((_arr(rng, ()), (1, 1))),
        Sample((_arr(rng, (3, 4)), (2, -1)), layout=("T",), desc="copy")]),
        variants={"varargs": lambda lib, x, s: x.reshape(*s)}),
    OpInfo("view", lambda x, *s: x.reshape(_shape_args(s)), gen(lambda rng: [
        Sample((_arr(rng, (2, 6)), (3, 4))), Sample((_arr(rng, (2, 3)), (-1,))), Sample((_arr(rng, ()), (1,))),
        Sample((_arr(rng, (4, 2, 3)), (2, 2, 2, 3)), layout=("T",), desc="strided"),
        Sample((_arr(rng, (4, 2, 3)), (2, 2, 2, 3)), layout=("S",), desc="strided")]),
        function=False, variants={"varargs": lambda lib, x, s: x.view(*s)}),
    OpInfo("flatten", _flatten, gen(lambda rng: [
        Sample((_arr(rng, (2, 3, 2)),)), Sample((_arr(rng, ()),)), Sample((_arr(rng, (2, 3, 2)), 1)),
        Sample((_arr(rng, (2, 3, 2)), 0, 1)), Sample((_arr(rng, (3, 2)),), layout=("T",))])),
    OpInfo("squeeze", _squeeze, gen(lambda rng: [
        Sample((_arr(rng, (1, 3, 1)),)), Sample((_arr(rng, (1, 3, 1)), 0)), Sample((_arr(rng, (1, 3, 1)), -1)),
        Sample((_arr(rng, (2, 3)), 0)), Sample((_arr(rng, ()),)), Sample((_arr(rng, (1, 3, 1)), (0, 2)))])),
    OpInfo("unsqueeze", lambda x, dim: np.expand_dims(x, dim), gen(lambda rng: [
        Sample((_arr(rng, (2, 3)),), {"dim": 1}, desc="keyword"),
        Sample((_arr(rng, (2, 3)), 0)), Sample((_arr(rng, (2, 3)), -1)), Sample((_arr(rng, ()), 0)),
        Sample((_arr(rng, (3, 2)), 1), layout=("T",))])),
    OpInfo("expand", _expand, gen(lambda rng: [
        Sample((_arr(rng, (3, 1)), (3, 4))), Sample((_arr(rng, (3,)), (2, 3))), Sample((_arr(rng, ()), (2, 2))),
        Sample((_arr(rng, (1, 3)), (2, -1, -1))), Sample((_arr(rng, (3, 2)), (2, 3, 2)), layout=("T",))]),
        function=False, variants={"varargs": lambda lib, x, s: x.expand(*s)}),
    OpInfo("expand_as", lambda x, y: np.broadcast_to(x, y.shape).copy(), gen(lambda rng: [
        Sample((_arr(rng, (3, 1)), _arr(rng, (3, 4))), grad=(True, False))]), function=False),
    OpInfo("repeat", lambda x, *r: np.tile(x, _shape_args(r)), gen(lambda rng: [
        Sample((_arr(rng, (2, 3)), (2, 1))), Sample((_arr(rng, (3,)), (2, 2))), Sample((_arr(rng, ()), (3,))),
        Sample((_arr(rng, (3, 2)), (1, 2)), layout=("T",))]),
        function=False, variants={"varargs": lambda lib, x, r: x.repeat(*r)}),
    OpInfo("cat", lambda xs, dim=0: np.concatenate(xs, axis=dim), gen(lambda rng: [
        Sample(([_arr(rng, (2, 3)), _arr(rng, (1, 3))],)), Sample(([_arr(rng, (2, 3)), _arr(rng, (2, 2))], 1)),
        Sample(([_arr(rng, (2,)), _arr(rng, (3,)), _arr(rng, (1,))],), {"dim": -1})]),
        op=lambda lib, *xs, **k: lib.cat(*xs, **k), variants={"concat": lambda lib, *xs, **k: lib.concat(*xs, **k)}),
    OpInfo("stack", lambda xs, dim=0: np.stack(xs, axis=dim), gen(lambda rng: [
        Sample(([_arr(rng, (2, 3)), _arr(rng, (2, 3))],)), Sample(([_arr(rng, (2, 3)), _arr(rng, (2, 3))], 2)),
        Sample(([_arr(rng, ()), _arr(rng, ())],))]),
        op=lambda lib, *xs, **k: lib.stack(*xs, **k)),
    OpInfo("split", _split, gen(lambda rng: [
        Sample((_arr(rng, (5, 2)), 2)), Sample((_arr(rng, (2, 5)), 3, 1)), Sample((_arr(rng, (5, 2)), [1, 4])),
        Sample((_arr(rng, (2, 5)), [2, 1, 2]), {"dim": 1}), Sample((_arr(rng, (2, 4)), 2, 0), layout=("T",))])),
    OpInfo("chunk", _chunk, gen(lambda rng: [Sample((_arr(rng, (2, 6)),), {"chunks": 4, "dim": 1}, desc="keyword"),
        Sample((_arr(rng, (5, 2)), 2)), Sample((_arr(rng, (2, 6)), 3, 1)),
        Sample((_arr(rng, (4, 2)), 2), layout=("S",))])),
    OpInfo("unbind", lambda x, dim=0: tuple(np.moveaxis(x, dim, 0)), gen(lambda rng: [
        Sample((_arr(rng, (3, 2)),)), Sample((_arr(rng, (2, 3)), 1))])),
    OpInfo("flip", lambda x, *d: np.flip(x, axis=_shape_args(d)) if x.ndim else x.copy(), gen(lambda rng: [
        Sample((_arr(rng, (2, 3)), (0,))), Sample((_arr(rng, (2, 3, 2)), (0, 2))), Sample((_arr(rng, ()), (0,))),
        Sample((_arr(rng, (3, 2)), (-1,)), layout=("T",))])),
    OpInfo("narrow", _narrow, gen(lambda rng: [
        Sample((_arr(rng, (4, 3)),), {"dim": 1, "start": 1, "length": 2}, desc="keyword"),
        Sample((_arr(rng, (4, 3)), 0, 1, 2)), Sample((_arr(rng, (4, 3)), 1, -2, 2)),
        Sample((_arr(rng, (3, 4)), 0, 0, 3), layout=("T",))])),

    # ---- indexing
    OpInfo("getitem.int", _getitem_ref(1), gen(lambda rng: [
        Sample((_arr(rng, (3, 4)),)), Sample((_arr(rng, (4, 3)),), layout=("T",))]), op=_getitem(1)),
    OpInfo("getitem.ints", _getitem_ref((1, -1)), gen(lambda rng: [Sample((_arr(rng, (3, 4)),))]),
           op=_getitem((1, -1))),
    OpInfo("getitem.slice", _getitem_ref(slice(1, None)), gen(lambda rng: [
        Sample((_arr(rng, (3, 4)),)), Sample((_arr(rng, (4, 3)),), layout=("T",))]), op=_getitem(slice(1, None))),
    OpInfo("getitem.full_slice", _getitem_ref(slice(None)), gen(lambda rng: [Sample((_arr(rng, (3, 4)),))]),
           op=_getitem(slice(None))),
    OpInfo("getitem.step", _getitem_ref((slice(None, None, 2), slice(1, None, 2))), gen(lambda rng: [
        Sample((_arr(rng, (5, 4)),)), Sample((_arr(rng, (4, 5)),), layout=("S",))]),
        op=_getitem((slice(None, None, 2), slice(1, None, 2)))),
    OpInfo("getitem.none", _getitem_ref((None, slice(None), None)), gen(lambda rng: [Sample((_arr(rng, (3, 4)),))]),
           op=_getitem((None, slice(None), None))),
    OpInfo("getitem.ellipsis", _getitem_ref(Ellipsis), gen(lambda rng: [Sample((_arr(rng, (3, 4)),)),
                                                                       Sample((_arr(rng, ()),))]),
           op=_getitem(Ellipsis)),
    OpInfo("getitem.ellipsis_int", _getitem_ref((Ellipsis, 1)), gen(lambda rng: [Sample((_arr(rng, (2, 3, 4)),))]),
           op=_getitem((Ellipsis, 1))),
    OpInfo("getitem.mask", _getitem_ref(_mask23), gen(lambda rng: [
        Sample((_arr(rng, (2, 3)),)), Sample((_arr(rng, (2, 3)),), layout=("T",))]), op=_getitem(_mask23)),
    OpInfo("getitem.mask_dim1", _getitem_ref((slice(None), np.array([True, False, True]))), gen(lambda rng: [
        Sample((_arr(rng, (2, 3, 2)),))]), op=_getitem((slice(None), np.array([True, False, True])))),
    OpInfo("getitem.index", _getitem_ref(_idx), gen(lambda rng: [
        Sample((_arr(rng, (3, 4)),)), Sample((_arr(rng, (4, 3)),), layout=("T",))]), op=_getitem(_idx)),
    OpInfo("getitem.index_dim1", _getitem_ref((slice(None), _idx)), gen(lambda rng: [
        Sample((_arr(rng, (2, 3, 2)),))]), op=_getitem((slice(None), _idx))),
    OpInfo("getitem.index_pair", _getitem_ref((np.array([[0, 1], [2, 2]]), np.array([1, 0]))), gen(lambda rng: [
        Sample((_arr(rng, (3, 2, 2)),))]), op=_getitem((np.array([[0, 1], [2, 2]]), np.array([1, 0])))),
    OpInfo("getitem.index_split", _getitem_ref((_idx, slice(None), np.array([0, 1, 0]))), gen(lambda rng: [
        Sample((_arr(rng, (3, 2, 2)),))]), op=_getitem((_idx, slice(None), np.array([0, 1, 0])))),
    OpInfo("getitem.list", _getitem_ref([0, 2]), gen(lambda rng: [Sample((_arr(rng, (3, 4)),))]),
           op=lambda lib, x: x[[0, 2]]),
    OpInfo("getitem.neg_index", _getitem_ref(np.array([-1, 0])), gen(lambda rng: [Sample((_arr(rng, (3, 4)),))]),
           op=_getitem(np.array([-1, 0]))),
    OpInfo("index_select", lambda x, dim, index: np.take(x, index, axis=dim), gen(lambda rng: [
        Sample((_arr(rng, (3, 4)),), {"dim": 1, "index": np.array([1, 1, 0])}, desc="keyword"),
        Sample((_arr(rng, (3, 4)), 0, _idx)), Sample((_arr(rng, (3, 4)), 1, np.array([3, 0]))),
        Sample((_arr(rng, (4, 3)), -1, _idx), layout=("T",))])),
    OpInfo("gather", lambda x, dim, index: _gather(x, dim, index), gen(lambda rng: [
        Sample((_arr(rng, (3, 3)),), {"dim": 1, "index": _gidx}, desc="keyword"),
        Sample((_arr(rng, (3, 3)), 1, _gidx)), Sample((_arr(rng, (3, 3)), 0, _gidx)),
        Sample((_arr(rng, (3, 4)), 1, np.array([[0], [3], [1]]))),
        Sample((_arr(rng, (3, 3)), 1, _gidx), layout=("T",))])),
    OpInfo("scatter_add", _scatter_add, gen(lambda rng: [
        Sample((_arr(rng, (3, 3)), 1, _gidx, _arr(rng, (3, 2)))),
        Sample((_arr(rng, (3, 3)), 0, np.array([[0, 0, 1]]), _arr(rng, (1, 3)))),
        Sample((_arr(rng, (3, 3)), 1, _gidx, _arr(rng, (3, 2))), layout=("T", None, None, "T"))])),
    OpInfo("masked_fill", lambda x, mask, value: np.where(mask, value, x), gen(lambda rng: [
        Sample((_arr(rng, (2, 3)),), {"mask": _mask23, "value": 3.0}, desc="keyword"),
        Sample((_arr(rng, (2, 3)), _mask23, 0.5)), Sample((_arr(rng, (2, 3)), np.array([True, False, True]), -1.0)),
        Sample((_arr(rng, (2, 3)), _mask23, 2.0), layout=("T",))])),
    OpInfo("masked_fill.tensor", lambda x, m, v: np.where(m, v, x), gen(lambda rng: [
        Sample((_arr(rng, (2, 3)), _mask23, _arr(rng, ())))]),
        op=lambda lib, x, m, v: x.masked_fill(m, v)),
    OpInfo("setitem.slice", _setitem_ref((slice(1, None), slice(None, None, 2))), gen(lambda rng: [
        Sample((_arr(rng, (3, 4)), _arr(rng, (2, 2)))),
        Sample((_arr(rng, (3, 4)), _arr(rng, (2,))), desc="broadcast")]),
        op=_setitem((slice(1, None), slice(None, None, 2)))),
    OpInfo("setitem.int", _setitem_ref(1), gen(lambda rng: [Sample((_arr(rng, (3, 4)), _arr(rng, (4,))))]),
           op=_setitem(1)),
    OpInfo("setitem.scalar", lambda x: _setitem_ref((0, slice(1, 3)))(x, 5.0), gen(lambda rng: [
        Sample((_arr(rng, (3, 4)),))]), op=lambda lib, x: _setitem((0, slice(1, 3)))(lib, x, 5.0)),
    OpInfo("setitem.index", _setitem_ref(np.array([2, 0])), gen(lambda rng: [
        Sample((_arr(rng, (3, 4)), _arr(rng, (2, 4)))), Sample((_arr(rng, (3, 4)), _arr(rng, ())), desc="0-d value")]),
        op=_setitem(np.array([2, 0]))),
    OpInfo("setitem.mask", _setitem_ref(_mask23), gen(lambda rng: [
        Sample((_arr(rng, (2, 3)), _arr(rng, (3,))))]), op=_setitem(_mask23)),

]
