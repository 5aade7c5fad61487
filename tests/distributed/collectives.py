"""Run under mpiexec (2 or 3 ranks): every collective against a numpy reference, for every
ReduceOp and dtype, with contiguous and non-contiguous tensors, blocking and async."""

from __future__ import annotations

import os

import chaingrad as torch
import chaingrad.distributed as dist
import numpy as np
from chaingrad.distributed import ReduceOp

# Before init_process_group: PyTorch's error, and no MPI needed to ask.
assert not dist.is_initialized()
for call in (dist.get_rank, dist.get_world_size, dist.barrier, lambda: dist.all_reduce(torch.ones(2))):
    try:
        call()
    except ValueError as err:
        assert str(err) == (
            "Default process group has not been initialized, please make sure to call init_process_group."
        ), err
    else:
        raise AssertionError("expected ValueError before init_process_group")

dist.init_process_group(backend="mpi")
assert dist.is_initialized() and dist.get_backend() == "mpi"
RANK, WORLD = dist.get_rank(), dist.get_world_size()
try:
    dist.init_process_group("mpi")
except ValueError as err:
    assert "twice" in str(err)
else:
    raise AssertionError("expected an error on a second init_process_group")

# Zero-copy: a contiguous tensor reaches MPI as a view of its own memory; a strided one is packed.
from chaingrad.distributed._buffers import Buffer  # noqa: E402

dense = torch.zeros(4, 3)
assert np.shares_memory(Buffer(dense).array, dense.numpy()) and not Buffer(dense).packed
assert Buffer(dense.t()).packed and Buffer(dense.t()).array.flags.c_contiguous

NP = {torch.float32: np.float32, torch.float64: np.float64, torch.int64: np.int64}
TOL = {torch.float32: 1e-5, torch.float64: 1e-12, torch.int64: 0}
REFERENCE = {
    ReduceOp.SUM: lambda xs: np.sum(xs, axis=0),
    ReduceOp.PRODUCT: lambda xs: np.prod(xs, axis=0),
    ReduceOp.MIN: lambda xs: np.min(xs, axis=0),
    ReduceOp.MAX: lambda xs: np.max(xs, axis=0),
}


def data(rank: int, dtype: torch.dtype, shape: tuple = (3, 4), salt: int = 0) -> np.ndarray:
    """Rank ``rank``'s input, reproducible on every rank (so each can compute the reference)."""
    rng = np.random.default_rng(10 * rank + salt)
    if dtype == torch.int64:
        return rng.integers(-3, 4, size=shape).astype(np.int64)
    return (rng.uniform(0.5, 1.5, size=shape) * rng.choice([-1, 1], size=shape)).astype(NP[dtype])


def reference(op: ReduceOp, dtype: torch.dtype, shape: tuple = (3, 4), salt: int = 0) -> np.ndarray:
    xs = np.stack([data(r, dtype, shape, salt) for r in range(WORLD)])
    if op == ReduceOp.AVG:
        total = np.sum(xs, axis=0)
        return total / WORLD if dtype != torch.int64 else np.trunc(total / WORLD).astype(np.int64)
    return REFERENCE[op](xs)


def close(t: torch.Tensor, expected: np.ndarray, dtype: torch.dtype, what: str) -> None:
    got = t.numpy()
    assert got.dtype == expected.dtype, (what, got.dtype, expected.dtype)
    assert got.shape == expected.shape, (what, got.shape, expected.shape)
    tol = TOL[dtype]
    ok = np.array_equal(got, expected) if tol == 0 else np.allclose(got, expected, rtol=tol, atol=tol)
    assert ok, f"{what}: rank {RANK} got\n{got}\nexpected\n{expected}"


