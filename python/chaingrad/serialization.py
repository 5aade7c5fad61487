"""``chaingrad.save`` / ``chaingrad.load``: checkpoints in the safetensors format.

Nothing is ever pickled or unpickled, so loading a file never runs code from it.

File layout
-----------
A standard safetensors file (https://huggingface.co/docs/safetensors):

* every tensor in ``obj`` is stored under its *path* in the structure: dict keys and list /
  tuple indices joined by ``"."`` (``{"layer": {"weight": t}}`` -> ``"layer.weight"``,
  ``[[a, b]]`` -> ``"0.1"``); a bare tensor is stored as ``"tensor"``.  Should two paths
  collide, later ones get a ``"#1"``, ``"#2"``... suffix.  The same tensor object reached
  twice is stored once and comes back as one object.
* ``__metadata__["chaingrad.structure"]`` holds JSON describing the containers and plain
  values (``int``, ``float`` including nan/inf, ``str``, ``bool``, ``None``; dict keys may be
  any of these, so e.g. the int keys of an optimizer state dict survive), with tensors as
  references to their names.  ``__metadata__["format"] = "pt"`` is set for the benefit of
  tools that expect it.

A flat ``dict`` of tensors with string keys therefore reads back with
``safetensors.numpy.load_file`` as the same dict, and a safetensors file written by any other
tool (no ``chaingrad.structure``) loads as a flat ``dict`` of tensors.

Tensors
-------
Tensors are saved as their own data (a view saves just its elements, a non-leaf tensor its
current values) with dtype and shape (0-d and empty included).  As in PyTorch, a tensor that
requires grad loads as a leaf that requires grad (a saved non-leaf too): the names of those
tensors are listed, as JSON, in ``__metadata__["chaingrad.requires_grad"]`` (files without
the key load every tensor without grad).

dtypes: each chaingrad dtype is written as its safetensors dtype (F64, F32, F16, BF16, I64,
I32, I16, I8, U8, BOOL) and loads back as itself.  Foreign files may hold U16/U32 (loaded as
int64, exactly) and U64 (int64 when every value fits).  Anything else (float8 variants,
complex, sub-byte floats) raises :class:`LoadError` naming the tensor and dtype.

Validation
----------
Before safetensors parses a file, :func:`load` checks the header itself and raises
:class:`LoadError` (a ``ValueError``) naming the file and the problem for: files shorter than
8 bytes, a header length beyond the file or over 100 MB, a header that is not UTF-8 JSON
object text, JSON nested more than 64 levels (header or structure metadata), duplicate names,
malformed entries, unknown dtype strings, and ``data_offsets`` that are out of range, overlap,
leave gaps or trailing bytes, or disagree with ``shape`` x dtype size.  PyTorch pickle / zip
checkpoints are recognised and reported as such.
"""

from __future__ import annotations

import io
import json
import math
import os
from collections import OrderedDict
from typing import IO, Any, Dict, List, Optional, Set, Tuple, Union

import numpy as np

import chaingrad

from ._safetensors_read import MAX_HEADER_BYTES as MAX_HEADER_BYTES
from ._safetensors_read import MAX_JSON_DEPTH, LoadError, _parse_header, _parse_json, _read_tensors

__all__ = ["LoadError", "load", "save"]

STRUCTURE_KEY = "chaingrad.structure"
REQUIRES_GRAD_KEY = "chaingrad.requires_grad"  # JSON list of the names of tensors that require grad
FORMAT_VERSION = 1
ROOT_TENSOR_NAME = "tensor"

FileLike = Union[str, "os.PathLike[str]", IO[bytes]]

# chaingrad's own dtypes: numpy dtype name -> safetensors name.
_SAVE_DTYPES = {"float32": "F32", "float64": "F64", "int64": "I64", "bool": "BOOL", "float16": "F16",
                "int32": "I32", "int16": "I16", "int8": "I8", "uint8": "U8", "bfloat16": "BF16"}

_NO_STRUCTURE = object()

