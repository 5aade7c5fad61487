"""``chaingrad.optim.Optimizer``: parameter groups, per-parameter state and PyTorch's
``state_dict`` format."""

from __future__ import annotations

import copy
import warnings
from collections import defaultdict
from itertools import chain
from typing import Any, Callable, Dict, Iterable, List, Optional, Union

import chaingrad

Tensor = chaingrad.Tensor

__all__ = ["Optimizer", "required"]


class _RequiredParameter:
    """Marks a hyper-parameter that every parameter group must give (e.g. a missing lr)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required: Any = _RequiredParameter()

ParamsT = Union[Iterable[Tensor], Iterable[Dict[str, Any]], Iterable[tuple]]


class Optimizer:
    """Base class of all optimizers.

    ``params`` is an iterable of tensors, of ``(name, tensor)`` pairs, or of dicts (parameter
    groups, each with a ``"params"`` entry and optional per-group hyper-parameters overriding
    ``defaults``).  ``self.state`` maps each parameter to a dict of its state tensors.
    """

    def __init__(self, params: ParamsT, defaults: Dict[str, Any]) -> None:
        self.defaults = defaults
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: List[Dict[str, Any]] = []
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or "
                f"dicts, but got {_typename(params)}"
            )
        groups = list(params)
        if len(groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(dict(group))

    def add_param_group(self, param_group: Dict[str, Any]) -> None:
        """Add a group of parameters (a dict with ``"params"``) with its own hyper-parameters;
        unspecified ones take the optimizer's defaults."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {_typename(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of tensors in sets will change between runs. Please use a list instead."
            )
        else:
            params = list(params)
        names: List[str] = []
        if params and isinstance(params[0], tuple):
            if not all(isinstance(p, tuple) and len(p) == 2 for p in params):
                raise ValueError("all optimizer params should be with/without names")
            names = [n for n, _ in params]
            params = [p for _, p in params]
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(
                    "optimizer can only optimize Tensors, but one of the params is " + _typename(p)
                )
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        param_group["params"] = params
        if names:
            param_group["param_names"] = names
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(
                    "parameter group didn't specify a value of required optimization "
                    f"parameter {name}"
                )
            param_group.setdefault(name, default)
        ids = [id(p) for p in params]
        if len(ids) != len(set(ids)):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; in future, "
                "this will cause an error",
                stacklevel=3,
            )
        existing = {id(p) for group in self.param_groups for p in group["params"]}
        if not existing.isdisjoint(ids):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized parameters: to ``None`` (default) or zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    if grad.grad_fn is not None:
                        grad = grad.detach()
                        p.grad = grad
                    grad.zero_()

    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        """Perform one optimization step; ``closure`` re-evaluates the model and returns the
        loss (it runs with gradients enabled)."""
        raise NotImplementedError

    def _run_closure(self, closure: Optional[Callable[[], Any]]) -> Any:
        if closure is None:
            return None
        with chaingrad.enable_grad():
            return closure()

    # ------------------------------------------------------------------ state dict
    def state_dict(self) -> Dict[str, Any]:
        """``{"state": {index: {name: value}}, "param_groups": [{..., "params": [index]}]}``
        where parameters are numbered in group order, as in PyTorch.  State tensors are
        returned by reference (copy them if you keep stepping and need a snapshot)."""
        index_of: Dict[int, int] = {}
        groups = []
        next_index = 0
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                if id(p) not in index_of:
                    index_of[id(p)] = next_index
                    next_index += 1
            packed["params"] = [index_of[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {
            (index_of[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        """Load a dict produced by :meth:`state_dict` (possibly via ``chaingrad.save``/
        ``load``).  Groups must match in number and size.  State tensors are copied; floating
        ones (except ``step``) are cast to their parameter's dtype."""
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        groups = self.param_groups
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        for g, s in zip(groups, saved_groups):
            if len(g["params"]) != len(s["params"]):
                raise ValueError(
                    "loaded state dict contains a parameter group that doesn't match the size "
                    "of optimizer's group"
                )
        id_map = dict(
            zip(
                chain.from_iterable(g["params"] for g in saved_groups),
                chain.from_iterable(g["params"] for g in groups),
            )
        )
        state: defaultdict = defaultdict(dict)
        for key, value in state_dict["state"].items():
            if key in id_map:
                param = id_map[key]
                state[param] = _cast(param, value, None)
            else:
                state[key] = value
        new_groups = []
        for g, s in zip(groups, saved_groups):
            s["params"] = g["params"]
            if "param_names" in g and "param_names" not in s:
                s["param_names"] = g["param_names"]
            new_groups.append(s)
        self.state = state
        self.param_groups = new_groups

    def __repr__(self) -> str:
        text = type(self).__name__ + " ("
        for i, group in enumerate(self.param_groups):
            text += f"\nParameter Group {i}\n"
            for key in sorted(group.keys()):
                if key not in ("params", "param_names"):
                    text += f"    {key}: {group[key]}\n"
        return text + ")"


def _typename(obj: Any) -> str:
    if isinstance(obj, Tensor):
        return "chaingrad.Tensor"
    return type(obj).__module__ + "." + type(obj).__qualname__


def _cast(param: Tensor, value: Any, key: Any) -> Any:
    """Deep-copy ``value`` for ``param``'s state; as PyTorch does, every tensor but ``step`` takes
    a floating parameter's dtype (so a state saved in another precision, or as integers, loads
    into buffers the fused step can update)."""
    if isinstance(value, Tensor):
        out = value.detach().clone()
        if key != "step" and param.is_floating_point():
            out = out.to(param.dtype)
        return out
    if isinstance(value, dict):
        return {k: _cast(param, v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast(param, v, None) for v in value)
    return value