OPS = (ReduceOp.SUM, ReduceOp.AVG, ReduceOp.PRODUCT, ReduceOp.MIN, ReduceOp.MAX)
for dtype in (torch.float32, torch.float64, torch.int64):
    for op in OPS:
        what = f"all_reduce {op!r} {dtype}"
        t = torch.from_numpy(data(RANK, dtype).copy())
        assert dist.all_reduce(t, op=op) is None
        close(t, reference(op, dtype), dtype, what)
        # async: the result is in place once wait() returns
        t = torch.from_numpy(data(RANK, dtype, salt=1).copy())
        work = dist.all_reduce(t, op=op, async_op=True)
        assert work.wait() is True and work.is_completed()
        close(t, reference(op, dtype, salt=1), dtype, what + " async")
        # non-contiguous: a transposed view is packed, reduced, written back into the base
        base = torch.from_numpy(np.ascontiguousarray(data(RANK, dtype, (4, 3), salt=2).T).T.copy())
        view = base.t()
        assert not view.is_contiguous()
        dist.all_reduce(view, op=op)
        close(base, reference(op, dtype, (4, 3), salt=2), dtype, what + " non-contiguous")
        # reduce_scatter: rank r gets the reduction of every rank's input_list[r]
        out = torch.zeros(3, 4, dtype=dtype)
        ins = [torch.from_numpy(data(RANK, dtype, salt=10 + r)) for r in range(WORLD)]
        dist.reduce_scatter(out, ins, op=op)
        close(out, reference(op, dtype, salt=10 + RANK), dtype, f"reduce_scatter {op!r} {dtype}")
        # reduce to the last rank
        t = torch.from_numpy(data(RANK, dtype, salt=3).copy())
        dist.reduce(t, dst=WORLD - 1, op=op)
        close(t, reference(op, dtype, salt=3) if RANK == WORLD - 1 else data(RANK, dtype, salt=3), dtype,
              f"reduce {op!r} {dtype}")

    # broadcast from every source, all_gather, gather, scatter, all_gather_into_tensor
    for src in range(WORLD):
        t = torch.from_numpy(data(RANK, dtype, salt=4).copy())
        dist.broadcast(t, src=src)
        close(t, data(src, dtype, salt=4), dtype, f"broadcast from {src}")
    outs = [torch.zeros(3, 4, dtype=dtype) for _ in range(WORLD)]
    dist.all_gather(outs, torch.from_numpy(data(RANK, dtype, salt=5)))
    for r in range(WORLD):
        close(outs[r], data(r, dtype, salt=5), dtype, f"all_gather[{r}]")
    flat = torch.zeros(WORLD * 3, 4, dtype=dtype)
    dist.all_gather_into_tensor(flat, torch.from_numpy(data(RANK, dtype, salt=5)))
    close(flat, np.concatenate([data(r, dtype, salt=5) for r in range(WORLD)]), dtype, "all_gather_into_tensor")
    root = WORLD - 1
    gl = [torch.zeros(3, 4, dtype=dtype) for _ in range(WORLD)] if RANK == root else None
    dist.gather(torch.from_numpy(data(RANK, dtype, salt=6)), gl, dst=root)
    if RANK == root:
        for r in range(WORLD):
            close(gl[r], data(r, dtype, salt=6), dtype, f"gather[{r}]")
    t = torch.zeros(3, 4, dtype=dtype)
    sl = [torch.from_numpy(data(r, dtype, salt=7)) for r in range(WORLD)] if RANK == root else None
    dist.scatter(t, sl, src=root)
    close(t, data(RANK, dtype, salt=7), dtype, "scatter")

# send/recv around a ring (blocking and async), recv from any source returns the sender
nxt, prv = (RANK + 1) % WORLD, (RANK - 1) % WORLD
box = torch.zeros(5, dtype=torch.float64)
if RANK == 0:
    dist.send(torch.full((5,), float(RANK), dtype=torch.float64), dst=nxt)
    sender = dist.recv(box)
else:
    sender = dist.recv(box, src=prv)
    dist.send(torch.full((5,), float(RANK), dtype=torch.float64), dst=nxt)
assert sender == prv and np.all(box.numpy() == prv), (sender, box)
outgoing = torch.arange(6, dtype=torch.int64) + RANK
incoming = torch.zeros(6, dtype=torch.int64)
works = [dist.isend(outgoing, dst=nxt), dist.irecv(incoming, src=prv)]
for w in works:
    w.wait()
assert np.array_equal(incoming.numpy(), np.arange(6) + prv)

# barrier (sync and async); objects
dist.barrier()
dist.barrier(async_op=True).wait()
objs = [None] * WORLD
dist.all_gather_object(objs, {"rank": RANK})
assert objs == [{"rank": r} for r in range(WORLD)]
lst = [RANK, "x"]
dist.broadcast_object_list(lst, src=0)
assert lst == [0, "x"]

# bool tensors: SUM is logical or
flags = torch.from_numpy(np.array([RANK == 0, False]))
dist.all_reduce(flags)
assert flags.numpy().tolist() == [True, False]

dist.destroy_process_group()
assert not dist.is_initialized()

# The group can be created again; CHAINGRAD_DISTRIBUTED_CHECKS=0 skips the cross-rank check.
os.environ["CHAINGRAD_DISTRIBUTED_CHECKS"] = "0"
dist.init_process_group("mpi")
assert not dist.group.WORLD.check
t = torch.ones(3)
dist.all_reduce(t)
assert np.all(t.numpy() == WORLD)
dist.destroy_process_group()
print(f"rank {RANK}: OK", flush=True)