_TORCH_KWARGS = {
    "pickle_module",
    "pickle_protocol",
    "_use_new_zipfile_serialization",
    "_disable_byteorder_record",
}


# ============================================================================ save
class _Encoder:
    """Turns a Python object into (JSON structure, {name: ndarray})."""

    def __init__(self) -> None:
        self.arrays: Dict[str, np.ndarray] = {}
        self.names_by_id: Dict[int, str] = {}
        self.keepalive: List[Any] = []
        self.active: Set[int] = set()
        self.requires_grad: List[str] = []

    def tensor_name(self, t: Any, path: str) -> str:
        existing = self.names_by_id.get(id(t))
        if existing is not None:
            return existing
        base = path if path else ROOT_TENSOR_NAME
        name = base
        n = 0
        while name in self.arrays or name == "__metadata__":
            n += 1
            name = f"{base}#{n}"
        self.arrays[name] = _to_numpy(t, path or "<root>")
        if t.requires_grad:
            self.requires_grad.append(name)
        self.names_by_id[id(t)] = name
        self.keepalive.append(t)
        return name

    def encode(self, obj: Any, path: str, depth: int) -> Any:
        if depth > MAX_JSON_DEPTH:
            raise ValueError(
                f"chaingrad.save: object nesting at '{path}' is too deep to store "
                f"(the structure JSON is limited to {MAX_JSON_DEPTH} levels)"
            )
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, np.bool_):
            return bool(obj)
        if isinstance(obj, (int, np.integer)):
            return int(obj)
        if isinstance(obj, (float, np.floating)):
            value = float(obj)
            if math.isfinite(value):
                return value
            return {"float": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
        if isinstance(obj, chaingrad.Tensor):
            return {"tensor": self.tensor_name(obj, path)}
        if isinstance(obj, (dict, list, tuple)):
            if id(obj) in self.active:
                raise ValueError(f"chaingrad.save: the container at '{path}' contains itself")
            self.active.add(id(obj))
            try:
                return self._encode_container(obj, path, depth)
            finally:
                self.active.discard(id(obj))
        hint = ""
        if hasattr(obj, "state_dict"):
            hint = " (save its state_dict() instead)"
        raise TypeError(
            f"chaingrad.save cannot store an object of type {type(obj).__qualname__} at "
            f"'{path or '<root>'}'{hint}; supported: tensors, dict, list, tuple, int, float, "
            "str, bool and None"
        )

    def _encode_container(self, obj: Any, path: str, depth: int) -> Any:
        prefix = path + "." if path else ""
        if isinstance(obj, dict):
            items = []
            for key, value in obj.items():
                if not (key is None or isinstance(key, (bool, str, int, float))):
                    raise TypeError(
                        f"chaingrad.save: dict key {key!r} at '{path or '<root>'}' has type "
                        f"{type(key).__qualname__}; keys must be str, int, float, bool or None"
                    )
                encoded_key = self.encode(key, path, depth + 3)
                encoded_value = self.encode(value, prefix + str(key), depth + 3)
                items.append([encoded_key, encoded_value])
            return {"odict" if isinstance(obj, OrderedDict) else "dict": items}
        tag = "tuple" if isinstance(obj, tuple) else "list"
        return {tag: [self.encode(v, prefix + str(i), depth + 2) for i, v in enumerate(obj)]}


class _BF16Bits(np.ndarray):
    """The bits of a bfloat16 tensor as uint16 (numpy has no bfloat16); saved with dtype BF16."""


def _to_numpy(t: Any, where: str) -> np.ndarray:
    data = t.detach()
    if not data.is_contiguous():
        data = data.contiguous()
    if data.dtype == chaingrad.bfloat16:  # float32 holds a bfloat16 exactly: its top 16 bits are the value
        bits = (np.ascontiguousarray(data.float().numpy()).view(np.uint32) >> 16).astype(np.uint16)
        return bits.view(_BF16Bits)
    arr = data.numpy()
    if not arr.flags.c_contiguous:  # (np.ascontiguousarray would turn 0-d into 1-d)
        arr = arr.copy(order="C")
    if arr.dtype.name not in _SAVE_DTYPES:
        raise TypeError(f"chaingrad.save: tensor at '{where}' has unsupported dtype {t.dtype}")
    return arr


def save(obj: Any, f: FileLike, **kwargs: Any) -> None:
    """Save ``obj`` (a tensor, or nested dicts/lists/tuples of tensors and plain values, e.g. a
    ``state_dict``) to ``f`` (a path or a writable binary file object) as safetensors.

    Keyword arguments of ``torch.save`` (``pickle_module``, ``pickle_protocol``, ...) are
    accepted and ignored.  See the module docstring for the layout.
    """
    unknown = set(kwargs) - _TORCH_KWARGS
    if unknown:
        raise TypeError(f"save() got unexpected keyword argument(s): {sorted(unknown)}")
    import safetensors.numpy as stnp

    encoder = _Encoder()
    root = encoder.encode(obj, "", 1)
    structure = json.dumps(
        {"version": FORMAT_VERSION, "root": root}, separators=(",", ":"), allow_nan=False
    )
    metadata = {STRUCTURE_KEY: structure, "format": "pt"}
    if encoder.requires_grad:
        metadata[REQUIRES_GRAD_KEY] = json.dumps(encoder.requires_grad)
    if any(isinstance(a, _BF16Bits) for a in encoder.arrays.values()):
        from safetensors import serialize
        from safetensors.numpy import TensorSpec

        specs = {k: TensorSpec(dtype="bfloat16" if isinstance(a, _BF16Bits) else a.dtype.name, shape=a.shape,
                               data_ptr=a.ctypes.data, data_len=a.nbytes) for k, a in encoder.arrays.items()}
        blob = bytes(serialize(specs, metadata=metadata))
        if isinstance(f, (str, os.PathLike)):
            with open(os.fspath(f), "wb") as fh:
                fh.write(blob)
            return
        if not hasattr(f, "write"):
            raise TypeError(f"save(): f must be a path or a writable binary file, got {type(f).__qualname__}")
        f.write(blob)
        return
    if isinstance(f, (str, os.PathLike)):
        stnp.save_file(encoder.arrays, os.fspath(f), metadata=metadata)
    elif hasattr(f, "write"):
        f.write(stnp.save(encoder.arrays, metadata=metadata))
    else:
        raise TypeError(
            f"save(): f must be a path or a writable binary file, got {type(f).__qualname__}"
        )


# ============================================================================ load
class _Decoder:
    def __init__(self, tensors: Dict[str, Any], source: str) -> None:
        self.tensors = tensors
        self.source = source

    def bad(self, why: str) -> LoadError:
        return LoadError(f"{self.source}: malformed {STRUCTURE_KEY} metadata: {why}")

    def decode(self, node: Any) -> Any:
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if not isinstance(node, dict) or len(node) != 1:
            raise self.bad(f"unexpected node {str(node)[:80]}")
        ((tag, payload),) = node.items()
        if tag == "tensor":
            if not isinstance(payload, str) or payload not in self.tensors:
                raise self.bad(f"reference to missing tensor {payload!r}")
            return self.tensors[payload]
        if tag == "float":
            if payload not in ("nan", "inf", "-inf"):
                raise self.bad(f"bad float {payload!r}")
            return float(payload)
        if tag in ("list", "tuple"):
            if not isinstance(payload, list):
                raise self.bad(f"{tag} payload is not a list")
            values = [self.decode(v) for v in payload]
            return tuple(values) if tag == "tuple" else values
        if tag in ("dict", "odict"):
            if not isinstance(payload, list):
                raise self.bad("dict payload is not a list")
            out: Dict[Any, Any] = OrderedDict() if tag == "odict" else {}
            for item in payload:
                if not isinstance(item, list) or len(item) != 2:
                    raise self.bad("dict item is not a [key, value] pair")
                key = self.decode(item[0])
                if not (key is None or isinstance(key, (bool, int, float, str))):
                    raise self.bad("dict key is not a plain value")
                out[key] = self.decode(item[1])
            return out
        raise self.bad(f"unknown tag {tag!r}")


def _read_source(f: Any) -> Tuple[Optional[str], Optional[bytes], str]:
    """(path, None, label) for paths; (None, data, label) for bytes and file objects."""
    if isinstance(f, (str, os.PathLike)):
        path = os.fspath(f)
        return path, None, repr(path)
    if isinstance(f, (bytes, bytearray, memoryview)):
        return None, bytes(f), "<bytes>"
    if hasattr(f, "read"):
        data = f.read()
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError("load(): the file object must be opened in binary mode")
        return None, bytes(data), f"<{type(f).__name__}>"
    raise AttributeError(
        f"'{type(f).__name__}' object has no attribute 'seek'. You can only torch.load from a file that is "
        "seekable. Please pre-load the data into a buffer like io.BytesIO and try to load from it instead."
    )


def _check_map_location(map_location: Any) -> None:
    if map_location is None or callable(map_location) or isinstance(map_location, dict):
        return  # everything lives on the CPU already
    name = str(map_location)
    if name not in ("cpu", "cpu:0"):
        raise RuntimeError(f"chaingrad only supports the CPU device, got map_location={name!r}")


def load(
    f: Union[FileLike, bytes],
    map_location: Any = None,
    pickle_module: Any = None,
    *,
    weights_only: Optional[bool] = None,
    mmap: Optional[bool] = None,
    **kwargs: Any,
) -> Any:
    """Load what :func:`save` wrote (or any safetensors file) from a path, ``bytes`` or a
    binary file object.

    Files with chaingrad structure metadata give back the saved object; other safetensors
    files give a flat ``dict`` of tensors in header order.  The header is validated before
    any tensor is read; problems raise :class:`LoadError`.  ``torch.load`` arguments
    (``map_location`` for the CPU, ``weights_only``, ``mmap``) are accepted; loading is always
    weights-only.
    """
    if kwargs:
        raise TypeError(f"load() got unexpected keyword argument(s): {sorted(kwargs)}")
    _check_map_location(map_location)
    path, data, source = _read_source(f)
    if path is not None:
        with open(path, "rb") as fh:
            total = os.fstat(fh.fileno()).st_size
            head = fh.read(8)
            metadata, entries, data_start = _parse_header(head, fh.read, total, source)
    else:
        assert data is not None
        buf = io.BytesIO(data)
        head = buf.read(8)
        metadata, entries, data_start = _parse_header(head, buf.read, len(data), source)

    structure: Any = _NO_STRUCTURE
    if STRUCTURE_KEY in metadata:
        doc = _parse_json(metadata[STRUCTURE_KEY], STRUCTURE_KEY + " metadata", source)
        if not isinstance(doc, dict) or "root" not in doc:
            raise LoadError(f"{source}: malformed {STRUCTURE_KEY} metadata: no root")
        version = doc.get("version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise LoadError(
                f"{source}: {STRUCTURE_KEY} format version {version!r} is not supported by "
                f"this chaingrad (supports up to {FORMAT_VERSION})"
            )
        structure = doc["root"]

    tensors = _read_tensors(path, data, entries, data_start, source)
    if REQUIRES_GRAD_KEY in metadata:
        names = _parse_json(metadata[REQUIRES_GRAD_KEY], REQUIRES_GRAD_KEY + " metadata", source)
        if not isinstance(names, list) or not all(isinstance(n, str) and n in tensors for n in names):
            raise LoadError(f"{source}: malformed {REQUIRES_GRAD_KEY} metadata: not a list of saved tensor names")
        for n in names:
            if tensors[n].is_floating_point():
                tensors[n].requires_grad_(True)
    if structure is _NO_STRUCTURE:
        return tensors
    return _Decoder(tensors, source).decode(structure)
