"""Collectives and point-to-point messages on tensors, with ``torch.distributed``'s names.

Each collective first checks (one small all-gather) that every rank passes tensors of the same
shape and dtype, so a mismatch raises the same clear error everywhere instead of corrupting
memory or hanging; then the tensors' memory goes to MPI directly.
"""

from __future__ import annotations

import enum
import time
from typing import Any, Callable, List, Optional

import numpy as np

from ._buffers import Buffer, agree, check_list, describe, guarded, signature
from ._group import ProcessGroup, _default_group, _mpi


class ReduceOp(enum.IntEnum):
    """How :func:`all_reduce` and friends combine the ranks' tensors (PyTorch's names)."""

    SUM = 0
    AVG = 1
    PRODUCT = 2
    MIN = 3
    MAX = 4
    BAND = 5
    BOR = 6
    BXOR = 7

    def __repr__(self) -> str:
        return f"<RedOpType.{self.name}: {self.value}>"

    def __str__(self) -> str:
        return f"RedOpType.{self.name}"


class Work:
    """Handle of a collective started with ``async_op=True``: :meth:`wait` blocks until it is
    done (and its result is in the output tensors)."""

    def __init__(self, requests: Any, pg: ProcessGroup, finish: Optional[Callable[[], None]] = None,
                 op: str = "collective") -> None:
        self._requests = list(requests) if isinstance(requests, (list, tuple)) else [requests]
        self._pg = pg
        self._finish = finish
        self._op = op
        self._done = False

    def _complete(self) -> None:
        self._done = True
        if self._finish is not None:
            finish, self._finish = self._finish, None
            finish()

    def wait(self, timeout: Any = None) -> bool:
        """Block until the operation has finished; ``timeout`` (a ``timedelta``, default: the
        group's) raises ``RuntimeError`` instead of waiting longer."""
        if self._done:
            return True
        MPI = _mpi()
        limit = timeout if timeout is not None else self._pg.timeout
        if limit is None:
            MPI.Request.Waitall(self._requests)
        else:
            deadline = time.monotonic() + limit.total_seconds()
            while not MPI.Request.Testall(self._requests):
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"[rank {self._pg.rank()}] {self._op} timed out after {limit.total_seconds():g} s "
                        "waiting for the other ranks"
                    )
                time.sleep(0)
        self._complete()
        return True

    def is_completed(self) -> bool:
        """Whether the operation has finished (never blocks)."""
        if not self._done and _mpi().Request.Testall(self._requests):
            self._complete()
        return self._done

    def is_success(self) -> bool:
        return self.is_completed()


def _run(pg: ProcessGroup, op: str, async_op: bool, start: Callable[[], Any], blocking: Callable[[], None],
         finish: Optional[Callable[[], None]] = None) -> Optional[Work]:
    """Start the non-blocking form and return its :class:`Work` for ``async_op``; otherwise run
    the blocking form (the fastest path, as raw mpi4py) unless a timeout needs polling."""
    if async_op or pg.timeout is not None:
        work = Work(start(), pg, finish, op)
        if async_op:
            return work
        work.wait()
        return None
    blocking()
    if finish is not None:
        finish()
    return None


def _mpi_op(op: Any, dtype: np.dtype) -> Any:
    MPI = _mpi()
    op = ReduceOp(op)
    if dtype == np.bool_:
        table = {ReduceOp.SUM: MPI.LOR, ReduceOp.MAX: MPI.LOR, ReduceOp.BOR: MPI.LOR, ReduceOp.PRODUCT: MPI.LAND,
                 ReduceOp.MIN: MPI.LAND, ReduceOp.BAND: MPI.LAND, ReduceOp.BXOR: MPI.LXOR}
        if op not in table:
            raise ValueError(f"ReduceOp.{op.name} is not supported on bool tensors")
        return table[op]
    if op in (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR) and dtype.kind == "f":
        raise ValueError(f"ReduceOp.{op.name} is not supported on floating-point tensors")
    return {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD, ReduceOp.MIN: MPI.MIN,
            ReduceOp.MAX: MPI.MAX, ReduceOp.BAND: MPI.BAND, ReduceOp.BOR: MPI.BOR, ReduceOp.BXOR: MPI.BXOR}[op]


