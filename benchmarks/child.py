"""One measurement in a fresh process: ``python -m benchmarks.child --system S --workload W``.

The child imports only numpy and the system under test, records its RSS right after the
import (the baseline), sets the thread count, runs the workload's ``bench`` function
(warm-up plus timed iterations) and prints one result line, prefixed with
:data:`RESULT_MARKER`, holding JSON: the metrics, the peak RSS of the whole process
(``getrusage`` ``ru_maxrss``) and the baseline. Failures are reported the same way, with
an ``error`` field, so the runner never has to parse a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
import traceback
from typing import Any, Dict, List, Optional

RESULT_MARKER = "@@CHAINGRAD_BENCH_RESULT@@ "


def _emit(payload: Dict[str, Any]) -> None:
    sys.stdout.write(RESULT_MARKER + json.dumps(payload) + "\n")
    sys.stdout.flush()


def measure(
    system: str, workload: str, threads: Optional[int], quick: bool, seed: int
) -> Dict[str, Any]:
    """Import ``system``, run ``workload`` and return the result record."""
    from benchmarks.common import current_rss_mb, peak_rss_mb, set_threads

    record: Dict[str, Any] = {"system": system, "workload": workload, "quick": quick}
    t_import = time.perf_counter()
    try:
        tl = importlib.import_module(system)
    except Exception as exc:  # missing or broken system
        record["error"] = f"import failed: {type(exc).__name__}: {exc}"
        return record
    record["import_s"] = time.perf_counter() - t_import
    record["import_rss_mb"] = current_rss_mb()
    record["version"] = str(getattr(tl, "__version__", "unknown"))

    from benchmarks.workloads import WORKLOADS

    wl = WORKLOADS[workload]
    try:
        record["threads"] = set_threads(tl, threads)
        if hasattr(tl, "manual_seed"):
            tl.manual_seed(seed)
        params = wl.params(quick)
        record["params"] = {k: (list(v) if isinstance(v, tuple) else v) for k, v in params.items()}
        record["metrics"] = wl.bench(tl, params, seed)
    except Exception as exc:
        record["error"] = f"{type(exc).__name__}: {exc}"
        record["traceback"] = traceback.format_exc(limit=8)
    record["peak_rss_mb"] = peak_rss_mb()
    return record


def main(argv: Optional[List[str]] = None) -> int:
    """Parse arguments, measure, print the result line. Always exits 0 after printing."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--system", required=True, help="module to import, e.g. chaingrad or torch")
    ap.add_argument("--workload", required=True, help="workload key, e.g. W3")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    _emit(measure(args.system, args.workload.upper(), args.threads, args.quick, args.seed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
