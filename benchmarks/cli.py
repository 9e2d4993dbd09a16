"""``python -m benchmarks``: generate (or reuse) archives, run the cases, write the results.

Examples::

    python -m benchmarks --quick                      # smoke test: every case, about a minute
    python -m benchmarks --sizes 10000,100000 --repeat 3
    python -m benchmarks --cases files,incremental --sizes 10000
    python -m benchmarks --database postgres://postgres@127.0.0.1:5432/archive

Without ``--database`` the archives are SQLite, whatever DATABASE_URL the shell has: a results
file must say what it measured. The default sizes of the data-only case take about an hour on 2
cores, most of it generating the 1,000,000-document archive (once) and running dumpdata on it.
The files and incremental cases need an archive with its files (about 17 kB of files per
document, so some 17 GB at 1,000,000, plus one export of as much at a time): pick ``--cases``
and ``--sizes`` to fit the disk.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import machine, report, snapshot, targets
from benchmarks.archives import ROOT, Archive, ensure_archive
from benchmarks.cases import CASES, Case, Contender
from benchmarks.limits import MemoryCap, parse_size
from benchmarks.runner import Run, Settings, run_all
from benchmarks.servers import Server

DEFAULT_SIZES = "10000,100000,1000000"
QUICK_SIZES = "100,500"
DEFAULT_OUT = ROOT / "benchmarks" / "results"
DEFAULT_CACHE = ROOT / "benchmarks" / "cache"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line, with the defaults of ``--quick`` and of a full run filled in."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke test: sizes {QUICK_SIZES}, one repeat, temporary cache and output "
        "directories unless given",
    )
    parser.add_argument("--sizes", help=f"comma-separated archive sizes (default {DEFAULT_SIZES})")
    parser.add_argument("--repeat", type=int, help="runs per contender and size (default 3)")
    parser.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    parser.add_argument("--out", type=Path, help=f"results directory (default {DEFAULT_OUT})")
    parser.add_argument(
        "--cache-dir", type=Path, help=f"where archives are cached (default {DEFAULT_CACHE})"
    )
    parser.add_argument(
        "--database",
        metavar="URL",
        help="a PostgreSQL or MariaDB server URL; each archive gets its own database on it "
        "(default: SQLite archives in the cache directory)",
    )
    parser.add_argument(
        "--max-rss", default="8G", help="memory cap of every child (default 8G)", type=parse_size
    )
    parser.add_argument(
        "--contenders",
        help="comma-separated contenders to run (default: all of each case's)",
    )
    parser.add_argument(
        "--cases",
        default=",".join(CASES),
        help=f"comma-separated cases (default {','.join(CASES)})",
    )
    parser.add_argument(
        "--code",
        choices=snapshot.SOURCES,
        default="worktree",
        help="which code the children run, copied when the run starts: the working tree as it "
        "is (default) or the last commit (with this harness from the working tree)",
    )
    parser.add_argument(
        "--timeout", type=float, help="seconds before a child is killed (default 4 h; quick 300 s)"
    )
    args = parser.parse_args(argv)
    args.sizes = _sizes(parser, args.sizes or (QUICK_SIZES if args.quick else DEFAULT_SIZES))
    args.repeat = args.repeat or (1 if args.quick else 3)
    args.timeout = args.timeout or (300.0 if args.quick else 4 * 3600.0)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def _sizes(parser: argparse.ArgumentParser, text: str) -> list[int]:
    try:
        sizes = sorted({int(part.replace("_", "")) for part in text.split(",") if part.strip()})
    except ValueError:
        parser.error(f"--sizes: expected whole numbers separated by commas, got {text!r}")
    if not sizes or sizes[0] < 1:
        parser.error("--sizes: give at least one size, each at least 1")
    return sizes


def select(cases: str, contenders: str | None) -> list[tuple[Case, list[Contender]]]:
    """The cases to run with their chosen contenders, in registry order."""
    wanted_cases = [name.strip() for name in cases.split(",") if name.strip()]
    unknown = [name for name in wanted_cases if name not in CASES]
    if unknown:
        raise SystemExit(f"unknown case(s) {', '.join(unknown)}; known: {', '.join(CASES)}")
    names = [name.strip() for name in contenders.split(",")] if contenders else None
    selection = []
    for case in (CASES[name] for name in wanted_cases):
        chosen = [c for c in case.contenders if names is None or c.name in names]
        if chosen:
            selection.append((case, chosen))
    known = {c.name for case, _ in selection for c in case.contenders}
    missing = sorted(set(names or ()) - known)
    if missing or not selection:
        raise SystemExit(f"unknown contender(s) {', '.join(missing) or contenders}")
    return selection


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks ``argv`` asks for; returns the exit status (1 if a run failed)."""
    args = parse_args(argv)
    command = shlex.join(["python", "-m", "benchmarks", *(sys.argv[1:] if argv is None else argv)])
    selection = select(args.cases, args.contenders)
    server = Server.parse(args.database) if args.database else None
    temporary_cache = args.quick and args.cache_dir is None
    cache = args.cache_dir or (
        Path(tempfile.mkdtemp(prefix="benchmarks-cache-")) if args.quick else DEFAULT_CACHE
    )
    out = args.out or (
        Path(tempfile.mkdtemp(prefix="benchmarks-quick-")) if args.quick else DEFAULT_OUT
    )
    out.mkdir(parents=True, exist_ok=True)
    cap = MemoryCap(args.max_rss)
    code, code_description = snapshot.take(ROOT, args.code)
    _log(f"code: {args.code} snapshot of {code_description['commit'][:12]} in {code}")
    try:
        return _run(args, command, selection, server, cache, out, cap, code, code_description)
    finally:
        shutil.rmtree(code, ignore_errors=True)
        if temporary_cache:
            shutil.rmtree(cache, ignore_errors=True)


