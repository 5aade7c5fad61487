"""``Module``'s ``state_dict`` format: saving each module's parameters and persistent buffers under
qualified names, and loading them back with PyTorch's strict-mode checks and error wording.
:class:`~chaingrad.nn.Module` binds these functions as its methods."""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, NamedTuple, Optional, Tuple

import chaingrad

from ..parameter import Parameter

if TYPE_CHECKING:
    from .module import Module


class _IncompatibleKeys(NamedTuple):
    """What :meth:`Module.load_state_dict` returns: the keys it did not match."""

    missing_keys: List[str]
    unexpected_keys: List[str]

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return (
            f"_IncompatibleKeys(missing_keys={self.missing_keys!r}, "
            f"unexpected_keys={self.unexpected_keys!r})"
        )

    __str__ = __repr__


def save_to_state_dict(
    self: Module, destination: Dict[str, Any], prefix: str, keep_vars: bool
) -> None:
    for name, param in self._parameters.items():
        if param is not None:
            destination[prefix + name] = param if keep_vars else param.detach()
    for name, buf in self._buffers.items():
        if buf is not None and name not in self._non_persistent_buffers_set:
            destination[prefix + name] = buf if keep_vars else buf.detach()


def state_dict(
    self: Module,
    *,
    destination: Optional[Dict[str, Any]] = None,
    prefix: str = "",
    keep_vars: bool = False,
) -> Dict[str, Any]:
    """An ``OrderedDict`` from qualified name to tensor for every parameter and persistent
    buffer.  Values are detached (sharing memory with the module) unless ``keep_vars``."""
    if destination is None:
        destination = OrderedDict()
    stack: List[Tuple[str, Module]] = [(prefix, self)]
    while stack:
        module_prefix, module = stack.pop()
        module._save_to_state_dict(destination, module_prefix, keep_vars)
        children = [
            (module_prefix + name + ".", child)
            for name, child in module._modules.items()
            if child is not None
        ]
        stack.extend(reversed(children))
    return destination


def load_from_state_dict(
    self: Module,
    state_dict: Mapping[str, Any],
    prefix: str,
    strict: bool,
    missing_keys: List[str],
    unexpected_keys: List[str],
    error_msgs: List[str],
    assign: bool,
) -> None:
    local_state: Dict[str, Any] = {k: v for k, v in self._parameters.items() if v is not None}
    for k, v in self._buffers.items():
        if v is not None and k not in self._non_persistent_buffers_set:
            local_state[k] = v
    for name, current in local_state.items():
        key = prefix + name
        if key not in state_dict:
            if strict:
                missing_keys.append(key)
            continue
        value = state_dict[key]
        if not isinstance(value, chaingrad.Tensor):
            error_msgs.append(
                f'While copying the parameter named "{key}", expected chaingrad.Tensor or '
                f"Tensor-like object from checkpoint but received {type(value)}"
            )
            continue
        if tuple(value.shape) != tuple(current.shape):
            error_msgs.append(
                f"size mismatch for {key}: copying a param with shape {value.shape} from "
                f"checkpoint, the shape in current model is {current.shape}."
            )
            continue
        try:
            with chaingrad.no_grad():
                if assign:
                    if isinstance(current, Parameter):
                        new = Parameter(value, requires_grad=current.requires_grad)
                        setattr(self, name, new)
                    else:
                        setattr(self, name, value)
                else:
                    current.copy_(value)
        except Exception as ex:  # noqa: BLE001 - reported like PyTorch does
            error_msgs.append(
                f'While copying the parameter named "{key}", whose dimensions in the model '
                f"are {current.shape} and whose dimensions in the checkpoint are "
                f"{value.shape}, an exception occurred : {ex.args}."
            )
    if strict:
        for key in state_dict:
            if not key.startswith(prefix):
                continue
            head = key[len(prefix) :].split(".", 1)[0]
            if head not in self._modules and head not in local_state:
                unexpected_keys.append(key)


def load_state_dict(
    self: Module, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False
) -> _IncompatibleKeys:
    """Copy parameters and buffers from ``state_dict`` into this module (in place, under
    ``no_grad``, casting dtype as ``copy_`` does).

    With ``strict`` (default) missing and unexpected keys are errors; all problems are
    collected and raised together as one ``RuntimeError`` in PyTorch's wording.  Returns
    ``(missing_keys, unexpected_keys)``.  ``assign=True`` replaces the tensors instead of
    copying into them.
    """
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
    missing_keys: List[str] = []
    unexpected_keys: List[str] = []
    error_msgs: List[str] = []
    # Walk modules; each gets the sub-dict under its prefix so lookups stay cheap.
    stack: List[Tuple[Module, Mapping[str, Any], str]] = [(self, state_dict, "")]
    while stack:
        module, local, prefix = stack.pop()
        module._load_from_state_dict(
            local, prefix, strict, missing_keys, unexpected_keys, error_msgs, assign
        )
        children = []
        for name, child in module._modules.items():
            if child is None:
                continue
            child_prefix = prefix + name + "."
            child_local = {k: v for k, v in local.items() if k.startswith(child_prefix)}
            children.append((child, child_local, child_prefix))
        stack.extend(reversed(children))
    if strict:
        if unexpected_keys:
            error_msgs.insert(
                0,
                "Unexpected key(s) in state_dict: {}. ".format(
                    ", ".join(f'"{k}"' for k in unexpected_keys)
                ),
            )
        if missing_keys:
            error_msgs.insert(
                0,
                "Missing key(s) in state_dict: {}. ".format(
                    ", ".join(f'"{k}"' for k in missing_keys)
                ),
            )
    if error_msgs:
        raise RuntimeError(
            "Error(s) in loading state_dict for {}:\n\t{}".format(
                self._get_name(), "\n\t".join(error_msgs)
            )
        )
    return _IncompatibleKeys(missing_keys, unexpected_keys)
