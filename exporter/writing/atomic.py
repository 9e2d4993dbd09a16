"""
Replace a file atomically: readers see the old content or the complete new one, never a part.

:class:`AtomicFile` writes to a temporary file next to the target and renames it over the target
only once everything is written and synced. :func:`write_manifest` streams a manifest through it.
"""

import contextlib
import hashlib
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from exporter.sinks.files import create_temp, fsync_directory, remove_quietly, same_content
from exporter.stream_writer import ManifestStreamWriter
from exporter.writing.gc_pause import fewer_collections
from exporter.writing.writer_thread import WriterThread

__all__ = ["AtomicFile", "CommitResult", "ManifestResult", "spare_core", "write_manifest"]

_READ_CHUNK = 1 << 20


@dataclass(frozen=True)
class CommitResult:
    """What :meth:`AtomicFile.commit` did."""

    path: Path
    #: The sha256 hex digest of the content now at ``path``.
    sha256: str
    bytes_written: int
    #: False only in compare mode, when the target already held the same bytes and was left
    #: untouched; True whenever the target was created or replaced.
    changed: bool


@dataclass(frozen=True)
class ManifestResult(CommitResult):
    """What :func:`write_manifest` did."""

    records: int


class AtomicFile:
    """
    A binary, write-only file that replaces ``path`` atomically on :meth:`commit`.

    The bytes go to a temporary file ``.<name>.<random>.tmp`` in the target's directory (the
    rename must not cross file systems). :meth:`commit` syncs it to disk, renames it over the
    target and syncs the directory, so that after a crash the target holds either the old or the
    new content. :meth:`abort` removes the temporary file and leaves the target untouched.

    With ``compare=True``, :meth:`commit` leaves an existing target with the same bytes alone, so
    its modification time is kept for backup tools and rsync.

    The new file gets the permission bits of the target it replaces, or those of a file created
    with ``open()`` (0o666 less the umask) if there is no target yet. Like ``os.replace``, a
    symlink at ``path`` is replaced by the file, not followed.

    Used as a context manager, the file is committed when the block exits normally and aborted
    when it raises; :attr:`result` then holds the commit's result. Errors such as a full disk
    propagate as ``OSError`` once the temporary file has been removed.

    With ``background=True`` the bytes are written and hashed on a thread of their own (see
    :mod:`exporter.writing.writer_thread`) while the caller produces the next ones; a write
    error then
    surfaces at the next :meth:`write`, or at :meth:`commit`, with the same clean-up.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, compare: bool = False, background: bool = False
    ) -> None:
        self.path = Path(path)
        self.compare = compare
        self.result: CommitResult | None = None
        self._sha256 = hashlib.sha256()
        self._size = 0
        self._done = False
        self._thread: WriterThread | None = None
        self.temp_path, fd = create_temp(self.path)
        try:
            with contextlib.suppress(FileNotFoundError):
                target_mode = stat.S_IMODE(os.stat(self.path).st_mode)
                # Best effort: some file systems refuse chmod, and the content matters more.
                with contextlib.suppress(OSError):
                    os.fchmod(fd, target_mode)
            self._file = open(fd, "wb")  # noqa: SIM115 - closed by commit() or abort()
        except BaseException:
            os.close(fd)
            remove_quietly(self.temp_path)
            raise
        if background:
            self._thread = WriterThread(self._file, self._sha256)

    def __enter__(self) -> "AtomicFile":
        return self

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None:
        if exc_type is not None:
            self.abort()
        elif not self._done:
            self.commit()

    @property
    def bytes_written(self) -> int:
        """The number of bytes written so far."""
        return self._size

    def hexdigest(self) -> str:
        """Return the sha256 hex digest of the bytes written so far."""
        if self._thread is not None and not self._done:
            self._thread.wait()
        return self._sha256.hexdigest()

    def write(self, data: bytes) -> int:
        """Write all of ``data``. On failure the file is aborted and the error propagates."""
        self._check_open()
        if self._thread is not None:
            # Queued, not written yet: only immutable bytes may wait (a bytearray could change).
            if type(data) is not bytes:
                data = bytes(data)
            try:
                self._thread.write(data)
            except BaseException:
                self.abort()
                raise
            self._size += len(data)
            return len(data)
        try:
            self._file.write(data)
        except BaseException:
            self.abort()
            raise
        self._sha256.update(data)
        self._size += len(data)
        return len(data)

    def commit(self) -> CommitResult:
        """
        Put the written bytes at :attr:`path` durably and return what was done.

        On failure the temporary file is removed and the error propagates. The target is then
        untouched, except if syncing the directory fails after the rename: the new content is in
        place but possibly not yet durable.
        """
        self._check_open()
        if self._thread is not None:
            try:
                self._thread.finish()
            except BaseException:
                self.abort()
                raise
        self._done = True
        digest = self._sha256.hexdigest()
        try:
            self._file.flush()
            if self.compare and _has_content(self.path, self._size, digest):
                self._file.close()
                remove_quietly(self.temp_path)
                changed = False
            else:
                # Sync before the rename: otherwise a crash could leave the target renamed but
                # empty on file systems that do not order data before metadata.
                os.fsync(self._file.fileno())
                self._file.close()
                os.replace(self.temp_path, self.path)
                changed = True
        except BaseException:
            self._discard()
            raise
        if changed:
            # Make the rename itself durable.
            fsync_directory(self.path.parent)
        self.result = CommitResult(
            path=self.path, sha256=digest, bytes_written=self._size, changed=changed
        )
        return self.result

    def abort(self) -> None:
        """
        Remove the temporary file and leave the target untouched.

        Aborting again, or after a commit, does nothing.
        """
        self._done = True
        self._discard()

    def _discard(self) -> None:
        if self._thread is not None:
            self._thread.cancel()
        # The file may be unflushable (a full disk): closing must not hide the original error.
        with contextlib.suppress(OSError):
            self._file.close()
        remove_quietly(self.temp_path)

    def _check_open(self) -> None:
        if self._done:
            raise ValueError(f"{self.path} was already committed or aborted.")


def write_manifest(
    path: str | os.PathLike[str],
    records: Iterable[Any],
    *,
    compare: bool = False,
    background: bool | None = None,
) -> ManifestResult:
    """
    Write ``records`` as a manifest at ``path``, atomically, and return what was done.

    The file holds exactly the bytes of :func:`exporter.writing.encoding.classic_dumps` over the
    records,
    which may come from any iterable (a generator over database batches keeps memory flat). If
    anything fails, including the iteration, the previous file is left untouched and no
    temporary file remains. See :class:`AtomicFile` for ``compare`` and ``background``.

    ``background`` pays only with a core to spare: the thread takes the hashing, writing and
    syncing (about a sixth of a data-only export) off the encoding thread where a core is idle,
    and costs about as much in GIL hand-overs and scheduling where the cores are busy (measured
    on a two-core machine, 100,000 documents: 0.5 s won idle, even with one core taken).
    None, the default, decides by :func:`spare_core`.
    """
    if background is None:
        background = spare_core()
    # Fresh records come and go a batch at a time: collecting cycles among them is wasted work.
    with fewer_collections(), AtomicFile(path, compare=compare, background=background) as sink:
        # The sink hashes what it writes: one checksum is enough.
        writer = ManifestStreamWriter(sink, checksum=False)
        writer.write_many(records)
        writer.close()
    result = sink.result
    assert result is not None  # committed by the with block
    return ManifestResult(
        path=result.path,
        sha256=result.sha256,
        bytes_written=result.bytes_written,
        changed=result.changed,
        records=writer.records,
    )


def spare_core() -> bool:
    """Whether a core looks idle: at least half a CPU left over by last minute's load average.

    A guess, and only about speed: the bytes written are the same either way.
    """
    try:
        cpus = len(os.sched_getaffinity(0))
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return False
    return cpus >= 2 and cpus - load >= 0.5


def _has_content(path: Path, size: int, digest: str) -> bool:
    """Tell whether ``path`` is a regular file of ``size`` bytes with sha256 ``digest``."""
    return same_content(path, size, digest, bytearray(_READ_CHUNK))
