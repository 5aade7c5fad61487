"""``chaingrad.device``: PyTorch's device type. chaingrad computes on the CPU only; naming another
device is accepted by ``device(...)`` itself and refused with PyTorch's error (a CPU-only PyTorch's)
wherever a tensor would be put there."""

from __future__ import annotations

from typing import Any, Optional, Union

__all__ = ["device", "check_device", "get_default_device", "set_default_device"]

_DEVICE_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve", "fpga", "maia",
                 "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia", "privateuseone")


class device:  # noqa: N801 - PyTorch's name
    """A device: ``device('cpu')``, ``device('cuda:0')``, ``device('cpu', 0)``."""

    __slots__ = ("_type", "_index")

    def __init__(self, type: Union[str, device], index: Optional[int] = None) -> None:  # noqa: A002
        if isinstance(type, device):
            self._type, self._index = type.type, type.index
            return
        if isinstance(type, bool) or not isinstance(type, (str, int)):
            raise TypeError(f"device() received an invalid combination of arguments - got ({_type_name(type)}), "
                            "but expected one of:\n * (torch.device device)\n      didn't match because some of the "
                            f"arguments have invalid types: (!{_type_name(type)}!)\n * (str type, int index = -1)\n")
        if isinstance(type, int):
            raise RuntimeError("Cannot access accelerator device when none is available.")
        kind, sep, idx = type.partition(":")
        if kind not in _DEVICE_TYPES:
            raise RuntimeError(f"Expected one of {', '.join(_DEVICE_TYPES)} device type at start of device string: "
                               f"{type}")
        if sep:
            if not idx.isdigit() or index is not None:
                raise RuntimeError(f"Invalid device string: '{type}'")
            index = int(idx)
        if index is not None and index < 0:
            raise RuntimeError(f"Device index must not be negative, got {index}")
        self._type, self._index = kind, index

    @property
    def type(self) -> str:  # noqa: A003
        return self._type

    @property
    def index(self) -> Optional[int]:
        return self._index

    def __repr__(self) -> str:
        if self._index is None:
            return f"device(type='{self._type}')"
        return f"device(type='{self._type}', index={self._index})"

    def __str__(self) -> str:
        return self._type if self._index is None else f"{self._type}:{self._index}"

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, device) and (self._type, self._index) == (other._type, other._index)

    def __hash__(self) -> int:
        return hash((self._type, self._index))

    def __reduce__(self) -> Any:
        return (device, (self._type, self._index))


def _type_name(x: Any) -> str:
    return type(x).__name__


CPU = device("cpu")
_default: device = CPU


def check_device(d: Any) -> device:
    """The CPU device for ``d`` (None: the default device), or PyTorch's error for another one."""
    if d is None:
        d = _default
    d = d if isinstance(d, device) else device(d)
    if d.type == "cpu":
        return CPU
    if d.type == "cuda":
        raise AssertionError("Torch not compiled with CUDA enabled")
    raise RuntimeError(f"PyTorch is not linked with support for {d.type} devices")


def set_default_device(d: Any) -> None:
    """Sets the device new tensors are made on (only the CPU exists; None resets it)."""
    global _default
    _default = CPU if d is None else device(d)


def get_default_device() -> device:
    """The device new tensors are made on."""
    return _default


class layout:  # noqa: N801 - PyTorch's name
    """A tensor's memory layout; chaingrad has one, ``chaingrad.strided`` (dense, with strides)."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"chaingrad.{self._name}"

    def __reduce__(self) -> Any:
        return (_layout_named, (self._name,))


strided = layout("strided")


def _layout_named(name: str) -> layout:
    return strided
