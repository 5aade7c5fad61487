"""Writes the type stubs of chaingrad's native layer from the built extension.

* ``python/chaingrad/_C.pyi``: pybind11 puts each function's signature on the first line of its
  docstring (``name(arg: type, ...) -> type``); those lines become stub signatures. Methods the
  Python layer attaches to ``Tensor`` (``backward``, ``shape``, ``grad``...) are described from
  their Python signatures, and the operators (reflected and in-place ones included) return
  ``Tensor``, so ``2 * a`` and ``a += b`` type-check.
* ``python/chaingrad/_method_functions.pyi``: the module-level forms of tensor methods that
  ``chaingrad._functions.export`` defines at run time (``chaingrad.exp(x)``), typed like the
  methods with ``input: Tensor`` first; ``chaingrad/__init__.py`` star-imports it for checkers.

Run after building: ``python tools/generate_stubs.py``.
"""

from __future__ import annotations

import inspect
import keyword
import re
import sys
from pathlib import Path
from typing import Any, List, Optional

import chaingrad  # noqa: F401  (attaches the Python-level Tensor methods first)
import chaingrad._C as C
from chaingrad import _functions

_SIG = re.compile(r"^(\w+)\((.*)\)\s*->\s*(.+)$")
_TYPES = {
    "cg::Tensor": "Tensor", "Tensor": "Tensor", "cg::TensorImpl": "Tensor", "numpy.ndarray": "Any",
    "std::optional": "Optional", "handle": "Any", "object": "Any", "capsule": "Any", "args": "Any",
    "kwargs": "Any", "tuple": "tuple", "list": "list", "dict": "dict", "str": "str", "float": "float",
    "int": "int", "bool": "bool", "None": "None", "sequence": "Any", "ndarray": "Any", "array": "Any",
}
# Binary operators: the binding returns NotImplemented for unsupported operands (an `object`),
# but every result a checker can see is a tensor.
_BINARY = ["add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or", "xor"]
_OPERATORS = (
    {f"__{n}__" for n in _BINARY}
    | {f"__r{n}__" for n in _BINARY}
    | {f"__i{n}__" for n in _BINARY}
    | {"__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__neg__", "__pos__", "__abs__",
       "__invert__"}
)
_OTHER_DUNDERS = {"__getitem__", "__setitem__", "__init__", "__iter__", "__len__", "__bool__",
                  "__float__", "__int__", "__index__", "__hash__", "__format__", "__deepcopy__",
                  "__reduce_ex__", "__array__", "__dlpack__", "__dlpack_device__"}
# Methods whose binding returns `object` only to allow NotImplemented or number/tensor operands.
_TENSOR_RESULTS = {"add", "sub", "mul", "div", "pow", "remainder", "eq", "ne", "lt", "le", "gt", "ge",
                   "logical_and", "logical_or", "logical_xor", "add_", "sub_", "mul_", "div_", "pow_",
                   "true_divide", "floor_divide", "clamp", "clip"}
# Annotation words a stub may use as they are; anything else in a Python annotation becomes Any.
_KNOWN = {"Any", "Optional", "Union", "Callable", "Iterator", "Iterable", "Sequence", "Tuple", "List",
          "Dict", "Tensor", "Size", "None", "str", "bytes", "object", "tuple", "list", "dict", "dtype",
          "Node", "RemovableHandle", "builtins", "float", "int", "bool", "type"}
# Inside `class Tensor`, the methods float()/int()/bool() shadow the builtin types.
_SHADOWED = re.compile(r"(?<![\w.])(float|int|bool)(?![\w])")


_GENERIC_ARGS = {"dict": "[Any, Any]", "Dict": "[Any, Any]", "tuple": "[Any, ...]", "Tuple": "[Any, ...]",
                 "list": "[Any]", "List": "[Any]", "Sequence": "[Any]", "Iterator": "[Any]",
                 "Iterable": "[Any]", "Callable": "[..., Any]"}


def _bare_generics(text: str) -> str:
    """``dict`` -> ``dict[Any, Any]`` etc. (mypy --strict rejects generics without arguments)."""
    pattern = r"(?<![\w])(" + "|".join(_GENERIC_ARGS) + r")(?![\w\[])"
    return re.sub(pattern, lambda m: m.group(1) + _GENERIC_ARGS[m.group(1)], text)


def _clean(annotation: str) -> str:
    a = annotation.strip()
    for k, v in _TYPES.items():
        a = a.replace(k, v)
    a = re.sub(r"chaingrad\._C\.", "", a)
    a = _bare_generics(a)
    return a if re.fullmatch(r"[\w\[\], .|]+", a) else "Any"


