"""vmap's rules for module-level functions (``nn.functional`` and ``chaingrad.*``) called on a
batched value.

Those functions are native or call native code directly, so they cannot take a
:class:`~chaingrad.func._batched.BatchedTensor`. Each one that users call inside ``vmap`` checks,
only when its input is not a plain tensor, for ``__vmap_function__`` and hands the call over
(:func:`call`): a rule here runs the op once over the whole batch (the batch folded into the
op's own batch dim, or into groups for per-element convolution weights); any other function runs
once per element and stacks (the per-op loop), so the rest of the user's function stays batched.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Tuple

from .._C import Tensor
from ._batched import BatchedTensor, NoBatchingRule


def _batch_size(values: Any) -> int:
    for v in values:
        if isinstance(v, BatchedTensor):
            return v.value.shape[0]
    raise NoBatchingRule("no batched argument")


def _element(v: Any, b: int) -> Any:
    return v.value[b] if isinstance(v, BatchedTensor) else v


def _loop(fn: Callable[..., Any], args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Any:
    """The per-op loop: fn once per batch element, results stacked (tensors, or tuples of them)."""
    from .. import stack

    batch = _batch_size(list(args) + list(kwargs.values()))
    outs = [fn(*[_element(a, b) for a in args], **{k: _element(v, b) for k, v in kwargs.items()})
            for b in range(batch)]
    if all(isinstance(o, Tensor) for o in outs):
        return BatchedTensor(stack(outs, 0))
    if all(isinstance(o, tuple) and all(isinstance(e, Tensor) for e in o) for o in outs):
        return tuple(BatchedTensor(stack(list(col), 0)) for col in zip(*outs))
    raise NoBatchingRule(f"{getattr(fn, '__name__', fn)} returned {type(outs[0]).__name__}")


def _linear(fn: Callable[..., Any], input: Any, weight: Any, bias: Optional[Any] = None) -> Any:
    out = input @ weight.t()
    return out + bias if bias is not None else out


def _fold(x: BatchedTensor, logical_rank: int) -> Tuple[Tensor, int]:
    """The physical value with the vmap batch merged into the op's own leading batch dim; a
    logical input without one (unbatched form, e.g. (C, H, W)) just gains it."""
    v = x.value
    if x.dim() == logical_rank:  # (B, N, ...) -> (B*N, ...)
        return v.reshape((v.shape[0] * v.shape[1],) + tuple(v.shape[2:])), v.shape[1]
    return v, 0


def _unfold(out: Tensor, batch: int, n: int) -> BatchedTensor:
    if n == 0:
        return BatchedTensor(out)
    return BatchedTensor(out.reshape((batch, n) + tuple(out.shape[1:])))


def _pool(rank: int) -> Callable[..., Any]:
    def rule(fn: Callable[..., Any], input: Any, *args: Any) -> Any:
        return_indices = len(args) >= 6 and args[5]
        if not isinstance(input, BatchedTensor) or return_indices or any(isinstance(a, BatchedTensor) for a in args):
            return _loop(fn, (input,) + args, {})
        v, n = _fold(input, rank)
        return _unfold(fn(v, *args), input.value.shape[0], n)
    return rule


def _conv(rank: int) -> Callable[..., Any]:
    """Convolution over a batch: unbatched weights fold the batch into N; per-element weights (as
    vmap(grad) gives) run as one grouped convolution, element b's channels in group b."""
    def rule(fn: Callable[..., Any], input: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
             dilation: Any = 1, groups: int = 1) -> Any:
        if isinstance(padding, str) or (not isinstance(weight, BatchedTensor) and isinstance(bias, BatchedTensor)):
            return _loop(fn, (input, weight, bias, stride, padding, dilation, groups), {})
        if not isinstance(weight, BatchedTensor):
            if not isinstance(input, BatchedTensor):
                raise NoBatchingRule("conv without a batched argument")
            v, n = _fold(input, rank + 2)
            return _unfold(fn(v, weight, bias, stride, padding, dilation, groups), input.value.shape[0], n)
        batch = weight.value.shape[0]
        w = weight.value  # (B, Co, Ci/g, k...)
        x = input.value if isinstance(input, BatchedTensor) else input.unsqueeze(0).expand(
            (batch,) + tuple(input.shape))
        unbatched = x.dim() == rank + 2  # logical (C, H, W)
        if unbatched:
            x = x.unsqueeze(1)
        # (B, N, C, ...) -> (N, B*C, ...); weight (B*Co, Ci/g, ...), bias (B*Co,)
        xg = x.transpose(0, 1).reshape((x.shape[1], batch * x.shape[2]) + tuple(x.shape[3:]))
        wg = w.reshape((batch * w.shape[1],) + tuple(w.shape[2:]))
        bg = None
        if bias is not None:
            bv = bias.value if isinstance(bias, BatchedTensor) else bias.unsqueeze(0).expand((batch,) +
                                                                                            tuple(bias.shape))
            bg = bv.reshape((batch * bv.shape[1],))
        out = fn(xg, wg, bg, stride, padding, dilation, groups * batch)  # (N, B*Co, ...)
        out = out.reshape((out.shape[0], batch, w.shape[1]) + tuple(out.shape[2:])).transpose(0, 1)
        return BatchedTensor(out.squeeze(1) if unbatched else out)
    return rule


def _cross_entropy(fn: Callable[..., Any], input: Any, target: Any, weight: Any = None, size_average: Any = None,
                   ignore_index: int = -100, reduce: Any = None, reduction: str = "mean",
                   label_smoothing: float = 0.0) -> Any:
    """Class-index targets with logits of logical shape (N, C): one call over the B*N rows with
    reduction='none', reduced per element afterwards."""
    if (size_average is not None or reduce is not None or weight is not None or not isinstance(input, BatchedTensor)
            or input.dim() != 2 or not isinstance(target, BatchedTensor) or target.dim() != 1
            or target.value.is_floating_point()):
        return _loop(fn, (input, target, weight, size_average, ignore_index, reduce, reduction, label_smoothing), {})
    v, t = input.value, target.value
    batch, n = v.shape[0], v.shape[1]
    rows = fn(v.reshape((batch * n, v.shape[2])), t.reshape((batch * n,)), ignore_index=ignore_index,
              reduction="none", label_smoothing=label_smoothing).reshape((batch, n))
    if reduction == "none":
        return BatchedTensor(rows)
    if reduction == "sum":
        return BatchedTensor(rows.sum(1))
    return BatchedTensor(rows.sum(1) / (t != ignore_index).sum(1).to(rows.dtype))


_RULES: Dict[str, Callable[..., Any]] = {
    "linear": _linear,
    "conv1d": _conv(1),
    "conv2d": _conv(2),
    "max_pool2d": _pool(4),
    "avg_pool2d": _pool(4),
    "cross_entropy": _cross_entropy,
}


def call(name: str, fn: Callable[..., Any], args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Any:
    """A module-level function ``fn`` (PyTorch's name ``name``) on batched arguments."""
    rule = _RULES.get(name)
    if rule is not None:
        return rule(fn, *args, **kwargs)
    method = getattr(BatchedTensor, name, None)
    if method is not None and args and isinstance(args[0], BatchedTensor):  # chaingrad.tanh(x) is x.tanh()
        return method(args[0], *args[1:], **kwargs)
    return _loop(fn, args, kwargs)


# The hook module-level functions look for (chaingrad._functions._batched_call).
BatchedTensor.__vmap_function__ = staticmethod(call)  # type: ignore[attr-defined]
