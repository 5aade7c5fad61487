"""``autograd.grad(..., is_grads_batched=True)`` as one backward pass: vmap over the backward.

The engine's VJPs see one gradient per tensor, so this walks the recorded graph in Python once,
with every gradient carrying a leading batch dimension, and applies a batching rule per node type
(the VJP formula written on batched gradients, from the node's saved tensors). The input shape of
each node's VJP (needed to undo broadcasting) comes from one unbatched pass with node hooks,
which also marks the nodes the requested inputs need. Rules are ordinary differentiable ops, so
``create_graph=True`` works. A graph with a node that has no rule returns None: the caller then
runs one engine pass per vector (PyTorch's vmap falls back the same way).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from .. import _C
from .._C import Tensor
from .grad_mode import set_grad_enabled


class _NoRule(Exception):
    pass


# Strides of the unbatched gradient each reduction node produced (set per call, read by the rules).
_STRIDES: Dict[int, Tuple[int, ...]] = {}

# How often is_grads_batched fell back to one engine pass per vector (tests read it).
_stats = {"loops": 0}


def _sum_to(g: Tensor, shape: Tuple[int, ...]) -> Tensor:
    """Undo broadcasting: a batched (B, *out) gradient summed to (B, *shape)."""
    lead = g.dim() - 1 - len(shape)
    if lead > 0:
        g = g.sum(tuple(range(1, 1 + lead)))
    dims = tuple(i + 1 for i, s in enumerate(shape) if s == 1 and g.shape[i + 1] != 1)
    if dims:
        g = g.sum(dims, keepdim=True)
    return g


def _saved(node: Any, key: str) -> Any:
    if key not in node._saved_names():
        raise _NoRule(f"{node.name()} did not save {key}")
    return node._saved_value(key)


def _scale(g: Tensor, value: Any) -> Tensor:
    return g if isinstance(value, (int, float)) and value == 1 else g * value


def _unsqueeze_all(g: Tensor, shape: Tuple[int, ...]) -> Tensor:
    """A batched gradient of a full reduction, broadcast back over the reduced input's shape."""
    if g.dim() != 1:
        raise _NoRule("reduction over some dims")
    return g.reshape((g.shape[0],) + (1,) * len(shape)).expand((g.shape[0],) + tuple(shape))


def _reduced_back(node: Any, g: Tensor, shape: Tuple[int, ...]) -> Tensor:
    """A batched gradient of a reduction over some dims, broadcast back over the input's shape.
    Which dims were reduced is not saved; the unbatched pass's gradient shows them (the VJP is an
    expand: stride 0 along each reduced dim)."""
    if g.dim() == 1:
        return _unsqueeze_all(g, shape)
    if g.dim() != len(shape) + 1:  # keepdim=False: put the reduced dims back as size 1
        strides = _STRIDES.get(id(node))
        if strides is None:
            raise _NoRule("reduction without its gradient's strides")
        kept = tuple(1 if size == 1 or stride == 0 else size for size, stride in zip(shape, strides))
        if _numel(kept) != _numel(tuple(g.shape[1:])):
            raise _NoRule("reduced dims not recognised")
        g = g.reshape((g.shape[0],) + kept)
    return g.expand((g.shape[0],) + tuple(shape))


def _transpose_back(node: Any, g: Tensor) -> Tensor:
    d0, d1 = _saved(node, "dim0"), _saved(node, "dim1")
    rank = g.dim() - 1
    if d0 is None:  # t()
        return g.transpose(-1, -2) if rank == 2 else g
    return g.transpose(d0 % rank + 1, d1 % rank + 1)


def _permute_back(node: Any, g: Tensor) -> Tensor:
    dims = _saved(node, "dims")
    rank = len(dims)
    inverse = [0] * rank
    for i, d in enumerate(dims):
        inverse[d % rank] = i
    return g.permute(0, *[i + 1 for i in inverse])


def _pow_back(node: Any, g: Tensor) -> Tensor:
    x = _saved(node, "self")
    exponent = node._saved_value("exponent") if "exponent" in node._saved_names() else 2
    if not isinstance(exponent, (int, float)):
        raise _NoRule("tensor exponent")
    return g * (exponent * x ** (exponent - 1))


