"""The default process group: MPI start-up, rank and size, barrier and tear-down."""

from __future__ import annotations

import datetime
import os
import sys
import traceback
from typing import Any, Optional

_NOT_INITIALIZED = "Default process group has not been initialized, please make sure to call init_process_group."


class ProcessGroup:
    """A set of processes that run collectives together: a private duplicate of an MPI
    communicator, so that chaingrad's messages never mix with the user's own MPI traffic."""

    def __init__(self, comm: Any, timeout: Optional[datetime.timedelta] = None) -> None:
        self.comm = comm
        self.timeout = timeout
        # CHAINGRAD_DISTRIBUTED_CHECKS=0 skips the cross-rank shape check before each collective
        # (one small all-gather): faster for small tensors, but a mismatch is then undefined, as in MPI.
        self.check = os.environ.get("CHAINGRAD_DISTRIBUTED_CHECKS", "1") != "0"

    def rank(self) -> int:
        return self.comm.Get_rank()

    def size(self) -> int:
        return self.comm.Get_size()

    def name(self) -> str:
        return "mpi"

    def __repr__(self) -> str:
        return f"ProcessGroup(backend='mpi', rank={self.rank()}, size={self.size()})"


class GroupMember:
    """``GroupMember.WORLD`` is the default group once :func:`init_process_group` has run."""

    WORLD: Optional[ProcessGroup] = None
    NON_GROUP_MEMBER = -100


class _World:
    """``group.WORLD``, read live so it follows init and destroy."""

    @property
    def WORLD(self) -> Optional[ProcessGroup]:  # noqa: N802 - PyTorch's name
        return GroupMember.WORLD


group = _World()
_previous_excepthook: Any = None


def is_available() -> bool:
    """True: this module imports only when mpi4py is installed."""
    return True


def is_mpi_available() -> bool:
    """True: MPI is the backend chaingrad.distributed is built on."""
    return True


def is_initialized() -> bool:
    """Whether :func:`init_process_group` has run (and :func:`destroy_process_group` has not)."""
    return GroupMember.WORLD is not None


def _mpi() -> Any:
    from mpi4py import MPI  # started here, not at import: MPI_Init_thread runs on first import

    return MPI


def init_process_group(
    backend: Optional[str] = None,
    init_method: Optional[str] = None,
    timeout: Optional[datetime.timedelta] = None,
    world_size: int = -1,
    rank: int = -1,
    store: Any = None,
    group_name: str = "",
    pg_options: Any = None,
    device_id: Any = None,
) -> None:
    """Join the job started by ``mpiexec``: every process calls this once.

    Rank and world size come from MPI; ``world_size``/``rank``, when given, must agree with it.
    ``timeout`` bounds every blocking collective and :meth:`Work.wait` (MPI itself has no
    timeouts: without it a collective waits for as long as its peers are alive). Once the group
    exists, an uncaught exception on any rank prints its traceback and aborts the whole job
    (``MPI_Abort``), so the other ranks stop instead of waiting forever in a collective.
    """
    global _previous_excepthook
    if backend is not None and str(backend).lower() != "mpi":
        raise ValueError(
            f"chaingrad.distributed supports only the 'mpi' backend, got backend={backend!r}"
        )
    if init_method is not None and init_method != "env://":
        raise ValueError(
            f"init_method={init_method!r} is not used with MPI: processes are started and connected by mpiexec"
        )
    if is_initialized():
        raise ValueError("trying to initialize the default process group twice!")
    if timeout is not None and not isinstance(timeout, datetime.timedelta):
        raise TypeError(f"Expected timeout argument to be of type datetime.timedelta, got {type(timeout).__name__}")
    MPI = _mpi()
    world = MPI.COMM_WORLD
    if world_size not in (-1, world.Get_size()):
        raise ValueError(f"world_size={world_size} does not match the MPI job, which has {world.Get_size()} processes")
    if rank not in (-1, world.Get_rank()):
        raise ValueError(f"rank={rank} does not match this process's MPI rank {world.Get_rank()}")
    GroupMember.WORLD = ProcessGroup(world.Dup(), timeout)
    if world.Get_size() > 1 and _previous_excepthook is None:
        _previous_excepthook = sys.excepthook
        sys.excepthook = _abort_job_on_uncaught_exception


def _abort_job_on_uncaught_exception(exc_type: Any, exc: BaseException, tb: Any) -> None:
    """Print the traceback, then take the job down: peers blocked in a collective would
    otherwise wait for this rank forever."""
    rank = _mpi().COMM_WORLD.Get_rank()
    sys.stderr.write(f"[rank {rank}] uncaught exception, aborting the MPI job:\n")
    sys.stderr.write("".join(traceback.format_exception(exc_type, exc, tb)))
    sys.stderr.flush()
    _mpi().COMM_WORLD.Abort(1)


def _default_group(pg: Optional[ProcessGroup] = None) -> ProcessGroup:
    if pg is not None:
        if not isinstance(pg, ProcessGroup):
            raise TypeError(f"group must be a ProcessGroup or None, got {type(pg).__name__}")
        return pg
    if GroupMember.WORLD is None:
        raise ValueError(_NOT_INITIALIZED)
    return GroupMember.WORLD


def get_rank(group: Optional[ProcessGroup] = None) -> int:
    """This process's rank in ``group`` (default: the world), from 0 to world size - 1."""
    return _default_group(group).rank()


def get_world_size(group: Optional[ProcessGroup] = None) -> int:
    """The number of processes in ``group`` (default: the world)."""
    return _default_group(group).size()


def get_backend(group: Optional[ProcessGroup] = None) -> str:
    """The backend's name: always ``"mpi"``."""
    return _default_group(group).name()


def barrier(group: Optional[ProcessGroup] = None, async_op: bool = False, device_ids: Any = None) -> Any:
    """Block until every process of ``group`` has entered the barrier."""
    from ._collectives import Work

    pg = _default_group(group)
    work = Work(pg.comm.Ibarrier(), pg, op="barrier")
    if async_op:
        return work
    work.wait()
    return None


def destroy_process_group(group: Optional[ProcessGroup] = None) -> None:
    """Release the default group's communicator; :func:`init_process_group` may run again.
    MPI itself is finalized when the interpreter exits."""
    global _previous_excepthook
    pg = _default_group(group)
    pg.comm.Free()
    if pg is GroupMember.WORLD:
        GroupMember.WORLD = None
        if _previous_excepthook is not None:
            sys.excepthook = _previous_excepthook
            _previous_excepthook = None
