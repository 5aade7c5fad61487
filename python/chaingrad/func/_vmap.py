"""chaingrad.func.vmap: batching rules first, a loop per element where none applies."""
from __future__ import annotations

import functools
from typing import Any, Callable, List, Optional, Sequence, Tuple

from .._C import Tensor
from ._batched import BatchedTensor, NoBatchingRule
from ._common import _cat, _flatten, _physical, _stack, _stats, _unflatten


# ---- vmap ------------------------------------------------------------------------------------
def _fn_name(func: Any) -> str:
    return getattr(func, "__name__", type(func).__name__)


def _move_first_to(d: int, ndim: int) -> List[int]:
    order = list(range(1, ndim))
    order.insert(d, 0)
    return order


def _call(func: Any, args: Sequence[Any], specs: Sequence[Any], flat: Sequence[Any], kwargs: Any) -> Any:
    pos = 0
    call_args = []
    for spec, a in zip(specs, args):
        n = len(_flatten(a)[0])
        call_args.append(_unflatten(list(flat[pos:pos + n]), spec))
        pos += n
    return func(*call_args, **kwargs)


def _check_outputs(leaves: Sequence[Any], name: str) -> None:
    for leaf in leaves:
        if not isinstance(leaf, (Tensor, BatchedTensor)):
            raise ValueError(f"vmap({name}, ...): `{name}` must only return Tensors, got type {type(leaf)}. Did you "
                             "mean to set out_dims= to None for output?")


def _map_batched(func: Any, args: Any, specs: Any, flat_args: Any, flat_dims: Any, batch: int, step: int,
                 kwargs: Any, name: str) -> Tuple[List[List[Any]], Any]:
    """Runs func on BatchedTensors, ``step`` elements at a time; physical outputs (batch dim 0)."""
    chunks: List[List[Any]] = []
    out_spec = None
    for start in range(0, batch, step):
        stop = min(start + step, batch)
        flat = []
        for a, d in zip(flat_args, flat_dims):
            if d is None:
                flat.append(a)
                continue
            p = a if d == 0 else a.permute(d, *[i for i in range(a.dim()) if i != d])
            flat.append(BatchedTensor(p[start:stop] if (start, stop) != (0, batch) else p))
        leaves, out_spec = _flatten(_call(func, args, specs, flat, kwargs))
        _check_outputs(leaves, name)
        chunks.append([_physical(leaf, stop - start) for leaf in leaves])
    return chunks, out_spec


def _map_loop(func: Any, args: Any, specs: Any, flat_args: Any, flat_dims: Any, batch: int, step: int,
              kwargs: Any, name: str) -> Tuple[List[List[Any]], Any]:
    """The whole-function loop fallback: func once per element, results stacked chunk by chunk
    (at most ``step`` per-element results are alive before their chunk is stacked)."""
    chunks: List[List[Any]] = []
    out_spec = None
    for start in range(0, batch, step):
        per_elem: List[List[Any]] = []
        for b in range(start, min(start + step, batch)):
            flat = [a.select(d, b) if d is not None else a for a, d in zip(flat_args, flat_dims)]
            leaves, out_spec = _flatten(_call(func, args, specs, flat, kwargs))
            _check_outputs(leaves, name)
            per_elem.append(leaves)
        chunks.append([_stack([e[i] for e in per_elem]) for i in range(len(per_elem[0]))] if per_elem else [])
    return chunks, out_spec


def vmap(func: Callable[..., Any], in_dims: Any = 0, out_dims: Any = 0, randomness: str = "error", *,
         chunk_size: Optional[int] = None) -> Callable[..., Any]:
    """Maps ``func`` over one batch dimension of its inputs (``in_dims``: an int, or one entry per
    argument, ``None`` for unbatched ones) and stacks the results along ``out_dims``.

    Runs ``func`` once per batch element (see the module docstring); nests, and composes with the
    other transforms (``vmap(grad(loss), in_dims=(None, 0, 0))`` gives per-sample gradients).

    Example::

        >>> chaingrad.func.vmap(lambda x: x.sum())(chaingrad.ones(3, 2))
        tensor([2., 2., 2.])
    """
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size <= 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")
    name = _fn_name(func)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if isinstance(in_dims, int):
            dims = tuple(in_dims for _ in args)
        elif isinstance(in_dims, tuple):
            if len(in_dims) != len(args):
                raise ValueError(f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): in_dims is not compatible with "
                                 f"the structure of `inputs`. in_dims has {len(in_dims)} entries but inputs has "
                                 f"{len(args)}.")
            dims = in_dims
        else:
            raise ValueError(f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): expected `in_dims` to be int or a "
                             f"(potentially nested) tuple matching the structure of inputs, got: {type(in_dims)}.")
        flat_args: List[Any] = []
        flat_dims: List[Optional[int]] = []
        specs = []
        for a, d in zip(args, dims):
            leaves, spec = _flatten(a)
            specs.append(spec)
            if isinstance(d, (tuple, list, dict)):
                d_leaves = _flatten(d)[0]
            else:
                d_leaves = [d] * len(leaves)
            for leaf, dim in zip(leaves, d_leaves):
                if dim is not None and not isinstance(leaf, (Tensor, BatchedTensor)):
                    raise ValueError(f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): Got in_dim={dim} for an "
                                     f"input but the input is of type {type(leaf)}. We cannot vmap over non-Tensor "
                                     "arguments, please use None as the respective in_dim")
                if dim is not None and not -leaf.dim() <= dim < max(leaf.dim(), 1) or (
                        dim is not None and leaf.dim() == 0):
                    raise ValueError(f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): Got in_dim={dim} for some "
                                     f"input, but that input is a Tensor of dimensionality {leaf.dim()} so expected "
                                     f"in_dim to satisfy -{leaf.dim()} <= in_dim < {leaf.dim()}.")
                flat_args.append(leaf)
                flat_dims.append(None if dim is None else dim % leaf.dim())
        sizes = [a.shape[d] for a, d in zip(flat_args, flat_dims) if d is not None]
        if not sizes:
            raise ValueError(f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): at least one input must be a Tensor "
                             "mapped over a dimension (in_dim not None)")
        if len(set(sizes)) != 1:
            raise ValueError("vmap: Expected all tensors to have the same size in the mapped dimension, got sizes "
                             f"{sizes} for the mapped dimension")
        batch = sizes[0]
        step = chunk_size or batch
        mapped = (func, args, specs, flat_args, flat_dims, batch, step, kwargs, name)
        try:
            if any(isinstance(a, BatchedTensor) for a in flat_args):
                raise NoBatchingRule("an inner vmap maps element by element")
            chunks, out_spec = _map_batched(*mapped)
        except (NoBatchingRule, TypeError):
            _stats["loop_fallbacks"] += 1
            chunks, out_spec = _map_loop(*mapped)
        n_out = len(chunks[0]) if chunks else 0
        if len(chunks) == 1:
            stacked = chunks[0]
        else:
            stacked = [_cat([c[i] for c in chunks]) for i in range(n_out)]
        o_dims = _flatten(out_dims)[0] if isinstance(out_dims, (tuple, list)) else [out_dims] * n_out
        if len(o_dims) != n_out:
            raise ValueError(f"vmap({name}, ..., out_dims={out_dims})(<inputs>): out_dims is not compatible with the "
                             "structure of `outputs`.")
        moved = [s if d == 0 else s.permute(*_move_first_to(d % s.dim(), s.dim())) for s, d in zip(stacked, o_dims)]
        return _unflatten(moved, out_spec)
    return wrapper
