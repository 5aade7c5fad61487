"""Argument handling shared by :mod:`chaingrad.autograd.functional`: PyTorch's checks and error
messages for inputs, outputs and vectors (``strict=True`` included), recording copies of the
inputs, and the nesting of results."""

from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple

from .. import _C
from .._C import Tensor

_STRICT_MESSAGES = {
    # _check_outputs kinds
    "outputs": "Output {i} of the user-provided function does not require gradients. The outputs must be computed "
               "in a differentiable manner from the input when running in strict mode.",
    "grad_inputs": "The gradient with respect to input {i} is independent of the inputs of the user-provided "
                   "function. This is not allowed in strict mode.",
    "jacobian": "While computing the hessian, found that the jacobian of the user-provided function with respect "
                "to input {i} is independent of the input. This is not allowed in strict mode. You should ensure "
                "that your function is twice differentiable and that the jacobian depends on the inputs (this "
                "would be violated by a linear function for example).",
    "hessian": "The hessian of the user-provided function with respect to input {i} is independent of the input. "
               "This is not allowed in strict mode. You should ensure that your function is thrice differentiable "
               "and that the hessian depends on the inputs.",
    # _zeros_for_missing stages: a gradient that is None
    "back": "The output of the user-provided function is independent of input {i}. This is not allowed in strict "
            "mode.",
    "back_trick": "The gradient with respect to the input is independent of entry {i} in the grad_outputs when "
                  "using the double backward trick to compute forward mode gradients. This is not allowed in "
                  "strict mode.",
    "double_back": "The jacobian of the user-provided function is independent of input {i}. This is not allowed in "
                   "strict mode.",
    "double_back_trick": "The hessian of the user-provided function is independent of entry {i} in the "
                         "grad_jacobian. This is not allowed in strict mode as it prevents from using the double "
                         "backward trick to replace forward mode AD.",
}


# ---- argument handling -------------------------------------------------------------------------
def _tensors(value: Any, what: str, fn_name: str) -> Tuple[bool, Tuple[Tensor, ...]]:
    """(whether the user gave a tuple, the tensors as a tuple), with PyTorch's TypeError otherwise."""
    is_tuple = isinstance(value, tuple)
    items = value if is_tuple else (value,)
    for i, item in enumerate(items):
        if not isinstance(item, Tensor):
            where = f"value at index {i}" if is_tuple else f"given {what}"
            raise TypeError(f"The {what} given to {fn_name} must be either a Tensor or a tuple of Tensors but the "
                            f"{where} has type {type(item)}.")
    return is_tuple, items


def _recording_copies(inputs: Sequence[Tensor], create_graph: bool, need_graph: bool) -> Tuple[Tensor, ...]:
    """Inputs the user function runs on: views that stay in the user's graph under ``create_graph``
    (so the results can be differentiated again), otherwise detached leaves."""
    out = []
    for t in inputs:
        if create_graph and t.requires_grad:
            out.append(t.view_as(t))
        else:
            out.append(t.detach().requires_grad_(need_graph))
    return tuple(out)


def _finish(values: Any, create_graph: bool) -> Any:
    """Detaches results (nested tuples too) unless the caller wants to differentiate them again."""
    if isinstance(values, tuple):
        return tuple(_finish(v, create_graph) for v in values)
    if values is None or create_graph:
        return values
    return values.detach()


def _unwrap(values: Tuple[Any, ...], was_tuple: bool) -> Any:
    return values if was_tuple else values[0]


def _unwrap2(values: Tuple[Tuple[Any, ...], ...], outer_tuple: bool, inner_tuple: bool) -> Any:
    if not inner_tuple:
        values = tuple(v[0] for v in values)
    return values if outer_tuple else values[0]


def _check_v(v: Tuple[Tensor, ...], like: Tuple[Tensor, ...], like_is_tuple: bool) -> None:
    if len(v) != len(like):
        if like_is_tuple:
            raise RuntimeError(f"v is a tuple of invalid length: should be {len(like)} but got {len(v)}.")
        raise RuntimeError("The given v should contain a single Tensor.")
    for i, (a, b) in enumerate(zip(v, like)):
        if a.shape != b.shape:
            prefix = f"Entry {i} in " if like_is_tuple else ""
            raise RuntimeError(f"{prefix}v has invalid size: should be {b.size()} but got {a.size()}.")


def _vector(v: Any, like: Tuple[Tensor, ...], like_is_tuple: bool, fn_name: str, create_graph: bool,
            none_message: str) -> Optional[Tuple[Tensor, ...]]:
    if v is None:
        if len(like) != 1 or like[0].numel() != 1:
            raise RuntimeError(none_message)
        return None
    _, vs = _tensors(v, "v", fn_name)
    vs = _recording_copies(vs, create_graph, need_graph=False)
    _check_v(vs, like, like_is_tuple)
    return vs


def _check_strict(values: Sequence[Optional[Tensor]], kind: str, strict: bool) -> None:
    if not strict:
        return
    for i, t in enumerate(values):
        if t is None:
            raise RuntimeError(_STRICT_MESSAGES["back"].format(i=i))
        if not t.requires_grad:
            raise RuntimeError(_STRICT_MESSAGES[kind].format(i=i))


def _grad(outputs: Sequence[Optional[Tensor]], inputs: Sequence[Tensor], grad_outputs: Optional[Sequence[Any]],
          create_graph: bool, retain_graph: Optional[bool] = None,
          is_grads_batched: bool = False) -> Tuple[Optional[Tensor], ...]:
    """autograd.grad over the outputs that require grad (``None`` for every input when none does)."""
    from . import grad

    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    keep = [(o, g) for o, g in zip(outputs, grad_outputs) if o is not None and o.requires_grad]
    if not keep:
        return (None,) * len(inputs)
    return grad([o for o, _ in keep], list(inputs), [g for _, g in keep], retain_graph=retain_graph,
                create_graph=create_graph, allow_unused=True, is_grads_batched=is_grads_batched)


def _zeros_for_missing(grads: Sequence[Optional[Tensor]], like: Sequence[Tensor], strict: bool, create_graph: bool,
                       stage: str) -> Tuple[Tensor, ...]:
    out = []
    for i, (g, ref) in enumerate(zip(grads, like)):
        if g is None:
            if strict:
                raise RuntimeError(_STRICT_MESSAGES[stage].format(i=i))
            g = _C._full(tuple(ref.shape), 0, ref.dtype)
        elif strict and create_graph and not g.requires_grad:
            what = "hessian" if "double" in stage else "jacobian"
            raise RuntimeError(f"The {what} of the user-provided function is independent of input {i}. This is not "
                               "allowed in strict mode when create_graph=True.")
        out.append(g)
    return tuple(out)


def _single_element_output(outputs: Tuple[Tensor, ...], was_tuple: bool, fn_name: str) -> None:
    if was_tuple:
        raise RuntimeError(f"The function given to {fn_name} should return a single Tensor")
    if outputs[0].numel() != 1:
        raise RuntimeError(f"The Tensor returned by the function given to {fn_name} should contain a single element")


_NONE_V_INPUT = ("The vector v can only be None if the input to the user-provided function is a single Tensor "
                 "with a single element.")
