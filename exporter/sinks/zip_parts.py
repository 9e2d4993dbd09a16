"""
Adapters that let :mod:`zipfile` write an archive of a million entries in flat memory, into a
stream that cannot seek, and be cut off when a run is aborted. Used by
:class:`exporter.sinks.zipped.ZipSink`.
"""

from __future__ import annotations

import io
import os
import pickle
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["ArchiveOutput", "NoNames", "SpooledInfos"]


class ArchiveOutput:
    """
    The file object zipfile writes to: the archive's file or stream, which it can cut off.

    Once :attr:`discarding` is set every write is dropped, so that closing the ZipFile of an
    aborted run cannot add a central directory to a stream. A stream is reported unseekable
    even if it could seek (standard output redirected to a file in append mode would not seek
    where zipfile expects), so that zipfile uses data descriptors.
    """

    def __init__(self, file: BinaryIO, *, seekable: bool) -> None:
        self.discarding = False
        self._file = file
        self._seekable = seekable

    def write(self, data: bytes) -> int:
        """Write all of ``data``, or drop it once discarding."""
        if self.discarding:
            return len(data)
        view = memoryview(data).cast("B")
        # A raw stream may accept part of a write.
        while view:
            count = self._file.write(view)
            if count is None:
                raise BlockingIOError("The output stream would block.")
            view = view[count:]
        return len(data)

    def tell(self) -> int:
        """The position in the file; a stream cannot tell."""
        if not self._seekable:
            raise io.UnsupportedOperation("The output stream cannot seek.")
        return self._file.tell()

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        """Move in the file; a stream cannot seek."""
        if not self._seekable:
            raise io.UnsupportedOperation("The output stream cannot seek.")
        if self.discarding:
            return offset
        return self._file.seek(offset, whence)

    def flush(self) -> None:
        """Flush the file, unless discarding."""
        if not self.discarding:
            self._file.flush()


class SpooledInfos:
    """
    A stand-in for ``ZipFile.filelist`` that keeps the entries' ZipInfo on disk.

    zipfile appends one ZipInfo per entry and reads them back, in order, only to write the
    central directory at the end; with a million entries the list would take gigabytes.
    """

    def __init__(self, directory: Path | None) -> None:
        self._file = tempfile.TemporaryFile(dir=directory)  # noqa: SIM115 - closed by close()
        self._count = 0

    def append(self, info: zipfile.ZipInfo) -> None:
        """Keep ``info`` (on disk) after the others."""
        self._file.seek(0, os.SEEK_END)
        pickle.dump(info, self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self._count += 1

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[zipfile.ZipInfo]:
        self._file.flush()
        self._file.seek(0)
        for _ in range(self._count):
            # Our own file, written above: unpickling it is safe.
            yield pickle.load(self._file)

    def clear(self) -> None:
        """Forget every entry."""
        self._count = 0
        if not self._file.closed:
            self._file.seek(0)
            self._file.truncate()

    def close(self) -> None:
        """Remove the spool file."""
        self._file.close()


class NoNames(dict):
    """A stand-in for ``ZipFile.NameToInfo`` that remembers nothing."""

    def __setitem__(self, key: str, value: zipfile.ZipInfo) -> None:
        pass