# Each rule: (node, batched gradient of its output, input shapes) -> batched gradients per input.
_Rule = Callable[[Any, Tensor, Sequence[Optional[Tuple[int, ...]]]], List[Optional[Tensor]]]
_RULES: Dict[str, _Rule] = {
    "AddBackward0": lambda n, g, s: [_sum_to(g, s[0]) if s[0] is not None else None,
                                     _sum_to(_scale(g, _saved(n, "alpha")), s[1]) if s[1] is not None else None],
    "SubBackward0": lambda n, g, s: [_sum_to(g, s[0]) if s[0] is not None else None,
                                     _sum_to(_scale(-g, _saved(n, "alpha")), s[1]) if s[1] is not None else None],
    "MulBackward0": lambda n, g, s: [_sum_to(g * _saved(n, "other"), s[0]) if s[0] is not None else None,
                                     _sum_to(g * _saved(n, "self"), s[1]) if s[1] is not None else None],
    "DivBackward0": lambda n, g, s: [
        _sum_to(g / _saved(n, "other"), s[0]) if s[0] is not None else None,
        _sum_to(-g * _saved(n, "self") / (_saved(n, "other") * _saved(n, "other")), s[1]) if s[1] is not None
        else None],
    "NegBackward0": lambda n, g, s: [-g],
    "CloneBackward0": lambda n, g, s: [g],
    "TanhBackward0": lambda n, g, s: [g * (1 - _saved(n, "result") * _saved(n, "result"))],
    "SigmoidBackward0": lambda n, g, s: [g * (_saved(n, "result") * (1 - _saved(n, "result")))],
    "TanhBackwardBackward0": lambda n, g, s: [
        _sum_to(g * (1 - _saved(n, "output") * _saved(n, "output")), s[0]) if s[0] is not None else None,
        _sum_to(g * (_saved(n, "output") * -2.0 * _saved(n, "grad_output")), s[1]) if s[1] is not None else None],
    "SigmoidBackwardBackward0": lambda n, g, s: [
        _sum_to(g * (_saved(n, "output") * (1 - _saved(n, "output"))), s[0]) if s[0] is not None else None,
        _sum_to(g * (_saved(n, "grad_output") * (1 - 2.0 * _saved(n, "output"))), s[1]) if s[1] is not None
        else None],
    "ExpBackward0": lambda n, g, s: [g * _saved(n, "result")],
    "LogBackward0": lambda n, g, s: [g / _saved(n, "self")],
    "SinBackward0": lambda n, g, s: [g * _saved(n, "self").cos()],
    "CosBackward0": lambda n, g, s: [-g * _saved(n, "self").sin()],
    "SqrtBackward0": lambda n, g, s: [g / (2 * _saved(n, "result"))],
    "ReluBackward0": lambda n, g, s: [g * (_saved(n, "result") > 0).to(g.dtype)],
    "PowBackward0": lambda n, g, s: [_pow_back(n, g)],
    "SumBackward0": lambda n, g, s: [_unsqueeze_all(g, s[0])],
    "SumBackward1": lambda n, g, s: [_reduced_back(n, g, s[0])],
    "MeanBackward0": lambda n, g, s: [_unsqueeze_all(g, s[0]) / max(1, _numel(s[0]))],
    "MeanBackward1": lambda n, g, s: [_reduced_back(n, g, s[0]) * (_numel(tuple(g.shape[1:])) / max(1, _numel(s[0])))],
    "ViewBackward0": lambda n, g, s: [g.reshape((g.shape[0],) + tuple(s[0]))],
    "UnsafeViewBackward0": lambda n, g, s: [g.reshape((g.shape[0],) + tuple(s[0]))],
    "ReshapeAliasBackward0": lambda n, g, s: [g.reshape((g.shape[0],) + tuple(s[0]))],
    "UnsqueezeBackward0": lambda n, g, s: [g.reshape((g.shape[0],) + tuple(s[0]))],
    "SqueezeBackward0": lambda n, g, s: [g.reshape((g.shape[0],) + tuple(s[0]))],
    "SqueezeBackward1": lambda n, g, s: [g.reshape((g.shape[0],) + tuple(s[0]))],
    "ExpandBackward0": lambda n, g, s: [_sum_to(g, s[0])],
    "TBackward0": lambda n, g, s: [_transpose_back(n, g)],
    "TransposeBackward0": lambda n, g, s: [_transpose_back(n, g)],
    "PermuteBackward0": lambda n, g, s: [_permute_back(n, g)],
    "MvBackward0": lambda n, g, s: [g.unsqueeze(2) * _saved(n, "vec") if s[0] is not None else None,
                                    g @ _saved(n, "self") if s[1] is not None else None],
    "MmBackward0": lambda n, g, s: [g @ _saved(n, "mat2").t() if s[0] is not None else None,
                                    _saved(n, "self").t() @ g if s[1] is not None else None],
    "DotBackward0": lambda n, g, s: [g.unsqueeze(1) * _saved(n, "tensor") if s[0] is not None else None,
                                     g.unsqueeze(1) * _saved(n, "self") if s[1] is not None else None],
}


