"""``chaingrad.autograd``: reverse-mode differentiation (the engine itself is native C++)."""

from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

from .. import _C
from .._C import Tensor
from . import graph
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
            return _C._full((0,), 0, _C.float32)
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
    """Accumulates the gradients of ``tensors`` into the ``.grad`` of the leaves (or ``inputs``)."""
    roots = _as_tuple(tensors, "tensors")
    grads = _grads_for(roots, _as_tuple(grad_tensors, "grad_tensors"))
    ins = _as_tuple(inputs, "inputs")
    if inputs is not None and len(ins) == 0:
        raise RuntimeError("'inputs' argument to backward() cannot be empty.")
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
) -> Tuple[Optional[Tensor], ...]:
    """Returns the gradients of ``outputs`` with respect to ``inputs`` (``.grad`` is untouched)."""
    outs = _as_tuple(outputs, "outputs")
    ins = _as_tuple(inputs, "inputs")
    if not ins:
        raise RuntimeError("grad requires at least one input")
    if is_grads_batched:
        raise NotImplementedError("is_grads_batched=True is not supported by chaingrad")
    if allow_unused is None:
        allow_unused = materialize_grads
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when materialize_grads=True, "
                         "but got: allow_unused=False.")
    grads = _grads_for(outs, _as_tuple(grad_outputs, "grad_outputs"))
    if retain_graph is None:
        retain_graph = create_graph
    return tuple(_C._run_backward(list(outs), grads, list(ins), bool(retain_graph), bool(create_graph), False,
                                  bool(allow_unused), bool(materialize_grads)))
