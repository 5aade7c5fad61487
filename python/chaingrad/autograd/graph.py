"""Inspect the autograd graph behind a tensor.

The helpers walk from ``tensor.grad_fn`` through the public node API only:

* ``node.name()`` - e.g. ``"MulBackward0"``;
* ``node.next_functions`` - a tuple of ``(next_node or None, input_nr)`` pairs;
* ``node.variable`` - on ``AccumulateGrad`` nodes, the leaf tensor they accumulate into;
* ``node._saved_<name>`` - what a node saved for backward (enumerated with ``dir()``).

Edges point the way gradients flow: ``(node, next_node, input_nr)`` means
``node.next_functions[i] == (next_node, input_nr)`` for some ``i``.  All traversals are
iterative, so graphs with millions of nodes are fine.

Example::

    y = (x * w).sum()
    print(chaingrad.autograd.graph.to_dot(y, params={"x": x, "w": w}))
    chaingrad.autograd.graph.render(y, "graph.svg")      # needs Graphviz's `dot`
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
)

import chaingrad

__all__ = [
    "disable_saved_tensors_hooks",
    "edges",
    "leaves",
    "nodes",
    "render",
    "save_on_cpu",
    "saved_tensors",
    "saved_tensors_hooks",
    "to_dot",
]

Roots = Union[Any, Sequence[Any]]

_SAVED_PREFIX = "_saved_"
_saved_attr_cache: Dict[Tuple[type, str], List[str]] = {}


def _as_roots(t: Roots) -> List[Any]:
    if isinstance(t, chaingrad.Tensor):
        return [t]
    roots = list(t)
    for r in roots:
        if not isinstance(r, chaingrad.Tensor):
            raise TypeError(f"expected tensors, got {type(r).__qualname__}")
    return roots


def _walk(roots: List[Any]) -> Tuple[List[Any], List[Tuple[Any, Any, int]]]:
    """All nodes reachable from the roots' grad_fns (depth-first pre-order, each once) and all
    edges between them.  Node objects serve as dict keys, so they must hash and compare by
    the identity of the underlying node."""
    order: List[Any] = []
    seen: Dict[Any, None] = {}
    edge_list: List[Tuple[Any, Any, int]] = []
    stack: List[Any] = []
    for r in reversed(roots):
        if r.grad_fn is not None:
            stack.append(r.grad_fn)
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen[node] = None
        order.append(node)
        children = []
        for nxt, input_nr in node.next_functions:
            if nxt is None:
                continue
            edge_list.append((node, nxt, int(input_nr)))
            if nxt not in seen:
                children.append(nxt)
        stack.extend(reversed(children))
    return order, edge_list


def nodes(t: Roots) -> List[Any]:
    """Every autograd node reachable from ``t.grad_fn`` (``t`` may also be a sequence of
    tensors), each once, the output's own node first."""
    return _walk(_as_roots(t))[0]


def edges(t: Roots) -> List[Tuple[Any, Any, int]]:
    """Every ``(node, next_node, input_nr)`` edge of the graph behind ``t``."""
    return _walk(_as_roots(t))[1]


def _leaf_of(node: Any) -> Optional[Any]:
    variable = getattr(node, "variable", None)
    return variable if isinstance(variable, chaingrad.Tensor) else None


def leaves(t: Roots) -> List[Any]:
    """The leaf tensors (those gradients accumulate into) that ``t`` depends on, in discovery
    order, each once.  A root that is itself a leaf requiring grad is included."""
    roots = _as_roots(t)
    out: List[Any] = []
    seen: set = set()
    for r in roots:
        if r.grad_fn is None and r.requires_grad and id(r) not in seen:
            seen.add(id(r))
            out.append(r)
    for node in _walk(roots)[0]:
        leaf = _leaf_of(node)
        if leaf is not None and id(leaf) not in seen:
            seen.add(id(leaf))
            out.append(leaf)
    return out


def _saved_attr_names(node: Any) -> List[str]:
    key = (type(node), str(node.name()))
    names = _saved_attr_cache.get(key)
    if names is None:
        names = sorted(a for a in dir(node) if a.startswith(_SAVED_PREFIX))
        _saved_attr_cache[key] = names
    return names


