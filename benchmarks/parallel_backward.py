"""Parallel backward from Python: two independent branches of one graph on 1 and 2 threads.

    python -m benchmarks.parallel_backward [--sizes 4096 16384] [--layers 50] [--reps 9]

Each branch is `layers` x tanh(y * f) on n float32 elements, ending in a sum; the loss adds the
two sums. The 1- and 2-thread runs alternate on fresh graphs and the best of `reps` is printed
(on a shared machine the load then hits both alike). The engine runs two heavy branches on two
threads only when the nodes are large enough to pay for the hand-off (its threshold is lowered
here, as in the C++ harness's `parallel` section, so that every size takes the parallel path);
the gradients are the same bits for any thread count.
"""

from __future__ import annotations

import argparse
import time

import chaingrad as cg
import numpy as np
from chaingrad import _C


def _loss(x: cg.Tensor, layers: int) -> cg.Tensor:
    def branch(f: float) -> cg.Tensor:
        y = x
        for _ in range(layers):
            y = (y * f).tanh()
        return y.sum()

    return branch(0.9) + branch(1.1)


def measure(n: int, layers: int, reps: int) -> dict[int, float]:
    """Best backward seconds on 1 and 2 threads; checks that both give the same bits."""
    rng = np.random.default_rng(0)
    x = cg.tensor(rng.standard_normal(n).astype(np.float32), requires_grad=True)
    best = {1: float("inf"), 2: float("inf")}
    grads: dict[int, bytes] = {}
    for _ in range(reps):
        for threads in (1, 2):
            _C._set_backward_threads(threads)
            loss = _loss(x, layers)
            x.grad = None
            t0 = time.perf_counter()
            loss.backward()
            best[threads] = min(best[threads], time.perf_counter() - t0)
            grads[threads] = x.grad.numpy().tobytes()
    assert grads[1] == grads[2], "gradients differ between 1 and 2 threads"
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 4096, 16384])
    parser.add_argument("--layers", type=int, default=50)
    parser.add_argument("--reps", type=int, default=9)
    args = parser.parse_args()
    work = _C._get_parallel_min_node_work()
    _C._set_parallel_min_node_work(1)
    try:
        for n in args.sizes:
            best = measure(n, args.layers, args.reps)
            print(f"parallel backward 2 branches n={n:<6d} 1 thread {best[1] * 1e6:9.1f} us   "
                  f"2 threads {best[2] * 1e6:9.1f} us   speed-up {best[1] / best[2]:5.2f} x")
    finally:
        _C._set_backward_threads(0)
        _C._set_parallel_min_node_work(work)


if __name__ == "__main__":
    main()
