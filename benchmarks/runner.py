"""Benchmark driver: ``python -m benchmarks`` (or ``python benchmarks/run.py``).

For every selected workload (and each of its variants) the driver runs ``--reps``
repetitions; within a repetition it runs each system once, alternating the systems
run by run (A, B, A, B, ...). Every run is a fresh ``python -m benchmarks.child``
process, so import state, caches of the allocator and peak RSS are per run. A system
that is not importable, or a run that fails, is reported as ``n/a``; the driver never
stops because of it.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

from benchmarks.child import RESULT_MARKER
from benchmarks.common import describe_machine, fmt_num, machine_info
from benchmarks.report import markdown_tables, summarize_group
from benchmarks.workloads import WORKLOADS, Workload, select

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
DEFAULT_JSON = PACKAGE_DIR / "results" / "latest.json"
MIN_RECOMMENDED_REPS = 5


def _child_env() -> Dict[str, str]:
    """Environment for child processes: the repository root first on ``PYTHONPATH``."""
    env = dict(os.environ)
    parts = [str(REPO_ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(parts)
    return env


def probe_system(name: str, timeout: float = 300.0) -> Dict[str, Any]:
    """Check in a subprocess whether ``name`` imports; report its version or the error."""
    code = (
        "import importlib, sys\n"
        "m = importlib.import_module(sys.argv[1])\n"
        "print(getattr(m, '__version__', 'unknown'))\n"
    )
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code, name],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=_child_env(),
            cwd=str(REPO_ROOT),
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"available": False, "error": f"import timed out after {timeout:g} s"}
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["import failed"])[-1]
        return {"available": False, "error": last}
    return {"available": True, "version": proc.stdout.strip().splitlines()[-1]}


def run_child(
    system: str, workload: str, threads: Optional[int], quick: bool, seed: int, timeout: float
) -> Dict[str, Any]:
    """Run one measurement in a fresh process and return its record."""
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.child",
        "--system",
        system,
        "--workload",
        workload,
        "--seed",
        str(seed),
    ]
    if threads is not None:
        cmd += ["--threads", str(threads)]
    if quick:
        cmd.append("--quick")
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=_child_env(),
            cwd=str(REPO_ROOT),
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"system": system, "workload": workload, "error": f"timed out after {timeout:g} s"}
    wall = time.perf_counter() - t0
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_MARKER):
            record = json.loads(line[len(RESULT_MARKER) :])
            record["process_wall_s"] = wall
            return record
    tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
    how = f"exited with code {proc.returncode}"
    if proc.returncode < 0:  # killed by a signal: a crash (SIGSEGV) or the OOM killer
        try:
            how = f"killed by {signal.Signals(-proc.returncode).name}"
        except ValueError:
            how = f"killed by signal {-proc.returncode}"
    return {
        "system": system,
        "workload": workload,
        "process_wall_s": wall,
        "error": f"child {how}: {tail}",
    }


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _short(record: Dict[str, Any], wl: Workload) -> str:
    if "error" in record:
        return "n/a (" + record["error"].splitlines()[0][:120] + ")"
    m = record.get("metrics", {})
    parts = [f"{met.label} {fmt_num(m.get(met.key))}" for met in wl.metrics[:2]]
    parts.append(f"peak RSS {fmt_num(record.get('peak_rss_mb'))} MB")
    return ", ".join(parts)


def run_group(
    wl: Workload,
    variant_label: str,
    threads: Optional[int],
    systems: List[str],
    available: Dict[str, Dict[str, Any]],
    args: argparse.Namespace,
) -> Dict[str, Any]:
    """All repetitions of one workload variant, alternating the systems run by run."""
    runs: Dict[str, List[Dict[str, Any]]] = {s: [] for s in systems}
    errors: Dict[str, str] = {}
    for s in systems:
        if not available[s]["available"]:
            errors[s] = f"not available ({available[s].get('error', 'import failed')})"
    name = wl.key + (f" ({variant_label})" if variant_label else "")
    stopped: Dict[str, bool] = {s: s in errors for s in systems}
    for rep in range(args.reps):
        for s in systems:
            if stopped[s]:
                continue
            rec = run_child(s, wl.key, threads, args.quick, args.seed, args.timeout)
            runs[s].append(rec)
            _log(f"  {name} rep {rep + 1}/{args.reps} {s}: {_short(rec, wl)}")
            if "error" in rec:
                errors.setdefault(s, rec["error"].splitlines()[0])
                # A Python exception or a timeout repeats every time: skip the remaining reps.
                # A crash (signal) may be intermittent: keep going and count it.
                stopped[s] = "killed by" not in rec["error"]
    for s in systems:
        failed = sum(1 for r in runs[s] if "error" in r)
        if runs[s] and failed:
            errors[s] += f" [{failed} of {len(runs[s])} runs failed]"
    group: Dict[str, Any] = {
        "workload": wl.key,
        "title": wl.title,
        "summary_text": wl.summary,
        "variant": variant_label,
        "threads": threads,
        "show_rss": wl.show_rss,
        "metric_list": [{"key": m.key, "label": m.label, "better": m.better} for m in wl.metrics],
        "runs": runs,
        "errors": errors,
    }
    group["summary"] = summarize_group(wl, systems, runs)
    return group


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line interface of the driver."""
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="chaingrad benchmark suite: runs workloads W1-W8 for chaingrad and PyTorch, "
        "alternating the systems, one fresh process per measurement.",
    )
    ap.add_argument("--only", default=None, help="comma-separated workloads, e.g. W1,W3")
    ap.add_argument(
        "--reps",
        type=int,
        default=7,
        help="processes (timed repetitions) per system and workload (default 7)",
    )
    ap.add_argument("--quick", action="store_true", help="tiny sizes (checks the plumbing)")
    ap.add_argument(
        "--json",
        default=str(DEFAULT_JSON),
        help=f"where to write the JSON results (default {DEFAULT_JSON})",
    )
    ap.add_argument(
        "--systems",
        default="chaingrad,torch",
        help="comma-separated modules with PyTorch's API; the first is the one "
        "ratios favour when > 1 (default chaingrad,torch)",
    )
    ap.add_argument(
        "--threads",
        type=int,
        default=os.cpu_count() or 1,
        help="set_num_threads for workloads without their own thread variants "
        "(default: number of logical CPUs)",
    )
    ap.add_argument("--seed", type=int, default=0, help="seed of the numpy-generated inputs")
    ap.add_argument(
        "--timeout",
        type=float,
        default=1200.0,
        help="seconds before a single run is abandoned (default 1200)",
    )
    ap.add_argument("--list", action="store_true", help="list the workloads and exit")
    args = ap.parse_args(argv)
    if args.reps < 1:
        ap.error("--reps must be at least 1")
    return args


