"""``chaingrad.autograd.functional``: Jacobians, Hessians and their products for a Python function.

Every function here takes ``func`` and its ``inputs`` (a tensor or a tuple of tensors), runs ``func``
on fresh copies of the inputs that record a graph, and differentiates that graph with the native
engine (:func:`chaingrad.autograd.grad`). Results follow PyTorch 2.13: the same nesting (a tensor
where the user passed a tensor, a tuple where a tuple), the same shapes (``output.shape +
input.shape`` for Jacobians) and the same errors, including those of ``strict=True``.

``jvp`` and ``hvp`` use the double-backward trick (a VJP is linear in its vector, so the gradient of
``<vjp(u), v>`` with respect to ``u`` is the JVP), as PyTorch's versions of them do; the native
forward mode (:mod:`chaingrad.autograd.forward_ad`) serves ``jacobian(strategy="forward-mode")``.
"""

from __future__ import annotations

from typing import Any, Callable, List, Optional, Sequence, Tuple, Union

from .. import _C
from .._C import Tensor
from ._functional_args import (
    _NONE_V_INPUT,
    _check_strict,
    _finish,
    _grad,
    _recording_copies,
    _single_element_output,
    _tensors,
    _unwrap,
    _unwrap2,
    _vector,
    _zeros_for_missing,
)
from .grad_mode import enable_grad, is_grad_enabled, set_grad_enabled

__all__ = ["vjp", "jvp", "jacobian", "hessian", "vhp", "hvp"]

_TensorOrTensors = Union[Tensor, Tuple[Tensor, ...]]

# ---- products ----------------------------------------------------------------------------------
_NONE_V_OUTPUT = ("The vector v can only be None if the user-provided function returns a single Tensor with a "
                  "single element.")
# What a product differentiates last (with v as its vector), built from the recorded inputs and outputs.
_Middle = Callable[[Tuple[Tensor, ...], Tuple[Tensor, ...], bool],
                   Tuple[Sequence[Optional[Tensor]], Sequence[Tensor], Tuple[Tensor, ...]]]


def _product(fn_name: str, func: Callable[..., Any], inputs: _TensorOrTensors, v: Any, create_graph: bool,
             strict: bool, middle: _Middle, stage: str, v_like_outputs: bool = False,
             scalar_output: bool = False) -> Tuple[Any, Any]:
    """The frame shared by vjp, jvp, vhp and hvp: run ``func`` on recording copies of the inputs,
    check the outputs (and ``v``, shaped like the inputs or the outputs), let ``middle`` build
    ``(tensors, wrt, like)``, and return ``func``'s outputs with the final backward of ``tensors``
    with respect to ``wrt`` with vector ``v`` (zeros shaped like ``like`` where nothing flows)."""
    with enable_grad():
        in_tuple, ins = _tensors(inputs, "inputs", fn_name)
        ins = _recording_copies(ins, create_graph, need_graph=True)
        if not v_like_outputs:
            vs = _vector(v, ins, in_tuple, fn_name, create_graph, _NONE_V_INPUT)
        out_tuple, outs = _tensors(func(*ins), "outputs of the user-provided function", fn_name)
        _check_strict(outs, "outputs", strict)
        if v_like_outputs:
            vs = _vector(v, outs, out_tuple, fn_name, create_graph, _NONE_V_OUTPUT)
        if scalar_output:
            _single_element_output(outs, out_tuple, fn_name)
        tensors, wrt, like = middle(ins, outs, strict)
    with set_grad_enabled(True if create_graph else is_grad_enabled()):
        grads = _grad(tensors, wrt, vs, create_graph)
        result = _zeros_for_missing(grads, like, strict, create_graph, stage)
    result_tuple = out_tuple if like is outs else in_tuple
    return _unwrap(_finish(outs, create_graph), out_tuple), _unwrap(_finish(result, create_graph), result_tuple)


