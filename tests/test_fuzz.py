"""The differential fuzz suites (``tests/fuzz/fuzz_*.py``), each run in a child process.

A crash in native code (a segfault, an abort, a hang past the timeout) then fails one test here,
named with the case that caused it (the child records each case before running it), and the
rest of the suite goes on. The examples are derandomized: every run, on every machine, tries the
same cases; ``CHAINGRAD_FUZZ_EXAMPLES`` sets how many per suite (default 150).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("chaingrad._C")
pytest.importorskip("hypothesis")
pytest.importorskip("torch", reason="the fuzz suites compare with PyTorch")

HERE = Path(__file__).resolve().parent
SUITES = sorted(p.name for p in (HERE / "fuzz").glob("fuzz_*.py"))
TIMEOUT_S = 600


@pytest.mark.parametrize("suite", SUITES)
def test_fuzz_suite(suite: str, tmp_path: Path) -> None:
    progress = tmp_path / "case.txt"
    env = dict(os.environ, CHAINGRAD_FUZZ_PROGRESS=str(progress))
    env["PYTHONPATH"] = os.pathsep.join([str(HERE / "fuzz"), str(HERE)] + env.get("PYTHONPATH", "").split(os.pathsep))
    cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-o", "python_files=fuzz_*.py",
           "-o", "addopts=", "--rootdir", str(HERE / "fuzz"), str(HERE / "fuzz" / suite)]
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=TIMEOUT_S, cwd=str(HERE / "fuzz"))
    except subprocess.TimeoutExpired:
        last = progress.read_text() if progress.exists() else "?"
        pytest.fail(f"{suite} hung for {TIMEOUT_S} s; last case: {last}")
    if proc.returncode < 0:
        last = progress.read_text() if progress.exists() else "?"
        pytest.fail(f"{suite} crashed with {signal.Signals(-proc.returncode).name} on case: {last}\n"
                    f"{proc.stderr[-3000:]}")
    assert proc.returncode == 0, (
        f"{suite} found a difference from PyTorch:\n{proc.stdout[-6000:]}\n{proc.stderr[-2000:]}")
