"""Opening an export to read it back: which kind of source a path names, and the locks held
while it is read.

:func:`open_export` is how the commands open one: for a directory it holds the exporter's locks
on it while reading (an export being written is refused, not read half-way) and first completes
a commit that a killed exporter left half-done (:func:`exporter.sinks.journal.roll_forward`).
"""

from __future__ import annotations

import os
import zipfile
from contextlib import ExitStack
from pathlib import Path

from filelock import FileLock, Timeout

from exporter.format import target_lock_path
from exporter.readback.source import DirectorySource, ExportBusy, ExportSource, ZipSource
from exporter.sinks.files import lock_directory
from exporter.sinks.s3_client import is_s3_url


def open_export(path: Path | str) -> ExportSource:
    """
    Open an export to read it: :func:`open_source`, and for a directory, hold its locks.

    A directory is read holding the locks a document_exporter takes on its target (the lock
    file keyed by its real path, and the ``flock`` on the directory) until the source is closed,
    so that no exporter changes it meanwhile. If one is writing into it, raise
    :class:`ExportBusy`. Then a commit that a killed exporter left half-done is completed
    (:meth:`DirectorySource.complete_commit`); the source's ``notes`` say so, or its
    ``unfinished`` says why it could not be. An ``s3://bucket/prefix`` string is the export
    committed there (:class:`exporter.readback.s3_source.S3Source`).
    """
    if is_s3_url(path):
        return open_source(path)
    path = Path(path)
    if not path.is_dir():
        return open_source(path)
    busy = ExportBusy(f"an export is being written into {path}; wait for it to finish.")
    locks = ExitStack()
    try:
        try:
            locks.enter_context(FileLock(target_lock_path(path), timeout=0))
        except Timeout:
            raise busy from None
        except OSError:
            pass  # a lock file this user cannot open: the flock below still guards the reading
        try:
            fd = lock_directory(path)
        except BlockingIOError:
            raise busy from None
        locks.callback(os.close, fd)
        source = DirectorySource(path, locks)
        source.complete_commit()
    except BaseException:
        locks.close()
        raise
    return source


def open_source(path: Path | str) -> ExportSource:
    """A directory export, a zip export given as the .zip file, or an ``s3://`` export."""
    if is_s3_url(path):
        # Imported here: boto3 is the optional extra "s3".
        from exporter.readback.s3_source import open_s3_export

        return open_s3_export(str(path))
    path = Path(path)
    if path.is_dir():
        return DirectorySource(path)
    if path.is_file() and zipfile.is_zipfile(path):
        return ZipSource(path)
    if path.exists():
        raise ValueError(f"{path} is neither an export directory nor a zip file.")
    raise ValueError(f"{path} does not exist.")
