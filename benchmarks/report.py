"""Summaries of the per-process runs and their Markdown rendering."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

from benchmarks.common import fmt_num, median
from benchmarks.workloads import Metric, Workload

#: Per-process memory figures the child adds to every run.
RSS_METRICS = (
    Metric("peak_rss_mb", "peak RSS MB"),
    Metric("import_rss_mb", "RSS after import MB"),
)


def summarize_values(values: Sequence[float]) -> Optional[Dict[str, Any]]:
    """Median, min, max and count of the per-process values (``None`` when empty)."""
    if not values:
        return None
    return {"median": median(values), "min": min(values), "max": max(values), "n": len(values)}


def oriented_ratio(
    metric: Metric, first: Optional[Dict[str, Any]], other: Optional[Dict[str, Any]]
) -> Optional[float]:
    """Ratio of medians oriented so that a value above 1 favours the first system.

    For lower-is-better metrics (time, memory) this is ``other / first``, e.g.
    torch time / chaingrad time; for higher-is-better metrics (GB/s, GFLOP/s) it is
    ``first / other``.
    """
    if first is None or other is None or metric.reference:
        return None
    a, b = first["median"], other["median"]
    if metric.better == "higher":
        return a / b if b else None
    return b / a if a else None


def summarize_group(
    wl: Workload, systems: List[str], runs: Dict[str, List[Dict[str, Any]]]
) -> Dict[str, Any]:
    """Summaries of every metric (workload metrics plus RSS) for one row group."""
    out: Dict[str, Any] = {}
    for metric in wl.metrics + RSS_METRICS:
        per_system: Dict[str, Any] = {}
        for s in systems:
            vals = [
                r.get("metrics", {}).get(metric.key, r.get(metric.key))
                for r in runs.get(s, [])
                if "error" not in r
            ]
            per_system[s] = summarize_values([float(v) for v in vals if v is not None])
        ratios = {
            f"{s}/{systems[0]}": oriented_ratio(metric, per_system[systems[0]], per_system[s])
            for s in systems[1:]
        }
        out[metric.key] = {
            "label": metric.label,
            "better": metric.better,
            "reference": metric.reference,
            "systems": per_system,
            "ratios": ratios,
        }
    return out


def _cell(summary: Optional[Dict[str, Any]]) -> List[str]:
    if summary is None:
        return ["n/a", "n/a"]
    return [fmt_num(summary["median"]), f"{fmt_num(summary['min'])}–{fmt_num(summary['max'])}"]


def _group_name(group: Dict[str, Any]) -> str:
    name = f"{group['workload']} {group['title']}"
    return f"{name} ({group['variant']})" if group.get("variant") else name


def markdown_tables(groups: List[Dict[str, Any]], systems: List[str]) -> str:
    """Render the main table (speed) and the memory table (peak RSS per process)."""
    ratio_cols = [f"{s}/{systems[0]}" for s in systems[1:]]
    head = ["Workload", "Metric"]
    for s in systems:
        head += [f"{s} median", f"{s} min–max"]
    head += ratio_cols
    lines = [
        "| " + " | ".join(head) + " |",
        "|" + "|".join(["---", "---"] + ["---:"] * (len(head) - 2)) + "|",
    ]
    for g in groups:
        keys = [m["key"] for m in g["metric_list"]]
        if g.get("show_rss"):
            keys.append("peak_rss_mb")
        for key in keys:
            item = g["summary"][key]
            row = [_group_name(g), item["label"]]
            for s in systems:
                row += _cell(item["systems"][s])
            row += [
                "—" if item.get("reference") else fmt_num(item["ratios"][c]) for c in ratio_cols
            ]
            lines.append("| " + " | ".join(row) + " |")

    mem_head = ["Workload"]
    for s in systems:
        mem_head += [f"{s} peak RSS MB", f"{s} RSS after import MB"]
    mem_head += [f"peak {c}" for c in ratio_cols]
    mem = [
        "| " + " | ".join(mem_head) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(mem_head) - 1)) + "|",
    ]
    for g in groups:
        peak, base = g["summary"]["peak_rss_mb"], g["summary"]["import_rss_mb"]
        row = [_group_name(g)]
        for s in systems:
            row += [_median_str(peak["systems"][s]), _median_str(base["systems"][s])]
        row += [fmt_num(peak["ratios"][c]) for c in ratio_cols]
        mem.append("| " + " | ".join(row) + " |")

    notes = []
    if ratio_cols:
        notes.append(
            f"Ratios compare medians and are oriented so that > 1 means {systems[0]} is better: "
            f"time and memory rows are {ratio_cols[0]}, throughput rows (GB/s, GFLOP/s, "
            f"× numpy) the inverse."
        )
    notes.append(
        "Medians and min–max are over fresh processes (one value per process, itself "
        "the median of that process's timed iterations)."
    )
    errors = [
        f"- {g['workload']}{' (' + g['variant'] + ')' if g.get('variant') else ''}, {s}: {msg}"
        for g in groups
        for s, msg in g.get("errors", {}).items()
    ]
    out = "\n".join(lines) + "\n\n" + "\n".join(notes) + "\n\nPeak RSS per process (medians; "
    out += "nothing subtracted):\n\n" + "\n".join(mem) + "\n"
    if errors:
        out += "\nErrors (shown as n/a above):\n\n" + "\n".join(errors) + "\n"
    return out


def _median_str(summary: Optional[Dict[str, Any]]) -> str:
    return "n/a" if summary is None else fmt_num(summary["median"])