def _zero_leaves(like: Sequence[Tensor]) -> Tuple[Tensor, ...]:
    """Stand-in vectors of the double-backward trick (their value never matters: VJPs are linear)."""
    return tuple(_C._full(tuple(t.shape), 0, t.dtype).requires_grad_(True) for t in like)


def _vjp_middle(ins: Tuple[Tensor, ...], outs: Tuple[Tensor, ...], strict: bool) -> Any:
    return outs, ins, ins


def _jvp_middle(ins: Tuple[Tensor, ...], outs: Tuple[Tensor, ...], strict: bool) -> Any:
    dummies = _zero_leaves(outs)
    grad_inputs = _grad(outs, ins, dummies, create_graph=True)
    _check_strict(grad_inputs, "grad_inputs", strict)
    return grad_inputs, dummies, outs


def _vhp_middle(ins: Tuple[Tensor, ...], outs: Tuple[Tensor, ...], strict: bool) -> Any:
    jac = _grad(outs, ins, None, create_graph=True)
    _check_strict(jac, "jacobian", strict)
    return jac, ins, ins


def _hvp_middle(ins: Tuple[Tensor, ...], outs: Tuple[Tensor, ...], strict: bool) -> Any:
    jac = _grad(outs, ins, None, create_graph=True)
    _check_strict(jac, "jacobian", strict)
    dummies = _zero_leaves(ins)
    double_back = _grad(jac, ins, dummies, create_graph=True)
    _check_strict(jac, "hessian", strict)
    return double_back, dummies, ins


def vjp(func: Callable[..., Any], inputs: _TensorOrTensors, v: Optional[_TensorOrTensors] = None,
        create_graph: bool = False, strict: bool = False) -> Tuple[Any, Any]:
    """The vector-Jacobian product ``v^T J`` of ``func`` at ``inputs``.

    Args:
        func: a function of tensors returning a tensor or a tuple of tensors.
        inputs: the point (a tensor or a tuple of tensors).
        v: the vector, shaped like the outputs (may be omitted for a one-element output).
        create_graph: record the computation so the result can be differentiated again.
        strict: raise when an output does not depend on an input instead of returning zeros.

    Returns:
        ``(func_output, vjp)``: the outputs as ``func`` returned them, and one product per input
        (a tensor when ``inputs`` is a tensor).

    Example::

        >>> x = chaingrad.tensor([1.0, 2.0])
        >>> chaingrad.autograd.functional.vjp(lambda x: x ** 2, x, chaingrad.ones(2))[1]
        tensor([2., 4.])
    """
    return _product("vjp", func, inputs, v, create_graph, strict, _vjp_middle, "back", v_like_outputs=True)


def jvp(func: Callable[..., Any], inputs: _TensorOrTensors, v: Optional[_TensorOrTensors] = None,
        create_graph: bool = False, strict: bool = False) -> Tuple[Any, Any]:
    """The Jacobian-vector product ``J v`` of ``func`` at ``inputs`` (double-backward trick).

    Args:
        func: a function of tensors returning a tensor or a tuple of tensors.
        inputs: the point (a tensor or a tuple of tensors).
        v: the vector, shaped like the inputs (may be omitted for a one-element input).
        create_graph: record the computation so the result can be differentiated again.
        strict: raise when an output does not depend on an input instead of returning zeros.

    Returns:
        ``(func_output, jvp)``: the outputs, and one product per output.

    Example::

        >>> x = chaingrad.tensor([1.0, 2.0])
        >>> chaingrad.autograd.functional.jvp(lambda x: x ** 2, x, chaingrad.ones(2))[1]
        tensor([2., 4.])
    """
    return _product("jvp", func, inputs, v, create_graph, strict, _jvp_middle, "back_trick")


