"""One measured run: ``python -m benchmarks.child <contender> <outdir> [args...]``.

Sets Django up, runs the contender's workload (:mod:`benchmarks.workloads`,
:mod:`benchmarks.readers`) into ``outdir`` and prints one JSON line: records, bytes written (or
read, for a workload that reads an export), queries issued, and the wall time of the export alone
(setup excluded). Workloads that need no Django (``cp``, ``ijson``) run without it and count no
queries. The parent measures CPU and peak RSS of the whole process from outside.
With ``BENCHMARKS_PROFILE=<file>`` in the environment the export runs under cProfile.

Queries are counted with ``connection.execute_wrapper``, which only counts: ``force_debug_cursor``
or ``DEBUG`` would keep every query's SQL in memory and inflate the RSS being measured. On
MariaDB the server's own per-session counter is used instead, because the exporter's unbuffered
cursors run on the raw connection, past Django's wrappers.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import readers, workloads
from benchmarks.process import RESULT_KEY

WORKLOADS = {**workloads.WORKLOADS, **readers.WORKLOADS}
WITHOUT_DJANGO = workloads.WITHOUT_DJANGO | readers.WITHOUT_DJANGO


class QueryCounter:
    """An execute wrapper that counts statements and keeps nothing else."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.count += 1
        return execute(sql, params, many, context)


def main(argv: list[str]) -> int:
    """Run one workload and print its result line; returns the exit code."""
    if len(argv) < 2 or argv[0] not in WORKLOADS:
        print(
            f"usage: python -m benchmarks.child {{{','.join(WORKLOADS)}}} <outdir> [args...]",
            file=sys.stderr,
        )
        return 2
    name, out, args = argv[0], Path(argv[1]), argv[2:]
    out.mkdir(parents=True, exist_ok=True)

    setup_started = time.monotonic()
    connection = None
    if name not in WITHOUT_DJANGO:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "archive.settings")
        import django

        django.setup()
        from django.db import connection

    database = _database_info(connection) if connection is not None else None
    server_before = _server_statements(connection) if connection is not None else None
    setup_seconds = time.monotonic() - setup_started
    rss_before = _status_bytes("VmRSS")

    counter = QueryCounter()
    profile_path = os.environ.get("BENCHMARKS_PROFILE")
    profiler = _start_profiler() if profile_path else None
    started = time.monotonic()
    if connection is None:
        produced = WORKLOADS[name](out, args)
    else:
        with connection.execute_wrapper(counter):
            produced = WORKLOADS[name](out, args)
    export_seconds = time.monotonic() - started
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile_path)

    server_after = _server_statements(connection) if connection is not None else None
    if connection is None:
        queries, source = None, None
    elif server_before is not None and server_after is not None:
        if server_before[0] == server_after[0]:
            # Minus the one SHOW STATUS statement that read the first value.
            queries, source = server_after[1] - server_before[1] - 1, "server (Questions)"
        else:
            # The workload closed the connection (loaddata does, on MySQL): the session's
            # counter started again, but Django's wrapper saw every statement it sent.
            queries = counter.count + produced.uncounted_queries
            source = "execute_wrapper (session reopened)"
    else:
        queries, source = counter.count + produced.uncounted_queries, "execute_wrapper"
    # After the peak of the workload, and without a list of paths: a list of a 250,000-file
    # export's paths alone would be the largest thing this process ever held.
    file_count, written = _tree_size(out)
    if produced.bytes_read is not None:
        measured, bytes_source = produced.bytes_read, "read"
    elif produced.bytes_stored is not None:
        measured, bytes_source = produced.bytes_stored, "object store"
    else:
        measured, bytes_source = written, "output"
    result = {
        RESULT_KEY: 1,
        "contender": name,
        "args": args,
        "records": produced.records,
        # What MB/s is computed from: the bytes read for a workload that reads an export, those
        # of the export left in object storage for one that exports there, else the bytes of
        # every file in the output directory after the run.
        "bytes": measured,
        "bytes_source": bytes_source,
        "bytes_output": written,
        "files": file_count,
        "queries": queries,
        "queries_source": source,
        "export_seconds": export_seconds,
        "setup_seconds": setup_seconds,
        "rss_before_export_bytes": rss_before,
        # The peak RSS of this process image alone (after exec), to compare with wait4's.
        "vmhwm_bytes": _status_bytes("VmHWM"),
        "database": database,
        # The code snapshot this child ran from (see benchmarks.snapshot).
        "cwd": os.getcwd(),
        **produced.extra,
    }
    print(json.dumps(result), flush=True)
    return 0


def _tree_size(root: Path) -> tuple[int, int]:
    """The number of regular files under ``root`` and their total size, in constant memory."""
    count = total = 0
    for entry in workloads.iter_files(root):
        count += 1
        total += entry.stat(follow_symlinks=False).st_size
    return count, total


def _start_profiler() -> Any:
    """cProfile over the export alone, for ``BENCHMARKS_PROFILE=<file>`` (pstats format).

    Profiled runs are for finding where the time goes, not for the figures: cProfile's cost per
    call slows call-heavy code several times more than the rest.
    """
    import cProfile

    profiler = cProfile.Profile()
    profiler.enable()
    return profiler


def _database_info(connection: Any) -> dict[str, str]:
    vendor = connection.vendor
    if vendor == "sqlite":
        import sqlite3

        return {"vendor": vendor, "version": sqlite3.sqlite_version}
    query = "SHOW server_version" if vendor == "postgresql" else "SELECT VERSION()"
    with connection.cursor() as cursor:
        cursor.execute(query)
        return {"vendor": vendor, "version": str(cursor.fetchone()[0])}


def _server_statements(connection: Any) -> tuple[int, int] | None:
    """MariaDB's (session id, count of statements this session sent); None elsewhere."""
    if connection.vendor != "mysql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SHOW SESSION STATUS LIKE 'Questions'")
        count = int(cursor.fetchone()[1])
    return connection.connection.thread_id(), count


def _status_bytes(key: str) -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