def main(argv: Optional[List[str]] = None) -> int:
    """Run the benchmark suite; returns the process exit code."""
    args = parse_args(argv)
    if args.list:
        for wl in WORKLOADS.values():
            variants = ", ".join(v.label for v in wl.variants if v.label)
            print(f"{wl.key}  {wl.title}: {wl.summary}" + (f" [{variants}]" if variants else ""))
        return 0
    try:
        chosen = select(args.only)
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 2
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    if not systems:
        print("error: --systems is empty", file=sys.stderr)
        return 2
    systems = list(dict.fromkeys(systems))
    if args.reps < MIN_RECOMMENDED_REPS and not args.quick:
        _log(f"note: --reps {args.reps} is below the recommended minimum of {MIN_RECOMMENDED_REPS}")

    info = machine_info()
    _log(f"machine: {describe_machine(info)}")
    available = {s: probe_system(s) for s in systems}
    for s, a in available.items():
        state = f"version {a['version']}" if a["available"] else f"n/a ({a['error']})"
        _log(f"system {s}: {state}")

    started = _dt.datetime.now(_dt.timezone.utc)
    groups = []
    for wl in chosen:
        for variant in wl.variants:
            threads = variant.threads if variant.threads is not None else args.threads
            _log(
                f"{wl.key} {wl.title}"
                + (f" ({variant.label})" if variant.label else "")
                + f", threads={threads}"
            )
            groups.append(run_group(wl, variant.label, threads, systems, available, args))
    finished = _dt.datetime.now(_dt.timezone.utc)

    header = (
        f"Machine: {describe_machine(info)}. "
        + "; ".join(f"{s} {a.get('version', 'n/a')}" for s, a in available.items())
        + f". threads={args.threads} (W3 rows set their own), reps={args.reps}"
        + (", quick sizes" if args.quick else "")
        + "."
    )
    print(header + "\n")
    print(markdown_tables(groups, systems))

    payload = {
        "meta": {
            "started_utc": started.isoformat(timespec="seconds"),
            "finished_utc": finished.isoformat(timespec="seconds"),
            "argv": sys.argv[1:] if argv is None else list(argv),
            "machine": info,
            "systems": systems,
            "availability": available,
            "reps": args.reps,
            "quick": args.quick,
            "threads": args.threads,
            "seed": args.seed,
        },
        "groups": groups,
    }
    out_path = Path(args.json)
    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        _log(
            f"results written to {out_path} "
            f"(total {(finished - started).total_seconds() / 60:.1f} min)"
        )
    except OSError as exc:
        _log(f"warning: could not write {out_path}: {exc}")
    return 0
