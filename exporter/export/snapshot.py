"""One consistent view of the database, and the locks held, for the whole of an export."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from django.db import connections, transaction
from filelock import FileLock, Timeout

from exporter.errors import ExportError
from exporter.format import target_lock_path

MEDIA_LOCK_TIMEOUT = 300.0


@contextmanager
def consistent_snapshot(using: str = "default") -> Iterator[None]:
    """Every read inside the block sees the database as it was at one moment.

    PostgreSQL: a REPEATABLE READ, READ ONLY transaction. MariaDB/MySQL: REPEATABLE READ with a
    consistent snapshot taken at once. SQLite: one read transaction (in WAL mode writers go on,
    unseen by us).
    """
    connection = connections[using]
    if connection.in_atomic_block:
        # The caller's transaction already fixes what we see; its isolation is the caller's.
        yield
        return
    if connection.vendor == "mysql":
        with connection.cursor() as cursor:
            cursor.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    with transaction.atomic(using=using):
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            elif connection.vendor == "mysql":
                cursor.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
            elif connection.vendor == "sqlite":
                # BEGIN is deferred: the snapshot starts at the first read, so read now.
                cursor.execute("SELECT 1 FROM sqlite_master LIMIT 1")
        yield


@contextmanager
def export_locks(
    target: Path | None, media_lock: Path | None, *, lock_timeout: float = 0
) -> Iterator[None]:
    """Hold the target's lock (so two exporters never interleave) and the media lock."""
    with ExitStack() as stack:
        if target is not None:
            lock = FileLock(target_lock_path(target), timeout=lock_timeout)
            try:
                stack.enter_context(lock)
            except Timeout:
                raise ExportError(
                    f"Another document_exporter is writing into {target}, or verify_export or "
                    f"document_importer is reading it (lock {lock.lock_file}). Wait for it to "
                    "finish, or pass --lock-timeout SECONDS to wait for it."
                ) from None
        if media_lock is not None:
            media_lock.parent.mkdir(parents=True, exist_ok=True)
            lock = FileLock(media_lock, timeout=max(lock_timeout, MEDIA_LOCK_TIMEOUT))
            try:
                stack.enter_context(lock)
            except Timeout:
                raise ExportError(
                    f"The media lock {media_lock} stayed taken for {lock.timeout:.0f} s: another "
                    "process is moving documents. Try again when it is done."
                ) from None
        yield
