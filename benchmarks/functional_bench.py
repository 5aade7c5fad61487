"""Jacobians, Hessians and per-sample gradients: chaingrad against PyTorch in one run.

Workloads (float32, the same numpy inputs for both systems, results cross-checked first):
  jac_rev / jac_vec / jac_fwd   autograd.functional.jacobian of x -> tanh(W x + b), 256 -> 256,
                                reverse mode (one VJP per row), vectorize=True, forward mode
  hessian / hessian_vec          autograd.functional.hessian of a 64-parameter scalar function
  func_hessian                   torch.func.hessian (jacfwd over jacrev) of the same function
  per_sample                     func.vmap(func.grad(loss)) over a batch of 64, 2-layer MLP

Run from the repository root (PYTHONPATH pointing at python/ when chaingrad is not installed):
    python benchmarks/functional_bench.py [--reps 7] [--only jac_rev,per_sample] [--threads 1]
It prints a Markdown table: the median and best time per call of each system and the ratio
PyTorch / chaingrad of the medians (above 1: chaingrad faster). Not a test: timings vary with load.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any, Callable, Dict, List, Tuple

import numpy as np

RNG = np.random.default_rng(0)
W = (RNG.standard_normal((256, 256)) / 16).astype(np.float32)
B = RNG.standard_normal(256).astype(np.float32)
X = RNG.standard_normal(256).astype(np.float32)
A = (RNG.standard_normal((32, 64)) / 8).astype(np.float32)
P = RNG.standard_normal(64).astype(np.float32)
MLP = {"w1": (RNG.standard_normal((64, 32)) / 6).astype(np.float32), "b1": np.zeros(64, np.float32),
       "w2": (RNG.standard_normal((10, 64)) / 8).astype(np.float32), "b2": np.zeros(10, np.float32)}
XS = RNG.standard_normal((64, 32)).astype(np.float32)
YS = RNG.standard_normal((64, 10)).astype(np.float32)


def _workloads(lib: Any) -> Dict[str, Callable[[], Any]]:
    t = lambda a: lib.tensor(a)  # noqa: E731
    w, b, x, a, p = t(W), t(B), t(X), t(A), t(P)
    layer = lambda v: (w @ v + b).tanh()  # noqa: E731
    scalar = lambda q: (a @ q).tanh().pow(2).sum() + (q * q).sin().sum()  # noqa: E731
    params = {k: t(v) for k, v in MLP.items()}
    xs, ys = t(XS), t(YS)

    def loss(prm: Dict[str, Any], xb: Any, yb: Any) -> Any:
        h = (xb @ prm["w1"].t() + prm["b1"]).tanh()
        return ((h @ prm["w2"].t() + prm["b2"] - yb) ** 2).sum()

    F = lib.autograd.functional
    return {
        "jac_rev": lambda: F.jacobian(layer, x),
        "jac_vec": lambda: F.jacobian(layer, x, vectorize=True),
        "jac_fwd": lambda: F.jacobian(layer, x, vectorize=True, strategy="forward-mode"),
        "hessian": lambda: F.hessian(scalar, p),
        "hessian_vec": lambda: F.hessian(scalar, p, vectorize=True),
        "func_hessian": lambda: lib.func.hessian(scalar)(p),
        "per_sample": lambda: lib.func.vmap(lib.func.grad(loss), in_dims=(None, 0, 0))(params, xs, ys),
    }


def _as_numpy(v: Any) -> List[np.ndarray]:
    if isinstance(v, dict):
        return [np.asarray(v[k].detach().numpy()) for k in sorted(v)]
    if isinstance(v, (tuple, list)):
        return [x for e in v for x in _as_numpy(e)]
    return [np.asarray(v.detach().numpy())]


def _time(fn: Callable[[], Any], reps: int) -> Tuple[float, float]:
    fn()  # warm-up
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--only", default="")
    parser.add_argument("--threads", type=int, default=0, help="set_num_threads for both systems (0: default)")
    args = parser.parse_args()
    import chaingrad
    import torch

    if args.threads:
        chaingrad.set_num_threads(args.threads)
        torch.set_num_threads(args.threads)
    ours, theirs = _workloads(chaingrad), _workloads(torch)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"threads: chaingrad {chaingrad.get_num_threads()}, torch {torch.get_num_threads()}; "
          f"load average at start {load:.2f} on {os.cpu_count()} CPUs\n")
    names = [n for n in ours if not args.only or n in args.only.split(",")]
    print("| workload | chaingrad median (best) ms | torch median (best) ms | torch / chaingrad |")
    print("|---|---|---|---|")
    for name in names:
        for a, e in zip(_as_numpy(ours[name]()), _as_numpy(theirs[name]())):
            np.testing.assert_allclose(a, e, rtol=2e-3, atol=2e-4, err_msg=name)
        # Interleaved: each system's reps run back to back, twice, and the best median counts.
        runs: Dict[str, List[Tuple[float, float]]] = {"cg": [], "torch": []}
        for _ in range(2):
            runs["cg"].append(_time(ours[name], args.reps))
            runs["torch"].append(_time(theirs[name], args.reps))
        cg_med, cg_best = min(r[0] for r in runs["cg"]), min(r[1] for r in runs["cg"])
        t_med, t_best = min(r[0] for r in runs["torch"]), min(r[1] for r in runs["torch"])
        print(f"| {name} | {cg_med * 1e3:.2f} ({cg_best * 1e3:.2f}) | {t_med * 1e3:.2f} ({t_best * 1e3:.2f}) | "
              f"{t_med / cg_med:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