def _shape_of(t: Any) -> Tuple[int, ...]:
    return tuple(int(s) for s in t.shape)


def saved_tensors(node: Any) -> Dict[str, Tuple[Tuple[int, ...], Any]]:
    """The tensors ``node`` saved for backward: ``{name: (shape, dtype)}``, with names
    without the ``_saved_`` prefix (``"self"``, ``"other"``, ``"result"``...).  A saved list
    of tensors appears as ``name[0]``, ``name[1]``...  Saved values already freed by a
    backward pass are skipped; non-tensor saved values are ignored."""
    out: Dict[str, Tuple[Tuple[int, ...], Any]] = {}
    for attr in _saved_attr_names(node):
        try:
            value = getattr(node, attr)
        except Exception:  # noqa: BLE001 - freed buffers raise; nothing to report
            continue
        name = attr[len(_SAVED_PREFIX) :]
        if isinstance(value, chaingrad.Tensor):
            out[name] = (_shape_of(value), value.dtype)
        elif isinstance(value, (list, tuple)) and any(
            isinstance(v, chaingrad.Tensor) for v in value
        ):
            for i, v in enumerate(value):
                if isinstance(v, chaingrad.Tensor):
                    out[f"{name}[{i}]"] = (_shape_of(v), v.dtype)
    return out


# ---------------------------------------------------------------------------- DOT output
def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + escaped + '"'


def _dtype_name(dtype: Any) -> str:
    return str(dtype).rsplit(".", 1)[-1]


def _describe(t: Any) -> str:
    return f"{_shape_of(t)} {_dtype_name(t.dtype)}"


def _leaf_label(t: Any, names: Mapping[int, str]) -> str:
    lines = []
    if id(t) in names:
        lines.append(names[id(t)])
    lines.append(_describe(t))
    lines.append(f"requires_grad={bool(t.requires_grad)}")
    return "\n".join(lines)


def to_dot(
    t: Roots,
    params: Optional[Union[Mapping[str, Any], Iterable[Tuple[str, Any]]]] = None,
    show_saved: bool = True,
) -> str:
    """Graphviz DOT text for the graph behind ``t`` (a tensor or a sequence of tensors).

    * one box per autograd node, labelled with ``node.name()`` and, with ``show_saved``, one
      line ``name: (shape) dtype`` per tensor it saved for backward;
    * leaves (``AccumulateGrad`` nodes) in light blue, labelled with the leaf's name from
      ``params`` (e.g. ``dict(model.named_parameters())``), shape, dtype and
      ``requires_grad``;
    * each output in green with its shape and dtype;
    * edges drawn from inputs towards the output (the forward direction).
    """
    roots = _as_roots(t)
    names: Dict[int, str] = {}
    if params is not None:
        pairs = params.items() if isinstance(params, Mapping) else params
        for name, tensor in pairs:
            names[id(tensor)] = str(name)
    order, edge_list = _walk(roots)
    ids = {node: f"n{i}" for i, node in enumerate(order)}

    out = [
        "digraph chaingrad {",
        '  node [shape=box, style=filled, fillcolor=white, fontname="monospace", fontsize=10];',
    ]
    for node in order:
        leaf = _leaf_of(node)
        if leaf is not None:
            label = _quote(_leaf_label(leaf, names))
            out.append(f"  {ids[node]} [label={label}, fillcolor=lightblue];")
            continue
        lines = [str(node.name())]
        if show_saved:
            for sname, (shape, dtype) in saved_tensors(node).items():
                lines.append(f"{sname}: {shape} {_dtype_name(dtype)}")
        out.append(f"  {ids[node]} [label={_quote(chr(10).join(lines))}];")
    for i, r in enumerate(roots):
        if r.grad_fn is None and r.requires_grad:
            label = "output (leaf)\n" + _leaf_label(r, names)
        else:
            label = "output\n" + _describe(r)
            if r.grad_fn is None:
                label += "\nno grad_fn"
        out.append(f"  out{i} [label={_quote(label)}, fillcolor=darkolivegreen1];")
        if r.grad_fn is not None:
            out.append(f"  {ids[r.grad_fn]} -> out{i};")
    for node, nxt, _ in edge_list:
        out.append(f"  {ids[nxt]} -> {ids[node]};")
    out.append("}")
    return "\n".join(out) + "\n"


