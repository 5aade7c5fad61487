"""``DistributedDataParallel``: one model replica per process, gradients averaged during backward.

Gradients are grouped into buckets in reverse parameter order (roughly the order backward
produces them). A post-accumulate-grad hook on every parameter counts the bucket's ready
gradients; when a bucket's last one arrives, its gradients are copied into the bucket's flat
buffer and a non-blocking MPI all-reduce starts on it, so communication overlaps the rest of
backward. Buckets start strictly in order (MPI needs every rank to issue collectives in the same
order); when the last one has started, backward's final hook waits for all of them and writes
the averaged gradients back into ``.grad``.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Optional

import numpy as np

import chaingrad

from ..modules.module import Module

_FIRST_BUCKET_BYTES = 1024 * 1024  # a small first bucket starts communicating early, as in PyTorch

_UNFINISHED_REDUCTION = (
    "Expected to have finished reduction in the prior iteration before starting a new one. This error indicates "
    "that your module has parameters that were not used in producing loss. You can enable unused parameter "
    "detection by passing the keyword argument `find_unused_parameters=True` to "
    "`torch.nn.parallel.DistributedDataParallel`, and by making sure all `forward` function outputs participate "
    "in calculating loss. Parameters that did not receive grad on rank {rank}: {names}"
)


class _Bucket:
    """Parameters whose gradients travel together in one flat buffer of one dtype."""

    def __init__(self, dtype: np.dtype) -> None:
        self.dtype = dtype
        self.params: List[Any] = []
        self.names: List[str] = []
        self.offsets: List[int] = []
        self.numel = 0
        self.buffer: np.ndarray = np.empty(0, dtype=dtype)
        self.pending = 0
        self.ready: List[bool] = []

    def add(self, name: str, param: Any) -> None:
        self.params.append(param)
        self.names.append(name)
        self.offsets.append(self.numel)
        self.numel += param.numel()

    @property
    def nbytes(self) -> int:
        return self.numel * self.dtype.itemsize

    def slot(self, i: int) -> np.ndarray:
        p = self.params[i]
        return self.buffer[self.offsets[i] : self.offsets[i] + p.numel()].reshape(tuple(p.shape))


class DistributedDataParallel(Module):
    """Wrap ``module`` so that ``N`` processes (one per rank of the default process group)
    train one model: parameters and buffers are broadcast from rank 0 at construction, and
    every backward averages the gradients across ranks, overlapping communication with it.

    Each rank feeds its own shard of the data (see ``chaingrad.utils.data.DistributedSampler``);
    after ``loss.backward()`` every replica holds the same averaged gradient, so any optimizer
    keeps the replicas identical. ``no_sync()`` skips the averaging (gradient accumulation).

    ``bucket_cap_mb`` (default 25) bounds the size of a gradient bucket.
    ``find_unused_parameters=True`` finds, after each forward, the parameters the output does not
    depend on and counts them as ready (their bucket would otherwise never be reduced).
    ``device_ids``, ``output_device``, ``dim``, ``check_reduction``, ``gradient_as_bucket_view``
    and ``static_graph`` are accepted for compatibility and have no effect on CPU.
    """

    def __init__(
        self,
        module: Module,
        device_ids: Any = None,
        output_device: Any = None,
        dim: int = 0,
        broadcast_buffers: bool = True,
        init_sync: bool = True,
        process_group: Any = None,
        bucket_cap_mb: Optional[float] = None,
        find_unused_parameters: bool = False,
        check_reduction: bool = False,
        gradient_as_bucket_view: bool = False,
        static_graph: bool = False,
    ) -> None:
        super().__init__()
        from chaingrad.distributed import _group

        pg = _group._default_group(process_group)
        if not any(p.requires_grad for p in module.parameters()):
            raise RuntimeError(
                "DistributedDataParallel is not needed when a module doesn't have any parameter that requires a "
                "gradient."
            )
        self.module = module
        self.process_group = pg
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.require_backward_grad_sync = True
        self.bucket_bytes_cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * 1024 * 1024)
        self._comm = pg.comm.Dup()  # gradient traffic never interleaves with the user's collectives
        self._overlap = True  # False: wait for every bucket before reducing any (benchmarks only)
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        self._verify_shapes(named)
        if init_sync:
            self._broadcast_from_rank0([p for _, p in module.named_parameters()] + list(module.buffers()))
        self._buckets = self._make_buckets(named)
        self._hook_handles = [
            p.register_post_accumulate_grad_hook(self._make_hook(b, i))
            for b in self._buckets
            for i, p in enumerate(b.params)
        ]
        self._launch_times_last: List[float] = []
        self._reset_iteration(expect_sync=False)

    # ------------------------------------------------------------------ construction
    def _verify_shapes(self, named: List[Any]) -> None:
        """Every rank must wrap the same model: compare the parameter lists once, up front."""
        mine = [(n, tuple(p.shape), str(p.dtype)) for n, p in named]
        every = self._comm.allgather(mine)
        for rank, theirs in enumerate(every):
            if len(theirs) != len(every[0]):
                raise RuntimeError(
                    f"DistributedDataParallel: rank {rank} has {len(theirs)} parameters but rank 0 has "
                    f"{len(every[0])}"
                )
            for (n0, s0, d0), (n, s, d) in zip(every[0], theirs):
                if (s, d) != (s0, d0):
                    raise RuntimeError(
                        f"DistributedDataParallel: parameter '{n}' has shape {list(s)} ({d}) on rank {rank} but "
                        f"'{n0}' has shape {list(s0)} ({d0}) on rank 0"
                    )

    def _broadcast_from_rank0(self, tensors: List[Any]) -> None:
        for t in tensors:
            view = t.detach().numpy()
            if view.flags.c_contiguous:
                self._comm.Bcast(view, 0)
            else:
                packed = np.ascontiguousarray(view)
                self._comm.Bcast(packed, 0)
                np.copyto(view, packed)

    def _make_buckets(self, named: List[Any]) -> List[_Bucket]:
        """Reverse parameter order, one dtype per bucket, the first one small."""
        buckets: List[_Bucket] = []
        open_by_dtype: Dict[np.dtype, _Bucket] = {}
        for name, p in reversed(named):
            dtype = p.detach().numpy().dtype
            b = open_by_dtype.get(dtype)
            cap = self.bucket_bytes_cap
            if b is not None and b is buckets[0]:
                cap = min(cap, _FIRST_BUCKET_BYTES)
            if b is not None and b.params and b.nbytes + p.numel() * dtype.itemsize > cap:
                b = None
            if b is None:
                b = _Bucket(dtype)
                buckets.append(b)
                open_by_dtype[dtype] = b
            b.add(name, p)
        for b in buckets:
            b.buffer = np.empty(b.numel, dtype=b.dtype)
        return buckets

    # ------------------------------------------------------------------ forward
    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        if self._expect_sync and self._started:
            missing = [n for b in self._buckets for n, ok in zip(b.names, b.ready) if not ok]
            self._abandon_iteration()
            raise RuntimeError(_UNFINISHED_REDUCTION.format(rank=self.process_group.rank(), names=missing))
        if self.broadcast_buffers:
            buffers = list(self.module.buffers())
            if buffers and self.process_group.size() > 1:
                self._broadcast_from_rank0(buffers)
        output = self.module(*inputs, **kwargs)
        self._reset_iteration(expect_sync=chaingrad.is_grad_enabled() and self.require_backward_grad_sync)
        if self._expect_sync and self.find_unused_parameters:
            self._mark_unused(output)
        return output

    @contextmanager
    def no_sync(self) -> Iterator[None]:
        """Backward passes in this context accumulate gradients locally without averaging them;
        the first synchronised backward after it averages the accumulated total."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    # ------------------------------------------------------------------ per-iteration state
    def _reset_iteration(self, expect_sync: bool) -> None:
        self._expect_sync = expect_sync
        self._started = False
        self._next_bucket = 0
        self._ready_buckets = 0
        self._requests: List[Any] = []
        self._launch_times: List[float] = []
        self._used_mask: Optional[np.ndarray] = None
        self._locally_unused: List[Any] = []
        for b in self._buckets:
            b.pending = len(b.params)
            b.ready = [False] * len(b.params)

    def _abandon_iteration(self) -> None:
        from mpi4py import MPI

        if self._requests:
            MPI.Request.Waitall(self._requests)
        self._reset_iteration(expect_sync=False)

    def _mark_unused(self, output: Any) -> None:
        """Walk the autograd graph from the outputs; parameters it does not reach are ready now."""
        reached = set()
        stack = [t.grad_fn for t in _tensors_in(output) if t.grad_fn is not None]
        seen: Dict[int, Any] = {}  # holds the node wrappers: while one lives, its id is not reused
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen[id(node)] = node
            variable = getattr(node, "variable", None)
            if variable is not None:
                reached.add(id(variable))
            stack.extend(nxt for nxt, _ in node.next_functions if nxt is not None)
        used = []
        for b in self._buckets:
            for i, p in enumerate(b.params):
                used.append(id(p) in reached)
                if not used[-1]:
                    self._locally_unused.append((b, i))
        from mpi4py import MPI

        self._used_mask = np.array(used, dtype=np.int32)
        self._requests.append(self._comm.Iallreduce(MPI.IN_PLACE, self._used_mask, MPI.MAX))
        for b, i in self._locally_unused:
            self._mark_ready(b, i)

    # ------------------------------------------------------------------ backward hooks
    def _make_hook(self, bucket: _Bucket, index: int) -> Any:
        def hook(_param: Any) -> None:
            if not self._expect_sync:
                return
            self._started = True
            if bucket.ready[index]:
                raise RuntimeError(
                    f"Expected to mark a variable ready only once. Parameter '{bucket.names[index]}' received its "
                    "gradient twice in one iteration; use no_sync() for several backward passes per forward"
                )
            self._mark_ready(bucket, index)

        return hook

    def _mark_ready(self, bucket: _Bucket, index: int) -> None:
        bucket.ready[index] = True
        bucket.pending -= 1
        if bucket.pending == 0:
            self._ready_buckets += 1
            if self._overlap or self._ready_buckets == len(self._buckets):
                self._launch_ready_buckets()
        elif self._requests:
            from mpi4py import MPI

            MPI.Request.Testall(self._requests)  # MPI only progresses non-blocking work inside MPI calls

    def _launch_ready_buckets(self) -> None:
        from mpi4py import MPI

        while self._next_bucket < len(self._buckets) and self._buckets[self._next_bucket].pending == 0:
            b = self._buckets[self._next_bucket]
            for i, p in enumerate(b.params):
                g = p.grad
                if g is None:
                    b.slot(i).fill(0)
                else:
                    np.copyto(b.slot(i), g.detach().numpy())
            if self.process_group.size() > 1:
                self._requests.append(self._comm.Iallreduce(MPI.IN_PLACE, b.buffer, MPI.SUM))
            self._launch_times.append(time.perf_counter())
            self._next_bucket += 1
        if self._next_bucket == len(self._buckets) and self._started:
            self._finish_iteration()

    def _finish_iteration(self) -> None:
        """Backward's last gradient has arrived: wait for the reductions, write the averages back."""
        from mpi4py import MPI

        MPI.Request.Waitall(self._requests)
        world = self.process_group.size()
        unused = set(self._locally_unused)
        for b in self._buckets:
            if world > 1:
                np.divide(b.buffer, world, out=b.buffer)
            for i, p in enumerate(b.params):
                if (b, i) in unused:
                    if not self._used_mask[self._index_of(b, i)]:
                        continue  # no rank used it: leave its gradient alone, as PyTorch does
                    if p.grad is None:
                        p.grad = chaingrad.from_numpy(b.slot(i).copy())
                        continue
                np.copyto(p.grad.detach().numpy(), b.slot(i))
        self._launch_times_last = self._launch_times  # when each bucket started: for tests and tuning
        self._reset_iteration(expect_sync=False)

    def _index_of(self, bucket: _Bucket, index: int) -> int:
        flat = 0
        for b in self._buckets:
            if b is bucket:
                return flat + index
            flat += len(b.params)
        raise KeyError(index)


def _tensors_in(output: Any) -> Iterator[Any]:
    if isinstance(output, chaingrad.Tensor):
        yield output
    elif isinstance(output, (list, tuple)):
        for item in output:
            yield from _tensors_in(item)
    elif isinstance(output, dict):
        for item in output.values():
            yield from _tensors_in(item)
