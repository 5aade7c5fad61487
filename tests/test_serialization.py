"""Tests for chaingrad.save / chaingrad.load (safetensors checkpoints)."""

import io
import json
import math
import pickle
import struct
from collections import OrderedDict

import numpy as np
import pytest

pytest.importorskip("chaingrad._C")
import chaingrad  # noqa: E402
import chaingrad.nn as nn  # noqa: E402
from chaingrad.serialization import STRUCTURE_KEY, LoadError  # noqa: E402

safetensors_numpy = pytest.importorskip("safetensors.numpy")


def cg(a):
    return chaingrad.from_numpy(np.array(a, copy=True))


def npy(t):
    return t.detach().numpy().copy()


def roundtrip(obj, tmp_path, name="x.safetensors"):
    path = tmp_path / name
    chaingrad.save(obj, path)
    return chaingrad.load(path)


def assert_same_tensor(a, b):
    assert isinstance(b, chaingrad.Tensor)
    assert a.dtype == b.dtype
    assert tuple(a.shape) == tuple(b.shape)
    assert np.array_equal(npy(a), npy(b), equal_nan=True)


# ============================================================================ round trips
@pytest.mark.parametrize(
    "array",
    [
        np.arange(12, dtype=np.float32).reshape(3, 4) / 7,
        np.linspace(-1e300, 1e300, 5),
        np.array([np.nan, np.inf, -np.inf, -0.0], dtype=np.float64),
        np.arange(-5, 5, dtype=np.int64) * (2**40),
        np.array([True, False, True]),
        np.array(3.5, dtype=np.float32),
        np.array(7, dtype=np.int64),
        np.array(True),
        np.zeros((0,), dtype=np.float32),
        np.zeros((2, 0, 3), dtype=np.int64),
    ],
    ids=lambda a: f"{a.dtype}{list(a.shape)}",
)
def test_tensor_round_trip(array, tmp_path):
    t = cg(array)
    back = roundtrip(t, tmp_path)
    assert_same_tensor(t, back)
    assert back.is_leaf and not back.requires_grad


def test_views_save_their_own_data(tmp_path):
    base = cg(np.arange(24, dtype=np.float64).reshape(4, 6))
    views = {"t": base.t(), "slice": base[1:3, ::2], "row": base[2], "elem": base[1, 1]}
    back = roundtrip(views, tmp_path)
    for key, view in views.items():
        assert_same_tensor(view, back[key])
    flat = safetensors_numpy.load_file(tmp_path / "x.safetensors")
    assert flat["slice"].shape == (2, 3) and flat["slice"].nbytes == 2 * 3 * 8


def test_requires_grad_is_stored_and_loads_as_a_leaf(tmp_path):
    # PyTorch 2.13: a saved tensor that requires grad (a non-leaf too) loads as a leaf requiring grad.
    x = cg(np.array([1.0, 2.0])).requires_grad_()
    y = x * 3
    back = roundtrip({"x": x, "y": y, "plain": cg(np.ones(2))}, tmp_path)
    assert np.array_equal(npy(back["y"]), [3.0, 6.0])
    for name, t in back.items():
        assert t.is_leaf and t.grad_fn is None and t.requires_grad == (name != "plain")


def test_nested_structure(tmp_path):
    t1, t2 = cg(np.ones(2)), cg(np.arange(3))
    obj = {
        "a": [t1, (t2, "text", None), {"deep": [1, 2.5, True]}],
        7: {"int key": t2, 3.5: "float key", None: False, True: 1},
        "plain": [math.inf, -math.inf, 0.1, 10**20, -(2**70), ""],
        "nan": math.nan,
        "od": OrderedDict([("z", 1), ("a", t1)]),
        "empty": {"d": {}, "l": [], "t": ()},
    }
    back = roundtrip(obj, tmp_path)
    assert list(back.keys()) == ["a", 7, "plain", "nan", "od", "empty"]
    assert isinstance(back["a"], list) and isinstance(back["a"][1], tuple)
    assert_same_tensor(t1, back["a"][0])
    assert back["a"][1][1:] == ("text", None)
    assert back["a"][2] == {"deep": [1, 2.5, True]}
    assert type(back["a"][2]["deep"][2]) is bool and type(back["a"][2]["deep"][0]) is int
    assert back[7][3.5] == "float key" and back[7][None] is False and back[7][True] == 1
    assert back["plain"] == [math.inf, -math.inf, 0.1, 10**20, -(2**70), ""]
    assert math.isnan(back["nan"])
    assert isinstance(back["od"], OrderedDict) and list(back["od"]) == ["z", "a"]
    assert back["empty"] == {"d": {}, "l": [], "t": ()}
    # the same tensor object reached twice comes back as one object
    assert back["a"][1][0] is back[7]["int key"]
    names = set(safetensors_numpy.load_file(tmp_path / "x.safetensors"))
    assert names == {"a.0", "a.1.0"}


