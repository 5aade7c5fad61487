"""Operator-table entries for convolution, pooling, unfold/fold, padding and einsum
(appended to ``op_db.OPS``). numpy references where they are short; PyTorch is the reference
for the rest (test_ops compares values, gradients and grad_fn names against it)."""

from __future__ import annotations

from typing import Any, List, Optional, Sequence, Union

import numpy as np
from op_db import F, OpInfo, Sample, _arr, _distinct, fn, gen


def _conv2d_ref(x: np.ndarray, w: np.ndarray, b: Optional[np.ndarray] = None, stride: Any = 1,
                padding: Union[str, int, Sequence[int]] = 0, dilation: Any = 1, groups: int = 1) -> np.ndarray:
    """Direct (loop over kernel taps) 2-D cross-correlation; unbatched input allowed."""
    unbatched = x.ndim == 3
    x = x[None] if unbatched else x
    pair = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    (sh, sw), (dh, dw) = pair(stride), pair(dilation)
    kh, kw = w.shape[2:]
    if padding == "same":
        th, tw = dh * (kh - 1), dw * (kw - 1)
        pads = ((th // 2, th - th // 2), (tw // 2, tw - tw // 2))
    else:
        ph, pw = (0, 0) if padding == "valid" else pair(padding)
        pads = ((ph, ph), (pw, pw))
    xp = np.pad(x, ((0, 0), (0, 0)) + pads)
    oh = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    ow = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    cg, og = x.shape[1] // groups, w.shape[0] // groups
    out = np.zeros((x.shape[0], w.shape[0], oh, ow), dtype=np.result_type(x, w))
    for g in range(groups):
        xg, wg = xp[:, g * cg:(g + 1) * cg], w[g * og:(g + 1) * og]
        for a in range(kh):
            for c in range(kw):
                patch = xg[:, :, a * dh:a * dh + sh * (oh - 1) + 1:sh, c * dw:c * dw + sw * (ow - 1) + 1:sw]
                out[:, g * og:(g + 1) * og] += np.einsum("nchw,oc->nohw", patch, wg[:, :, a, c])
    if b is not None:
        out += b[None, :, None, None]
    return out[0] if unbatched else out


def _conv1d_ref(x: np.ndarray, w: np.ndarray, b: Optional[np.ndarray] = None, stride: Any = 1,
                padding: Any = 0, dilation: Any = 1, groups: int = 1) -> np.ndarray:
    first = lambda v: v if isinstance(v, int) else v[0]  # noqa: E731
    pad2 = padding if isinstance(padding, str) else (0, first(padding))
    out = _conv2d_ref(x[..., None, :], w[:, :, None, :], b, (1, first(stride)), pad2, (1, first(dilation)), groups)
    return out[..., 0, :]


def _pad_ref(x: np.ndarray, pad: Sequence[int], mode: str = "constant", value: float = 0.0) -> np.ndarray:
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (max(pad[2 * i], 0), max(pad[2 * i + 1], 0))
    np_mode = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}[mode]
    out = np.pad(x, widths, mode=np_mode, **({"constant_values": value} if mode == "constant" else {}))
    crop = [slice(None)] * x.ndim
    for i in range(len(pad) // 2):
        lo, hi = pad[2 * i], pad[2 * i + 1]
        crop[x.ndim - 1 - i] = slice(-lo if lo < 0 else 0, out.shape[x.ndim - 1 - i] + hi if hi < 0 else None)
    return out[tuple(crop)]


def _einsum_samples(rng: np.random.Generator) -> List[Sample]:
    specs = [("ij,jk->ik", [(2, 3), (3, 4)]), ("ij,jk", [(2, 3), (3, 4)]), ("bij,bjk->bik", [(2, 2, 3), (2, 3, 4)]),
             ("ii->i", [(3, 3)]), ("ii", [(3, 3)]), ("i,j->ij", [(3,), (4,)]), ("ij->", [(2, 3)]),
             ("ijk->kji", [(2, 3, 4)]), ("abc,cd,de->abe", [(2, 2, 3), (3, 4), (4, 2)]),
             ("...ij,...jk->...ik", [(2, 1, 2, 3), (3, 3, 4)]), ("bn,anm,bm->ba", [(2, 3), (4, 3, 5), (2, 5)]),
             ("ij,ij->ij", [(2, 3), (1, 3)]), ("iij->j", [(2, 2, 3)]), ("...,...->...", [(2, 3), (3,)]),
             ("Ab,bA->A", [(2, 3), (3, 2)]), ("i,->i", [(3,), ()])]
    out = [Sample((eq,) + tuple(_arr(rng, s) for s in shapes), desc=eq) for eq, shapes in specs]
    out.append(Sample(("ij,jk->ik", _arr(rng, (2, 3)), _arr(rng, (3, 4))), layout=(None, "T", "T"), desc="strided"))
    return out


CONV_OPS: List[OpInfo] = [
    OpInfo("conv2d", _conv2d_ref, gen(lambda rng: [
        Sample((_arr(rng, (2, 3, 5, 4)), _arr(rng, (4, 3, 3, 2)))),
        Sample((_arr(rng, (2, 3, 5, 4)), _arr(rng, (4, 3, 3, 2)), _arr(rng, (4,))), {"stride": 2, "padding": 1}),
        Sample((_arr(rng, (1, 2, 6, 5)), _arr(rng, (3, 2, 2, 2)), _arr(rng, (3,))),
               {"stride": (1, 2), "padding": (1, 2), "dilation": (2, 1)}),
        Sample((_arr(rng, (2, 4, 5, 5)), _arr(rng, (6, 2, 3, 3)), _arr(rng, (6,))), {"groups": 2}, desc="groups"),
        Sample((_arr(rng, (2, 3, 5, 4)), _arr(rng, (2, 3, 3, 3))), {"padding": "same"}),
        Sample((_arr(rng, (2, 3, 5, 4)), _arr(rng, (2, 3, 1, 2))), {"padding": "valid"}),
        Sample((_arr(rng, (3, 5, 4)), _arr(rng, (2, 3, 3, 3)), _arr(rng, (2,))), {"padding": 1}, desc="unbatched"),
        Sample((_arr(rng, (2, 3, 4, 5)), _arr(rng, (2, 3, 2, 2))), layout=("T", "T"), desc="strided"),
        Sample((_arr(rng, (2, 3, 5, 4)), _arr(rng, (4, 3, 3, 2)), _arr(rng, (4,))), grad=(False, True, True)),
        Sample((_arr(rng, (2, 3, 5, 4)), _arr(rng, (4, 3, 3, 2))), grad=(True, False))]),
        op=F("conv2d")),
    OpInfo("conv1d", _conv1d_ref, gen(lambda rng: [
        Sample((_arr(rng, (2, 3, 7)), _arr(rng, (4, 3, 3)))),
        Sample((_arr(rng, (2, 3, 7)), _arr(rng, (4, 3, 3)), _arr(rng, (4,))),
               {"stride": 2, "padding": 1, "dilation": 2}),
        Sample((_arr(rng, (2, 4, 6)), _arr(rng, (8, 1, 2)), _arr(rng, (8,))), {"groups": 4}, desc="depthwise"),
        Sample((_arr(rng, (3, 7)), _arr(rng, (2, 3, 3))), {"padding": "same"}, desc="unbatched"),
        Sample((_arr(rng, (2, 3, 7)), _arr(rng, (2, 3, 2))), layout=("T", None), desc="strided")]),
        op=F("conv1d")),
    OpInfo("max_pool2d", None, gen(lambda rng: [
        Sample((_distinct(rng, (2, 3, 6, 5)), 2)),
        Sample((_distinct(rng, (2, 2, 7, 6)), 3), {"stride": 2, "padding": 1}),
        Sample((_distinct(rng, (1, 2, 7, 7)), (3, 2)), {"stride": (2, 1), "dilation": 2, "ceil_mode": True}),
        Sample((_distinct(rng, (2, 2, 5, 5)), 2), {"ceil_mode": True, "return_indices": True}),
        Sample((_distinct(rng, (3, 6, 5)), 2), {"stride": 1}, desc="unbatched"),
        Sample((_distinct(rng, (2, 2, 5, 6)), 2), layout=("T",), desc="strided")]),
        op=F("max_pool2d")),
    OpInfo("max_pool1d", None, gen(lambda rng: [
        Sample((_distinct(rng, (2, 3, 9)), 3), {"stride": 2, "padding": 1}),
        Sample((_distinct(rng, (3, 8)), 2), {"return_indices": True, "ceil_mode": True}, desc="unbatched")]),
        op=F("max_pool1d")),
    OpInfo("avg_pool2d", None, gen(lambda rng: [
        Sample((_arr(rng, (2, 3, 6, 5)), 2)),
        Sample((_arr(rng, (2, 2, 7, 6)), 3), {"stride": 2, "padding": 1}),
        Sample((_arr(rng, (2, 2, 7, 6)), 3),
               {"stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False}),
        Sample((_arr(rng, (1, 2, 5, 5)), (2, 3)), {"stride": 1, "padding": 1, "divisor_override": 5}),
        Sample((_arr(rng, (3, 6, 5)), 2), {"ceil_mode": True}, desc="unbatched"),
        Sample((_arr(rng, (2, 2, 5, 6)), 2), layout=("T",), desc="strided")]),
        op=F("avg_pool2d")),
    OpInfo("avg_pool1d", None, gen(lambda rng: [
        Sample((_arr(rng, (2, 3, 9)), 3), {"stride": 2, "padding": 1, "count_include_pad": False}),
        Sample((_arr(rng, (3, 8)), 3), {"ceil_mode": True}, desc="unbatched")]),
        op=F("avg_pool1d")),
    OpInfo("pad", _pad_ref, gen(lambda rng: [
        Sample((_arr(rng, (2, 3)), (1, 2))),
        Sample((_arr(rng, (2, 3, 4)), (1, 1, 2, 0)), {"value": 0.5}),
        Sample((_arr(rng, (2, 3, 4)), (-1, 2, 0, -1))),
        Sample((_arr(rng, (2, 2, 3, 4)), (1, 0, 0, 1, 1, 1))),
        Sample((_arr(rng, (2, 4, 3)), (1, 1)), layout=("T",), desc="strided"),
        Sample((_arr(rng, (2, 3, 5)), (2, 1)), {"mode": "reflect"}),
        Sample((_arr(rng, (1, 2, 4, 5)), (2, 1, 1, 3)), {"mode": "reflect"}),
        Sample((_arr(rng, (2, 3, 5)), (2, 3)), {"mode": "replicate"}),
        Sample((_arr(rng, (2, 4, 5)), (1, 2, 3, 0)), {"mode": "replicate"}),
        Sample((_arr(rng, (2, 2, 4, 3)), (1, 1, 1, 1)), {"mode": "reflect"}, layout=("T",), desc="strided")]),
        op=F("pad")),
    OpInfo("pad.circular", lambda x, p, mode: _pad_ref(x, p, mode), gen(lambda rng: [
        Sample((_arr(rng, (2, 3, 5)), (2, 1), "circular")),
        Sample((_arr(rng, (1, 2, 4, 5)), (2, 1, 1, 3), "circular"))]),
        op=lambda lib, x, p, mode: lib.nn.functional.pad(x, p, mode=mode),
        name_xfail="PyTorch pads circularly through slice copies (CopySlices)"),
    OpInfo("unfold", None, gen(lambda rng: [
        Sample((_arr(rng, (2, 3, 5, 4)), 2)),
        Sample((_arr(rng, (2, 2, 6, 5)), (2, 3)), {"dilation": 2, "padding": 1, "stride": (1, 2)}),
        Sample((_arr(rng, (2, 5, 4)), 3), {"padding": 1}, desc="unbatched")]),
        op=F("unfold")),
    OpInfo("fold", None, gen(lambda rng: [
        Sample((_arr(rng, (2, 12, 12)), (4, 5), 2)),
        Sample((_arr(rng, (1, 12, 24)), (5, 6), 2), {"dilation": 1, "padding": 1, "stride": (1, 2)}),
        Sample((_arr(rng, (8, 15)), (4, 4), 2), {"stride": 1, "padding": (1, 0)}, desc="unbatched")]),
        op=F("fold")),
    OpInfo("einsum", np.einsum, _einsum_samples, op=fn("einsum"),
           name_xfail="einsum's own composition (PyTorch's path differs in view/permute/mul nodes)"),
]
