"""Activation checkpointing (PyTorch's ``torch.utils.checkpoint``): trade compute for memory.

``checkpoint(fn, *args)`` runs ``fn`` without keeping the tensors its operations save for
backward; when backward first needs one of them, ``fn`` is run again on the same inputs (with
the same random numbers) to recompute them. Gradients are the same as without checkpointing,
bit for bit: the recomputation replays the same kernels on the same values.

The default (``use_reentrant=False``) is built on saved-tensor hooks, like PyTorch's
non-reentrant variant:

* forward: ``fn`` runs under a ``saved_tensors_hooks`` pair whose pack hook drops each saved
  tensor and returns a small handle (``_Holder``), recording the tensor's shape and dtype;
* backward: the first unpack of any handle reruns ``fn`` (grad mode on, generator state
  restored) under a second pair of hooks that fills the handles, in the order the tensors were
  saved, and stops ``fn`` as soon as the last handle is filled (``early_stop``). Each recomputed
  tensor is released with the graph node that used it (after it ran, unless retain_graph).

Differences from PyTorch: ``use_reentrant`` defaults to ``False`` (PyTorch warns and uses
``True`` when it is not passed); the recomputed tensors are kept until the nodes that saved them
are released, so a second ``backward(retain_graph=True)`` reuses them instead of recomputing.
``use_reentrant=True`` (an ``autograd.Function`` that reruns ``fn`` and calls
``autograd.backward`` inside backward) is available too; as in PyTorch it does not support
``autograd.grad`` and needs at least one input that requires grad.
"""

from __future__ import annotations

import contextlib
import weakref
from typing import Any, Callable, ContextManager, Iterable, List, Optional, Tuple

from .. import _C
from .._C import Tensor
from ..autograd.function import Function
from ..autograd.grad_mode import enable_grad
from ..autograd.graph import saved_tensors_hooks

__all__ = ["CheckpointError", "checkpoint", "checkpoint_sequential", "noop_context_fn"]


class CheckpointError(RuntimeError):
    """The recomputation did not reproduce what the forward pass saved (PyTorch's name)."""


def noop_context_fn() -> Tuple[ContextManager[None], ContextManager[None]]:
    """The default ``context_fn``: no extra context around the forward pass or the recomputation."""
    return contextlib.nullcontext(), contextlib.nullcontext()


class _Holder:
    """What the forward pack hook returns in place of a saved tensor."""

    __slots__ = ("value", "__weakref__")

    def __init__(self) -> None:
        self.value: Optional[Tensor] = None


class _StopRecomputation(Exception):
    """Raised by the recomputation's pack hook once every handle is filled."""


class _Frame:
    """One checkpointed call: its inputs and the handles of the tensors it saved."""

    def __init__(
        self,
        fn: Callable[..., Any],
        args: Tuple[Any, ...],
        kwargs: dict,
        rng_state: Optional[Tensor],
        recompute_ctx: ContextManager[None],
        early_stop: bool,
        check: bool,
    ) -> None:
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.rng_state = rng_state
        self.recompute_ctx = recompute_ctx
        self.early_stop = early_stop
        self.check = check
        self.holders: List[weakref.ref] = []
        self.metadata: List[Tuple[Tuple[int, ...], Any]] = []
        self.recomputed = False

    # forward: drop the tensor, keep a handle and its metadata
    def pack(self, x: Tensor) -> _Holder:
        holder = _Holder()
        self.holders.append(weakref.ref(holder))
        self.metadata.append((tuple(x.shape), x.dtype))
        return holder

    # backward: the first unpack recomputes every saved tensor
    def unpack(self, holder: _Holder) -> Tensor:
        if holder.value is None and not self.recomputed:
            self.recompute()
        if holder.value is None:
            raise CheckpointError(
                "chaingrad.utils.checkpoint: a tensor saved in the checkpointed region was not "
                "recomputed (the recomputation saved fewer tensors than the forward pass, or the "
                "graph was already freed)."
            )
        return holder.value

    def recompute(self) -> None:
        count = 0
        total = len(self.holders)

        def pack(x: Tensor) -> None:
            nonlocal count
            i = count
            count += 1
            if i < total:
                if self.check and (tuple(x.shape), x.dtype) != self.metadata[i]:
                    shape, dtype = self.metadata[i]
                    raise CheckpointError(
                        "chaingrad.utils.checkpoint: Recomputed values for the following tensors "
                        "have different metadata than during the forward pass.\n"
                        f"tensor at position {i}:\n"
                        f"saved metadata: {{'shape': {shape}, 'dtype': {dtype}}}\n"
                        "recomputed metadata: "
                        f"{{'shape': {tuple(x.shape)}, 'dtype': {x.dtype}}}\n"
                    )
                holder = self.holders[i]()
                if holder is not None:
                    holder.value = x.detach()
            elif self.check:
                raise CheckpointError(
                    "chaingrad.utils.checkpoint: the recomputation saved more tensors than the "
                    f"forward pass ({count} > {total}); the checkpointed function must do the same "
                    "work both times."
                )
            if self.early_stop and count >= total:
                raise _StopRecomputation()
            return None

        def unpack(_: Any) -> Tensor:
            raise CheckpointError(
                "chaingrad.utils.checkpoint: backward through the recomputed graph is not supported"
            )

        current_rng = _C._get_rng_state() if self.rng_state is not None else None
        try:
            if self.rng_state is not None:
                _C._set_rng_state(self.rng_state)
            with saved_tensors_hooks(pack, unpack), enable_grad(), self.recompute_ctx:
                try:
                    self.fn(*self.args, **self.kwargs)
                except _StopRecomputation:
                    pass
        finally:
            if current_rng is not None:
                _C._set_rng_state(current_rng)
        self.recomputed = True
        if self.check and count < total:
            raise CheckpointError(
                "chaingrad.utils.checkpoint: the recomputation saved fewer tensors than the "
                f"forward pass ({count} < {total}); the checkpointed function must do the same "
                "work both times."
            )


