"""Run under mpiexec (2 or 3 ranks): bad arguments raise the same clear error on every rank
(naming the rank and the shapes) instead of hanging, and the group stays usable afterwards."""

from __future__ import annotations

import gc

import chaingrad as torch
import chaingrad.distributed as dist
import numpy as np
from chaingrad import nn
from chaingrad.nn.parallel import DistributedDataParallel as DDP

# Workaround for an engine bug (reported): a garbage-collection pass that runs while the first
# Parameter of the process is being constructed segfaults in chaingrad's Tensor traverse. Build
# one with the collector paused so that pybind11's type cache for Parameter exists beforehand.
gc.disable()
nn.Parameter(torch.zeros(1))
gc.enable()

try:
    DDP(nn.Linear(2, 2))
except ValueError as err:
    assert "Default process group has not been initialized" in str(err)
else:
    raise AssertionError("DDP before init_process_group must raise")

dist.init_process_group("mpi")
RANK, WORLD = dist.get_rank(), dist.get_world_size()
LAST = WORLD - 1


def expect(exc_type: type, *fragments: str):
    """Decorator-free helper: run ``fn`` and check it raises ``exc_type`` with every fragment."""

    def run(fn):
        try:
            fn()
        except exc_type as err:
            for frag in fragments:
                assert frag in str(err), f"rank {RANK}: {frag!r} not in {str(err)!r}"
        else:
            raise AssertionError(f"rank {RANK}: expected {exc_type.__name__}")

    return run


def still_works() -> None:
    t = torch.ones(2)
    dist.all_reduce(t)
    assert np.all(t.numpy() == WORLD)


# Shapes differ on the last rank: every rank raises, naming that rank and both shapes.
shape = (2, 3) if RANK != LAST else (3,)
expect(RuntimeError, "all_reduce", f"rank {LAST} has shape [3] (float32)", "rank 0 has shape [2, 3] (float32)")(
    lambda: dist.all_reduce(torch.ones(*shape)))
still_works()

# Dtypes differ.
dtype = torch.float64 if RANK == LAST else torch.float32
expect(RuntimeError, "broadcast", f"rank {LAST} has shape [4] (float64)")(
    lambda: dist.broadcast(torch.zeros(4, dtype=dtype), src=0))
still_works()

# Ranks disagree about the root.
expect(RuntimeError, "broadcast", "disagree about the root")(
    lambda: dist.broadcast(torch.zeros(4), src=0 if RANK else LAST))

# One rank passes a list of the wrong length: it gets the precise error, the others a pointer to it.
if RANK == LAST:
    expect(ValueError, f"tensor_list must have {WORLD} tensors")(
        lambda: dist.all_gather([torch.zeros(2)], torch.zeros(2)))
else:
    expect(RuntimeError, f"rank {LAST} passed invalid arguments")(
        lambda: dist.all_gather([torch.zeros(2) for _ in range(WORLD)], torch.zeros(2)))
still_works()

# Out-of-range roots are caught before MPI sees them.
expect(ValueError, f"Invalid src rank {WORLD}")(lambda: dist.broadcast(torch.zeros(1), src=WORLD))
gather_with_list_everywhere = lambda: dist.gather(torch.zeros(1), [torch.zeros(1)] * WORLD, dst=LAST)  # noqa: E731
if RANK == LAST:
    expect(RuntimeError, "rank 0 passed invalid arguments")(gather_with_list_everywhere)
else:
    expect(ValueError, "Argument ``gather_list`` must NOT be specified on non-destination ranks.")(
        gather_with_list_everywhere)
still_works()

# A message of the wrong shape: the receiver names the sender and both shapes; the channel stays in order.
if RANK == 0:
    dist.send(torch.ones(3), dst=1)
    dist.send(torch.full((4,), 7.0), dst=1)
elif RANK == 1:
    expect(RuntimeError, "recv: rank 0 sent a tensor of shape [3] (float32) but rank 1 expects shape [4] (float32)")(
        lambda: dist.recv(torch.zeros(4), src=0))
    box = torch.zeros(4)
    dist.recv(box, src=0)
    assert np.all(box.numpy() == 7.0)
expect(ValueError, "cannot send to itself")(lambda: dist.send(torch.ones(1), dst=RANK))

# Unsupported reductions.
expect(ValueError, "BAND")(lambda: dist.all_reduce(torch.ones(2), op=dist.ReduceOp.BAND))
still_works()

# DDP over models that differ across ranks.
width = 5 if RANK == LAST else 4
expect(RuntimeError, "DistributedDataParallel", f"on rank {LAST}", "[4, 3]", f"[{width}, 3]")(
    lambda: DDP(nn.Linear(3, width)))

dist.barrier()
print(f"rank {RANK}: OK", flush=True)
