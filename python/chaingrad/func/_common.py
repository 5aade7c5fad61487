"""Helpers shared by chaingrad.func's transforms: pytrees and batched stacking."""
from __future__ import annotations

from typing import Any, Callable, List, Sequence, Tuple

from .._C import Tensor
from ._batched import BatchedTensor

# How often vmap fell back to the whole-function loop, and jacrev to one backward per row
# (tests and benchmarks read them).
_stats = {"loop_fallbacks": 0, "jacrev_row_loops": 0}


# ---- pytrees (tensors in nested tuples, lists and dicts) ---------------------------------------
def _flatten(tree: Any) -> Tuple[List[Any], Any]:
    if isinstance(tree, (tuple, list)):
        leaves: List[Any] = []
        specs = []
        for item in tree:
            lv, sp = _flatten(item)
            leaves += lv
            specs.append((len(lv), sp))
        return leaves, (type(tree), specs)
    if isinstance(tree, dict):
        leaves = []
        specs = []
        for k, item in tree.items():
            lv, sp = _flatten(item)
            leaves += lv
            specs.append((k, len(lv), sp))
        return leaves, (dict, specs)
    return [tree], None


def _unflatten(leaves: Sequence[Any], spec: Any) -> Any:
    if spec is None:
        return leaves[0]
    kind, specs = spec
    out = []
    pos = 0
    if kind is dict:
        d = {}
        for k, n, sp in specs:
            d[k] = _unflatten(leaves[pos:pos + n], sp)
            pos += n
        return d
    for n, sp in specs:
        out.append(_unflatten(leaves[pos:pos + n], sp))
        pos += n
    return kind(out) if kind is not tuple else tuple(out)


def _tree_map(fn: Callable[[Any], Any], tree: Any) -> Any:
    leaves, spec = _flatten(tree)
    return _unflatten([fn(x) for x in leaves], spec)


def _stack(ts: Sequence[Any], dim: int = 0) -> Any:
    from .. import stack

    if ts and isinstance(ts[0], BatchedTensor):  # an inner vmap's loop inside an outer batched vmap
        return BatchedTensor(stack([_physical(t, ts[0].value.shape[0]) for t in ts], dim + 1))
    return stack(list(ts), dim)


def _cat(ts: Sequence[Any]) -> Any:
    from .. import cat

    if isinstance(ts[0], BatchedTensor):
        return BatchedTensor(cat([t.value for t in ts], 1))
    return cat(list(ts), 0)


def _physical(t: Any, batch: int) -> Tensor:
    if isinstance(t, BatchedTensor):
        return t.value
    return t.unsqueeze(0).expand((batch,) + tuple(t.shape))