def test_plain_values_and_root_containers(tmp_path):
    assert roundtrip(5, tmp_path) == 5
    assert roundtrip("hello", tmp_path) == "hello"
    assert roundtrip(None, tmp_path) is None
    assert roundtrip([], tmp_path) == []
    back = roundtrip([cg(np.ones(1)), [cg(np.zeros(2))]], tmp_path)
    assert np.array_equal(npy(back[1][0]), [0, 0])
    assert set(safetensors_numpy.load_file(tmp_path / "x.safetensors")) == {"0", "1.0"}
    roundtrip(cg(np.ones(2)), tmp_path)
    assert set(safetensors_numpy.load_file(tmp_path / "x.safetensors")) == {"tensor"}


def test_name_collisions(tmp_path):
    obj = {"a.b": cg(np.ones(1)), "a": {"b": cg(np.zeros(1))}, "__metadata__": cg(np.ones(2))}
    back = roundtrip(obj, tmp_path)
    assert np.array_equal(npy(back["a.b"]), [1]) and np.array_equal(npy(back["a"]["b"]), [0])
    assert np.array_equal(npy(back["__metadata__"]), [1, 1])


def test_module_state_dict_round_trip(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    sd = model.state_dict()
    back = roundtrip(sd, tmp_path)
    assert isinstance(back, OrderedDict) and list(back) == list(sd)
    fresh = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    fresh.load_state_dict(back)
    for (n1, p1), (n2, p2) in zip(model.named_parameters(), fresh.named_parameters()):
        assert n1 == n2 and np.array_equal(npy(p1), npy(p2))
    # a flat state dict is readable by the safetensors library as exactly that dict
    flat = safetensors_numpy.load_file(tmp_path / "x.safetensors")
    assert sorted(flat) == sorted(sd)
    for k in sd:
        assert np.array_equal(flat[k], npy(sd[k]))


def test_file_objects_bytes_and_torch_kwargs(tmp_path):
    obj = {"w": cg(np.arange(4.0)), "n": 3}
    buf = io.BytesIO()
    chaingrad.save(obj, buf)
    data = buf.getvalue()
    buf.seek(0)
    for source in (buf, data, bytearray(data), memoryview(data)):
        back = chaingrad.load(source)
        assert back["n"] == 3 and np.array_equal(npy(back["w"]), [0, 1, 2, 3])
    path = tmp_path / "p.safetensors"
    chaingrad.save(obj, str(path), pickle_protocol=2)
    back = chaingrad.load(str(path), map_location="cpu", weights_only=True)
    assert back["n"] == 3
    chaingrad.load(path, map_location=lambda storage, loc: storage)
    with pytest.raises(RuntimeError, match="CPU"):
        chaingrad.load(path, map_location="cuda:0")
    with pytest.raises(TypeError):
        chaingrad.save(obj, path, bogus=1)
    with pytest.raises(FileNotFoundError):
        chaingrad.load(tmp_path / "missing.safetensors")


def test_save_rejects_unsupported_objects(tmp_path):
    with pytest.raises(TypeError, match=r"state_dict\(\) instead"):
        chaingrad.save(nn.Linear(1, 1), tmp_path / "m.safetensors")
    with pytest.raises(TypeError, match="cannot store an object of type set"):
        chaingrad.save({"s": {1, 2}}, tmp_path / "m.safetensors")
    with pytest.raises(TypeError, match="keys must be"):
        chaingrad.save({(1, 2): 3}, tmp_path / "m.safetensors")
    loop = []
    loop.append(loop)
    with pytest.raises(ValueError, match="contains itself"):
        chaingrad.save(loop, tmp_path / "m.safetensors")
    deep = cg(np.ones(1))
    for _ in range(40):
        deep = [deep]
    with pytest.raises(ValueError, match="too deep"):
        chaingrad.save(deep, tmp_path / "m.safetensors")


def test_metadata_layout(tmp_path):
    from safetensors import safe_open

    chaingrad.save({"w": cg(np.ones(2)), "lr": 0.5}, tmp_path / "m.safetensors")
    with safe_open(str(tmp_path / "m.safetensors"), framework="np") as f:
        meta = f.metadata()
        assert list(f.keys()) == ["w"]
    doc = json.loads(meta[STRUCTURE_KEY])
    assert doc["version"] == 1
    assert doc["root"] == {"dict": [["w", {"tensor": "w"}], ["lr", 0.5]]}


# ============================================================================ interop
def test_reads_files_written_by_safetensors_numpy(tmp_path):
    arrays = {
        "f32": np.arange(6, dtype=np.float32).reshape(2, 3),
        "f64": np.array(2.5),
        "i64": np.array([-1, 2**62], dtype=np.int64),
        "b": np.array([[True], [False]]),
        "empty": np.zeros((0, 4), dtype=np.float32),
        "f16": np.array([1.5, -2.0, 65504.0], dtype=np.float16),
        "i32": np.array([-(2**31), 2**31 - 1], dtype=np.int32),
        "u8": np.array([0, 255], dtype=np.uint8),
        "i8": np.array([-128, 127], dtype=np.int8),
        "u64": np.array([0, 2**63 - 1], dtype=np.uint64),
    }
    path = tmp_path / "foreign.safetensors"
    safetensors_numpy.save_file(arrays, str(path), metadata={"format": "np"})
    back = chaingrad.load(path)
    assert set(back) == set(arrays)
    expected_dtype = {
        "f32": chaingrad.float32,
        "f64": chaingrad.float64,
        "i64": chaingrad.int64,
        "b": chaingrad.bool,
        "empty": chaingrad.float32,
        "f16": chaingrad.float16,
        "i32": chaingrad.int32,
        "u8": chaingrad.uint8,
        "i8": chaingrad.int8,
        "u64": chaingrad.int64,
    }
    for name, arr in arrays.items():
        assert back[name].dtype == expected_dtype[name], name
        assert tuple(back[name].shape) == arr.shape
        assert np.array_equal(npy(back[name]), arr.astype(npy(back[name]).dtype)), name
    same = chaingrad.load(path.read_bytes())
    assert np.array_equal(npy(same["f16"]), npy(back["f16"]))

    big = {"u64": np.array([2**63], dtype=np.uint64)}
    safetensors_numpy.save_file(big, str(path))
    with pytest.raises(LoadError, match="U64"):
        chaingrad.load(path)


def test_reads_files_written_by_safetensors_torch(tmp_path):
    torch = pytest.importorskip("torch")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    tensors = {
        "w": torch.randn(3, 4),
        "d": torch.randn(2, dtype=torch.float64),
        "i": torch.arange(5),
        "m": torch.tensor([True, False]),
        "bf": torch.tensor([1.0, -3.5, 1e30], dtype=torch.bfloat16),
        "h": torch.tensor([0.25, 1000.0], dtype=torch.float16),
        "s": torch.tensor(4.0),
    }
    path = tmp_path / "torch.safetensors"
    safetensors_torch.save_file(tensors, str(path))
    back = chaingrad.load(path)
    for name, t in tensors.items():
        ref = t.float().numpy() if t.dtype in (torch.bfloat16, torch.float16) else t.numpy()
        assert tuple(back[name].shape) == tuple(t.shape)
        assert str(back[name].dtype).split(".")[-1] == str(t.dtype).split(".")[-1], name
        assert np.array_equal(npy(back[name].float() if name in ("bf", "h") else back[name]), ref), name

    safetensors_torch.save_file({"f8": torch.zeros(2, dtype=torch.float8_e4m3fn)}, str(path))
    with pytest.raises(LoadError, match="F8_E4M3"):
        chaingrad.load(path)


def test_torch_reads_chaingrad_files(tmp_path):
    torch = pytest.importorskip("torch")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    model = nn.Linear(3, 2)
    chaingrad.save(model.state_dict(), tmp_path / "m.safetensors")
    theirs = torch.nn.Linear(3, 2)
    theirs.load_state_dict(safetensors_torch.load_file(str(tmp_path / "m.safetensors")))
    x = np.ones((1, 3), dtype=np.float32)
    assert np.allclose(theirs(torch.from_numpy(x)).detach().numpy(), npy(model(cg(x))))


# ============================================================================ malformed files
def st_bytes(header, data=b"", length=None):
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    n = len(raw) if length is None else length
    return struct.pack("<Q", n) + raw + data


def entry(dtype="F32", shape=(2,), offsets=(0, 8)):
    return {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets)}


