"""Tensors as MPI buffers: a numpy view of the tensor's own memory (zero-copy when contiguous,
packed once otherwise), and the cross-rank agreement check that runs before each collective."""

from __future__ import annotations

from typing import Any, Callable, List, Optional, Sequence, Tuple

import numpy as np

import chaingrad

from ._group import ProcessGroup

_DTYPE_CODES = {np.dtype(np.float32): 1, np.dtype(np.float64): 2, np.dtype(np.int64): 3, np.dtype(np.bool_): 4}
_CODE_NAMES = {0: "none", 1: "float32", 2: "float64", 3: "int64", 4: "bool"}
_MAX_DIMS = 12
_SIG_LEN = 4 + _MAX_DIMS  # [invalid-args flag, root, dtype code, ndim, dims...]


def _check_tensor(tensor: Any, arg: str) -> None:
    if not isinstance(tensor, chaingrad.Tensor):
        raise TypeError(f"Invalid function argument: {arg} should be a Tensor, got {type(tensor).__name__}")


class Buffer:
    """The memory of one tensor as a C-contiguous numpy array MPI can read and write.

    A contiguous tensor is handed over as a view (no copy); a non-contiguous one is packed once
    into a temporary, and :meth:`unpack` writes the result back into the tensor.
    """

    def __init__(self, tensor: Any, arg: str = "tensor") -> None:
        _check_tensor(tensor, arg)
        view = tensor.detach().numpy()
        if view.dtype not in _DTYPE_CODES:
            raise TypeError(f"chaingrad.distributed does not support tensors of dtype {tensor.dtype}")
        self.view = view
        self.array = view if view.flags.c_contiguous else np.ascontiguousarray(view)

    @property
    def packed(self) -> bool:
        return self.array is not self.view

    def unpack(self) -> None:
        if self.packed:
            np.copyto(self.view, self.array)


def describe(shape: Sequence[int], dtype_code: int) -> str:
    return f"shape {[int(d) for d in shape]} ({_CODE_NAMES.get(dtype_code, '?')})"


def signature(array: Optional[np.ndarray], root: int = -1, invalid: bool = False) -> np.ndarray:
    """What every rank must agree on: shape, dtype and root, plus a flag for bad local arguments."""
    sig = np.zeros(_SIG_LEN, dtype=np.int64)
    sig[0], sig[1] = int(invalid), root
    if array is not None:
        dims = list(array.shape)
        if len(dims) > _MAX_DIMS:  # fold the tail: still catches any difference in element count
            dims = dims[: _MAX_DIMS - 1] + [int(np.prod(dims[_MAX_DIMS - 1 :]))]
        sig[2], sig[3] = _DTYPE_CODES[array.dtype], array.ndim
        sig[4 : 4 + len(dims)] = dims
    return sig


def _sig_shape(sig: np.ndarray) -> Tuple[List[int], int]:
    return [int(d) for d in sig[4 : 4 + min(int(sig[3]), _MAX_DIMS)]], int(sig[2])


def agree(pg: ProcessGroup, op: str, array: Optional[np.ndarray], root: int = -1,
          local_error: Optional[Exception] = None) -> None:
    """Raise the same error on every rank when the ranks disagree about a collective's tensors
    (shape, dtype, root) or when one of them passed invalid arguments, instead of letting MPI
    mix up mismatched buffers or wait forever. Costs one small all-gather."""
    if not pg.check:
        if local_error is not None:
            raise local_error
        return
    mine = signature(array, root, invalid=local_error is not None)
    every = np.empty((pg.size(), _SIG_LEN), dtype=np.int64)
    if pg.timeout is None:
        pg.comm.Allgather(mine, every)
    else:  # a rank that never arrives must not block this one past the timeout
        from ._collectives import Work

        Work(pg.comm.Iallgather(mine, every), pg, op=op).wait()
    if local_error is not None:
        raise local_error
    bad = [r for r in range(pg.size()) if every[r, 0]]
    if bad:
        raise RuntimeError(f"{op}: rank {bad[0]} passed invalid arguments to the collective (see its error)")
    if np.any(every[:, 1] != every[0, 1]):
        roots = ", ".join(f"rank {r}: {int(every[r, 1])}" for r in range(pg.size()))
        raise RuntimeError(f"{op}: ranks disagree about the root ({roots})")
    for r in range(pg.size()):
        if np.any(every[r, 2:] != every[0, 2:]):
            raise RuntimeError(
                f"{op}: tensors differ across ranks: rank 0 has {describe(*_sig_shape(every[0]))}, "
                f"rank {r} has {describe(*_sig_shape(every[r]))}"
            )


def check_list(tensors: Any, like: np.ndarray, world_size: int, arg: str) -> List[Buffer]:
    """The ``world_size`` tensors of a list argument, each shaped and typed like ``like``."""
    if not isinstance(tensors, (list, tuple)):
        raise TypeError(f"Invalid function argument: {arg} should be a list of Tensors")
    if len(tensors) != world_size:
        raise ValueError(f"{arg} must have {world_size} tensors (the world size), got {len(tensors)}")
    bufs = [Buffer(t, arg) for t in tensors]
    for i, b in enumerate(bufs):
        if b.view.shape != like.shape or b.view.dtype != like.dtype:
            raise ValueError(
                f"{arg}[{i}] has shape {list(b.view.shape)} ({b.view.dtype}) but the collective needs "
                f"shape {list(like.shape)} ({like.dtype})"
            )
    return bufs


def guarded(fn: Callable[[], Any]) -> Tuple[Any, Optional[Exception]]:
    """Run a local argument check, keeping its error for :func:`agree` to raise on every rank."""
    try:
        return fn(), None
    except (TypeError, ValueError, RuntimeError) as err:
        return None, err