def vhp(func: Callable[..., Any], inputs: _TensorOrTensors, v: Optional[_TensorOrTensors] = None,
        create_graph: bool = False, strict: bool = False) -> Tuple[Any, Any]:
    """The vector-Hessian product ``v^T H`` of a scalar function ``func`` at ``inputs``.

    Returns:
        ``(func_output, vhp)``, the second with one tensor per input.

    Example::

        >>> x = chaingrad.tensor([1.0, 2.0])
        >>> chaingrad.autograd.functional.vhp(lambda x: (x ** 3).sum(), x, chaingrad.ones(2))[1]
        tensor([ 6., 12.])
    """
    return _product("vhp", func, inputs, v, create_graph, strict, _vhp_middle, "double_back", scalar_output=True)


def hvp(func: Callable[..., Any], inputs: _TensorOrTensors, v: Optional[_TensorOrTensors] = None,
        create_graph: bool = False, strict: bool = False) -> Tuple[Any, Any]:
    """The Hessian-vector product ``H v`` of a scalar function ``func`` at ``inputs``
    (double-backward trick over the gradient, as PyTorch's).

    Returns:
        ``(func_output, hvp)``, the second with one tensor per input.

    Example::

        >>> x = chaingrad.tensor([1.0, 2.0])
        >>> chaingrad.autograd.functional.hvp(lambda x: (x ** 3).sum(), x, chaingrad.ones(2))[1]
        tensor([ 6., 12.])
    """
    return _product("hvp", func, inputs, v, create_graph, strict, _hvp_middle, "double_back_trick",
                    scalar_output=True)


# ---- full matrices -----------------------------------------------------------------------------
def _basis(like: Sequence[Tensor]) -> Tuple[Tensor, ...]:
    """The identity of size sum(numels), cut into one (total, numel_i) block per tensor."""
    total = sum(t.numel() for t in like)
    blocks = []
    start = 0
    for t in like:
        block = _C._full((total, t.numel()), 0, t.dtype)
        if t.numel():
            block.diagonal(-start).fill_(1)
        start += t.numel()
        blocks.append(block)
    return tuple(blocks)


def _batched_columns(func: Callable[..., Any], ins: Tuple[Tensor, ...], numels: List[int]) -> Any:
    """Every column of the Jacobian from one batched forward-mode pass: ``total`` copies of the
    inputs, copy k carrying the k-th unit tangent, through vmap's batching rules. Returns
    (J[i][j] as lists, whether func returned a tuple), or None when ``func`` needs the loop."""
    from ..func._batched import BatchedTensor, NoBatchingRule
    from . import forward_ad as fwAD

    total = sum(numels)
    if total == 0:
        return None
    basis = _basis(ins)
    try:
        with fwAD.dual_level():
            duals = [fwAD.make_dual(t.detach().unsqueeze(0).expand((total,) + tuple(t.shape)),
                                    b.view((total,) + tuple(t.shape))) for t, b in zip(ins, basis)]
            res = func(*[BatchedTensor(d) for d in duals])
            out_tuple = isinstance(res, tuple)
            res = res if out_tuple else (res,)
            if any(not isinstance(r, BatchedTensor) for r in res):
                return None
            cols = []
            for r in res:
                p, tan = fwAD.unpack_dual(r.value)
                shape = tuple(r.shape)
                cols.append((shape, tan.detach() if tan is not None else _C._full((total,) + shape, 0, p.dtype)))
    except (TypeError, NoBatchingRule):
        return None
    # tan.reshape(total, -1).t(): (out numel, total), column k is J e_k
    return [_split_columns(tan.reshape(total, -1).t(), shape, ins, numels) for shape, tan in cols], out_tuple


def _split_columns(columns: Tensor, out_shape: Tuple[int, ...], ins: Sequence[Tensor], numels: List[int]) -> List[Any]:
    """A (output numel, total input numel) Jacobian cut into one out_shape + input.shape block per input."""
    blocks, offset = [], 0
    for t, n in zip(ins, numels):
        blocks.append(columns[:, offset:offset + n].reshape(tuple(out_shape) + tuple(t.shape)))
        offset += n
    return blocks


