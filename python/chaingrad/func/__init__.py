"""``chaingrad.func``: composable function transforms (JAX-style), as ``torch.func``.

``grad``, ``grad_and_value``, ``vjp`` and ``jacrev`` run reverse mode on the native engine; ``jvp``
and ``jacfwd`` run native forward mode (:mod:`chaingrad.autograd.forward_ad`); ``hessian`` is
``jacfwd(jacrev(f))`` (forward over reverse). Transforms nest: an input that requires grad or
carries a tangent keeps its link to the outer transform, so ``jacfwd(jacrev(f))``,
``grad(grad(f))`` and ``vmap(grad(f))`` work.

``vmap`` maps a function over a batch dimension. Design: ``func`` runs once on
:class:`~chaingrad.func._batched.BatchedTensor` values, whose tensor methods and operators are
batching rules that run each op once over the whole batch (elementwise ops, matmul, reductions,
shape/view ops, and ``grad`` itself: per-element gradients from one batched backward); a method
without a rule loops over the elements for that op only. chaingrad's native functions
(``chaingrad.tanh(x)``, ``nn.functional``) see only plain tensors, so a function calling one on a
batched value is rerun once per element (the whole-function loop fallback). ``chunk_size`` maps
that many elements at a time, bounding the memory of the batched intermediates.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from .. import _C
from .._C import Tensor
from ..autograd import forward_ad as fwAD
from ..autograd.grad_mode import enable_grad
from . import _batched_functions  # noqa: F401  (the module-level functions' batching rules)
from ._batched import BatchedTensor, NoBatchingRule
from ._common import _flatten, _stack, _stats, _tree_map, _unflatten  # noqa: F401  (_stats: tests read func._stats)

__all__ = ["grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "functional_call", "vmap"]

ArgNums = Union[int, Tuple[int, ...]]


# ---- nesting: inputs that keep their link to outer transforms ------------------------------------
def _level_active() -> bool:
    return fwAD._current_level >= 0


def _tangent(t: Tensor) -> Optional[Tensor]:
    return _C._fw_grad(t) if _level_active() else None


def _differentiable_input(t: Any) -> Any:
    """A fresh input to differentiate with respect to, still connected to outer transforms."""
    if not isinstance(t, Tensor):
        return t
    if t.requires_grad:
        return t.view_as(t)
    tangent = _tangent(t)
    x = t.detach().requires_grad_(True)
    return fwAD.make_dual(x, tangent) if tangent is not None else x


def _is_nested(values: Sequence[Any]) -> bool:
    """Whether an outer transform needs the results differentiable (create_graph)."""
    for v in _flatten(list(values))[0]:
        if isinstance(v, Tensor) and (v.requires_grad or _tangent(v) is not None):
            return True
    return False


def _argnums_tuple(argnums: ArgNums, n: int) -> Tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    if not nums:
        raise RuntimeError("argnums must be non-empty")
    for a in nums:
        if not isinstance(a, int):
            raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(a)}")
        if not -n <= a < n:
            raise RuntimeError(f"Got argnum={a}, but only {n} positional inputs")
    return tuple(a % n for a in nums)


def _split_aux(out: Any, has_aux: bool, api: str) -> Tuple[Any, Any]:
    if not has_aux:
        return out, None
    if not (isinstance(out, tuple) and len(out) == 2):
        raise RuntimeError(f"{api}(f, ...): output of function f should be a tuple: (output, aux) if has_aux is True")
    return out


def _batch_of(values: Sequence[Any]) -> Optional[int]:
    for v in _flatten(list(values))[0]:
        if isinstance(v, BatchedTensor):
            return v.value.shape[0]
    return None


def _no_batched(values: Sequence[Any], api: str) -> None:
    if _batch_of(values) is not None:
        raise NoBatchingRule(f"{api} has no batching rule")


def _batched_grad_of(f: Callable[..., Any], args: Tuple[Any, ...], nums: Tuple[int, ...], argnums: ArgNums,
                     has_aux: bool, batch: int) -> Tuple[Any, Any, Any]:
    """grad's batching rule: each element gets its own copy of the unbatched inputs, and one
    backward of the summed per-element values gives every element's gradient. A batched value
    that already requires grad (the copies of an outer jacrev/hessian) is differentiated in
    place and the gradients stay differentiable (create_graph)."""
    from ..autograd import grad as autograd_grad

    nested = False

    def leaf(x: Any) -> Any:
        nonlocal nested
        if isinstance(x, BatchedTensor):
            if _tangent(x.value) is not None:
                raise NoBatchingRule("grad inside vmap of a value with a tangent")
            if x.value.requires_grad:
                nested = True
                return x
            return BatchedTensor(x.value.detach().requires_grad_(True))
        if isinstance(x, Tensor):
            if x.requires_grad or _tangent(x) is not None:
                raise NoBatchingRule("grad inside vmap of an input of an outer transform")
            # Every element's copy is a stride-0 view of one leaf: the gradient with respect to
            # the view is per element, and nothing is materialized (a clone cost more than the backward).
            return BatchedTensor(x.detach().requires_grad_(True).unsqueeze(0).expand((batch,) + tuple(x.shape)))
        return x

    with enable_grad():
        args = tuple(_tree_map(leaf, a) if i in nums else a for i, a in enumerate(args))
        out, aux = _split_aux(f(*args), has_aux, "grad_and_value")
        if not isinstance(out, BatchedTensor) or out.dim() != 0:
            raise NoBatchingRule("grad inside vmap needs a batched scalar")
        wrt = [_flatten(args[i]) for i in nums]
        flat_in = [x.value for leaves, _ in wrt for x in leaves]
        grads = autograd_grad(out.value.sum(), flat_in, create_graph=nested, allow_unused=True,
                              materialize_grads=True)
    keep = (lambda t: t) if nested else (lambda t: t.detach())
    pos = 0
    result = []
    for leaves, spec in wrt:
        result.append(_unflatten([BatchedTensor(keep(g)) for g in grads[pos:pos + len(leaves)]], spec))
        pos += len(leaves)
    g = result[0] if isinstance(argnums, int) else tuple(result)
    aux = _tree_map(lambda t: keep(t) if isinstance(t, (Tensor, BatchedTensor)) else t, aux)
    return g, keep(out), aux


def _grad_of(f: Callable[..., Any], args: Tuple[Any, ...], argnums: ArgNums, has_aux: bool,
             api: str) -> Tuple[Any, Any, Any]:
    """(gradients shaped like the argnums inputs, value, aux) of a scalar function."""
    from ..autograd import grad as autograd_grad

    nums = _argnums_tuple(argnums, len(args))
    batch = _batch_of(args)
    if batch is not None:
        return _batched_grad_of(f, args, nums, argnums, has_aux, batch)
    nested = _is_nested([args[i] for i in nums])
    with enable_grad():
        args = tuple(_tree_map(_differentiable_input, a) if i in nums else a for i, a in enumerate(args))
        out, aux = _split_aux(f(*args), has_aux, api)
        if not isinstance(out, Tensor):
            raise RuntimeError(f"{api}(f)(*args): Expected f(*args) to return a Tensor, got {type(out)}")
        if out.dim() != 0:
            raise RuntimeError(f"{api}(f)(*args): Expected f(*args) to return a scalar Tensor, got tensor with "
                               f"{out.dim()} dims. Maybe you wanted to use the vjp or jacrev APIs instead?")
        wrt = [_flatten(args[i]) for i in nums]
        flat_in = [x for leaves, _ in wrt for x in leaves]
        if out.requires_grad:
            grads = autograd_grad(out, flat_in, create_graph=nested, allow_unused=True, materialize_grads=True)
        else:
            grads = tuple(_C._full(tuple(x.shape), 0, x.dtype) for x in flat_in)
    if not nested:
        grads = tuple(g.detach() for g in grads)
        out = out.detach()
        aux = _tree_map(lambda t: t.detach() if isinstance(t, Tensor) else t, aux)
    pos = 0
    result = []
    for leaves, spec in wrt:
        result.append(_unflatten(grads[pos:pos + len(leaves)], spec))
        pos += len(leaves)
    g = result[0] if isinstance(argnums, int) else tuple(result)
    return g, out, aux


def grad(func: Callable[..., Any], argnums: ArgNums = 0, has_aux: bool = False) -> Callable[..., Any]:
    """The gradient of a scalar function with respect to the ``argnums`` inputs.

    Returns:
        A function with ``func``'s arguments returning the gradient (a tuple for tuple
        ``argnums``; with ``has_aux=True``, ``(gradient, aux)``).

    Example::

        >>> chaingrad.func.grad(lambda x: (x ** 3).sum())(chaingrad.tensor([1.0, 2.0]))
        tensor([ 3., 12.])
    """
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g, _, aux = _grad_of(functools.partial(func, **kwargs), args, argnums, has_aux, "grad_and_value")
        return (g, aux) if has_aux else g
    return wrapper


def grad_and_value(func: Callable[..., Any], argnums: ArgNums = 0, has_aux: bool = False) -> Callable[..., Any]:
    """Like :func:`grad`, returning ``(gradient, value)`` (``(gradient, (value, aux))`` with aux)."""
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g, value, aux = _grad_of(functools.partial(func, **kwargs), args, argnums, has_aux, "grad_and_value")
        return (g, (value, aux)) if has_aux else (g, value)
    return wrapper


def vjp(func: Callable[..., Any], *primals: Any, has_aux: bool = False) -> Tuple[Any, ...]:
    """``(func(*primals), vjp_fn)``: ``vjp_fn(cotangents)`` returns one product per primal.

    Example::

        >>> out, vjp_fn = chaingrad.func.vjp(chaingrad.sin, chaingrad.tensor([0.0]))
        >>> vjp_fn(chaingrad.ones(1))
        (tensor([1.]),)
    """
    from ..autograd import grad as autograd_grad

    _no_batched(primals, "vjp")
    nested = _is_nested(primals)
    with enable_grad():
        ins = tuple(_tree_map(_differentiable_input, p) for p in primals)
        out, aux = _split_aux(func(*ins), has_aux, "vjp")
    flat_in, in_spec = _flatten(list(ins))
    flat_out, out_spec = _flatten(out)

    def vjp_fn(cotangents: Any) -> Tuple[Any, ...]:
        flat_ct, ct_spec = _flatten(cotangents)
        if len(flat_ct) != len(flat_out):
            raise RuntimeError("Expected pytree structure of cotangents to be the same as pytree structure of "
                               "outputs to the function.")
        pairs = [(o, c) for o, c in zip(flat_out, flat_ct) if o.requires_grad]
        with enable_grad():
            if pairs:
                grads = autograd_grad([o for o, _ in pairs], flat_in, [c for _, c in pairs], retain_graph=True,
                                      create_graph=nested or _is_nested(flat_ct), allow_unused=True,
                                      materialize_grads=True)
            else:
                grads = tuple(_C._full(tuple(x.shape), 0, x.dtype) for x in flat_in)
        if not (nested or _is_nested(flat_ct)):
            grads = tuple(g.detach() for g in grads)
        return tuple(_unflatten(list(grads), in_spec))

    result = _tree_map(lambda t: t if nested else t.detach(), out)
    return (result, vjp_fn, aux) if has_aux else (result, vjp_fn)


def jvp(func: Callable[..., Any], primals: Any, tangents: Any, *, strict: bool = False,
        has_aux: bool = False) -> Tuple[Any, ...]:
    """``(func(*primals), J @ tangents)`` by native forward mode.

    Example::

        >>> chaingrad.func.jvp(chaingrad.sin, (chaingrad.tensor([0.0]),), (chaingrad.ones(1),))
        (tensor([0.]), tensor([1.]))
    """
    if not isinstance(primals, tuple):
        raise RuntimeError("jvp(f, primals, tangents): Expected primals to be a tuple. E.g. it should be valid to "
                           "call f(*primals).")
    if not isinstance(tangents, tuple) or len(tangents) != len(primals):
        raise RuntimeError("jvp(f, primals, tangents): Expected primals and tangents to have the same python "
                           "structure. For example, if primals is a tuple of 3 tensors, tangents also must be. Got "
                           f"primals with structure {type(primals)} and tangents with structure {type(tangents)}")
    _no_batched([primals, tangents], "jvp")
    if _level_active():
        raise RuntimeError("chaingrad.func.jvp: nested forward mode (jvp or jacfwd inside jvp or jacfwd) is not "
                           "supported: chaingrad has one dual level at a time, as PyTorch's forward_ad")
    flat_p, p_spec = _flatten(list(primals))
    flat_t, _ = _flatten(list(tangents))
    nested = _is_nested(flat_p + flat_t)
    for p, t in zip(flat_p, flat_t):
        if tuple(p.shape) != tuple(t.shape):
            raise RuntimeError(f"jvp(f, primals, tangents): Expected primals and tangents to have the same shape "
                               f"but got primal of shape {tuple(p.shape)} and tangent of shape {tuple(t.shape)}")
    with fwAD.dual_level():
        duals = _unflatten([fwAD.make_dual(p, t) for p, t in zip(flat_p, flat_t)], p_spec)
        out, aux = _split_aux(func(*duals), has_aux, "jvp")
        flat_o, o_spec = _flatten(out)
        prim, tans = [], []
        for o in flat_o:
            p, t = fwAD.unpack_dual(o)
            prim.append(p.view_as(p) if nested and p.requires_grad else p.detach())
            t = t if t is not None else _C._full(tuple(p.shape), 0, p.dtype)
            tans.append(t if nested else t.detach())
    result = (_unflatten(prim, o_spec), _unflatten(tans, o_spec))
    return result + (aux,) if has_aux else result


def _jacobian_rows(call: Callable[..., Any], args: Tuple[Any, ...], nums: Tuple[int, ...], flat_out: List[Any],
                   has_aux: bool, nested: bool, chunk_size: Optional[int]) -> Optional[List[Tensor]]:
    """Every row of the Jacobian from batched passes (vmap over the VJP, as PyTorch's jacrev):
    ``call`` runs through vmap's batching rules on one copy of the inputs per output element
    (stride-0 views, ``chunk_size`` copies at a time), copy k is weighted by the k-th unit vector,
    and one backward gives the gradients with respect to the copies: the rows. Returns one
    (total, *input.shape) tensor per differentiated input, or None when ``call`` needs the loop."""
    from .. import cat
    from ..autograd import grad as autograd_grad

    if any(not isinstance(o, Tensor) for o in flat_out):
        return None
    numels = [o.numel() for o in flat_out]
    total = sum(numels)
    if total <= 1:
        return None
    step = chunk_size or total
    pieces: List[Tuple[Tensor, ...]] = []
    try:
        for start in range(0, total, step):
            n = min(step, total - start)
            copies: List[Tensor] = []

            def copy(x: Any, n: int = n, copies: List[Tensor] = copies) -> Any:
                if not isinstance(x, Tensor):
                    return x
                c = x.unsqueeze(0).expand((n,) + tuple(x.shape))
                copies.append(c)
                return BatchedTensor(c)

            res, _ = _split_aux(call(*[_tree_map(copy, a) if i in nums else a for i, a in enumerate(args)]),
                                has_aux, "jacrev")
            leaves = _flatten(res)[0]
            if len(leaves) != len(flat_out) or any(not isinstance(r, BatchedTensor) or tuple(r.shape) !=
                                                   tuple(o.shape) for r, o in zip(leaves, flat_out)):
                return None
            terms = []
            offset = 0
            for r, m in zip(leaves, numels):
                lo, hi = max(start, offset), min(start + n, offset + m)
                if lo < hi and r.value.requires_grad:
                    weight = _C._full((n, m), 0, r.dtype)
                    weight[lo - start:hi - start, lo - offset:hi - offset].diagonal().fill_(1)
                    terms.append((r.value.reshape(n, m) * weight).sum())
                offset += m
            if terms:
                weighted = terms[0]
                for t in terms[1:]:
                    weighted = weighted + t
                pieces.append(autograd_grad(weighted, copies, create_graph=nested, allow_unused=True,
                                            materialize_grads=True))
            else:
                pieces.append(tuple(_C._full(tuple(c.shape), 0, c.dtype) for c in copies))
    except (TypeError, NoBatchingRule):
        return None
    return [p[0] if len(p) == 1 else cat(list(p), 0) for p in zip(*pieces)]


def jacrev(func: Callable[..., Any], argnums: ArgNums = 0, *, has_aux: bool = False,
           chunk_size: Optional[int] = None, _preallocate_and_copy: bool = False) -> Callable[..., Any]:
    """The Jacobian by reverse mode: one VJP per output element, grouped ``chunk_size`` at a time.

    The VJPs run batched when ``func`` has batching rules (vmap over the VJP, as PyTorch's
    jacrev): one batched forward and one backward per chunk; otherwise one backward per row.
    Inside ``vmap`` or an outer ``jacrev`` (``hessian``), a scalar ``func`` takes grad's
    batching rule.

    Returns:
        A function returning ``J`` with shape ``output.shape + input.shape`` (tuples over outputs,
        then over tuple ``argnums``).
    """
    if chunk_size is not None and chunk_size <= 0:
        raise ValueError("jacrev: `chunk_size` should be greater than 0.")

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nums = _argnums_tuple(argnums, len(args))
        call = functools.partial(func, **kwargs)
        batch = _batch_of(args)
        if batch is not None:  # the Jacobian of a scalar function is its gradient
            g, _, aux = _batched_grad_of(call, args, nums, argnums, has_aux, batch)
            return (g, aux) if has_aux else g
        nested = _is_nested([args[i] for i in nums])
        with enable_grad():
            args = tuple(_tree_map(_differentiable_input, a) if i in nums else a for i, a in enumerate(args))
            out, aux = _split_aux(call(*args), has_aux, "jacrev")
            flat_in = [x for i in nums for x in _flatten(args[i])[0]]
            flat_out, out_spec = _flatten(out)
            tangents = any(_tangent(x) is not None for x in flat_in)
            rows = None if tangents else _jacobian_rows(call, args, nums, flat_out, has_aux, nested, chunk_size)
            if rows is None and sum(o.numel() for o in flat_out if isinstance(o, Tensor)) > 1:
                _stats["jacrev_row_loops"] += 1
            jacs = []
            offset = 0
            for o in flat_out:
                if rows is not None:
                    jacs.append([(r[offset:offset + o.numel()] if nested else r[offset:offset + o.numel()].detach())
                                 .reshape(tuple(o.shape) + tuple(x.shape)) for r, x in zip(rows, flat_in)])
                    offset += o.numel()
                    continue
                per_in: List[List[Tensor]] = [[] for _ in flat_in]
                flat_o = o.reshape(-1)
                # Row k: the VJP with the k-th unit vector (one engine call, no indexing nodes).
                eye = _C._full((o.numel(), o.numel()), 0, o.dtype)
                if o.numel():
                    eye.diagonal().fill_(1)
                for k in range(o.numel()):
                    gs = (_C._run_backward([flat_o], [eye[k]], flat_in, True, nested, False, True, True)
                          if o.requires_grad else tuple(_C._full(tuple(x.shape), 0, x.dtype) for x in flat_in))
                    for j, g in enumerate(gs):
                        per_in[j].append(g if nested else g.detach())
                jacs.append([(_stack(r) if r else _C._full((0,) + tuple(x.shape), 0, x.dtype))
                             .reshape(tuple(o.shape) + tuple(x.shape)) for r, x in zip(per_in, flat_in)])
        per_out = [j[0] if isinstance(argnums, int) else tuple(j) for j in jacs]
        result = _unflatten(per_out, out_spec)
        if has_aux:
            return result, _tree_map(lambda t: t if nested else t.detach(), aux)
        return result
    return wrapper


def jacfwd(func: Callable[..., Any], argnums: ArgNums = 0, has_aux: bool = False, *,
           randomness: str = "error") -> Callable[..., Any]:
    """The Jacobian by forward mode: one JVP per input element (better when outputs outnumber inputs)."""
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nums = _argnums_tuple(argnums, len(args))
        _no_batched(args, "jacfwd")
        flat_in = [x for i in nums for x in _flatten(args[i])[0]]
        numels = [x.numel() for x in flat_in]
        total = sum(numels)
        columns: List[List[Tensor]] = []
        out = aux = None
        for k in range(total):
            basis = []
            offset = 0
            for x, n in zip(flat_in, numels):
                t = _C._full((n,), 0, x.dtype)
                if offset <= k < offset + n:
                    t[k - offset] = 1
                basis.append(t.view(tuple(x.shape)))
                offset += n

            def at(*wrt: Any) -> Any:
                full = list(args)
                pos = 0
                for i in nums:
                    leaves, spec = _flatten(args[i])
                    full[i] = _unflatten(list(wrt[pos:pos + len(leaves)]), spec)
                    pos += len(leaves)
                return func(*full, **kwargs)

            res = jvp(at, tuple(flat_in), tuple(basis), has_aux=has_aux)
            out, col = res[0], res[1]
            aux = res[2] if has_aux else None
            columns.append(_flatten(col)[0])
        if out is None:  # no input elements: call once for the output structure
            res = func(*args, **kwargs)
            out, aux = _split_aux(res, has_aux, "jacfwd")
        flat_out, out_spec = _flatten(out)
        per_out = []
        for i, o in enumerate(flat_out):
            stacked = _stack([c[i].reshape(-1) for c in columns], 1) if total else _C._full((o.numel(), 0), 0, o.dtype)
            parts = []
            offset = 0
            for x, n in zip(flat_in, numels):
                parts.append(stacked[:, offset:offset + n].reshape(tuple(o.shape) + tuple(x.shape)))
                offset += n
            per_out.append(parts[0] if isinstance(argnums, int) else tuple(parts))
        result = _unflatten(per_out, out_spec)
        return (result, aux) if has_aux else result
    return wrapper


def hessian(func: Callable[..., Any], argnums: ArgNums = 0) -> Callable[..., Any]:
    """The Hessian of a scalar function: the Jacobian of its gradient.

    PyTorch composes ``jacfwd(jacrev(func))`` (forward over reverse, batched by its vmap); without
    batched forward mode, one unit-vector VJP per gradient element is cheaper here, so this is
    ``jacrev(jacrev(func))``, the same values (``jacfwd(jacrev(func))`` composes too).
    """
    return jacrev(jacrev(func, argnums), argnums)


def functional_call(module: Any, parameter_and_buffer_dicts: Union[Dict[str, Tensor], Sequence[Dict[str, Tensor]]],
                    args: Any = None, kwargs: Optional[Dict[str, Any]] = None, *, tie_weights: bool = True,
                    strict: bool = False) -> Any:
    """Calls ``module`` with some of its parameters and buffers replaced by the given tensors
    (keys are dotted names, as ``named_parameters`` gives); the module is restored afterwards."""
    if isinstance(parameter_and_buffer_dicts, dict):
        values = dict(parameter_and_buffer_dicts)
    else:
        values = {}
        for d in parameter_and_buffer_dicts:
            for k, v in d.items():
                if k in values:
                    raise ValueError(f"{k} appeared in multiple dictionaries; behavior of functional call is "
                                     "ambiguous")
                values[k] = v
    if strict:
        expected = {n for n, _ in module.named_parameters()} | {n for n, _ in module.named_buffers()}
        missing = sorted(expected - set(values))
        unexpected = sorted(set(values) - expected)
        if missing or unexpected:
            parts = []
            if unexpected:
                parts.append("Unexpected key(s): " + ", ".join(repr(k) for k in unexpected) + ".")
            if missing:
                parts.append("Missing key(s): " + ", ".join(repr(k) for k in missing) + ".")
            raise RuntimeError(f"Error(s) in reparametrizing for {type(module).__name__}:\n\t" + "\n\t".join(parts))
    swapped = []
    try:
        for name, value in values.items():
            owner = module
            *path, leaf = name.split(".")
            for p in path:
                owner = getattr(owner, p)
            store = owner._parameters if leaf in owner._parameters else owner._buffers if leaf in owner._buffers \
                else None
            if store is None:
                raise AttributeError(f"'{type(owner).__name__}' object has no attribute '{leaf}'")
            swapped.append((store, leaf, store[leaf]))
            store[leaf] = value
        if args is None:
            args = ()
        elif not isinstance(args, tuple):
            args = (args,)
        return module(*args, **(kwargs or {}))
    finally:
        for store, leaf, old in reversed(swapped):
            store[leaf] = old


from ._vmap import vmap  # noqa: E402
