"""``chaingrad.autograd``: reverse-mode differentiation (the engine itself is native C++)."""

from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

from .. import _C
from .._C import Tensor
from . import forward_ad, functional, graph
from .anomaly_mode import (
    detect_anomaly,
    is_anomaly_check_nan_enabled,
    is_anomaly_enabled,
    is_nan_check_enabled,
    set_detect_anomaly,
    set_nan_check,
)
from .function import Function, FunctionCtx, once_differentiable
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import gradcheck, gradgradcheck

__all__ = [
    "Function",
    "Variable",
    "FunctionCtx",
    "backward",
    "detect_anomaly",
    "enable_grad",
    "forward_ad",
    "functional",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "graph",
    "inference_mode",
    "is_anomaly_check_nan_enabled",
    "is_anomaly_enabled",
    "is_grad_enabled",
    "is_nan_check_enabled",
    "no_grad",
    "once_differentiable",
    "set_detect_anomaly",
    "set_nan_check",
    "set_grad_enabled",
]

_Tensors = Union[Tensor, Sequence[Tensor]]


class _VariableMeta(type):
    def __instancecheck__(cls, other: object) -> bool:
        return isinstance(other, Tensor)


class Variable(metaclass=_VariableMeta):
    """The legacy ``Variable`` wrapper: ``Variable(t, requires_grad=True)`` returns a tensor (as in
    PyTorch, where Variable and Tensor merged): ``t`` itself, or a leaf alias of it that requires grad."""

    def __new__(cls, data: Optional[Tensor] = None, requires_grad: bool = False, volatile: bool = False) -> Tensor:
        if data is None:
            return _C._full((0,), 0, _C._get_default_dtype())
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        out = data.detach()
        if requires_grad:
            out.requires_grad_(True)
        return out


def _as_tuple(x: Union[None, Tensor, Sequence], name: str) -> Tuple:
    if x is None:
        return ()
    if isinstance(x, Tensor):
        return (x,)
    if isinstance(x, (list, tuple)):
        return tuple(x)
    raise TypeError(f"{name} must be a Tensor or a sequence of Tensors, got {type(x).__name__}")


def _grads_for(outputs: Tuple[Tensor, ...], grads: Tuple) -> list:
    if grads and len(grads) != len(outputs):
        raise RuntimeError(f"grad_tensors/grad_outputs has {len(grads)} entries but there are {len(outputs)} outputs")
    out = []
    for i, o in enumerate(outputs):
        g = grads[i] if grads else None
        if g is not None and not isinstance(g, Tensor):
            g = _C._full((), g, o.dtype) if isinstance(g, (int, float, bool)) else g
        out.append(g)
    return out


def backward(
    tensors: _Tensors,
    grad_tensors: Optional[_Tensors] = None,
    retain_graph: Optional[bool] = None,
    create_graph: bool = False,
    inputs: Optional[_Tensors] = None,
) -> None:
    """Compute the gradients of ``tensors`` and accumulate them into the leaves' ``.grad``.

    The graph is differentiated with the chain rule from ``tensors`` back to every leaf that
    requires grad (or only to ``inputs``); the results are *added* to ``.grad``.

    Args:
        tensors: a tensor or sequence of tensors whose derivative is computed.
        grad_tensors: the "vector" of the vector-Jacobian product, one per tensor (``None`` is
            ``1`` for a scalar; required for non-scalar tensors).
        retain_graph: keep the graph so it can be backpropagated through again (defaults to
            ``create_graph``); otherwise its saved tensors are freed.
        create_graph: record the backward computation, for higher-order derivatives.
        inputs: accumulate only into these tensors (leaves or not) instead of all leaves.

    Returns:
        None.

    Example::

        >>> w = chaingrad.tensor([1.0, 2.0], requires_grad=True)
        >>> chaingrad.autograd.backward((w * w).sum())
        >>> w.grad
        tensor([2., 4.])
    """
    roots = _as_tuple(tensors, "tensors")
    grads = _grads_for(roots, _as_tuple(grad_tensors, "grad_tensors"))
    ins = _as_tuple(inputs, "inputs")
    if inputs is not None and len(ins) == 0:
        raise RuntimeError("'inputs' argument to backward() cannot be empty.")
    for i in ins:
        if not isinstance(i, Tensor):
            raise RuntimeError(f"all inputs have to be Tensors or GradientEdges, but got {type(i).__name__}")
    if retain_graph is None:
        retain_graph = create_graph
    _C._run_backward(list(roots), grads, list(ins), bool(retain_graph), bool(create_graph), True, True, False)