def _nest_forward(table: List[List[Tensor]], in_tuple: bool, out_tuple: bool) -> Any:
    """PyTorch's forward-mode nesting: lists (its reverse mode uses tuples)."""
    if not in_tuple:
        return tuple(r[0] for r in table) if out_tuple else table[0][0]
    return table if out_tuple else table[0]


def _jacobian_forward(func: Callable[..., Any], inputs: _TensorOrTensors, strict: bool, vectorize: bool) -> Any:
    from . import forward_ad as fwAD

    if strict:
        raise RuntimeError('torch.autograd.functional.jacobian: `strict=True` and `strategy="forward-mode"` are not '
                           'supported together (yet). Please either set `strict=False` or '
                           '`strategy="reverse-mode"`.')
    in_tuple, ins = _tensors(inputs, "inputs", "jacobian")
    if not vectorize:
        raise NotImplementedError("Computing Jacobian using forward-AD or forward-over-reverse Hessian is"
                                  "only implemented for `vectorize=True`.")
    numels = [t.numel() for t in ins]
    total = sum(numels)
    batched = _batched_columns(func, ins, numels)
    if batched is not None:
        return _nest_forward(batched[0], in_tuple, batched[1])
    outs: Tuple[Tensor, ...] = ()
    out_tuple = False
    # One column of the Jacobian per input coordinate (a batched JVP over the standard basis).
    columns: List[List[Tensor]] = []
    basis = _basis(ins)  # row k: the k-th unit tangent, cut per input
    with fwAD.dual_level():
        for k in range(total):
            duals = [fwAD.make_dual(t, b[k].view(tuple(t.shape))) for t, b in zip(ins, basis)]
            out_tuple, dual_outs = _tensors(func(*duals), "outputs", "jacobian")
            col = []
            prim = []
            for d in dual_outs:
                p, tan = fwAD.unpack_dual(d)
                prim.append(p)
                col.append(tan if tan is not None else _C._full(tuple(p.shape), 0, p.dtype))
            outs = tuple(prim)
            columns.append(col)
    from .. import stack

    result = []
    for i, o in enumerate(outs):
        stacked = stack([c[i].reshape(-1) for c in columns], 1) if total else _C._full((o.numel(), 0), 0, o.dtype)
        result.append(_split_columns(stacked.detach(), tuple(o.shape), ins, numels))
    return _nest_forward(result, in_tuple, out_tuple)


def _batched_rows(func: Callable[..., Any], ins: Tuple[Tensor, ...], outs: Tuple[Tensor, ...],
                  create_graph: bool) -> Optional[List[Optional[Tensor]]]:
    """All rows of the Jacobian from one batched forward and one backward: ``func`` runs through
    vmap's batching rules on ``total`` copies of the inputs (one per output element), copy k is
    weighted by the k-th unit vector, and the gradients with respect to the copies are the rows.
    None when ``func`` has no batching rule for some step (the caller falls back to a row loop)."""
    from ..func._batched import BatchedTensor, NoBatchingRule
    from . import grad

    total = sum(o.numel() for o in outs)
    if total == 0:
        return None
    copies = [t.unsqueeze(0).expand((total,) + tuple(t.shape)) for t in ins]
    try:
        res = func(*[BatchedTensor(c) for c in copies])
    except (TypeError, NoBatchingRule):
        return None
    res = res if isinstance(res, tuple) else (res,)
    if len(res) != len(outs) or any(not isinstance(r, BatchedTensor) or tuple(r.shape) != tuple(o.shape)
                                    for r, o in zip(res, outs)):
        return None
    terms = [(r.value.reshape(total, -1) * b).sum() for r, b in zip(res, _basis(outs)) if r.value.requires_grad]
    if not terms:
        return None
    weighted = terms[0]
    for t in terms[1:]:
        weighted = weighted + t
    return list(grad(weighted, copies, create_graph=create_graph, allow_unused=True))