def _run(
    args: argparse.Namespace,
    command: str,
    selection: list[tuple[Case, list[Contender]]],
    server: Server | None,
    cache: Path,
    out: Path,
    cap: MemoryCap,
    code: Path,
    code_description: dict[str, Any],
) -> int:
    raw = out / "raw"
    archives: dict[tuple[int, bool], Archive] = {}
    for documents in args.sizes:
        for with_files in sorted({case.needs_files for case, _ in selection}):
            _log(f"archive: {documents:,} documents, seed {args.seed}, files={with_files} ...")
            archive = ensure_archive(
                documents,
                args.seed,
                cache_dir=cache,
                server=server,
                with_files=with_files,
                code=code,
                log=raw / "logs" / f"generate-{documents}-seed{args.seed}.log",
            )
            how = (
                "cached"
                if archive.generation_seconds is None
                else f"generated in {archive.generation_seconds:.0f} s"
            )
            _log(f"archive: {archive.location} ({how})")
            archives[documents, with_files] = archive

    results: dict[str, Any] = {
        "schema": 1,
        "command": command,
        "started": _now(),
        "finished": None,
        "settings": {
            "sizes": args.sizes,
            "repeat": args.repeat,
            "seed": args.seed,
            "database": server.redacted() if server else "sqlite",
            "max_rss_bytes": cap.limit,
            "cap_method": cap.method,
            "timeout_seconds": args.timeout,
            "cases": {
                case.name: {
                    "description": case.description,
                    "contenders": {c.name: c.description for c in contenders},
                }
                for case, contenders in selection
            },
        },
        "machine": machine.describe(),
        "code": code_description,
        "archives": [archive.describe() for archive in archives.values()],
    }

    def save(runs: list[Run]) -> None:
        _complete(results, runs, selection)
        _write_atomically(out / "results.json", json.dumps(results, indent=2) + "\n")

    settings = Settings(repeat=args.repeat, cap=cap, timeout=args.timeout, raw_dir=raw, code=code)
    runs = run_all(
        selection,
        args.sizes,
        lambda case, documents: archives[documents, case.needs_files],
        settings,
        on_run=save,
    )
    results["finished"] = _now()
    save(runs)
    _write_atomically(out / "results.md", report.render_markdown(results))
    from benchmarks.plots import write_plots

    plots = write_plots(results["summaries"], out, cap.limit)
    _log(f"results: {out}/results.md, results.json, {', '.join(p.name for p in plots)}")
    broken = [run for run in runs if run["status"] in ("failed", "timeout")]
    for run in broken:
        _log(f"{run['status']}: {run['contender']} N={run['documents']}: {run['reason']}")
    return 1 if broken else 0


def _complete(
    results: dict[str, Any], runs: list[Run], selection: list[tuple[Case, list[Contender]]]
) -> None:
    """Fill in everything derived from the runs."""
    results["runs"] = runs
    results["summaries"] = report.summarize(runs)
    pairs = {
        case.name: [pair for pair in case.ratios if set(pair) <= {c.name for c in contenders}]
        for case, contenders in selection
    }
    results["ratios"] = report.pair_ratios(runs, pairs)
    results["targets"] = targets.evaluate(results["summaries"], results["ratios"])
    database = next(
        (run["child"]["database"] for run in runs if (run.get("child") or {}).get("database")),
        None,
    )
    results["machine"]["database"] = database


def _write_atomically(path: Path, text: str) -> None:
    # A results file is rewritten after every run: never leave a half-written one behind.
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