def _python_annotation(annotation: Any, in_tensor: bool) -> str:
    """A stub annotation for one from a Python signature (a string with postponed evaluation)."""
    if annotation is inspect.Parameter.empty:
        return "Any"
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "Any")
    text = text.replace("typing.", "")
    words = set(re.findall(r"[A-Za-z_][\w.]*", text))
    if not words <= _KNOWN:
        return "Any"
    text = _bare_generics(text)
    if in_tensor:
        text = _SHADOWED.sub(lambda m: "builtins." + m.group(1), text)
    return text


def _python_signature(name: str, fn: Any, method: bool, in_tensor: bool,
                      skip_first: bool = False) -> Optional[str]:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    params = list(sig.parameters.values())
    out: List[str] = []
    if method:
        out.append("self")
        params = params[1:]
    elif skip_first:
        params = params[1:]
    star_done = False
    for p in params:
        ann = _python_annotation(p.annotation, in_tensor)
        if p.kind is p.VAR_POSITIONAL:
            out.append(f"*{p.name}: {ann}")
            star_done = True
            continue
        if p.kind is p.VAR_KEYWORD:
            out.append(f"**{p.name}: {ann}")
            continue
        if p.kind is p.KEYWORD_ONLY and not star_done:
            out.append("*")
            star_done = True
        item = f"{p.name}: {ann}"
        if p.default is not p.empty:
            item += " = ..."
        out.append(item)
    ret = _python_annotation(sig.return_annotation, in_tensor)
    return f"def {name}({', '.join(out)}) -> {ret}: ..."


def _signature(name: str, doc: Optional[str], method: bool) -> str:
    first = (doc or "").strip().splitlines()[0] if doc else ""
    m = _SIG.match(first)
    if not m:
        ret = "None" if name == "__init__" else "Any"
        return f"def {name}({'self, ' if method else ''}*args: Any, **kwargs: Any) -> {ret}: ..."
    params, ret = m.group(2), _clean(m.group(3))
    out = []
    for i, p in enumerate([p for p in re.split(r",\s*(?![^\[]*\])", params) if p]):
        if p.strip() in ("*", "/"):
            out.append(p.strip())
            continue
        pname, _, rest = p.partition(":")
        ann, _, default = rest.partition("=")
        pname = pname.strip().lstrip("*")
        if keyword.iskeyword(pname):
            pname += "_"  # e.g. uniform_(from=...): not a valid Python parameter name in a stub
        if method and i == 0:
            out.append("self")
            continue
        prefix = "*" if p.strip().startswith("*") and not p.strip().startswith("**") else ""
        prefix = "**" if p.strip().startswith("**") else prefix
        item = f"{prefix}{pname}: {_clean(ann) or 'Any'}"
        if default:
            item += " = ..."
        out.append(item)
    if name == "__init__":
        ret = "None"
    return f"def {name}({', '.join(out)}) -> {ret}: ..."


_VARARGS = "(self, *args: Any, **kwargs: Any)"
# Methods that return something other than one tensor (or whose result depends on arguments).
_NOT_TENSOR = {"max", "min", "chunk", "split", "unbind", "numel", "tolist", "item", "numpy", "type",
               "size", "dim", "register_hook", "nonzero", "backward", "data_ptr", "element_size"}


def _tensor_result(name: str, line: str) -> str:
    """``line`` with an ``Any`` result made ``Tensor`` for methods known to return a tensor."""
    in_place = name.endswith("_") and not name.startswith("__")
    known = name in _TENSOR_RESULTS or name in _functions._METHOD_FUNCTIONS or in_place
    if known and name not in _NOT_TENSOR:
        return re.sub(r"-> Any: \.\.\.$", "-> Tensor: ...", line)
    return line


