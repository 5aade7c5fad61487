"""PyTorch's wording for a call whose arguments a binding cannot take.

The native module wraps every binding (see ``csrc/python/argument_errors.cpp``); when pybind11
rejects the arguments, it asks :func:`describe` for the message of the ``TypeError`` to raise:
``add(): argument 'other' (position 1) must be Tensor, not str`` when one argument is at fault,
else ``div() received an invalid combination of arguments - got (...), but expected one of: ...``.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Tuple

__all__ = ["describe"]

_Param = Tuple[str, Optional[str], bool, bool]  # name, PyTorch's type (None: any), keyword-only, has default


def _split_top(text: str) -> List[str]:
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur.strip())
    return parts


def _torch_type(annotation: str) -> Optional[str]:
    a = annotation.strip()
    if "Sequence" in a or "list[" in a or "List[" in a:
        return "tuple of ints" if "int" in a.lower() else None
    if a.endswith("Tensor"):
        return "Tensor"
    if "SupportsInt" in a or a == "int":
        return "int"
    if "SupportsFloat" in a or a == "float":
        return "float"
    if a in ("bool", "str"):
        return a
    return None


def _signatures(name: str, doc: Optional[str]) -> List[List[_Param]]:
    sigs = []
    for line in (doc or "").splitlines():
        m = re.match(r"^(?:\d+\. )?" + re.escape(name) + r"\((.*)\)(?: -> .*)?$", line.strip())
        if not m or m.group(1) == "*args, **kwargs":
            continue
        params: List[_Param] = []
        kw_only = False
        for part in _split_top(m.group(1)):
            if part == "*":
                kw_only = True
                continue
            pname, _, rest = part.partition(":")
            ann, eq, _ = rest.partition("=")
            params.append((pname.strip(), _torch_type(ann), kw_only, bool(eq)))
        if params and params[0][0] == "self":
            params = params[1:]
        sigs.append(params)
    return sigs


def _type_name(v: Any) -> str:
    return "Tensor" if type(v).__name__ == "Tensor" or hasattr(v, "_grad") else type(v).__name__


def _matches(v: Any, t: Optional[str]) -> bool:
    if t is None:
        return True
    if t == "Tensor":
        return _type_name(v) == "Tensor"
    if t == "int":
        return isinstance(v, int) or (hasattr(v, "__index__") and not isinstance(v, float))
    if t == "float":
        return isinstance(v, (int, float)) or hasattr(v, "__float__")
    if t == "bool":
        return isinstance(v, bool) or v in (0, 1)
    if t == "str":
        return isinstance(v, str)
    if t == "tuple of ints":
        return isinstance(v, (list, tuple)) and all(isinstance(i, int) for i in v)
    return True


def _is_number(v: Any) -> bool:
    return isinstance(v, (bool, int, float, complex))


def describe(name: str, doc: Optional[str], args: tuple, kwargs: Dict[str, Any], message: str) -> str:
    """The TypeError message for ``name(*args, **kwargs)`` (``args`` without ``self``)."""
    name = name.lstrip("_")
    if args and _type_name(args[0]) == "Tensor" and (doc or "").find("self:") >= 0:
        args = args[1:]  # a method: PyTorch counts positions after self
    if message == "NotImplemented":
        # A binding that takes Tensors or numbers got something else.
        for i, v in enumerate(args):
            if _type_name(v) != "Tensor" and not _is_number(v):
                return f"{name}(): argument 'other' (position {i + 1}) must be Tensor, not {type(v).__name__}"
        for k, v in kwargs.items():
            if _type_name(v) != "Tensor" and not _is_number(v):
                return f"{name}(): argument '{k}' must be Tensor, not {type(v).__name__}"
    sigs = _signatures(name, doc)
    if len(sigs) == 1:
        params = sigs[0]
        positional = [p for p in params if not p[2]]
        for i, v in enumerate(args[: len(positional)]):
            pname, ptype = positional[i][:2]
            if not _matches(v, ptype):
                return f"{name}(): argument '{pname}' (position {i + 1}) must be {ptype}, not {type(v).__name__}"
        by_name = {p[0]: p for p in params}
        for k, v in kwargs.items():
            if k in by_name and not _matches(v, by_name[k][1]):
                return f"{name}(): argument '{k}' must be {by_name[k][1]}, not {type(v).__name__}"
        if len(args) > len(positional):
            return (f"{name}() takes {len(positional)} positional argument{'s' if len(positional) != 1 else ''} "
                    f"but {len(args)} were given")
        unknown = [k for k in kwargs if k not in by_name]
        if unknown:
            return f"{name}() got an unexpected keyword argument '{unknown[0]}'"
        missing = [p[0] for p in positional[len(args):] if p[0] not in kwargs and not p[3]]
        if missing:
            return f"{name}() missing 1 required positional arguments: \"{missing[0]}\""
    got = ", ".join([_type_name(v) for v in args] + [f"{k}={_type_name(v)}" for k, v in kwargs.items()])
    expected = "\n".join(
        " * (" + ", ".join(f"{p[1] or 'object'} {p[0]}" for p in sig) + ")" for sig in sigs
    )
    return f"{name}() received an invalid combination of arguments - got ({got}), but expected one of:\n{expected}"
