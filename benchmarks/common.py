"""Helpers shared by the workloads, the child process and the runner.

Nothing in here imports a tensor library: the module under test is always passed in
explicitly (``tl``), so the same code runs against ``chaingrad`` and ``torch``.
"""

from __future__ import annotations

import gc
import os
import platform
import statistics
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np

try:  # ``resource`` is POSIX-only.
    import resource
except ImportError:  # pragma: no cover - Windows
    resource = None  # type: ignore[assignment]

#: Phase durations (seconds) returned by one timed iteration of a workload step.
Phases = Sequence[float]


def peak_rss_mb() -> Optional[float]:
    """Return this process's peak resident set size in MiB (``getrusage`` ``ru_maxrss``).

    Linux reports ``ru_maxrss`` in KiB, macOS in bytes. Returns ``None`` where the
    ``resource`` module is unavailable.
    """
    if resource is None:
        return None
    peak = float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    if sys.platform == "darwin":
        return peak / (1024.0 * 1024.0)
    return peak / 1024.0


def current_rss_mb() -> Optional[float]:
    """Return this process's current resident set size in MiB.

    Reads ``/proc/self/statm`` where it exists and falls back to the peak RSS otherwise.
    """
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            resident_pages = int(fh.read().split()[1])
        return resident_pages * os.sysconf("SC_PAGE_SIZE") / (1024.0 * 1024.0)
    except (OSError, ValueError, IndexError, AttributeError):
        return peak_rss_mb()


def _cpu_model() -> str:
    """Best-effort CPU model name."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _total_memory_gib() -> Optional[float]:
    """Total physical memory in GiB, or ``None`` if it cannot be determined."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / (1024.0 * 1024.0)
    except (OSError, ValueError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024.0**3
    except (ValueError, OSError, AttributeError):
        return None


def machine_info() -> Dict[str, Any]:
    """Describe the machine and the Python environment the benchmarks run on."""
    mem = _total_memory_gib()
    return {
        "cpu": _cpu_model(),
        "logical_cpus": os.cpu_count(),
        "memory_gib": None if mem is None else round(mem, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }


def describe_machine(info: Dict[str, Any]) -> str:
    """One-line human description of :func:`machine_info` output."""
    mem = info.get("memory_gib")
    mem_s = f"{mem} GiB RAM" if mem is not None else "unknown RAM"
    return (
        f"{info.get('cpu')}, {info.get('logical_cpus')} logical CPUs, {mem_s}, "
        f"{info.get('platform')}, Python {info.get('python')}, numpy {info.get('numpy')}"
    )


def median(values: Sequence[float]) -> float:
    """Median of a non-empty sequence."""
    return float(statistics.median(values))


def run_timed(
    step: Callable[[], Phases],
    warmup: int,
    iters: int,
    reset: Optional[Callable[[], None]] = None,
) -> List[List[float]]:
    """Run ``step`` ``warmup`` times untimed, then ``iters`` times, and collect its phases.

    ``step`` measures its own phases (with :func:`time.perf_counter`) and returns their
    durations in seconds. Before every call (warm-up included) ``reset`` runs, followed
    by a garbage collection, so that neither leaks into the measured region. Objects
    that exist before the loop (the imported library, the inputs) are frozen out of the
    collector first (:func:`gc.freeze`): otherwise every collection would rescan them,
    which costs ~70 ms per call once torch is imported.
    """
    out: List[List[float]] = []
    gc.collect()
    gc.freeze()
    try:
        for i in range(warmup + iters):
            if reset is not None:
                reset()
            gc.collect()
            phases = list(step())
            if i >= warmup:
                out.append(phases)
    finally:
        gc.unfreeze()
    return out


def phase_medians(samples: List[List[float]]) -> List[float]:
    """Median of each phase over the timed iterations returned by :func:`run_timed`."""
    return [median(col) for col in zip(*samples)]


def now() -> float:
    """Monotonic high-resolution clock in seconds."""
    return time.perf_counter()


def to_tensor(tl: Any, array: np.ndarray, requires_grad: bool = False) -> Any:
    """Copy a numpy array into a tensor of module ``tl`` (dtype follows the array)."""
    return tl.tensor(array, requires_grad=requires_grad)


def scalar_leaf(tl: Any, value: float) -> Any:
    """A 0-d float32 leaf tensor that requires grad."""
    return tl.tensor(float(value), requires_grad=True)


def to_numpy(t: Any) -> np.ndarray:
    """Detach a tensor and copy it into a numpy array."""
    return np.array(t.detach().numpy(), copy=True)


def set_threads(tl: Any, n: Optional[int]) -> Optional[int]:
    """Set the intra-op thread count of ``tl`` (if it has ``set_num_threads``).

    Returns the count the module reports afterwards (``get_num_threads``) or ``n``.
    """
    if n is not None and hasattr(tl, "set_num_threads"):
        tl.set_num_threads(int(n))
    if hasattr(tl, "get_num_threads"):
        try:
            return int(tl.get_num_threads())
        except Exception:  # reporting only
            return n
    return n


def fmt_num(value: Optional[float]) -> str:
    """Format a figure with about three significant digits (``n/a`` for ``None``)."""
    if value is None:
        return "n/a"
    a = abs(value)
    if a >= 1000:
        return f"{value:,.0f}"
    if a >= 100:
        return f"{value:.0f}"
    if a >= 10:
        return f"{value:.1f}"
    if a >= 1:
        return f"{value:.2f}"
    if a == 0:
        return "0"
    return f"{value:.3g}"
