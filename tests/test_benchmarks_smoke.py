"""Smoke test of the benchmark suite (``benchmarks/``).

Every workload runs at its quick (tiny) size, in-process and once, against chaingrad; when
PyTorch is installed, each workload's checkable values (losses and gradients computed
from identical numpy inputs) must agree with PyTorch's. No timing is ever asserted.
"""

from __future__ import annotations

import importlib
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

pytest.importorskip("chaingrad._C")
chaingrad = importlib.import_module("chaingrad")
workloads = importlib.import_module("benchmarks.workloads")

KEYS = list(workloads.WORKLOADS)
RTOL = 1e-4


@pytest.mark.parametrize("key", KEYS)
def test_quick_bench_runs(key: str) -> None:
    """The quick benchmark runs and reports every metric as a finite, non-negative number."""
    wl = workloads.WORKLOADS[key]
    metrics = wl.bench(chaingrad, wl.params(True), 0)
    for metric in wl.metrics:
        assert metric.key in metrics, f"{key}: missing metric {metric.key}"
        value = metrics[metric.key]
        assert isinstance(value, float) and math.isfinite(value) and value >= 0.0, (key, value)


def _assert_close(key: str, name: str, got: Any, want: Any) -> None:
    got_a = np.asarray(got, dtype=np.float64)
    want_a = np.asarray(want, dtype=np.float64)
    assert got_a.shape == want_a.shape, f"{key}.{name}: shape {got_a.shape} != {want_a.shape}"
    scale = max(1.0, float(np.max(np.abs(want_a)))) if want_a.size else 1.0
    np.testing.assert_allclose(
        got_a, want_a, rtol=RTOL, atol=1e-5 * scale, err_msg=f"{key}.{name} differs from PyTorch"
    )


@pytest.mark.parametrize("key", KEYS)
def test_matches_torch(key: str) -> None:
    """Losses and gradients agree with PyTorch's on identical numpy inputs."""
    torch = pytest.importorskip("torch")
    wl = workloads.WORKLOADS[key]
    params = wl.params(True)
    inputs = wl.make_inputs(params, 0)
    got = wl.check(chaingrad, inputs, params)
    want = wl.check(torch, inputs, params)
    assert set(got) == set(want)
    for name in want:
        _assert_close(key, name, got[name], want[name])


def test_driver_quick(tmp_path: Path) -> None:
    """``python -m benchmarks --quick`` measures chaingrad in a subprocess and writes JSON."""
    out = tmp_path / "latest.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--quick",
            "--reps",
            "1",
            "--only",
            "W1,W7",
            "--systems",
            "chaingrad",
            "--json",
            str(out),
        ],
        cwd=str(REPO_ROOT),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "| W1 tiny ops | forward µs/op |" in proc.stdout
    data = json.loads(out.read_text(encoding="utf-8"))
    assert [g["workload"] for g in data["groups"]] == ["W1", "W7"]
    for group in data["groups"]:
        assert group["errors"] == {}
        (run,) = group["runs"]["chaingrad"]
        assert run["peak_rss_mb"] > 0


def test_matmul_vs_numpy_quick() -> None:
    """The standalone matmul script runs at a small size."""
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "benchmarks" / "matmul_vs_numpy.py"),
            "--n",
            "64",
            "--reps",
            "3",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "ratio" in proc.stdout