def jacobian(func: Callable[..., Any], inputs: _TensorOrTensors, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode") -> Any:
    """The Jacobian of ``func`` at ``inputs``.

    Args:
        func: a function of tensors returning a tensor or a tuple of tensors.
        inputs: the point (a tensor or a tuple of tensors).
        create_graph: record the computation so the Jacobian can be differentiated again.
        strict: raise when an output does not depend on an input instead of returning zeros.
        vectorize: compute every row at once: ``func`` runs once through vmap's batching rules on
            one copy of the inputs per output element and one backward gives all rows (when
            ``func`` calls a native function on the batch, ``is_grads_batched`` over the rows
            instead); with ``strategy="forward-mode"`` it is required.
        strategy: ``"reverse-mode"`` (one VJP per output element) or ``"forward-mode"`` (one JVP
            per input element, better when outputs outnumber inputs).

    Returns:
        ``J[i][j]`` of shape ``outputs[i].shape + inputs[j].shape``, nested as PyTorch nests it:
        a tensor for one input and one output, a tuple over the side that was a tuple, a tuple of
        tuples when both were.

    Example::

        >>> x = chaingrad.tensor([1.0, 2.0])
        >>> chaingrad.autograd.functional.jacobian(lambda x: x ** 2, x)
        tensor([[2., 0.],
                [0., 4.]])
    """
    if strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your '
                             'function has more outputs than inputs, "forward-mode" tends to be more performant. '
                             'Otherwise, prefer to use "reverse-mode".')
    if strategy == "forward-mode":
        if create_graph:
            raise NotImplementedError('torch.autograd.functional.jacobian: `create_graph=True` and '
                                      '`strategy="forward-mode"` are not supported together (yet). Please either '
                                      'set `create_graph=False` or `strategy="reverse-mode"`.')
        return _jacobian_forward(func, inputs, strict, vectorize)
    with enable_grad():
        in_tuple, ins = _tensors(inputs, "inputs", "jacobian")
        ins = _recording_copies(ins, create_graph, need_graph=True)
        out_tuple, outs = _tensors(func(*ins), "outputs of the user-provided function", "jacobian")
        _check_strict(outs, "outputs", strict)
        if vectorize:
            if strict:
                raise RuntimeError("torch.autograd.functional.jacobian: `strict=True` and `vectorized=True` are not "
                                   "supported together. Please either set `strict=False` or `vectorize=False`.")
            numels = [o.numel() for o in outs]
            total = sum(numels)
            flat = tuple(o.reshape(-1) for o in outs)
            rows = _batched_rows(func, ins, outs, create_graph)
            if rows is None:  # func needs the loop: one engine pass per row
                rows = list(_grad(flat, ins, _basis(outs), create_graph, is_grads_batched=True))
            for j, r in enumerate(rows):
                if r is None:
                    rows[j] = _C._full(tuple(ins[j].shape), 0, ins[j].dtype).expand((total,) + tuple(ins[j].shape))
            return _unwrap2(_finish(_rows_table(rows, outs, ins), create_graph), out_tuple, in_tuple)
        from .. import stack

        per_input: List[List[Tensor]] = [[] for _ in ins]  # every row of the Jacobian, per input
        for i, o in enumerate(outs):
            flat_o = o.reshape(-1)
            # Row k is the VJP with the k-th unit vector (no per-element indexing nodes).
            rows = _basis((flat_o,))[0] if o.requires_grad else None
            for k in range(o.numel()):
                grads = (_C._run_backward([flat_o], [rows[k]], list(ins), True, create_graph, False, True, False)
                         if rows is not None else (None,) * len(ins))
                for j, (g, t) in enumerate(zip(grads, ins)):
                    if g is None:
                        if strict:
                            raise RuntimeError(f"Output {i} of the user-provided function is independent of input "
                                               f"{j}. This is not allowed in strict mode.")
                        g = _C._full(tuple(t.shape), 0, t.dtype)
                    elif strict and create_graph and not g.requires_grad:
                        raise RuntimeError(f"The jacobian of the user-provided function is independent of input {i}. "
                                           "This is not allowed in strict mode when create_graph=True.")
                    per_input[j].append(g)
        rows = [stack(r, 0) if r else _C._full((0,) + tuple(t.shape), 0, t.dtype) for r, t in zip(per_input, ins)]
        return _unwrap2(_finish(_rows_table(rows, outs, ins), create_graph), out_tuple, in_tuple)