def grad(
    outputs: _Tensors,
    inputs: _Tensors,
    grad_outputs: Optional[_Tensors] = None,
    retain_graph: Optional[bool] = None,
    create_graph: bool = False,
    only_inputs: bool = True,
    allow_unused: Optional[bool] = None,
    is_grads_batched: bool = False,
    materialize_grads: bool = False,
) -> Tuple[Tensor, ...]:
    """Compute and return the gradients of ``outputs`` with respect to ``inputs``.

    Unlike :func:`backward`, nothing is accumulated into ``.grad``: the vector-Jacobian
    products ``sum_i grad_outputs[i]^T d outputs[i] / d inputs[j]`` are returned, one per input.

    Args:
        outputs: a tensor or sequence of tensors to differentiate.
        inputs: a tensor or sequence of tensors to differentiate with respect to.
        grad_outputs: the "vector" of the products, one per output (``None`` is ones for a
            scalar output; required for non-scalar outputs).
        retain_graph: keep the graph for another backward pass (defaults to ``create_graph``).
        create_graph: record the backward computation so the result can be differentiated
            again (higher-order derivatives).
        only_inputs: accepted for compatibility (ignored, as in PyTorch).
        allow_unused: return ``None`` for an input the outputs do not depend on instead of
            raising ``RuntimeError``.
        is_grads_batched: the first dimension of every ``grad_outputs`` entry is a batch of
            vectors; each result gets the same leading dimension (one VJP per vector).
        materialize_grads: return zeros instead of ``None`` for unused inputs.

    Returns:
        A tuple with one gradient per input, each shaped like its input (``None`` for unused
        inputs when ``allow_unused=True``).

    Example::

        >>> x = chaingrad.tensor(2.0, requires_grad=True)
        >>> (dy,) = chaingrad.autograd.grad(x ** 3, x, create_graph=True)
        >>> dy                                   # 3 x^2
        tensor(12., grad_fn=<MulBackward0>)
        >>> chaingrad.autograd.grad(dy, x)       # 6 x
        (tensor(12.),)
    """
    if (grad_outputs is None and not is_grads_batched and not materialize_grads and type(outputs) is Tensor
            and type(inputs) is Tensor):
        # The common call (one output, one input, default vector): what the general path below
        # computes for it, without its tuples and checks (a Hessian-vector product makes two).
        keep = create_graph if retain_graph is None else retain_graph
        return _C._run_backward([outputs], [None], [inputs], bool(keep), bool(create_graph), False,
                                bool(allow_unused), False)
    outs = _as_tuple(outputs, "outputs")
    ins = _as_tuple(inputs, "inputs")
    if not ins:
        raise RuntimeError("grad requires at least one input")
    if allow_unused is None:
        allow_unused = materialize_grads
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when materialize_grads=True, "
                         "but got: allow_unused=False.")
    grads = _grads_for(outs, _as_tuple(grad_outputs, "grad_outputs"))
    if retain_graph is None:
        retain_graph = create_graph
    if is_grads_batched:
        return _batched_grad(outs, ins, grads, bool(retain_graph), bool(create_graph), bool(allow_unused),
                             bool(materialize_grads))
    return tuple(_C._run_backward(list(outs), grads, list(ins), bool(retain_graph), bool(create_graph), False,
                                  bool(allow_unused), bool(materialize_grads)))


def _batched_grad(outs: Tuple[Tensor, ...], ins: Tuple[Tensor, ...], grads: list, retain_graph: bool,
                  create_graph: bool, allow_unused: bool, materialize_grads: bool) -> Tuple[Optional[Tensor], ...]:
    """``grad(..., is_grads_batched=True)``: one VJP per vector of the leading batch dimension.
    One batched walk of the graph (``_batched_backward``) where every node has a batching rule,
    otherwise one engine pass per vector, stacked."""
    from .. import stack
    from . import _batched_backward

    sizes = {g.shape[0] for g in grads if isinstance(g, Tensor) and g.dim() > 0}
    for i, (g, o) in enumerate(zip(grads, outs)):
        if not isinstance(g, Tensor) or g.dim() == 0 or tuple(g.shape[1:]) != tuple(o.shape):
            got = tuple(g.shape) if isinstance(g, Tensor) else None
            raise RuntimeError("If `is_grads_batched=True`, we interpret the first dimension of each grad_output "
                               "as the batch dimension. The sizes of the remaining dimensions are expected to match "
                               f"the shape of corresponding output, but a mismatch was detected: grad_output[{i}] "
                               f"has a shape of {got} and output[{i}] has a shape of {tuple(o.shape)}.")
    if len(sizes) != 1:
        raise RuntimeError("If `is_grads_batched=True`, all grad_outputs must have the same batch size")
    (batch,) = sizes
    if batch > 1:
        batched = _batched_backward.batched_grad(outs, ins, grads, create_graph, allow_unused, materialize_grads,
                                                 retain_graph)
        if batched is not None:
            return batched
        _batched_backward._stats["loops"] += 1
    rows = []
    for b in range(batch):
        keep = retain_graph or b + 1 < batch
        rows.append(_C._run_backward(list(outs), [g[b] for g in grads], list(ins), keep, create_graph, False,
                                     allow_unused, materialize_grads))
    result = []
    for j, t in enumerate(ins):
        col = [r[j] for r in rows]
        if any(c is None for c in col):
            result.append(None)
        elif not col:
            result.append(_C._full((0,) + tuple(t.shape), 0, t.dtype))
        else:
            result.append(stack(col, 0))
    return tuple(result)
