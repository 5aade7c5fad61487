"""Run under mpiexec (2 or 3 ranks): DistributedDataParallel trains exactly like one process
on the concatenated batch, ``no_sync`` accumulates like one big step, unused parameters behave
as in PyTorch, and bucket all-reduces start while backward is still running."""

from __future__ import annotations

import copy
import gc
import time

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

dist.init_process_group("mpi")
RANK, WORLD = dist.get_rank(), dist.get_world_size()


def make_model(dtype: torch.dtype, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 8), nn.Tanh(), nn.Linear(8, 3))
    return model.to(dtype)


def shard_bounds(n: int) -> list:
    """Uneven shards when n does not divide: rank r gets rows [lo, hi)."""
    sizes = [n // WORLD + (1 if r < n % WORLD else 0) for r in range(WORLD)]
    starts = np.cumsum([0] + sizes)
    return [(int(starts[r]), int(starts[r + 1])) for r in range(WORLD)]


def batch(step: int, n: int, dtype: torch.dtype) -> tuple:
    rng = np.random.default_rng(1000 + step)
    x = rng.standard_normal((n, 5))
    y = rng.standard_normal((n, 3))
    np_dtype = np.float64 if dtype == torch.float64 else np.float32
    return torch.from_numpy(x.astype(np_dtype)), torch.from_numpy(y.astype(np_dtype))


def local_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor, global_n: int) -> torch.Tensor:
    """Sum of this shard's squared errors scaled so that DDP's average over ranks is the mean
    over the global batch, whatever the shard sizes."""
    return ((model(x) - y) ** 2).sum() * (WORLD / (global_n * 3))


def max_param_diff(a: nn.Module, b: nn.Module) -> float:
    return max(float(np.max(np.abs(p.detach().numpy() - q.detach().numpy())))
               for p, q in zip(a.parameters(), b.parameters()))


OPTIMIZERS = {
    "SGD": lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=1e-3),
    "Adam": lambda ps: torch.optim.Adam(ps, lr=1e-2),
    "AdamW": lambda ps: torch.optim.AdamW(ps, lr=1e-2, weight_decay=1e-2),
}


def check_training(dtype: torch.dtype, opt_name: str, tol: float, steps: int = 50, n: int = 10) -> None:
    reference = make_model(dtype, seed=0)
    replica = make_model(dtype, seed=1 + RANK)  # different everywhere: DDP must broadcast rank 0's
    if RANK == 0:
        replica.load_state_dict(reference.state_dict())
    ddp = DDP(replica, bucket_cap_mb=0.0005)  # a few small buckets
    assert max_param_diff(ddp.module, reference) == 0.0
    assert len(ddp._buckets) >= 2
    opt_ref = OPTIMIZERS[opt_name](reference.parameters())
    opt = OPTIMIZERS[opt_name](ddp.parameters())
    lo, hi = shard_bounds(n)[RANK]
    for step in range(steps):
        x, y = batch(step, n, dtype)
        opt_ref.zero_grad()
        (((reference(x) - y) ** 2).mean()).backward()
        opt_ref.step()
        opt.zero_grad()
        local_loss(ddp, x[lo:hi], y[lo:hi], n).backward()
        opt.step()
    diff = max_param_diff(ddp.module, reference)
    assert diff <= tol, f"{opt_name} {dtype}: parameters differ by {diff} after {steps} steps"


for dtype, tol in ((torch.float64, 1e-12), (torch.float32, 1e-6)):
    for name in OPTIMIZERS:
        check_training(dtype, name, tol)


# ---------------------------------------------------------------- bucket layout
def check_buckets() -> None:
    """Reverse parameter order; the first bucket holds at most 1 MB, the others bucket_cap_mb."""
    ddp = DDP(nn.Sequential(nn.Linear(512, 1024), nn.Linear(1024, 512)))
    assert [b.names for b in ddp._buckets] == [["1.bias"], ["1.weight", "0.bias", "0.weight"]]
    ddp = DDP(nn.Sequential(nn.Linear(512, 1024), nn.Linear(1024, 512)), bucket_cap_mb=2.5)
    assert [b.names for b in ddp._buckets] == [["1.bias"], ["1.weight", "0.bias"], ["0.weight"]]


check_buckets()


