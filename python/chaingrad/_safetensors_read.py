"""Reading a safetensors file for :func:`chaingrad.load`: the header validated before safetensors
parses it (the checks listed under *Validation* in :mod:`chaingrad.serialization`), and each
tensor's bytes converted to its chaingrad dtype."""

from __future__ import annotations

import json
import math
import re
import struct
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

import chaingrad

MAX_HEADER_BYTES = 100_000_000
MAX_JSON_DEPTH = 64

# Every dtype of the safetensors format, with its size in bits.
_ST_BITS = {
    "BOOL": 8, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8,
    "I16": 16, "U16": 16, "F16": 16, "BF16": 16,
    "I32": 32, "U32": 32, "F32": 32,
    "I64": 64, "U64": 64, "F64": 64, "C64": 64,
    "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6,
}  # fmt: skip

# safetensors dtype -> (numpy dtype of the stored bytes, numpy dtype chaingrad loads it as).
_LOAD_DTYPES = {
    "F32": ("<f4", "float32"),
    "F64": ("<f8", "float64"),
    "I64": ("<i8", "int64"),
    "BOOL": ("u1", "bool"),
    "F16": ("<f2", "float16"),
    "BF16": ("<u2", "float32"),  # widened exactly, then narrowed to bfloat16 (numpy has none)
    "I8": ("i1", "int8"),
    "I16": ("<i2", "int16"),
    "I32": ("<i4", "int32"),
    "U8": ("u1", "uint8"),
    "U16": ("<u2", "int64"),
    "U32": ("<u4", "int64"),
    "U64": ("<u8", "int64"),
}


class LoadError(ValueError):
    """A file given to :func:`chaingrad.load` is not a valid (or supported) safetensors file."""

    __module__ = "chaingrad.serialization"  # its public home


_STRING_RE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)


def _json_depth(text: str) -> int:
    """Maximum bracket nesting of JSON ``text`` (brackets inside strings ignored), computed
    without recursion so that a depth bomb cannot exhaust the stack."""
    skeleton = _STRING_RE.sub('""', text).encode("utf-8", "replace")
    if not skeleton:
        return 0
    arr = np.frombuffer(skeleton, dtype=np.uint8)
    delta = ((arr == 0x5B) | (arr == 0x7B)).astype(np.int64)
    delta -= ((arr == 0x5D) | (arr == 0x7D)).astype(np.int64)
    return int(np.cumsum(delta).max())


def _looks_like_torch_checkpoint(head: bytes) -> bool:
    return (len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5) or head[:4] in (
        b"PK\x03\x04",
        b"PK\x05\x06",
    )


def _torch_checkpoint_error(source: str) -> LoadError:
    return LoadError(
        f"{source}: this looks like a PyTorch pickle/zip checkpoint (torch.save format), not "
        "a safetensors file. chaingrad only reads safetensors files and never unpickles "
        "(unpickling can run arbitrary code). Convert it once with PyTorch, e.g. "
        "safetensors.torch.save_file(torch.load(path, weights_only=True), 'model.safetensors') "
        "for a flat dict of tensors."
    )


def _reject_duplicates(pairs: List[Tuple[str, Any]]) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _parse_json(text: str, what: str, source: str) -> Any:
    depth = _json_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise LoadError(
            f"{source}: {what} JSON is nested {depth} levels deep (limit {MAX_JSON_DEPTH}); "
            "refusing to parse it"
        )
    try:
        return json.loads(text, object_pairs_hook=_reject_duplicates)
    except (ValueError, RecursionError) as exc:
        raise LoadError(f"{source}: {what} is not valid JSON ({exc})") from None


class _Entry:
    __slots__ = ("name", "dtype", "shape", "begin", "end")

    def __init__(self, name: str, dtype: str, shape: List[int], begin: int, end: int) -> None:
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.begin = begin
        self.end = end