def _tensor_member(name: str, value: Any) -> List[str]:
    """Stub lines for one attribute of ``Tensor``."""
    if isinstance(value, property):
        ret = "Any"
        if value.fget is not None:
            if inspect.isfunction(value.fget):
                ret = _python_annotation(inspect.signature(value.fget).return_annotation, True)
            else:
                doc = (getattr(value.fget, "__doc__", "") or "").strip().split("\n")[0]
                m = re.match(r"^\w*\((.*)\)\s*->\s*(.+)$", doc)
                ret = _SHADOWED.sub(lambda g: "builtins." + g.group(1), _clean(m.group(2))) if m else "Any"
        return [f"{name}: {ret}"]
    if name in ("__eq__", "__ne__"):
        return [f"def {name}(self, other: object) -> Tensor: ...  # type: ignore[override]"]
    if name == "__reduce_ex__":
        return ["def __reduce_ex__(self, protocol: typing.SupportsIndex) -> Any: ..."]
    if name == "__hash__":
        return ["def __hash__(self) -> builtins.int: ..."]
    if name in _OPERATORS:
        if name in ("__neg__", "__pos__", "__abs__", "__invert__"):
            return [f"def {name}(self) -> Tensor: ..."]
        return [f"def {name}(self, other: Any) -> Tensor: ..."]
    if inspect.isfunction(value):
        sig = _python_signature(name, value, True, True)
        # A Python wrapper around a binding (``*args, **kwargs``) keeps the binding's docstring.
        if sig is not None and not (_VARARGS in sig and _SIG.match((value.__doc__ or "").strip())):
            return [_tensor_result(name, sig)]
    if isinstance(value, staticmethod):
        return ["@staticmethod", f"def {name}(*args: Any, **kwargs: Any) -> Any: ..."]
    if callable(value):
        head, _, rest = _signature(name, getattr(value, "__doc__", None), True).partition("(")
        line = head + "(" + _SHADOWED.sub(lambda g: "builtins." + g.group(1), rest)
        return [_tensor_result(name, line)]
    return [_bare_generics(f"{name}: {type(value).__name__ if type(value).__module__ == 'builtins' else 'Any'}")]


def _keep(cls_name: str, name: str) -> bool:
    if not name.startswith("__"):
        return True
    if cls_name == "Tensor":
        return name in _OPERATORS or name in _OTHER_DUNDERS
    return name in ("__init__", "__eq__", "__hash__")


def native_stub() -> List[str]:
    lines = ['"""Stubs for chaingrad._C (generated by tools/generate_stubs.py; do not edit)."""', "",
             "# ruff: noqa", "import builtins", "import collections.abc", "import typing",
             "from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union",
             "", "import typing_extensions", "", "from chaingrad._size import Size", ""]
    for name, obj in sorted(vars(C).items()):
        if name.startswith("__"):
            continue
        if inspect.isclass(obj):
            lines.append(f"class {name}:")
            members = [(k, v) for k, v in sorted(vars(obj).items()) if _keep(name, k)]
            if name == "Tensor":
                members = [(k, v) for k, v in members if k != "__array_priority__"]
                lines.append("    __array_priority__: builtins.int")
            if not members:
                lines.append("    ...")
            for k, v in members:
                if name == "Tensor":
                    lines.extend("    " + line for line in _tensor_member(k, v))
                elif isinstance(v, property) or type(v).__name__ == "property":
                    lines.append(f"    {k}: Any")
                elif callable(v):
                    lines.append("    " + _signature(k, getattr(v, "__doc__", None), True))
                else:
                    lines.append(f"    {k}: Any")
            lines.append("")
        elif callable(obj):
            lines.append(_signature(name, obj.__doc__, False))
        else:
            builtin = type(obj).__module__ == "builtins"
            lines.append(_bare_generics(f"{name}: {type(obj).__name__}") if builtin else f"{name}: Any")
    return lines


def method_functions_stub() -> List[str]:
    """``chaingrad.<name>(input, ...)`` for every name ``_functions.export`` defines."""
    names = sorted(_functions._METHOD_FUNCTIONS)
    lines = ['"""Types of the functions chaingrad._functions.export defines at run time',
             '(generated by tools/generate_stubs.py; do not edit)."""', "", "# ruff: noqa",
             "import builtins", "import typing", "from typing import Any, Callable, Dict, Iterable, Iterator, "
             "List, Optional, Sequence, Tuple, Union", "", "from chaingrad._C import Node, Tensor, dtype",
             "from chaingrad._size import Size", "", "__all__ = ["]
    lines += [f'    "{n}",' for n in names] + ["]", ""]
    for n in names:
        member = _tensor_member(n, vars(C.Tensor).get(n, getattr(C.Tensor, n)))
        sig = member[-1]
        sig = re.sub(r"^def (\w+)\(self(, )?", lambda m: f"def {m.group(1)}(input: Tensor{m.group(2) or ''}", sig)
        if not sig.startswith("def "):
            sig = f"def {n}(input: Tensor, *args: Any, **kwargs: Any) -> Any: ..."
        lines.append(sig)
    return lines


def main() -> None:
    root = Path(__file__).resolve().parent.parent / "python" / "chaingrad"
    for target, lines in ((root / "_C.pyi", native_stub()),
                          (root / "_method_functions.pyi", method_functions_stub())):
        target.write_text("\n".join(lines) + "\n")
        print(f"wrote {target} ({len(lines)} lines)", file=sys.stderr)


if __name__ == "__main__":
    main()