def _numel(shape: Sequence[int]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _input_shapes(outs: Sequence[Tensor], ins: Sequence[Tensor], row: Sequence[Tensor], nodes: Sequence[Any],
                  allow_unused: bool) -> Dict[int, List[Optional[Tuple[int, ...]]]]:
    """One unbatched engine pass (the first vector) with a hook on every node: the shape of each
    gradient a node's VJP produced, for the nodes that ran (those the inputs need)."""
    shapes: Dict[int, List[Optional[Tuple[int, ...]]]] = {}
    handles = []
    for node in nodes:
        def hook(grad_inputs: Any, grad_outputs: Any, key: int = id(node)) -> None:
            shapes[key] = [tuple(g.shape) if g is not None else None for g in grad_inputs]
            if grad_inputs and grad_inputs[0] is not None:
                _STRIDES[key] = tuple(grad_inputs[0].stride())
        handles.append(node.register_hook(hook))
    try:
        _C._run_backward(list(outs), list(row), list(ins), True, False, False, allow_unused, False)
    finally:
        for h in handles:
            h.remove()
    return shapes


def _walk(ready: List[Any], pending: Dict[int, Tensor], remaining: Dict[int, int], targets: Dict[int, int],
          shapes: Dict[int, List[Optional[Tuple[int, ...]]]], result: List[Optional[Tensor]]) -> None:
    """Runs the batched VJPs in dependency order, reading the requested inputs' gradients."""
    while ready:
        node = ready.pop()
        key = id(node)
        g = pending.pop(key, None)
        if key in targets and g is not None:
            result[targets[key]] = g
        if node.name() == "AccumulateGrad" or g is None:
            children = [] if node.name() == "AccumulateGrad" else node.next_functions
            for nxt, _ in children:
                if nxt is not None:
                    remaining[id(nxt)] -= 1
                    if remaining[id(nxt)] == 0:
                        ready.append(nxt)
            continue
        in_shapes = shapes.get(key)
        edges = node.next_functions
        next_grads: List[Optional[Tensor]] = []
        if in_shapes is not None:  # the node ran in the unbatched pass: the inputs need it
            in_shapes = in_shapes + [None] * (len(edges) - len(in_shapes))
            next_grads = _RULES[node.name()](node, g, [s if e is not None else None for s, (e, _) in
                                                       zip(in_shapes, edges)])
        for i, (nxt, _) in enumerate(edges):
            if nxt is None:
                continue
            ng = next_grads[i] if i < len(next_grads) else None
            if ng is not None:
                nk = id(nxt)
                pending[nk] = pending[nk] + ng if nk in pending else ng
            remaining[id(nxt)] -= 1
            if remaining[id(nxt)] == 0:
                ready.append(nxt)


def batched_grad(outs: Sequence[Tensor], ins: Sequence[Tensor], grads: Sequence[Tensor], create_graph: bool,
                 allow_unused: bool, materialize_grads: bool,
                 retain_graph: bool = False) -> Optional[Tuple[Optional[Tensor], ...]]:
    """J^T v for every vector v of the batched ``grads`` in one walk of the graph, or None when
    some node on the way has no batching rule (or the graph has a shape this walk does not
    handle: multi-output nodes, outputs without a graph). Without ``retain_graph`` the nodes that
    ran free what they saved afterwards, as a backward pass does (the graph is kept until then:
    a walk that gives up hands it to the per-vector fallback intact)."""
    if any(o.grad_fn is None for o in outs):
        return None
    batch = grads[0].shape[0]
    # Nodes reachable from the outputs, in an order where each node follows everything feeding it.
    order: List[Any] = []
    keep: Dict[int, Any] = {}
    deps: Dict[int, int] = {}
    stack = [o.grad_fn for o in outs]
    while stack:
        node = stack.pop()
        if id(node) in keep:
            continue
        keep[id(node)] = node
        order.append(node)
        for nxt, slot in node.next_functions:
            if nxt is None:
                continue
            if slot != 0:
                return None  # a multi-output node
            deps[id(nxt)] = deps.get(id(nxt), 0) + 1
            stack.append(nxt)
    for node in order:
        if node.name() != "AccumulateGrad" and node.name() not in _RULES:
            return None
    # Where each requested input's gradient is read: its grad_fn (a non-leaf) or its accumulator.
    targets: Dict[int, int] = {}
    for j, t in enumerate(ins):
        if t.grad_fn is not None:
            if t.output_nr != 0:
                return None
            targets[id(t.grad_fn)] = j
    for node in order:
        if node.name() == "AccumulateGrad":
            for j, t in enumerate(ins):
                if t.grad_fn is None and node.variable is t:
                    targets[id(node)] = j
    # (An input the outputs do not reach gets None, or zeros with materialize_grads.)
    shapes = _input_shapes(outs, ins, [g[0] for g in grads], [n for n in order if n.name() != "AccumulateGrad"],
                           allow_unused)
    pending: Dict[int, Tensor] = {}
    for o, g in zip(outs, grads):
        key = id(o.grad_fn)
        pending[key] = pending[key] + g if key in pending else g
    result: List[Optional[Tensor]] = [None] * len(ins)
    ready = [o.grad_fn for o in outs if deps.get(id(o.grad_fn), 0) == 0]
    ready = list({id(n): n for n in ready}.values())
    remaining = dict(deps)
    try:
        with set_grad_enabled(create_graph):
            _walk(ready, pending, remaining, targets, shapes, result)
    except _NoRule:
        return None
    finally:
        _STRIDES.clear()
    if not retain_graph:
        for node in order:
            if id(node) in shapes:
                node._release_saved()
    out: List[Optional[Tensor]] = []
    for t, r in zip(ins, result):
        if r is None:
            out.append(_C._full((batch,) + tuple(t.shape), 0, t.dtype) if materialize_grads else None)
        else:
            r = r if tuple(r.shape[1:]) == tuple(t.shape) else r.expand((batch,) + tuple(t.shape))
            out.append(r if create_graph else r.detach())
    return tuple(out)
