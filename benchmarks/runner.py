"""The measurement loop: every (size, repeat, case, contender) as one capped child process.

Contenders take turns within a repeat, so that each pair compared by a ratio ran minutes apart
at most, under the same background load of this shared machine.

Before each measured run the contender's ``prepare`` (if any) runs unmeasured, in the parent or as
separate capped children (:mod:`benchmarks.prepare`); a :class:`Workspace` keeps what the runs of
one invocation share, such as one data-only export per archive. A failing preparation makes the
run "failed" (or "exceeded", "timeout") without a measured child.

A contender stopped by the memory cap is "exceeded" at that size and skipped, still recorded as
"exceeded", at every larger one. One whose memory grows with the archive is also skipped when its
peak RSS, projected linearly from the sizes already measured, would pass the cap.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.archives import ROOT, Archive
from benchmarks.cases import Case, Contender
from benchmarks.limits import MemoryCap
from benchmarks.prepare import Prepared, PrepareFailed, RunContext, Workspace
from benchmarks.process import ChildOutcome, run_child

MiB = 1 << 20
Run = dict[str, Any]


@dataclass(frozen=True)
class Settings:
    """How every child of a run is run: repeats, memory cap, timeout, where logs and code are."""

    repeat: int
    cap: MemoryCap
    timeout: float
    #: Child logs go here (gitignored: results/raw/).
    raw_dir: Path
    #: The project copy the children run from (see benchmarks.snapshot).
    code: Path = ROOT
    #: Where the runs' temporary output directories are made (None: the system's).
    scratch_dir: Path | None = None


def run_all(
    selection: Sequence[tuple[Case, Sequence[Contender]]],
    sizes: Sequence[int],
    archive_for: Callable[[Case, int], Archive],
    settings: Settings,
    on_run: Callable[[list[Run]], None] = lambda runs: None,
) -> list[Run]:
    """Run every selected contender at every size, smallest first; ``on_run`` sees the runs."""
    workspace = Workspace(
        code=settings.code,
        cap=settings.cap,
        timeout=settings.timeout,
        log_dir=settings.raw_dir / "logs",
        scratch=settings.scratch_dir,
    )
    with workspace:
        return _run_all(selection, sizes, archive_for, settings, on_run, workspace)


def _run_all(
    selection: Sequence[tuple[Case, Sequence[Contender]]],
    sizes: Sequence[int],
    archive_for: Callable[[Case, int], Archive],
    settings: Settings,
    on_run: Callable[[list[Run]], None],
    workspace: Workspace,
) -> list[Run]:
    runs: list[Run] = []
    # (case, contender) -> why it is no longer run.
    stopped: dict[tuple[str, str], str] = {}
    for documents in sorted(sizes):
        for case, contenders in selection:
            archive = archive_for(case, documents)
            for contender in contenders:
                key = (case.name, contender.name)
                if key not in stopped and contender.memory_grows:
                    projected = _projected_rss(runs, key, documents)
                    if projected is not None and projected[1] > settings.cap.limit:
                        stopped[key] = (
                            f"projected from {projected[0]:,}: {projected[1] / MiB:,.0f} MB"
                        )
            for repeat in range(settings.repeat):
                for contender in contenders:
                    key = (case.name, contender.name)
                    if key in stopped:
                        run = _skipped(case, contender, documents, repeat, stopped[key])
                    else:
                        run = _measure(case, contender, archive, repeat, settings, workspace)
                        if run["status"] == "exceeded":
                            stopped[key] = f"cap hit at {documents:,}, repeat {repeat + 1}"
                    runs.append(run)
                    _print_progress(run, settings.repeat)
                    on_run(runs)
    return runs


def _measure(
    case: Case,
    contender: Contender,
    archive: Archive,
    repeat: int,
    settings: Settings,
    workspace: Workspace,
) -> Run:
    name = f"{case.name}-{contender.name}-{archive.documents}-r{repeat + 1}"
    out = Path(tempfile.mkdtemp(prefix=f"bench-{name}-", dir=settings.scratch_dir))
    log = settings.raw_dir / "logs" / f"{name}.log"
    prepared = Prepared(env=archive.env)
    try:
        if contender.prepare is not None:
            context = RunContext(out=out, archive=archive, workspace=workspace, name=name)
            try:
                prepared = contender.prepare(context)
            except PrepareFailed as failure:
                return _unmeasured(case, contender, archive.documents, repeat, failure)
        outcome = run_child(
            contender.command(out, prepared),
            env=prepared.env,
            cwd=settings.code,
            cap=settings.cap,
            timeout=settings.timeout,
            log_path=log,
        )
    finally:
        prepared.cleanup()
        shutil.rmtree(out, ignore_errors=True)
    return _run_record(case, contender, archive.documents, repeat, outcome, log)


def _unmeasured(
    case: Case, contender: Contender, documents: int, repeat: int, failure: PrepareFailed
) -> Run:
    """A run whose preparation failed: its status, and no figures."""
    return {
        "case": case.name,
        "contender": contender.name,
        "documents": documents,
        "repeat": repeat + 1,
        "status": failure.status,
        "measured": False,
        "reason": failure.reason,
    }


def _run_record(
    case: Case, contender: Contender, documents: int, repeat: int, outcome: ChildOutcome, log: Path
) -> Run:
    result = outcome.result or {}
    if outcome.exceeded_memory:
        status = "exceeded"
        reason = f"stopped by the memory cap, RSS {outcome.sampled_rss_bytes / MiB:,.0f} MB seen"
    elif outcome.timed_out:
        status, reason = "timeout", "stopped by --timeout"
    elif outcome.returncode != 0 or not result:
        status = "failed"
        reason = f"exit {outcome.returncode}: {outcome.stderr_tail.strip()[-300:]}"
    else:
        status, reason = "ok", None
    export = result.get("export_seconds")
    records, size = result.get("records"), result.get("bytes")
    rate_ok = status == "ok" and export
    return {
        "case": case.name,
        "contender": contender.name,
        "documents": documents,
        "repeat": repeat + 1,
        "status": status,
        "measured": True,
        "reason": reason,
        "returncode": outcome.returncode,
        "wall_seconds": outcome.wall_seconds,
        "user_seconds": outcome.user_seconds,
        "system_seconds": outcome.system_seconds,
        "cpu_seconds": outcome.user_seconds + outcome.system_seconds,
        "peak_rss_bytes": outcome.peak_rss_bytes,
        "sampled_rss_bytes": outcome.sampled_rss_bytes,
        "cgroup_peak_bytes": outcome.cgroup_peak_bytes,
        "export_seconds": export,
        "records": records,
        "bytes": size,
        "queries": result.get("queries"),
        "records_per_second": records / export if rate_ok and records is not None else None,
        "mb_per_second": size / MiB / export if rate_ok and size is not None else None,
        "child": result or None,
        "log": str(log.relative_to(log.parents[2])),
    }


def _skipped(case: Case, contender: Contender, documents: int, repeat: int, reason: str) -> Run:
    return {
        "case": case.name,
        "contender": contender.name,
        "documents": documents,
        "repeat": repeat + 1,
        "status": "exceeded",
        "measured": False,
        "reason": reason,
    }


def _projected_rss(
    runs: list[Run], key: tuple[str, str], documents: int
) -> tuple[int, float] | None:
    """(from which size, projected peak RSS at ``documents``), linear in the archive size.

    Through the last two measured sizes when there are two. From one, the line goes through the
    child's RSS before its export (interpreter and Django, about 50 MB) at N = 0: through the
    origin it would project that fixed part too, ten times over for a size ten times larger.
    """
    by_size: dict[int, list[Run]] = {}
    for run in runs:
        if (run["case"], run["contender"]) == key and run["status"] == "ok":
            by_size.setdefault(run["documents"], []).append(run)
    sizes = sorted(by_size)
    if not sizes:
        return None

    def median_rss(size: int) -> float:
        return statistics.median(run["peak_rss_bytes"] for run in by_size[size])

    last = sizes[-1]
    if len(sizes) >= 2:
        before = sizes[-2]
        slope = (median_rss(last) - median_rss(before)) / (last - before)
        return last, median_rss(last) + slope * (documents - last)
    base = statistics.median(
        run["child"].get("rss_before_export_bytes") or 0 for run in by_size[last]
    )
    return last, base + (median_rss(last) - base) * documents / last


def _print_progress(run: Run, repeats: int) -> None:
    head = (
        f"[{run['case']}] {run['contender']:>9} N={run['documents']:<8} r{run['repeat']}/{repeats}"
    )
    if run["status"] != "ok":
        print(f"{head}: {run['status']} ({run['reason']})", file=sys.stderr, flush=True)
        return
    figures = [
        f"{run['wall_seconds']:7.2f} s wall",
        f"{run['export_seconds']:7.2f} s export",
        f"{run['cpu_seconds']:7.2f} s CPU",
        f"{run['peak_rss_bytes'] / MiB:7.0f} MB",
    ]
    if run["records_per_second"] is not None:
        figures.append(f"{run['records_per_second']:9,.0f} rec/s")
    if run["mb_per_second"] is not None:
        figures.append(f"{run['mb_per_second']:7.1f} MB/s")
    if run["queries"] is not None:
        figures.append(f"{run['queries']:,} queries")
    print(f"{head}: {', '.join(figures)}", file=sys.stderr, flush=True)
