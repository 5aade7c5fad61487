"""Standalone: time chaingrad's float32 ``a @ b`` against numpy's ``@`` on the same data.

Usage::

    python benchmarks/matmul_vs_numpy.py                 # 1024 x 1024, 30 interleaved reps
    python benchmarks/matmul_vs_numpy.py --system torch  # same measurement for PyTorch

Both products run in the same process on the same float32 matrices, interleaved (the
order alternates every repetition so neither side always runs second), after a warm-up.
The script prints the median and min-max of each and the ratio of medians
``<system> time / numpy time`` (below 1 means the system is faster than numpy). It
depends only on numpy and the module under test.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import time
from typing import Any, Callable, List, Optional

import numpy as np


def _time_once(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _describe(name: str, times: List[float], flops: float) -> str:
    med = statistics.median(times)
    return (
        f"{name:>10}: median {med * 1e3:8.2f} ms  (min {min(times) * 1e3:.2f}, "
        f"max {max(times) * 1e3:.2f})  {flops / med / 1e9:7.1f} GFLOP/s"
    )


def main(argv: Optional[List[str]] = None) -> int:
    """Run the comparison; returns the exit code (0 even if the system is missing)."""
    ap = argparse.ArgumentParser(description="chaingrad a @ b versus numpy @ (float32)")
    ap.add_argument("--system", default="chaingrad", help="module to compare (default chaingrad)")
    ap.add_argument("--n", type=int, default=1024, help="matrix size n for n x n (default 1024)")
    ap.add_argument("--reps", type=int, default=30, help="timed repetitions each (default 30)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed repetitions each (default 3)")
    ap.add_argument(
        "--threads",
        type=int,
        default=None,
        help="call <system>.set_num_threads(N) first (numpy's BLAS keeps its own)",
    )
    args = ap.parse_args(argv)

    n = args.n
    rng = np.random.default_rng(0)
    a_np = rng.standard_normal((n, n), dtype=np.float32)
    b_np = rng.standard_normal((n, n), dtype=np.float32)
    flops = 2.0 * n**3
    print(f"float32 {n}x{n} @ {n}x{n}, {args.reps} interleaved reps after {args.warmup} warm-up")

    def np_mm() -> Any:
        return a_np @ b_np

    try:
        tl = importlib.import_module(args.system)
    except Exception as exc:
        print(f"{args.system}: n/a ({type(exc).__name__}: {exc})")
        times = [_time_once(np_mm) for _ in range(args.warmup + args.reps)][args.warmup :]
        print(_describe("numpy", times, flops))
        print(f"ratio {args.system}/numpy: n/a")
        return 0

    if args.threads is not None and hasattr(tl, "set_num_threads"):
        tl.set_num_threads(args.threads)
    a = tl.tensor(a_np)
    b = tl.tensor(b_np)

    def tl_mm() -> Any:
        return a @ b

    try:
        ref = np_mm().astype(np.float64)
        diff = np.abs(np.asarray(tl_mm().numpy(), dtype=np.float64) - ref).max()
        print(f"max |{args.system} - numpy| = {diff:.3g} (max |numpy| = {np.abs(ref).max():.3g})")
    except Exception as exc:  # the comparison is informative only
        print(f"result check skipped ({type(exc).__name__}: {exc})")

    for _ in range(args.warmup):
        tl_mm()
        np_mm()
    t_sys: List[float] = []
    t_np: List[float] = []
    for i in range(args.reps):
        if i % 2 == 0:
            t_sys.append(_time_once(tl_mm))
            t_np.append(_time_once(np_mm))
        else:
            t_np.append(_time_once(np_mm))
            t_sys.append(_time_once(tl_mm))

    print(_describe(args.system, t_sys, flops))
    print(_describe("numpy", t_np, flops))
    ratio = statistics.median(t_sys) / statistics.median(t_np)
    print(f"ratio {args.system}/numpy (median time): {ratio:.3f}  (< 1: {args.system} faster)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