def _is_uint(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


def _parse_header(
    head: bytes, read: Any, total_size: int, source: str
) -> Tuple[Dict[str, str], List[_Entry], int]:
    """Validate a safetensors header.  ``head`` is the first (up to) 8 bytes, ``read(n)``
    returns the next ``n`` bytes.  Returns (metadata, entries in header order, data start)."""
    if total_size < 8:
        if _looks_like_torch_checkpoint(head):
            raise _torch_checkpoint_error(source)
        raise LoadError(
            f"{source}: file is too short to be a safetensors file ({total_size} bytes; it "
            "must start with an 8-byte header length)"
        )
    (n,) = struct.unpack("<Q", head[:8])
    if n > MAX_HEADER_BYTES:
        if _looks_like_torch_checkpoint(head):
            raise _torch_checkpoint_error(source)
        raise LoadError(
            f"{source}: header length field says {n} bytes, over the 100 MB limit; the file is "
            "corrupt or not a safetensors file"
        )
    if 8 + n > total_size:
        if _looks_like_torch_checkpoint(head):
            raise _torch_checkpoint_error(source)
        raise LoadError(
            f"{source}: header length field says {n} bytes but the file has only "
            f"{total_size - 8} bytes after it; the file is truncated or not a safetensors file"
        )
    raw = read(n)
    if len(raw) != n:
        raise LoadError(f"{source}: could not read the {n}-byte header (file truncated?)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        if _looks_like_torch_checkpoint(head):
            raise _torch_checkpoint_error(source) from None
        raise LoadError(f"{source}: header is not valid UTF-8 text") from None
    if not text.lstrip().startswith("{"):
        if _looks_like_torch_checkpoint(head):
            raise _torch_checkpoint_error(source)
        raise LoadError(f"{source}: header is not a JSON object")
    header = _parse_json(text, "header", source)
    if not isinstance(header, dict):
        raise LoadError(f"{source}: header is not a JSON object")

    metadata = header.pop("__metadata__", None)
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise LoadError(f"{source}: __metadata__ must be a JSON object of strings to strings")

    data_len = total_size - 8 - n
    entries: List[_Entry] = []
    for name, info in header.items():
        if not isinstance(info, dict):
            raise LoadError(f"{source}: entry for tensor {name!r} is not a JSON object")
        missing = {"dtype", "shape", "data_offsets"} - set(info)
        if missing:
            raise LoadError(f"{source}: tensor {name!r} lacks {sorted(missing)}")
        dtype = info["dtype"]
        if not isinstance(dtype, str) or dtype not in _ST_BITS:
            raise LoadError(f"{source}: tensor {name!r} has unknown dtype {dtype!r}")
        shape = info["shape"]
        if not isinstance(shape, list) or not all(_is_uint(s) for s in shape):
            raise LoadError(
                f"{source}: tensor {name!r} has invalid shape {shape!r} (expected a list of "
                "non-negative integers)"
            )
        offsets = info["data_offsets"]
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(_is_uint(o) for o in offsets)
            or offsets[0] > offsets[1]
        ):
            raise LoadError(
                f"{source}: tensor {name!r} has invalid data_offsets {offsets!r} (expected "
                "[begin, end] with 0 <= begin <= end)"
            )
        begin, end = offsets
        if end > data_len:
            raise LoadError(
                f"{source}: tensor {name!r} has data_offsets [{begin}, {end}] beyond the end "
                f"of the data section ({data_len} bytes)"
            )
        numel = math.prod(shape)
        bits = numel * _ST_BITS[dtype]
        if bits % 8 != 0 or bits // 8 != end - begin:
            raise LoadError(
                f"{source}: tensor {name!r} has data_offsets [{begin}, {end}] ({end - begin} "
                f"bytes) but shape {shape} of {dtype} needs {bits / 8:g} bytes"
            )
        entries.append(_Entry(name, dtype, shape, begin, end))

    pos = 0
    previous = None
    for entry in sorted(entries, key=lambda e: (e.begin, e.end)):
        if entry.begin < pos:
            raise LoadError(
                f"{source}: tensors {previous!r} and {entry.name!r} have overlapping data_offsets"
            )
        if entry.begin > pos:
            raise LoadError(
                f"{source}: bytes {pos}..{entry.begin} of the data section belong to no tensor "
                f"(gap before {entry.name!r})"
            )
        pos = entry.end
        previous = entry.name
    if pos != data_len:
        raise LoadError(
            f"{source}: the data section has {data_len - pos} trailing bytes that belong to no "
            "tensor"
        )
    return metadata, entries, 8 + n


def _convert(entry: _Entry, raw: bytes, source: str) -> Any:
    """Bytes of one tensor -> chaingrad tensor (widening dtypes as documented)."""
    spec = _LOAD_DTYPES.get(entry.dtype)
    if spec is None:
        raise LoadError(
            f"{source}: tensor {entry.name!r} has dtype {entry.dtype}, which chaingrad cannot "
            "represent (chaingrad reads F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL, and "
            "U16/U32/U64 as int64)"
        )
    stored, target = spec
    arr = np.frombuffer(raw, dtype=np.dtype(stored)).reshape(entry.shape)
    if entry.dtype == "BOOL":
        out = arr != 0
    elif entry.dtype == "BF16":
        out = (arr.astype(np.uint32) << 16).view(np.float32)
    elif entry.dtype == "U64":
        if arr.size and int(arr.max()) > np.iinfo(np.int64).max:
            raise LoadError(
                f"{source}: tensor {entry.name!r} (U64) holds values above 2**63 - 1, which "
                "int64 cannot represent"
            )
        out = arr.astype(np.int64)
    else:
        out = arr.astype(np.dtype(target))  # astype copies: the result owns writable memory
    out = np.array(out, dtype=np.dtype(target), copy=True, order="C")
    if entry.dtype == "BF16":
        return chaingrad.from_numpy(out).to(chaingrad.bfloat16)
    return chaingrad.from_numpy(out)



def _read_tensors(
    path: Optional[str],
    data: Optional[bytes],
    entries: List[_Entry],
    data_start: int,
    source: str,
) -> Dict[str, Any]:
    # Reject unsupported dtypes before reading any data.
    for entry in entries:
        if entry.dtype not in _LOAD_DTYPES:
            _convert(entry, b"", source)
    out: Dict[str, Any] = {}
    if data is not None:
        view = memoryview(data)
        for e in entries:
            out[e.name] = _convert(e, view[data_start + e.begin : data_start + e.end], source)
        return out
    assert path is not None
    from safetensors import SafetensorError, safe_open

    direct = {"F32", "F64", "I64", "F16", "I32", "I16", "I8", "U8"}
    try:
        with safe_open(path, framework="np") as sf, open(path, "rb") as fh:
            for e in entries:
                if e.dtype in direct:
                    arr = sf.get_tensor(e.name)
                    arr = np.array(arr, copy=True, order="C")
                    out[e.name] = chaingrad.from_numpy(arr.reshape(e.shape))
                else:
                    fh.seek(data_start + e.begin)
                    out[e.name] = _convert(e, fh.read(e.end - e.begin), source)
    except SafetensorError as exc:
        raise LoadError(f"{source}: safetensors could not read the file ({exc})") from None
    return out