def _rows_table(rows: Sequence[Tensor], outs: Sequence[Tensor], ins: Sequence[Tensor]) -> Tuple[Any, ...]:
    """J[i][j] (output i's shape + input j's shape) from each input's (total rows, *input.shape) block."""
    table, start = [], 0
    for o in outs:
        n = o.numel()
        table.append(tuple(r[start:start + n].view(tuple(o.shape) + tuple(t.shape)) for r, t in zip(rows, ins)))
        start += n
    return tuple(table)


def hessian(func: Callable[..., Any], inputs: _TensorOrTensors, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode") -> Any:
    """The Hessian of a scalar function ``func`` at ``inputs``: the Jacobian of its gradient.

    Args:
        func: a function of tensors returning a one-element tensor.
        inputs: the point (a tensor or a tuple of tensors).
        create_graph: record the computation so the Hessian can be differentiated again.
        strict: raise when the gradient does not depend on an input instead of returning zeros.
        vectorize: compute the outer Jacobian in one batched pass.
        outer_jacobian_strategy: ``"reverse-mode"`` or ``"forward-mode"`` (forward over reverse).

    Returns:
        ``H[i][j]`` of shape ``inputs[i].shape + inputs[j].shape`` (a tensor for one input).

    Example::

        >>> x = chaingrad.tensor([1.0, 2.0])
        >>> chaingrad.autograd.functional.hessian(lambda x: (x ** 3).sum(), x)
        tensor([[ 6.,  0.],
                [ 0., 12.]])
    """
    in_tuple, ins = _tensors(inputs, "inputs", "hessian")

    def func_requires_loop() -> Any:
        from ..func._batched import NoBatchingRule

        raise NoBatchingRule("hessian: the function gives no batched scalar")

    if outer_jacobian_strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode".')

    def scalar_func(*xs: Tensor) -> Tensor:
        out = func(*xs)
        was_tuple, outs = _tensors(out, "outputs of the user-provided function", "hessian")
        _check_strict(outs, "outputs", strict)
        _single_element_output(outs, was_tuple, "hessian")
        return out.squeeze()

    def gradient(*xs: Any) -> Any:
        from ..func._batched import BatchedTensor

        if xs and all(isinstance(x, BatchedTensor) for x in xs):
            # vectorize=True: the rows' copies are batched; the gradient of the summed scalars
            # with respect to the copies is every copy's own gradient (kept differentiable).
            from . import grad

            if outer_jacobian_strategy == "forward-mode":  # dual copies: differentiable too
                xs = tuple(BatchedTensor(x.value.requires_grad_(True)) for x in xs)
            out = func(*xs)
            if not isinstance(out, BatchedTensor) or out.numel() != 1:
                return func_requires_loop()
            grads = grad(out.value.sum(), [x.value for x in xs], create_graph=True, allow_unused=True,
                         materialize_grads=True)
            return tuple(BatchedTensor(g) for g in grads)
        if outer_jacobian_strategy == "forward-mode":
            xs = tuple(x.requires_grad_(True) for x in xs)
        jac = jacobian(scalar_func, xs, create_graph=True)
        _check_strict(jac if isinstance(jac, tuple) else (jac,), "jacobian", strict)
        return jac

    result = jacobian(gradient, ins, create_graph=create_graph, strict=strict, vectorize=vectorize,
                      strategy=outer_jacobian_strategy)
    return _unwrap2(result, in_tuple, in_tuple)
