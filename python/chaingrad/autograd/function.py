"""``chaingrad.autograd.Function``: user-defined operations with a Python backward.

``apply`` runs ``forward`` with grad mode off, then records one graph node in the C++ engine
whose VJP calls the class's ``backward`` (under the GIL, the only time the engine needs it).
"""

from __future__ import annotations

import inspect
from typing import Any, Optional, Tuple

from .. import _C
from .._C import Tensor
from .grad_mode import no_grad

__all__ = ["Function", "FunctionCtx", "once_differentiable"]


class FunctionCtx:
    """The ``ctx`` object passed to ``forward`` and ``backward``."""

    def __init__(self) -> None:
        self._to_save: Tuple[Optional[Tensor], ...] = ()
        self._non_differentiable: Tuple[Tensor, ...] = ()
        self._dirty: Tuple[Tensor, ...] = ()
        self._node_ref: Any = None
        self._to_save_forward: Optional[Tuple[Optional[Tensor], ...]] = None
        self._in_jvp = False
        self.needs_input_grad: Tuple[bool, ...] = ()
        self.materialize_grads = True

    def save_for_backward(self, *tensors: Optional[Tensor]) -> None:
        """Saves tensors for ``backward``; they are checked for in-place changes on use."""
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError("save_for_backward can only save variables, but argument is of type "
                                f"{type(t).__name__}")
        self._to_save = tuple(tensors)

    def save_for_forward(self, *tensors: Optional[Tensor]) -> None:
        """Saves tensors for ``jvp`` (forward mode); ``ctx.saved_tensors`` gives them there."""
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError("save_for_forward expects all arguments to be tensors; but got an argument of type "
                                f"{type(t).__name__}.")
        self._to_save_forward = tuple(tensors)

    @property
    def saved_tensors(self) -> Tuple[Optional[Tensor], ...]:
        """The tensors given to ``save_for_backward`` (in ``jvp``: to ``save_for_forward``)."""
        if self._in_jvp and self._to_save_forward is not None:
            return self._to_save_forward
        if self._node_ref is None:
            return self._to_save
        return _C._function_saved(self._node_ref)

    def mark_non_differentiable(self, *tensors: Tensor) -> None:
        """Marks outputs that never require grad."""
        self._non_differentiable = tuple(tensors)

    def mark_dirty(self, *tensors: Tensor) -> None:
        """Marks inputs that ``forward`` modified in place: they must be returned, and the very
        input object is returned by ``apply`` with this function as its new history."""
        self._dirty = tuple(tensors)

    def set_materialize_grads(self, value: bool) -> None:
        """With ``False``, ``backward`` gets ``None`` (not zeros) for outputs that got no gradient."""
        self.materialize_grads = bool(value)


class _FunctionMeta(type):
    def __init__(cls, name: str, bases: Any, ns: Any) -> None:
        super().__init__(name, bases, ns)


