"""Whether a file already in an export directory is the same as its source, so that an
incremental export can leave it alone."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from exporter.sinks.copying import ChunkCopier
from exporter.sinks.files import lstat_or_none, mtime_granularity

__all__ = ["UnchangedCheck"]


class UnchangedCheck:
    """
    Tell whether the exported copy of a file is still the same as its source: same size and
    modification time (as the target's file system keeps times), or, with
    ``compare_checksums``, same size and sha256.
    """

    def __init__(
        self,
        target: Path,
        copier: ChunkCopier,
        compare_checksums: bool,
        *,
        register: Callable[[Path], None],
    ) -> None:
        self.target = target
        self.copier = copier
        self.compare_checksums = compare_checksums
        #: Called with the name of the probe file that measures the time granularity.
        self.register = register
        self._granularity: int | None = None

    def matches(
        self,
        destination: str | Path,
        reader: BinaryIO,
        status: os.stat_result,
        sha256: str | None,
    ) -> bool:
        """Whether ``destination`` already holds the bytes of ``reader`` (whose ``status`` is
        given, and whose checksum may be); a directory in its place is an error now."""
        current = self._regular_of_size(destination, status.st_size)
        if current is None:
            return False
        if self.compare_checksums:
            if sha256 is None:
                sha256 = self.copier.sha256(reader)
                reader.seek(0)
            with open(destination, "rb", buffering=0) as existing:
                return self.copier.sha256(existing, like=sha256) == sha256.lower()
        return self.same_mtime(status.st_mtime_ns, current.st_mtime_ns)

    def same_status(self, destination: str | Path, status: os.stat_result) -> bool:
        """Without ``compare_checksums``: whether ``destination`` already holds a copy of the
        file whose ``status`` is given, from one ``lstat`` and without opening either file; a
        directory in its place is an error now."""
        assert not self.compare_checksums, "a checksum comparison reads the files"
        current = self._regular_of_size(destination, status.st_size)
        return current is not None and self.same_mtime(status.st_mtime_ns, current.st_mtime_ns)

    def _regular_of_size(self, destination: str | Path, size: int) -> os.stat_result | None:
        """The ``lstat`` of ``destination`` if it is a regular file of ``size`` bytes."""
        current = lstat_or_none(destination)
        if current is None:
            return None
        if stat.S_ISDIR(current.st_mode):
            # Checked now: a rename over a directory would fail only at commit.
            raise IsADirectoryError(errno.EISDIR, "Is a directory", str(destination))
        # A link or a special file is replaced by a regular one.
        if not stat.S_ISREG(current.st_mode) or current.st_size != size:
            return None
        return current

    def same_mtime(self, source_ns: int, destination_ns: int) -> bool:
        """Whether a copy given ``source_ns`` as its time would show ``destination_ns``."""
        if source_ns == destination_ns:
            return True
        # A file system with coarser times (FAT, some network ones) rounds the time a copy was
        # given: compare with what it would have kept.
        granularity = self.granularity()
        return granularity > 1 and destination_ns == source_ns - source_ns % granularity

    def granularity(self) -> int:
        """The step the target's modification times are truncated to; 0 if unknown."""
        if self._granularity is None:
            self._granularity = mtime_granularity(self.target, register=self.register)
        return self._granularity
