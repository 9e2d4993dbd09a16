"""Summaries of the raw runs, the pairwise ratios and the markdown report.

Nothing here runs anything: it all works from the runs recorded in ``results.json``, so a report
can be rebuilt from an old results file.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from typing import Any

MiB = 1 << 20
Run = dict[str, Any]
#: The figures of a run that are summarized.
_FIGURES = (
    "wall_seconds",
    "export_seconds",
    "cpu_seconds",
    "peak_rss_bytes",
    "records_per_second",
    "mb_per_second",
    "queries",
    "records",
    "bytes",
)
_STATUS_ORDER = ("failed", "timeout", "exceeded", "ok")


def spread(values: Iterable[float]) -> dict[str, float] | None:
    """Median, min and max, or None without values."""
    values = [value for value in values if value is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def summarize(runs: list[Run]) -> list[dict[str, Any]]:
    """One summary per (case, contender, size), in the order the runs first appear."""
    groups: dict[tuple[str, str, int], list[Run]] = {}
    for run in runs:
        groups.setdefault((run["case"], run["contender"], run["documents"]), []).append(run)
    summaries = []
    for (case, contender, documents), group in groups.items():
        ok = [run for run in group if run["status"] == "ok"]
        statuses = {run["status"] for run in group}
        status = next(s for s in _STATUS_ORDER if s in statuses)
        reasons = [run["reason"] for run in group if run["status"] == status and run["reason"]]
        summary: dict[str, Any] = {
            "case": case,
            "contender": contender,
            "documents": documents,
            "status": status,
            "reason": reasons[0] if reasons else None,
            "runs": len(group),
            "runs_ok": len(ok),
        }
        for key in _FIGURES:
            summary[key] = spread(run.get(key) for run in ok)
        summaries.append(summary)
    return summaries


def pair_ratios(runs: list[Run], pairs: dict[str, list[tuple[str, str]]]) -> list[dict[str, Any]]:
    """Time ratios numerator/denominator, per repeat index, then their median.

    Pairing by repeat index compares runs made back to back (see benchmarks.runner), which
    cancels much of the drift of a shared machine. ``pairs`` maps a case to its pairs.
    """
    by_key = {
        (run["case"], run["contender"], run["documents"], run["repeat"]): run
        for run in runs
        if run["status"] == "ok"
    }
    sizes = sorted({(run["case"], run["documents"]) for run in runs})
    ratios = []
    for case, documents in sizes:
        for numerator, denominator in pairs.get(case, []):
            export, wall = [], []
            for (c, contender, n, repeat), run in by_key.items():
                if (c, contender, n) != (case, numerator, documents):
                    continue
                other = by_key.get((case, denominator, documents, repeat))
                if other is None:
                    continue
                export.append(run["export_seconds"] / other["export_seconds"])
                wall.append(run["wall_seconds"] / other["wall_seconds"])
            ratios.append(
                {
                    "case": case,
                    "documents": documents,
                    "numerator": numerator,
                    "denominator": denominator,
                    "pairs": len(export),
                    "export_seconds": spread(export),
                    "wall_seconds": spread(wall),
                }
            )
    return ratios


def render_markdown(results: dict[str, Any]) -> str:
    """The whole results.md."""
    settings, machine, code = results["settings"], results["machine"], results["code"]
    database = machine.get("database") or {}
    if code["source"] == "head":
        version = f"git {code['commit'][:12]} (HEAD)"
    else:
        changed = len(code["changed_files"])
        version = f"git {code['commit'][:12]}" + (
            f" + {changed} uncommitted change(s)" if changed else ""
        )
    lines = [
        "# Benchmark results",
        "",
        f"`{results['command']}`, {results['finished']}; code: {version}, "
        f"fingerprint {code['fingerprint'][:12]}.",
        "",
        f"Machine: {machine['cpu_count']} CPUs ({machine['cpu_model']}), "
        f"{machine['memory_bytes'] / (1 << 30):.1f} GiB RAM, Linux {machine['kernel']}; "
        f"Python {machine['python']}, Django {machine['versions'].get('django')}, "
        f"orjson {machine['versions'].get('orjson')}, ijson {machine['versions'].get('ijson')}; "
        f"database {database.get('vendor', '?')} {database.get('version', '?')} "
        f"(SQLite library {machine['sqlite']}).",
        "",
        f"Each figure is the median of {settings['repeat']} run(s) [min–max]; every run is a "
        f"separate process under a {settings['max_rss_bytes'] / (1 << 30):.1f} GiB memory cap "
        f"({settings['cap_method']}). Seed {settings['seed']}.",
        "",
    ]
    lines += _main_table(results)
    lines += ["", *_legend()]
    lines += _cases(settings.get("cases") or {})
    targets = results.get("targets") or []
    if targets:
        lines += ["", "## Targets", "", "| target | result | detail |", "|---|---|---|"]
        lines += [f"| {t['target']} | {t['result']} | {t['detail']} |" for t in targets]
    return "\n".join(lines) + "\n"


def _main_table(results: dict[str, Any]) -> list[str]:
    ratios = {
        (r["case"], r["documents"], r["numerator"], r["denominator"]): r for r in results["ratios"]
    }
    pairs = sorted({(r["numerator"], r["denominator"]) for r in results["ratios"]})
    header = [
        "case",
        "contender",
        "N",
        "wall s",
        "export s",
        "CPU s",
        "peak RSS MB",
        "records/s",
        "MB/s",
        "queries",
        *(f"{a}/{b}" for a, b in pairs),
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for summary in results["summaries"]:
        cells = [summary["case"], summary["contender"], f"{summary['documents']:,}"]
        if summary["runs_ok"] == 0:
            reason = f" ({summary['reason']})" if summary["reason"] else ""
            cells += [summary["status"] + reason] + [""] * 6
        else:
            cells += [
                _spread(summary["wall_seconds"], "{:.2f}"),
                _spread(summary["export_seconds"], "{:.2f}"),
                _spread(summary["cpu_seconds"], "{:.2f}"),
                _spread(summary["peak_rss_bytes"], "{:,.0f}", MiB),
                _median(summary["records_per_second"], "{:,.0f}"),
                _median(summary["mb_per_second"], "{:.1f}"),
                _median(summary["queries"], "{:,.0f}"),
            ]
            if summary["status"] != "ok":
                cells[3] = f"{summary['status']}: {summary['reason']}; ok runs: " + cells[3]
        for numerator, denominator in pairs:
            # A ratio sits on the numerator's row.
            ratio = ratios.get((summary["case"], summary["documents"], numerator, denominator))
            cells.append(_ratio(ratio) if ratio and summary["contender"] == numerator else "")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _cases(cases: dict[str, Any]) -> list[str]:
    """The cases that were run, with what each contender is."""
    if not cases:
        return []
    lines = ["", "## Cases", ""]
    for name, case in cases.items():
        lines.append(f"- **{name}**: {case['description']}")
        lines += [
            f"  - `{contender}`: {description}"
            for contender, description in case["contenders"].items()
        ]
    return lines


def _legend() -> list[str]:
    return [
        "- **wall s**: the child process from spawn to exit, measured by the parent (includes "
        "interpreter start and Django setup, about 0.3 s; `cp` and `ijson` run without Django). "
        "**export s**: the measured work alone (export, copy, import or parse), timed inside "
        "the child; records/s, MB/s and the ratios use it. Preparation (a first export, the "
        "manifest to read, an empty migrated database) runs before, unmeasured.",
        "- **CPU s**: user + system time of the child and of what it ran (`wait4` rusage). "
        "**peak RSS**: the child's `ru_maxrss` (for `cp`: the larger of the Python child's and "
        "cp's). MB = 2^20 bytes.",
        "- **records**: the records of the manifest written, re-written or read (`cp` has "
        "none). **MB/s**: for import and verify, the manifest's bytes read; otherwise the "
        "bytes of every file in the output directory after the run (for incremental, the "
        "export that was checked, though little or nothing was rewritten).",
        "- **queries**: statements the child sent (Django `execute_wrapper`; on MariaDB the "
        "server's per-session `Questions`); blank for `cp` and `ijson`, which use no database.",
        "- **a/b**: median over repeats of the per-repeat ratio of export times a/b (wall-time "
        "ratio in parentheses), shown on a's row. Runs of one repeat are made back to back.",
        "- **exceeded**: stopped by the memory cap, or skipped because it was stopped at a "
        "smaller size or its RSS projected linearly from the smaller sizes passes the cap.",
        "- The OS file cache is warm (the archive was generated or read just before).",
    ]


def _spread(values: dict[str, float] | None, fmt: str, scale: float = 1) -> str:
    if values is None:
        return ""
    median, low, high = (values[k] / scale for k in ("median", "min", "max"))
    if fmt.format(low) == fmt.format(high):
        return fmt.format(median)
    return f"{fmt.format(median)} [{fmt.format(low)}–{fmt.format(high)}]"


def _median(values: dict[str, float] | None, fmt: str) -> str:
    return "" if values is None else fmt.format(values["median"])


def _ratio(ratio: dict[str, Any]) -> str:
    if not ratio["export_seconds"]:
        return ""
    export, wall = ratio["export_seconds"]["median"], ratio["wall_seconds"]["median"]
    return f"{export:.2f}× ({wall:.2f}×)"