def _any_requires_grad(values: Iterable[Any]) -> bool:
    return any(isinstance(v, Tensor) and v.requires_grad for v in values)


def _checkpoint_without_reentrant(
    function: Callable[..., Any],
    preserve_rng_state: bool,
    context_fn: Callable[[], Tuple[ContextManager[None], ContextManager[None]]],
    determinism_check: str,
    early_stop: bool,
    *args: Any,
    **kwargs: Any,
) -> Any:
    if determinism_check not in ("default", "none"):
        raise ValueError(
            f"determinism_check should be one of ['default', 'none'], but got {determinism_check}"
        )
    if not _C.is_grad_enabled():
        return function(*args, **kwargs)  # nothing is saved: nothing to checkpoint
    forward_ctx, recompute_ctx = context_fn()
    rng_state = _C._get_rng_state() if preserve_rng_state else None
    frame = _Frame(
        function, args, kwargs, rng_state, recompute_ctx, early_stop, determinism_check == "default"
    )
    with saved_tensors_hooks(frame.pack, frame.unpack), forward_ctx:
        return function(*args, **kwargs)


class _CheckpointFunction(Function):
    """use_reentrant=True: runs ``fn`` under no_grad, reruns it in backward and backpropagates."""

    @staticmethod
    def forward(
        ctx: Any, run_function: Callable[..., Any], preserve_rng_state: bool, *args: Any
    ) -> Any:
        ctx.run_function = run_function
        ctx.rng_state = _C._get_rng_state() if preserve_rng_state else None
        ctx.inputs = [None if isinstance(a, Tensor) else a for a in args]
        ctx.tensor_indices = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        ctx.save_for_backward(*[a for a in args if isinstance(a, Tensor)])
        return run_function(*args)

    @staticmethod
    def backward(ctx: Any, *grads: Tensor) -> Any:
        from .. import autograd

        inputs = list(ctx.inputs)
        for i, t in zip(ctx.tensor_indices, ctx.saved_tensors):
            d = t.detach()
            if t.requires_grad:
                d.requires_grad_(True)
            inputs[i] = d
        current_rng = _C._get_rng_state() if ctx.rng_state is not None else None
        try:
            if ctx.rng_state is not None:
                _C._set_rng_state(ctx.rng_state)
            with enable_grad():
                outputs = ctx.run_function(*inputs)
        finally:
            if current_rng is not None:
                _C._set_rng_state(current_rng)
        if isinstance(outputs, Tensor):
            outputs = (outputs,)
        roots, root_grads = [], []
        for o, g in zip(outputs, grads):
            if isinstance(o, Tensor) and o.requires_grad:
                roots.append(o)
                root_grads.append(g)
        if not roots:
            raise RuntimeError(
                "none of output has requires_grad=True, this checkpoint() is not necessary"
            )
        autograd.backward(roots, root_grads)
        return (None, None) + tuple(x.grad if isinstance(x, Tensor) else None for x in inputs)


def checkpoint(
    function: Callable[..., Any],
    *args: Any,
    use_reentrant: Optional[bool] = None,
    context_fn: Callable[[], Tuple[ContextManager[None], ContextManager[None]]] = noop_context_fn,
    determinism_check: str = "default",
    debug: bool = False,
    preserve_rng_state: bool = True,
    early_stop: bool = True,
    **kwargs: Any,
) -> Any:
    """Runs ``function(*args, **kwargs)`` without keeping its saved tensors; backward recomputes
    them (see the module docs). ``preserve_rng_state`` replays the generator so that dropout
    draws the same mask; ``determinism_check="default"`` raises ``CheckpointError`` when the
    recomputation saves tensors of other shapes or dtypes than the forward pass;
    ``context_fn`` returns two context managers, entered around the forward pass and around the
    recomputation. ``debug`` is accepted for compatibility."""
    if use_reentrant is None:
        use_reentrant = False  # chaingrad's default; PyTorch warns and uses True
    if use_reentrant:
        if context_fn is not noop_context_fn or debug is not False:
            raise ValueError(
                "Passing `context_fn` or `debug` is only supported when use_reentrant=False."
            )
        if kwargs:
            raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))
        return _CheckpointFunction.apply(function, preserve_rng_state, *args)
    return _checkpoint_without_reentrant(
        function, preserve_rng_state, context_fn, determinism_check, early_stop, *args, **kwargs
    )


def checkpoint_sequential(
    functions: Any, segments: int, input: Any, use_reentrant: Optional[bool] = None, **kwargs: Any
) -> Any:
    """Runs a sequence of functions (or an ``nn.Sequential``) in ``segments`` chunks, each but the
    last checkpointed (PyTorch's). Only the chunks' inputs stay alive between forward and
    backward."""
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))

    def run_function(start: int, end: int, fns: List[Any]) -> Callable[[Any], Any]:
        def forward(x: Any) -> Any:
            for j in range(start, end + 1):
                x = fns[j](x)
            return x

        return forward

    from ..nn import Sequential

    if isinstance(functions, Sequential):
        functions = list(functions.children())
    functions = list(functions)
    segment_size = len(functions) // segments
    end = -1
    for start in range(0, segment_size * (segments - 1), segment_size):
        end = start + segment_size - 1
        input = checkpoint(
            run_function(start, end, functions),
            input,
            use_reentrant=use_reentrant,
            preserve_rng_state=preserve,
        )
    return run_function(end + 1, len(functions) - 1, functions)(input)