class Function(metaclass=_FunctionMeta):
    """Base class for custom differentiable operations (static ``forward``/``backward``)."""

    @staticmethod
    def forward(ctx: FunctionCtx, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def backward(ctx: FunctionCtx, *grad_outputs: Any) -> Any:
        raise NotImplementedError("You must implement either the backward or vjp method for your custom "
                                  "autograd.Function to use it with backward mode AD.")

    @staticmethod
    def jvp(ctx: FunctionCtx, *grad_inputs: Any) -> Any:
        """Forward mode: the output tangents from the input tangents (one per ``forward`` input)."""
        raise NotImplementedError("You must implement the jvp function for custom autograd.Function to use it with "
                                  "forward mode AD.")

    @staticmethod
    def setup_context(ctx: FunctionCtx, inputs: Tuple[Any, ...], output: Any) -> None:
        raise NotImplementedError

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(
            "Legacy autograd function with non-static forward method is deprecated. Please use new-style autograd "
            "function with static forward method. (Example: https://pytorch.org/docs/stable/autograd.html"
            "#torch.autograd.Function)")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """Runs ``forward`` and connects its outputs to the graph."""
        batched = _vmap_rule(cls, args)
        if batched is not None:
            return batched
        ctx = FunctionCtx()
        uses_setup = cls.setup_context is not Function.setup_context
        if uses_setup:
            # As PyTorch: keyword and default arguments become positional inputs of the node.
            bound = inspect.signature(cls.forward).bind(*args, **kwargs)
            bound.apply_defaults()
            args, kwargs = tuple(bound.args), {}
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        with no_grad():
            if uses_setup:
                output = cls.forward(*args)
            else:
                output = cls.forward(ctx, *args, **kwargs)
        if uses_setup:
            cls.setup_context(ctx, args, output)
        is_tuple = isinstance(output, tuple)
        outputs = output if is_tuple else (output,)
        for d in ctx._dirty:
            if not any(d is o for o in outputs):
                raise RuntimeError("Some elements marked as dirty during the forward method were not returned as "
                                   "output. The inputs that are modified inplace must all be outputs of the "
                                   "Function.")
        # An input returned as is (and not marked dirty) becomes a new tensor sharing its memory;
        # a dirty one stays the very same object and gets this function as its history.
        fixed = []
        for o in outputs:
            if (isinstance(o, Tensor) and any(o is a for a in args)
                    and not any(o is d for d in ctx._dirty)):
                o = o.detach()
            fixed.append(o)
        tensor_outputs = [o for o in fixed if isinstance(o, Tensor)]

        def backward(*grads: Tensor) -> Any:
            return cls.backward(ctx, *grads)

        node_name = cls.__dict__.get("_node_name") or cls.__name__ + "Backward"
        ref, _node = _C._function_record(backward, node_name, args, tensor_outputs,
                                         ctx._non_differentiable, ctx._to_save, ctx._dirty,
                                         ctx.materialize_grads)
        ctx._node_ref = ref
        ctx._to_save = ()
        _forward_tangents(cls, ctx, args, fixed)
        return tuple(fixed) if is_tuple else fixed[0]


class _VmapInfo:
    """The ``info`` a custom Function's ``vmap`` staticmethod receives."""

    def __init__(self, batch_size: int, randomness: str = "error") -> None:
        self.batch_size = batch_size
        self.randomness = randomness


def _vmap_rule(cls: Any, args: Tuple[Any, ...]) -> Any:
    """Inside chaingrad.func.vmap: a Function with a ``vmap`` staticmethod is its own batching rule,
    ``vmap(info, in_dims, *args) -> (outputs, out_dims)`` on the physical tensors (PyTorch's
    protocol); without one, None (vmap then maps the whole function element by element)."""
    if not any(type(a).__name__ == "BatchedTensor" for a in args):
        return None
    from ..func._batched import BatchedTensor, NoBatchingRule

    if getattr(cls, "vmap", None) is None or not callable(cls.vmap):
        raise NoBatchingRule(f"{cls.__name__} has no vmap staticmethod")
    size = next(a.value.shape[0] for a in args if isinstance(a, BatchedTensor))
    in_dims = tuple(0 if isinstance(a, BatchedTensor) else None for a in args)
    physical = tuple(a.value if isinstance(a, BatchedTensor) else a for a in args)
    outputs, out_dims = cls.vmap(_VmapInfo(size), in_dims, *physical)
    is_tuple = isinstance(outputs, tuple)
    outs = outputs if is_tuple else (outputs,)
    dims = out_dims if isinstance(out_dims, tuple) else (out_dims,) * len(outs)
    wrapped = []
    for o, d in zip(outs, dims):
        if d is None:
            wrapped.append(o)
        else:
            wrapped.append(BatchedTensor(o if d == 0 else o.movedim(d, 0) if hasattr(o, "movedim")
                                         else o.permute(d, *[i for i in range(o.dim()) if i != d])))
    return tuple(wrapped) if is_tuple else wrapped[0]


def _forward_tangents(cls: Any, ctx: FunctionCtx, args: Tuple[Any, ...], outputs: list) -> None:
    """Forward mode through a custom Function: its ``jvp`` gives the outputs' tangents."""
    from . import forward_ad

    if forward_ad._current_level < 0:
        return
    tangents = [_C._fw_grad(a) if isinstance(a, Tensor) else None for a in args]
    if all(t is None for t in tangents):
        return
    tangents = [t if t is not None or not isinstance(a, Tensor) else _C._full(tuple(a.shape), 0, a.dtype)
                for t, a in zip(tangents, args)]
    ctx._in_jvp = True
    try:
        result = cls.jvp(ctx, *tangents)
    finally:
        ctx._in_jvp = False
    result = result if isinstance(result, tuple) else (result,)
    tensor_outputs = [o for o in outputs if isinstance(o, Tensor)]
    if len(result) != len(tensor_outputs):
        raise RuntimeError(f"function {cls.__name__}_jvp returned an incorrect number of forward gradients (expected "
                           f"{len(tensor_outputs)}, got {len(result)})")
    for o, t in zip(tensor_outputs, result):
        if t is not None and o.dtype.is_floating_point:
            _C._set_fw_grad(o, t)


def once_differentiable(fn: Any) -> Any:
    """Decorator accepted for compatibility: runs ``backward`` with grad mode off."""

    def wrapper(ctx: FunctionCtx, *args: Any) -> Any:
        with no_grad():
            return fn(ctx, *args)

    return wrapper