# ---------------------------------------------------------------- no_sync: accumulate, then one sync
def check_no_sync(micro: int = 3, n: int = 7) -> None:
    reference = make_model(torch.float64, seed=0)
    ddp = DDP(copy.deepcopy(reference))
    opt_ref = torch.optim.SGD(reference.parameters(), lr=0.1)
    opt = torch.optim.SGD(ddp.parameters(), lr=0.1)
    lo, hi = shard_bounds(n)[RANK]
    xs, ys = zip(*(batch(100 + k, n, torch.float64) for k in range(micro)))
    # Reference: one step on every micro-batch of every rank at once.
    big_x, big_y = torch.cat(list(xs)), torch.cat(list(ys))
    (((reference(big_x) - big_y) ** 2).mean()).backward()
    opt_ref.step()
    for k in range(micro):
        loss = local_loss(ddp, xs[k][lo:hi], ys[k][lo:hi], n) / micro
        if k < micro - 1:
            with ddp.no_sync():
                loss.backward()
        else:
            loss.backward()
    # Inside no_sync nothing was averaged; the final backward averaged the accumulated sum.
    for p, q in zip(ddp.parameters(), reference.parameters()):
        assert np.allclose(p.grad.numpy(), q.grad.numpy(), rtol=0, atol=1e-12)
    opt.step()
    assert max_param_diff(ddp.module, reference) <= 1e-12


check_no_sync()


# ---------------------------------------------------------------- unused parameters
class TwoHeads(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.trunk = nn.Linear(4, 4)
        self.head_a = nn.Linear(4, 1)
        self.head_b = nn.Linear(4, 1)
        self.never = nn.Linear(4, 1)

    def forward(self, x: torch.Tensor, use_b: bool) -> torch.Tensor:
        h = self.trunk(x).tanh()
        return self.head_b(h) if use_b else self.head_a(h)


def check_unused() -> None:
    torch.manual_seed(3)
    ddp = DDP(TwoHeads().double(), find_unused_parameters=True)
    x = torch.from_numpy(np.random.default_rng(RANK).standard_normal((6, 4)))
    use_b = RANK == 1  # head_b is used on rank 1 only; "never" on no rank
    out = ddp(x, use_b)
    out.sum().backward()
    grads = {n: (None if p.grad is None else p.grad.numpy().copy()) for n, p in ddp.module.named_parameters()}
    every = [None] * WORLD
    dist.all_gather_object(every, (grads, use_b))
    assert grads["never.weight"] is None and grads["never.bias"] is None
    # head_a: average of the ranks that used it (the others contribute zero)
    assert grads["head_a.weight"] is not None and grads["head_b.weight"] is not None
    # every rank holds the same averaged gradient
    for other, _ in every:
        for k, v in grads.items():
            assert (v is None) == (other[k] is None)
            if v is not None:
                assert np.array_equal(v, other[k]), k
    # Without detection, an unused parameter makes the next forward raise PyTorch's error.
    torch.manual_seed(3)
    strict = DDP(TwoHeads().double())
    strict(x, False).sum().backward()
    try:
        strict(x, False)
    except RuntimeError as err:
        assert "Expected to have finished reduction in the prior iteration" in str(err)
        assert "head_b.weight" in str(err)
    else:
        raise AssertionError("expected an unfinished-reduction error")


check_unused()


# ---------------------------------------------------------------- overlap: buckets start during backward
def check_overlap(delay: float = 0.3) -> None:
    torch.manual_seed(5)
    model = nn.Sequential(nn.Linear(64, 256), nn.Tanh(), nn.Linear(256, 256), nn.Tanh(), nn.Linear(256, 64))
    ddp = DDP(model, bucket_cap_mb=0.25)
    assert len(ddp._buckets) >= 2
    x = torch.from_numpy(np.random.default_rng(RANK).standard_normal((8, 64)).astype(np.float32))
    marks = {}

    def slow(grad: torch.Tensor) -> None:  # runs in backward before the first layer's gradients
        marks["slow_hook"] = time.perf_counter()
        marks["launched_before"] = len(ddp._launch_times)
        time.sleep(delay)

    # Forward through DDP so that the iteration is armed; the slow hook sits on layer 0's output.
    def arm(module: nn.Module, args: tuple, out: torch.Tensor) -> None:
        out.register_hook(slow)

    ddp.module[0].register_forward_hook(arm)
    out = ddp(x)
    out.pow(2).sum().backward()
    marks["backward_end"] = time.perf_counter()
    launches = ddp._launch_times_last
    assert marks["launched_before"] >= 1, "no bucket's all-reduce had started when the slow hook ran"
    assert launches[0] < marks["slow_hook"] <= marks["backward_end"] - delay
    assert len(launches) == len(ddp._buckets)


check_overlap()

dist.barrier()
print(f"rank {RANK}: OK", flush=True)
dist.destroy_process_group()
