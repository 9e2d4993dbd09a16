"""What happens before a measured run, unmeasured: first exports, cached manifests, empty databases.

A contender's ``prepare`` gets a :class:`RunContext` and returns a :class:`Prepared`: the
environment of the measured child, the paths its command reads and what to undo afterwards.
Everything heavy runs as its own child process (``manage.py ...`` from the code snapshot) under
the same memory cap as the measured runs, never in the parent: the parent must stay small, since
a forked child's peak RSS as ``wait4`` reports it starts from the parent's at fork time.

A :class:`Workspace` lives for one whole invocation: it holds what is made once and reused, such
as the data-only export of an archive that the import and verify cases read (it is deterministic,
so one per archive is enough), the directory export with files that the ``s3`` case's floor uploads,
and the S3 server of the ``s3`` case (:mod:`benchmarks.object_store`), started on first use and
stopped when the workspace closes.
"""

from __future__ import annotations

import itertools
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.archives import Archive
from benchmarks.limits import MemoryCap
from benchmarks.object_store import ObjectStore, ObjectStoreFailed
from benchmarks.process import run_child
from benchmarks.servers import Server

MiB = 1 << 20


class PrepareFailed(Exception):
    """A preparation step failed; ``status`` is "failed", "timeout" or "exceeded"."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class Prepared:
    """What a prepare step hands to the measured run."""

    #: The measured child's environment.
    env: dict[str, str]
    #: Paths the contender's command reads (e.g. ``"export"``, ``"media"``).
    inputs: dict[str, Path] = field(default_factory=dict)
    #: Other values the contender's command uses (e.g. ``"target"``, an ``s3://`` URL).
    values: dict[str, str] = field(default_factory=dict)
    #: Undone after the measured run, whatever happened (e.g. drop a fresh database).
    cleanups: list[Callable[[], None]] = field(default_factory=list)

    def cleanup(self) -> None:
        """Run the cleanups, last first; one failing does not stop the others."""
        while self.cleanups:
            try:
                self.cleanups.pop()()
            except Exception as exc:  # noqa: BLE001 - report and go on cleaning
                print(f"cleanup failed: {exc}", file=sys.stderr, flush=True)


class Workspace:
    """Scratch space and caches shared by the runs of one invocation; ``close()`` removes them."""

    def __init__(
        self, *, code: Path, cap: MemoryCap, timeout: float, log_dir: Path, scratch: Path | None
    ) -> None:
        self.code = code
        self.cap = cap
        self.timeout = timeout
        self.log_dir = log_dir
        self.root = Path(tempfile.mkdtemp(prefix="benchmarks-work-", dir=scratch))
        self._exports: dict[str, Path] = {}
        self._file_exports: dict[str, Path] = {}
        self._object_store: ObjectStore | None = None
        self._names = itertools.count(1)

    def close(self) -> None:
        """Stop the S3 server if one was started; remove everything made on disk."""
        try:
            if self._object_store is not None:
                self._object_store.stop()
                self._object_store = None
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def manage(self, env: dict[str, str], *args: str, log_name: str) -> None:
        """Run ``manage.py <args>`` as an unmeasured child under the cap; raise if it fails."""
        outcome = run_child(
            [sys.executable, "manage.py", *args],
            env=env,
            cwd=self.code,
            cap=self.cap,
            timeout=self.timeout,
            log_path=self.log_dir / f"{log_name}.log",
        )
        what = f"prepare: manage.py {args[0]}"
        if outcome.exceeded_memory:
            raise PrepareFailed(
                "exceeded",
                f"{what} stopped by the memory cap, RSS {outcome.sampled_rss_bytes / MiB:,.0f} MB",
            )
        if outcome.timed_out:
            raise PrepareFailed("timeout", f"{what} stopped by --timeout")
        if outcome.returncode != 0:
            tail = outcome.stderr_tail.strip()[-300:]
            raise PrepareFailed("failed", f"{what}: exit {outcome.returncode}: {tail}")

    def data_only_export(self, archive: Archive) -> Path:
        """A ``document_exporter --stream --data-only`` export of ``archive``, made once."""
        return self._export_once(archive, self._exports, "data-only-export", "--data-only")

    def files_export(self, archive: Archive) -> Path:
        """A ``document_exporter --stream`` directory export of ``archive`` with its files,
        made once: what a directory export of the archive holds, file for file."""
        return self._export_once(archive, self._file_exports, "files-export")

    def _export_once(self, archive: Archive, made: dict[str, Path], name: str, *args: str) -> Path:
        """``document_exporter TARGET --stream *args`` of ``archive``, unless ``made`` (by
        archive) already has it."""
        cached = made.get(archive.location)
        if cached is not None:
            return cached
        target = self.root / f"{name}-{archive.documents}-{next(self._names)}"
        target.mkdir()
        self.manage(
            archive.env,
            "document_exporter",
            str(target),
            "--stream",
            *args,
            "--no-progress-bar",
            log_name=f"prepare-{name}-{archive.documents}",
        )
        made[archive.location] = target
        return target

    def object_store(self) -> ObjectStore:
        """The S3 server of this invocation, started on first use; PrepareFailed if it cannot
        be."""
        if self._object_store is None:
            try:
                self._object_store = ObjectStore.start(self.log_dir / "object-store.log")
            except ObjectStoreFailed as exc:
                raise PrepareFailed("failed", f"prepare: {exc}") from None
        return self._object_store

    def empty_database(self, archive: Archive, log_name: str) -> Prepared:
        """A fresh, migrated, empty database (and empty media folder) on the archive's engine.

        SQLite: a new file in a new data directory, named by ``DATABASE_URL``. PostgreSQL and
        MariaDB: a new database on the archive's server, dropped by the returned cleanup.
        """
        number = next(self._names)
        data_dir = self.root / f"empty-{number}"
        data_dir.mkdir()
        env = dict(archive.env)
        env["ARCHIVE_DATA_DIR"] = str(data_dir)
        prepared = Prepared(env=env, cleanups=[lambda: shutil.rmtree(data_dir, True)])
        if archive.engine == "sqlite":
            env["DATABASE_URL"] = f"sqlite:///{data_dir / 'db.sqlite3'}"
        else:
            server = Server.parse(archive.env["DATABASE_URL"])
            database = f"bench_empty_{os.getpid()}_{number}"
            server.recreate(database)
            prepared.cleanups.append(lambda: server.drop(database))
            env["DATABASE_URL"] = server.url_for(database)
        try:
            self.manage(env, "migrate", "--verbosity=0", log_name=log_name)
        except BaseException:
            prepared.cleanup()
            raise
        return prepared


@dataclass(frozen=True)
class RunContext:
    """What a prepare step knows about the run it prepares."""

    #: The run's output directory: empty, removed after the run.
    out: Path
    archive: Archive
    workspace: Workspace
    #: A name for this run's logs.
    name: str