def render(t: Roots, path: Union[str, os.PathLike], format: str = "svg", **kwargs: Any) -> str:
    """Write the graph behind ``t`` to ``path`` rendered by Graphviz (``format`` is any
    ``dot -T`` format: svg, png, pdf...).  ``kwargs`` go to :func:`to_dot`.  Returns the path.
    Raises RuntimeError when the ``dot`` program is not installed."""
    dot = shutil.which("dot")
    if dot is None:
        raise RuntimeError(
            "Graphviz 'dot' program not found on PATH; install graphviz (e.g. apt-get install "
            "graphviz) or use to_dot() to get the DOT text"
        )
    if not re.fullmatch(r"[A-Za-z0-9_:]+", format):
        raise ValueError(f"invalid output format {format!r}")
    source = to_dot(t, **kwargs)
    target = os.fspath(path)
    proc = subprocess.run(
        [dot, f"-T{format}", "-o", target], input=source.encode("utf-8"), capture_output=True
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"Graphviz 'dot' failed (exit {proc.returncode}): "
            + proc.stderr.decode("utf-8", "replace").strip()
        )
    return target


# ---------------------------------------------------------------------------- saved tensors hooks
class saved_tensors_hooks:  # noqa: N801 - PyTorch's name
    """Context manager that sets a pair of pack / unpack hooks for saved tensors (PyTorch's).

    Inside the block, every tensor an operation saves for backward is passed to
    ``pack_hook(tensor)`` at once (with grad mode off) and only its result is kept; when backward
    (or ``grad_fn._saved_*``) needs the tensor, ``unpack_hook(packed)`` must return a tensor with
    the same values. The unpacked tensor is put back in the graph in the saved tensor's place, so
    ``create_graph=True`` works through hooks. Hooks are thread-local and nest (the innermost pair
    is used); ``autograd.Function.save_for_backward`` goes through them too.

    As in PyTorch, tensors saved through hooks are not version-checked (an in-place change after
    saving is not detected), and the pack hook must not modify its argument in place.
    ``pack_hook`` receives the saved input tensor itself; a node's own output is passed as a
    tensor sharing its memory without its history (PyTorch passes the output itself), so a pack
    hook that keeps its argument cannot create a reference cycle through the output's grad_fn.
    """

    def __init__(self, pack_hook: Callable[[Any], Any], unpack_hook: Callable[[Any], Any]) -> None:
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook

    def __enter__(self) -> None:
        chaingrad._C._push_saved_tensors_hooks(self.pack_hook, self.unpack_hook)

    def __exit__(self, *args: object) -> None:
        chaingrad._C._pop_saved_tensors_hooks()


class save_on_cpu(saved_tensors_hooks):  # noqa: N801 - PyTorch's name
    """Saved-tensor hooks that keep tensors saved for backward on the CPU (PyTorch's).

    chaingrad computes on the CPU only, so there is nothing to move: the pack hook stores a private
    copy of each saved tensor (made with grad mode off) and the unpack hook returns it. The copy
    makes saved values immune to later in-place changes of the originals; it costs the memory
    of the copies while the originals are alive. ``pin_memory`` and ``device_type`` are accepted
    for compatibility and ignored.
    """

    def __init__(self, pin_memory: bool = False, device_type: str = "cuda") -> None:
        def pack_to_cpu(tensor: Any) -> Any:
            return tensor.detach().clone()

        def unpack_from_cpu(packed: Any) -> Any:
            return packed

        super().__init__(pack_to_cpu, unpack_from_cpu)


@contextlib.contextmanager
def disable_saved_tensors_hooks(error_message: str) -> Iterator[None]:
    """Context manager that disables saved-tensor hooks (PyTorch's): entering
    ``saved_tensors_hooks`` inside it raises ``RuntimeError(error_message)``, and so does
    entering it while hooks are active."""
    prev = chaingrad._C._saved_tensors_hooks_get_disabled_error_message()
    try:
        chaingrad._C._saved_tensors_hooks_disable(error_message)
        yield
    finally:
        if prev is None:
            chaingrad._C._saved_tensors_hooks_enable()
        else:
            chaingrad._C._saved_tensors_hooks_disable(prev)