def _divide(array: np.ndarray, n: int) -> None:
    """AVG is SUM then a division; integers divide truncating toward zero, as C (and NCCL) do."""
    if array.dtype.kind == "f":
        np.divide(array, n, out=array)
    else:
        np.copyto(array, np.sign(array) * (np.abs(array) // n))


def _finisher(*steps: Optional[Callable[[], None]]) -> Callable[[], None]:
    def finish() -> None:
        for step in steps:
            if step is not None:
                step()

    return finish


def all_reduce(tensor: Any, op: Any = ReduceOp.SUM, group: Optional[ProcessGroup] = None,
               async_op: bool = False) -> Optional[Work]:
    """Combine ``tensor`` across all ranks with ``op``, in place; every rank gets the result."""
    pg = _default_group(group)
    buf, err = guarded(lambda: Buffer(tensor))
    mpi_op, err = (guarded(lambda: _mpi_op(op, buf.array.dtype)) if err is None else (None, err))
    agree(pg, "all_reduce", None if buf is None else buf.array, local_error=err)
    a = buf.array
    MPI = _mpi()
    avg = (lambda: _divide(a, pg.size())) if ReduceOp(op) == ReduceOp.AVG else None
    return _run(pg, "all_reduce", async_op, lambda: pg.comm.Iallreduce(MPI.IN_PLACE, a, mpi_op),
                lambda: pg.comm.Allreduce(MPI.IN_PLACE, a, mpi_op), _finisher(avg, buf.unpack))


def reduce(tensor: Any, dst: Optional[int] = None, op: Any = ReduceOp.SUM, group: Optional[ProcessGroup] = None,
           async_op: bool = False, group_dst: Optional[int] = None) -> Optional[Work]:
    """Combine ``tensor`` across ranks into rank ``dst``'s tensor (the others are unchanged)."""
    pg = _default_group(group)
    root, err = guarded(lambda: _root(dst, group_dst, pg, "dst"))
    buf, err = guarded(lambda: Buffer(tensor)) if err is None else (None, err)
    mpi_op, err = (guarded(lambda: _mpi_op(op, buf.array.dtype)) if err is None else (None, err))
    agree(pg, "reduce", None if buf is None else buf.array, root if root is not None else -1, err)
    a, MPI, me = buf.array, _mpi(), pg.rank()
    send = MPI.IN_PLACE if me == root else a
    recv = a if me == root else None
    avg = (lambda: _divide(a, pg.size())) if ReduceOp(op) == ReduceOp.AVG and me == root else None
    return _run(pg, "reduce", async_op, lambda: pg.comm.Ireduce(send, recv, mpi_op, root),
                lambda: pg.comm.Reduce(send, recv, mpi_op, root), _finisher(avg, buf.unpack if me == root else None))


def _root(rank: Optional[int], group_rank: Optional[int], pg: ProcessGroup, name: str) -> int:
    if rank is not None and group_rank is not None:
        raise ValueError(f"Can not specify both {name} and group_{name}")
    root = rank if rank is not None else group_rank
    if root is None:
        root = 0
    if not isinstance(root, (int, np.integer)) or not 0 <= root < pg.size():
        raise ValueError(f"Invalid {name} rank {root}: it should be in the interval [0, {pg.size() - 1}]")
    return int(root)


def broadcast(tensor: Any, src: Optional[int] = None, group: Optional[ProcessGroup] = None, async_op: bool = False,
              group_src: Optional[int] = None) -> Optional[Work]:
    """Copy rank ``src``'s ``tensor`` into ``tensor`` on every other rank."""
    pg = _default_group(group)
    root, err = guarded(lambda: _root(src, group_src, pg, "src"))
    buf, err = guarded(lambda: Buffer(tensor)) if err is None else (None, err)
    agree(pg, "broadcast", None if buf is None else buf.array, root if root is not None else -1, err)
    a = buf.array
    return _run(pg, "broadcast", async_op, lambda: pg.comm.Ibcast(a, root), lambda: pg.comm.Bcast(a, root),
                buf.unpack)


def _copy_rows(rows: np.ndarray, outputs: List[Buffer]) -> Callable[[], None]:
    def finish() -> None:
        for row, out in zip(rows, outputs):
            np.copyto(out.view, row)

    return finish


def all_gather(tensor_list: List[Any], tensor: Any, group: Optional[ProcessGroup] = None,
               async_op: bool = False) -> Optional[Work]:
    """Every rank's ``tensor`` into ``tensor_list[rank]``, on every rank. The list's tensors are
    separate memory, so the gathered data is copied into them once (use
    :func:`all_gather_into_tensor` for no copy)."""
    pg = _default_group(group)
    buf, err = guarded(lambda: Buffer(tensor))
    outs, err = guarded(lambda: check_list(tensor_list, buf.array, pg.size(), "tensor_list")) if err is None \
        else (None, err)
    agree(pg, "all_gather", None if buf is None else buf.array, local_error=err)
    rows = np.empty((pg.size(),) + buf.array.shape, dtype=buf.array.dtype)
    a = buf.array
    return _run(pg, "all_gather", async_op, lambda: pg.comm.Iallgather(a, rows), lambda: pg.comm.Allgather(a, rows),
                _copy_rows(rows, outs))


def all_gather_into_tensor(output_tensor: Any, input_tensor: Any, group: Optional[ProcessGroup] = None,
                           async_op: bool = False) -> Optional[Work]:
    """Every rank's ``input_tensor`` concatenated along dim 0 into ``output_tensor``, no copy."""
    pg = _default_group(group)

    def buffers() -> Any:
        out, inp = Buffer(output_tensor, "output_tensor"), Buffer(input_tensor, "input_tensor")
        if out.array.size != inp.array.size * pg.size() or out.array.dtype != inp.array.dtype:
            raise ValueError(
                f"output tensor must have world_size ({pg.size()}) times the elements of the input tensor and "
                f"its dtype, got {list(out.array.shape)} ({out.array.dtype}) and {list(inp.array.shape)} "
                f"({inp.array.dtype})")
        return out, inp

    bufs, err = guarded(buffers)
    agree(pg, "all_gather_into_tensor", None if bufs is None else bufs[1].array, local_error=err)
    out, inp = bufs
    return _run(pg, "all_gather_into_tensor", async_op, lambda: pg.comm.Iallgather(inp.array, out.array),
                lambda: pg.comm.Allgather(inp.array, out.array), out.unpack)


def reduce_scatter(output: Any, input_list: List[Any], op: Any = ReduceOp.SUM, group: Optional[ProcessGroup] = None,
                   async_op: bool = False) -> Optional[Work]:
    """Combine ``input_list[r]`` across ranks with ``op``; rank ``r`` gets it in ``output``. The
    list is packed into one send buffer once."""
    pg = _default_group(group)
    buf, err = guarded(lambda: Buffer(output, "output"))
    ins, err = guarded(lambda: check_list(input_list, buf.array, pg.size(), "input_list")) if err is None \
        else (None, err)
    mpi_op, err = guarded(lambda: _mpi_op(op, buf.array.dtype)) if err is None else (None, err)
    agree(pg, "reduce_scatter", None if buf is None else buf.array, local_error=err)
    send = np.stack([b.view for b in ins]) if ins else None
    a = buf.array
    avg = (lambda: _divide(a, pg.size())) if ReduceOp(op) == ReduceOp.AVG else None
    return _run(pg, "reduce_scatter", async_op, lambda: pg.comm.Ireduce_scatter_block(send, a, mpi_op),
                lambda: pg.comm.Reduce_scatter_block(send, a, mpi_op), _finisher(avg, buf.unpack))


def reduce_scatter_tensor(output: Any, input: Any, op: Any = ReduceOp.SUM, group: Optional[ProcessGroup] = None,
                          async_op: bool = False) -> Optional[Work]:
    """Like :func:`reduce_scatter` with the inputs concatenated along dim 0 in one tensor, no copy."""
    pg = _default_group(group)

    def buffers() -> Any:
        out, inp = Buffer(output, "output"), Buffer(input, "input")
        if inp.array.size != out.array.size * pg.size() or out.array.dtype != inp.array.dtype:
            raise ValueError(f"input tensor must have world_size ({pg.size()}) times the elements of the output "
                             "tensor and its dtype")
        return out, inp

    bufs, err = guarded(buffers)
    mpi_op, err = guarded(lambda: _mpi_op(op, bufs[0].array.dtype)) if err is None else (None, err)
    agree(pg, "reduce_scatter_tensor", None if bufs is None else bufs[0].array, local_error=err)
    out, inp = bufs
    avg = (lambda: _divide(out.array, pg.size())) if ReduceOp(op) == ReduceOp.AVG else None
    return _run(pg, "reduce_scatter_tensor", async_op,
                lambda: pg.comm.Ireduce_scatter_block(inp.array, out.array, mpi_op),
                lambda: pg.comm.Reduce_scatter_block(inp.array, out.array, mpi_op), _finisher(avg, out.unpack))


def gather(tensor: Any, gather_list: Optional[List[Any]] = None, dst: Optional[int] = None,
           group: Optional[ProcessGroup] = None, async_op: bool = False,
           group_dst: Optional[int] = None) -> Optional[Work]:
    """Every rank's ``tensor`` into ``gather_list`` on rank ``dst`` (default 0)."""
    pg = _default_group(group)
    me = pg.rank()

    def check() -> Any:
        root = _root(dst, group_dst, pg, "dst")
        buf = Buffer(tensor)
        if me == root:
            if gather_list is None:
                raise ValueError("Argument ``gather_list`` must be specified on destination rank.")
            return root, buf, check_list(gather_list, buf.array, pg.size(), "gather_list")
        if gather_list:
            raise ValueError("Argument ``gather_list`` must NOT be specified on non-destination ranks.")
        return root, buf, []

    parts, err = guarded(check)
    agree(pg, "gather", None if parts is None else parts[1].array, -1 if parts is None else parts[0], err)
    root, buf, outs = parts
    rows = np.empty((pg.size(),) + buf.array.shape, dtype=buf.array.dtype) if me == root else None
    a = buf.array
    return _run(pg, "gather", async_op, lambda: pg.comm.Igather(a, rows, root), lambda: pg.comm.Gather(a, rows, root),
                _copy_rows(rows, outs) if me == root else None)


def scatter(tensor: Any, scatter_list: Optional[List[Any]] = None, src: Optional[int] = None,
            group: Optional[ProcessGroup] = None, async_op: bool = False,
            group_src: Optional[int] = None) -> Optional[Work]:
    """``scatter_list[r]`` of rank ``src`` (default 0) into ``tensor`` on rank ``r``."""
    pg = _default_group(group)
    me = pg.rank()

    def check() -> Any:
        root = _root(src, group_src, pg, "src")
        buf = Buffer(tensor)
        if me == root:
            if scatter_list is None:
                raise ValueError("Argument ``scatter_list`` must be specified on source rank.")
            return root, buf, check_list(scatter_list, buf.array, pg.size(), "scatter_list")
        if scatter_list:
            raise ValueError("Argument ``scatter_list`` must NOT be specified on non-source ranks.")
        return root, buf, []

    parts, err = guarded(check)
    agree(pg, "scatter", None if parts is None else parts[1].array, -1 if parts is None else parts[0], err)
    root, buf, ins = parts
    send = np.stack([b.view for b in ins]) if me == root else None
    a = buf.array
    return _run(pg, "scatter", async_op, lambda: pg.comm.Iscatter(send, a, root),
                lambda: pg.comm.Scatter(send, a, root), buf.unpack)


# ------------------------------------------------------------------ point to point
# Each message is a small header (dtype and shape) followed by the data: MPI delivers messages
# between two ranks with one tag in order, so the receiver checks the header before the data.


def _peer(rank: Optional[int], group_rank: Optional[int], pg: ProcessGroup, name: str, allow_any: bool) -> int:
    if rank is None and group_rank is None:
        if allow_any:
            return _mpi().ANY_SOURCE
        raise ValueError(f"{name} must be given")
    peer = _root(rank, group_rank, pg, name)
    if peer == pg.rank():
        raise ValueError(f"Invalid {name} rank {peer}: a rank cannot {'send to' if name == 'dst' else 'receive from'} "
                         "itself")
    return peer


def send(tensor: Any, dst: Optional[int] = None, group: Optional[ProcessGroup] = None, tag: int = 0,
         group_dst: Optional[int] = None) -> None:
    """Send ``tensor`` to rank ``dst`` (blocks until MPI has taken the data)."""
    isend(tensor, dst, group, tag, group_dst).wait()


def isend(tensor: Any, dst: Optional[int] = None, group: Optional[ProcessGroup] = None, tag: int = 0,
          group_dst: Optional[int] = None) -> Work:
    """Start sending ``tensor`` to rank ``dst``; do not modify it before the returned work is done."""
    pg = _default_group(group)
    peer = _peer(dst, group_dst, pg, "dst", allow_any=False)
    buf = Buffer(tensor)
    header = signature(buf.array)
    reqs = [pg.comm.Isend(header, peer, tag), pg.comm.Isend(buf.array, peer, tag)]
    return Work(reqs, pg, op="send", finish=lambda: header)  # keeps the header alive until sent


def _check_header(header: np.ndarray, expected: np.ndarray, source: int, me: int) -> None:
    if np.any(header[2:] != expected[2:]):
        got = [int(d) for d in header[4 : 4 + int(header[3])]]
        raise RuntimeError(
            f"recv: rank {source} sent a tensor of {describe(got, int(header[2]))} but rank {me} expects "
            f"{describe(list(expected[4 : 4 + int(expected[3])]), int(expected[2]))}"
        )


def recv(tensor: Any, src: Optional[int] = None, group: Optional[ProcessGroup] = None, tag: int = 0,
         group_src: Optional[int] = None) -> int:
    """Receive into ``tensor`` from rank ``src`` (default: any rank); returns the sender's rank.
    A message of another shape or dtype raises ``RuntimeError`` naming the sender and both shapes."""
    pg = _default_group(group)
    MPI = _mpi()
    peer = _peer(src, group_src, pg, "src", allow_any=True)
    buf = Buffer(tensor)
    expected = signature(buf.array)
    header = np.empty_like(expected)
    status = MPI.Status()
    pg.comm.Recv(header, peer, tag, status)
    source = status.Get_source()
    if np.any(header[2:] != expected[2:]):
        got_shape = [int(d) for d in header[4 : 4 + int(header[3])]]
        dtype = {1: np.float32, 2: np.float64, 3: np.int64, 4: np.bool_}[int(header[2])]
        pg.comm.Recv(np.empty(got_shape, dtype=dtype), source, tag)  # consume it: the channel stays in order
        _check_header(header, expected, source, pg.rank())
    pg.comm.Recv(buf.array, source, tag)
    buf.unpack()
    return source


def irecv(tensor: Any, src: Optional[int] = None, group: Optional[ProcessGroup] = None, tag: int = 0,
          group_src: Optional[int] = None) -> Work:
    """Start receiving into ``tensor`` from rank ``src`` (required here: the header and data
    must come from one sender); the returned work's ``wait()`` checks the shape."""
    pg = _default_group(group)
    peer = _peer(src, group_src, pg, "src", allow_any=False)
    buf = Buffer(tensor)
    expected = signature(buf.array)
    header = np.empty_like(expected)
    reqs = [pg.comm.Irecv(header, peer, tag), pg.comm.Irecv(buf.array, peer, tag)]

    def finish() -> None:
        _check_header(header, expected, peer, pg.rank())
        buf.unpack()

    return Work(reqs, pg, finish, op="recv")


# ------------------------------------------------------------------ Python objects (pickled)


def all_gather_object(object_list: List[Any], obj: Any, group: Optional[ProcessGroup] = None) -> None:
    """Every rank's picklable ``obj`` into ``object_list[rank]``."""
    pg = _default_group(group)
    if len(object_list) != pg.size():
        raise ValueError(f"object_list must have {pg.size()} entries (the world size), got {len(object_list)}")
    object_list[:] = pg.comm.allgather(obj)


def broadcast_object_list(object_list: List[Any], src: Optional[int] = None, group: Optional[ProcessGroup] = None,
                          group_src: Optional[int] = None) -> None:
    """Rank ``src``'s picklable objects into ``object_list`` on every rank."""
    pg = _default_group(group)
    root = _root(src, group_src, pg, "src")
    object_list[:] = pg.comm.bcast(list(object_list) if pg.rank() == root else None, root)