MALFORMED = {
    "empty": (b"", "too short"),
    "truncated": (b"\x10\x00\x00", "too short"),
    "garbage": (b"this is definitely not a safetensors file", "header length"),
    "lying_length": (st_bytes({"a": entry()}, b"\0" * 8, length=5000), "truncated"),
    "huge_header": (struct.pack("<Q", 200_000_000) + b"{}" * 10, "100 MB"),
    "not_utf8": (st_bytes(b"{\xff\xfe}"), "UTF-8"),
    "not_json": (st_bytes(b"{nope"), "not valid JSON"),
    "json_array": (st_bytes(b"[1, 2]"), "not a JSON object"),
    "depth_bomb": (st_bytes(b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}"), "nested"),
    "depth_bomb_metadata": (
        st_bytes({"__metadata__": {STRUCTURE_KEY: "[" * 5000 + "]" * 5000}}),
        "nested",
    ),
    "unknown_dtype": (st_bytes({"a": entry(dtype="F33")}, b"\0" * 8), "unknown dtype 'F33'"),
    "offsets_out_of_range": (st_bytes({"a": entry(offsets=(0, 8))}, b"\0" * 4), "beyond the end"),
    "overlapping_offsets": (
        st_bytes({"a": entry(offsets=(0, 8)), "b": entry(offsets=(4, 12))}, b"\0" * 12),
        "overlapping",
    ),
    "size_mismatch": (st_bytes({"a": entry(shape=(3,), offsets=(0, 8))}, b"\0" * 8), "needs 12"),
    "gap": (st_bytes({"a": entry(offsets=(4, 12))}, b"\0" * 12), "belong to no tensor"),
    "trailing_bytes": (st_bytes({"a": entry()}, b"\0" * 10), "trailing"),
    "negative_offset": (st_bytes({"a": entry(offsets=(-8, 0))}, b"\0" * 8), "data_offsets"),
    "bad_shape": (st_bytes({"a": entry(shape=(2.5,))}, b"\0" * 8), "invalid shape"),
    "entry_not_object": (st_bytes({"a": [1, 2]}), "not a JSON object"),
    "missing_field": (st_bytes({"a": {"dtype": "F32", "shape": [0]}}), "lacks"),
    "duplicate_names": (
        st_bytes(
            b'{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}'
        ),
        "duplicate",
    ),
    "bad_metadata_type": (st_bytes({"__metadata__": {"k": 1}}), "strings to strings"),
    "bad_structure_ref": (
        st_bytes({"__metadata__": {STRUCTURE_KEY: '{"version":1,"root":{"tensor":"nope"}}'}}),
        "missing tensor 'nope'",
    ),
    "bad_structure_tag": (
        st_bytes({"__metadata__": {STRUCTURE_KEY: '{"version":1,"root":{"set":[1]}}'}}),
        "unknown tag",
    ),
    "future_version": (
        st_bytes({"__metadata__": {STRUCTURE_KEY: '{"version":99,"root":null}'}}),
        "version 99",
    ),
    "pickle": (pickle.dumps({"a": [1, 2, 3]}, protocol=2), "PyTorch pickle/zip"),
    "pickle_tiny": (pickle.dumps(1, protocol=2), "PyTorch pickle/zip"),
    "zip": (b"PK\x03\x04" + b"\x14\x00\x00\x00\x08\x00" + b"\0" * 64, "PyTorch pickle/zip"),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_files_raise_clear_errors(name, tmp_path):
    data, phrase = MALFORMED[name]
    path = tmp_path / f"{name}.safetensors"
    path.write_bytes(data)
    with pytest.raises(LoadError) as info:
        chaingrad.load(path)
    msg = str(info.value)
    assert isinstance(info.value, ValueError)
    assert phrase in msg, msg
    assert str(path) in msg  # names the file
    with pytest.raises(LoadError, match="<bytes>"):
        chaingrad.load(data)


def test_real_torch_checkpoints_are_refused(tmp_path):
    torch = pytest.importorskip("torch")
    for legacy in (False, True):
        path = tmp_path / f"model{legacy}.pt"
        torch.save({"w": torch.ones(2)}, path, _use_new_zipfile_serialization=not legacy)
        with pytest.raises(LoadError, match="looks like a PyTorch pickle/zip checkpoint"):
            chaingrad.load(path)


def test_valid_file_whose_length_byte_resembles_pickle(tmp_path):
    # A header length of 0x280 makes the file start with b"\x80\x02", like a pickle.
    header = {"a": entry(shape=(0,), offsets=(0, 0))}
    raw = json.dumps(header).encode()
    raw += b" " * (0x280 - len(raw))
    data = st_bytes(raw)
    assert data[:2] == b"\x80\x02"
    back = chaingrad.load(data)
    assert tuple(back["a"].shape) == (0,)
