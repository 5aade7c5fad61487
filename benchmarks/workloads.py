"""The benchmark workloads W1-W9.

Every workload is written against the common PyTorch API and receives the tensor module
as ``tl`` (``torch`` or ``chaingrad``). Each one exposes four functions, bundled in a
:class:`Workload`:

``params(quick)``
    Problem sizes and iteration counts (``quick=True`` gives tiny sizes for smoke tests).
``make_inputs(params, seed)``
    The workload's inputs as numpy arrays, generated with a fixed seed so that every
    system sees identical data.
``check(tl, inputs, params)``
    Runs the workload once on those inputs and returns checkable values (losses as
    floats, gradients as numpy arrays) that must agree between systems.
``bench(tl, params, seed)``
    Times the workload (warm-up, then ``params["iters"]`` timed iterations in this
    process) and returns its metrics (per-process medians).

The runner adds the process's peak RSS and its RSS right after import to every result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

Params = Dict[str, Any]
Inputs = Dict[str, np.ndarray]
CheckValues = Dict[str, Any]
Metrics = Dict[str, float]


@dataclass(frozen=True)
class Metric:
    """One reported figure of a workload.

    ``better`` is ``"lower"`` for times and memory and ``"higher"`` for throughputs; the
    report orients ratios so that a value above 1 always favours the first system.
    ``reference`` marks a figure of the machine rather than of the system (numpy's copy
    bandwidth or matmul speed, measured in the same process); it gets no ratio.
    """

    key: str
    label: str
    better: str = "lower"
    reference: bool = False


@dataclass(frozen=True)
class Variant:
    """A row group of a workload; ``threads=None`` means "use the run's ``--threads``"."""

    label: str = ""
    threads: Optional[int] = None


@dataclass(frozen=True)
class Workload:
    """A benchmark workload and the functions that define it (see the module docstring)."""

    key: str
    title: str
    summary: str
    metrics: Tuple[Metric, ...]
    params: Callable[[bool], Params]
    make_inputs: Callable[[Params, int], Inputs]
    check: Callable[[Any, Inputs, Params], CheckValues]
    bench: Callable[[Any, Params, int], Metrics]
    variants: Tuple[Variant, ...] = (Variant(),)
    show_rss: bool = False


def _rng(seed: int, salt: int) -> np.random.Generator:
    """Independent, reproducible generator per workload."""
    return np.random.default_rng([seed, salt])


def _normal(rng: np.random.Generator, shape: Tuple[int, ...], scale: float = 1.0) -> np.ndarray:
    """float32 normal samples."""
    out = rng.standard_normal(shape, dtype=np.float32)
    if scale != 1.0:
        out *= np.float32(scale)
    return out


def _clear_grads(tensors: List[Any]) -> None:
    """Drop accumulated gradients (``t.grad = None``)."""
    for t in tensors:
        t.grad = None


def _sgd_step(tl: Any, params: List[Any], lr: float) -> None:
    """Manual SGD update under ``no_grad``, then drop the gradients."""
    with tl.no_grad():
        for p in params:
            p -= lr * p.grad
            p.grad = None


# The workloads themselves live in two files by kind; they use the helpers above.
from benchmarks.workloads_graph import (  # noqa: E402
    _w1_bench,
    _w1_check,
    _w1_inputs,
    _w1_params,
    _w2_bench,
    _w2_check,
    _w2_inputs,
    _w2_params,
    _w3_bench,
    _w3_check,
    _w3_inputs,
    _w3_params,
    _w6_bench,
    _w6_check,
    _w6_inputs,
    _w6_params,
    _w7_bench,
    _w7_check,
    _w7_inputs,
    _w7_params,
)
from benchmarks.workloads_tensor import (  # noqa: E402
    W9_FUNCTIONS,
    _w4_bench,
    _w4_check,
    _w4_inputs,
    _w4_params,
    _w5_bench,
    _w5_check,
    _w5_inputs,
    _w5_params,
    _w8_bench,
    _w8_check,
    _w8_inputs,
    _w8_params,
    _w9_bench,
    _w9_check,
    _w9_inputs,
    _w9_params,
)

# --------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------

WORKLOADS: Dict[str, Workload] = {
    w.key: w
    for w in (
        Workload(
            "W1",
            "tiny ops",
            "0-d graph of 2,000 mixed ops (add, mul, tanh, pow, sub), then backward",
            (Metric("fwd_us_per_op", "forward µs/op"), Metric("bwd_us_per_op", "backward µs/op")),
            _w1_params,
            _w1_inputs,
            _w1_check,
            _w1_bench,
        ),
        Workload(
            "W2",
            "scalar MLP",
            "micrograd-style 2-16-16-1 MLP of 0-d weights, 100 two-moons points, SGD step",
            (Metric("ms_per_step", "ms/step"),),
            _w2_params,
            _w2_inputs,
            _w2_check,
            _w2_bench,
        ),
        Workload(
            "W3",
            "small MLP",
            "batch 64, 784-128-10, relu, cross-entropy, backward, manual SGD under no_grad",
            (Metric("ms_per_step", "ms/step"),),
            _w3_params,
            _w3_inputs,
            _w3_check,
            _w3_bench,
            variants=(Variant("1 thread", 1), Variant("2 threads", 2)),
        ),
        Workload(
            "W4",
            "large elementwise",
            "((x*w + b).tanh() * x).sum() over 10M float32, forward + backward",
            (
                Metric("ms", "ms fwd+bwd"),
                Metric("gbs", "GB/s (24 B/elem)", "higher"),
                Metric("frac_copy_bw", "fraction of copy BW", "higher"),
                Metric("copy_gbs", "numpy copy GB/s (ref.)", "higher", reference=True),
                Metric("faults", "page faults/step"),
            ),
            _w4_params,
            _w4_inputs,
            _w4_check,
            _w4_bench,
        ),
        Workload(
            "W5",
            "matmul",
            "(A@B).tanh().sum(), 1024x1024 float32, grads for A and B",
            (
                Metric("ms", "ms fwd+bwd"),
                Metric("gflops", "GFLOP/s (6n³)", "higher"),
                Metric("vs_numpy", "× numpy (3·t_np/t)", "higher"),
                Metric("numpy_gflops", "numpy A@B GFLOP/s (ref.)", "higher", reference=True),
            ),
            _w5_params,
            _w5_inputs,
            _w5_check,
            _w5_bench,
        ),
        Workload(
            "W6",
            "deep chain",
            "1,000,000 sequential 0-d ops (x = x * 1.0000001 + 0.0), then backward",
            (
                Metric("fwd_s", "forward s"),
                Metric("bwd_s", "backward s"),
                Metric("free_s", "free graph s"),
            ),
            _w6_params,
            _w6_inputs,
            _w6_check,
            _w6_bench,
            show_rss=True,
        ),
        Workload(
            "W7",
            "Hessian-vector product",
            "f = sum(tanh(W@x)), n=512; grad(grad(f, x, create_graph=True) @ v, x)",
            (Metric("ms_per_hvp", "ms/hvp"),),
            _w7_params,
            _w7_inputs,
            _w7_check,
            _w7_bench,
        ),
        Workload(
            "W8",
            "memory",
            "forward + backward of a 20-layer MLP, width 1024, batch 256, float32",
            (Metric("ms", "ms fwd+bwd"),),
            _w8_params,
            _w8_inputs,
            _w8_check,
            _w8_bench,
            show_rss=True,
        ),
        Workload(
            "W9",
            "transcendentals",
            "tanh, exp, log, sigmoid over 10M float32 (no grad), numpy timed in the same process",
            tuple(
                m
                for name in W9_FUNCTIONS
                for m in (
                    Metric(f"{name}_ms", f"{name} ms"),
                    Metric(f"{name}_vs_numpy", f"{name} × numpy (t_np/t)", "higher"),
                )
            ),
            _w9_params,
            _w9_inputs,
            _w9_check,
            _w9_bench,
        ),
    )
}


def select(only: Optional[str]) -> List[Workload]:
    """Resolve a ``--only`` value such as ``"W1,w3"`` (``None`` selects everything)."""
    if not only:
        return list(WORKLOADS.values())
    chosen: List[Workload] = []
    for raw in only.split(","):
        key = raw.strip().upper()
        if not key:
            continue
        if key not in WORKLOADS:
            raise KeyError(f"unknown workload {raw.strip()!r}; choose from {', '.join(WORKLOADS)}")
        if WORKLOADS[key] not in chosen:
            chosen.append(WORKLOADS[key])
    return chosen
