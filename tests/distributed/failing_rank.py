"""Run under mpiexec with 2+ ranks and one argument. ``raise``: rank 1 fails while the others
wait in a collective; ``timeout``: rank 1 never arrives and the others' timeout fires. Either
way the job must end quickly with a non-zero exit and the failing rank's traceback."""

from __future__ import annotations

import datetime
import sys
import time

import chaingrad as torch
import chaingrad.distributed as dist

mode = sys.argv[1]
dist.init_process_group("mpi", timeout=datetime.timedelta(seconds=2) if mode == "timeout" else None)
if dist.get_rank() == 1:
    if mode == "raise":
        raise ValueError("rank 1 failed on purpose")
    time.sleep(600)  # stuck: never joins the collective
dist.all_reduce(torch.ones(3))
print("unreachable: the collective cannot complete", flush=True)
