"""Run ``manage.py`` and freeze the process (SIGSTOP) at a chosen moment, for kill -9 tests.

``python -m tests.helpers.stop_point <manage.py arguments>`` with ``STOP_AT=<kind>:<n>`` in the
environment runs the command unchanged until the n-th (1-based) event of that kind, then prints
``STOPPED <kind>:<n> <detail>`` on standard error and stops itself with SIGSTOP, every thread at
once. The test then sends SIGKILL from outside: the process dies exactly there, with no
``finally`` block, no clean-up and no ``atexit`` handler run, as on a power cut or an OOM kill.
Kinds of event:

* ``manifest``: a write of bytes into the temporary file of ``manifest.json``;
* ``split``: a write into the temporary file of a split manifest (``*-manifest.json``);
* ``file``: a write of a chunk of a document file into its temporary copy;
* ``zip``: a write into the temporary zip archive;
* ``replace``: a rename (``os.replace``) of the commit, done just before the stop;
* ``bulk``: a batch INSERT of the importer's database load (its rows, or a many-to-many field's
  through rows), done just before the stop.

Writes are counted at the lowest level the sinks use (the file objects they ``open``), and the
stop comes once the bytes of the write were handed to the operating system (flushed), so a
partial temporary file is on disk when the process dies. Without ``STOP_AT`` this is manage.py.

Tests start it with :func:`tests.helpers.stop_points.spawn`.
"""

from __future__ import annotations

import os
import signal
import sys
from collections import Counter
from collections.abc import Callable
from typing import Any

COUNTS: Counter[str] = Counter()


def stop_if_due(kind: str, detail: str) -> None:
    """Count one event of ``kind`` and freeze the process if it is the chosen one."""
    wanted = os.environ.get("STOP_AT", "")
    if not wanted:
        return
    want_kind, _, want_n = wanted.partition(":")
    if kind != want_kind:
        return
    COUNTS[kind] += 1
    if COUNTS[kind] == int(want_n):
        sys.stderr.write(f"STOPPED {wanted} {detail}\n")
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGSTOP)


def kind_of(path: str) -> str:
    """Which kind of export file a temporary file path belongs to."""
    name = os.path.basename(path)
    if ".zip." in name:
        return "zip"
    if "-manifest.json." in name:
        return "split"
    if name.startswith(".manifest.json."):
        return "manifest"
    if name.startswith(".metadata.json."):
        return "metadata"
    return "file"


class WatchedFile:
    """A binary file opened for writing whose writes are events of one kind."""

    def __init__(self, file: Any, kind: str, path: str) -> None:
        self._file = file
        self._kind = kind
        self._path = path

    def write(self, data: Any) -> int:
        count = self._file.write(data)
        self._file.flush()
        stop_if_due(self._kind, self._path)
        return count

    def __enter__(self) -> WatchedFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)


def install() -> None:
    """Wrap the write paths of the sinks, the commit's renames and the importer's inserts."""
    import builtins

    from django.db.models import QuerySet

    from exporter.sinks import directory, zipped

    real_open = builtins.open

    def watched_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        opened = real_open(file, mode, *args, **kwargs)
        if "w" not in mode or not isinstance(file, int):
            return opened
        path = os.readlink(f"/proc/self/fd/{file}")
        return WatchedFile(opened, kind_of(path), path)

    # Module globals shadow the builtin for these modules only.
    directory.open = watched_open  # type: ignore[attr-defined]
    zipped.open = watched_open  # type: ignore[attr-defined]

    real_replace = os.replace

    def watched_replace(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        real_replace(src, dst, *args, **kwargs)
        stop_if_due("replace", str(dst))

    os.replace = watched_replace

    real_bulk_create = QuerySet.bulk_create

    def watched_bulk_create(self: QuerySet, objs: Any, *args: Any, **kwargs: Any) -> Any:
        created = real_bulk_create(self, objs, *args, **kwargs)
        stop_if_due("bulk", self.model._meta.label_lower)
        return created

    QuerySet.bulk_create = watched_bulk_create  # type: ignore[method-assign]

    from exporter.readback import loader

    real_insert_batch = loader.insert_batch

    def watched_insert_batch(rows: Any, batch: Any, using: str) -> None:
        real_insert_batch(rows, batch, using)
        stop_if_due("bulk", rows.model._meta.label_lower)

    loader.insert_batch = watched_insert_batch

    real_insert_through_rows = loader.insert_through_rows

    def watched_insert_through_rows(field: Any, pairs: Any, using: str, batch_size: int) -> None:
        real_insert_through_rows(field, pairs, using, batch_size)
        stop_if_due("bulk", field.remote_field.through._meta.label_lower)

    loader.insert_through_rows = watched_insert_through_rows


def main(argv: list[str], install_hooks: Callable[[], None] = install) -> None:
    """Run ``manage.py *argv`` with the hooks installed."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "archive.settings")
    import django
    from django.core.management import execute_from_command_line

    django.setup()
    install_hooks()
    execute_from_command_line(["manage.py", *argv])


if __name__ == "__main__":
    main(sys.argv[1:])
