"""
Copying and hashing the files of an export in chunks, through one buffer that is reused.

Every sink copies document files and hashes files it compares; :class:`ChunkCopier` does both
for one sink, and reports the bytes of each chunk it copies (progress and the sink's counts).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from exporter.format import checksum_hasher
from exporter.sinks.errors import SourceChanged
from exporter.sinks.files import file_sha256, iter_chunks, same_content

__all__ = ["ChunkCopier"]


class ChunkCopier:
    """Copy and hash files in chunks of ``chunk_size`` bytes; ``on_copied`` gets each copied
    chunk's size (for a copy made with ``report=True``)."""

    def __init__(self, chunk_size: int, on_copied: Callable[[int], None]) -> None:
        self._buffer = bytearray(chunk_size)
        self._on_copied = on_copied

    def copy(
        self,
        reader: BinaryIO,
        write: Callable[[memoryview], object],
        *,
        report: bool = True,
        sha256: str | None = None,
        path: Path | None = None,
    ) -> int:
        """
        Copy the rest of ``reader`` to ``write``; return the number of bytes.

        With ``sha256`` (lower case), the bytes are hashed as they pass and
        :class:`SourceChanged`, naming ``path`` (the file ``reader`` reads), is raised at the
        end if they do not have it: the caller's clean-up of a failed copy then drops the copy.
        """
        digest = checksum_hasher(sha256) if sha256 is not None else None
        total = 0
        for chunk in iter_chunks(reader, self._buffer):
            write(chunk)
            if digest is not None:
                digest.update(chunk)
            total += len(chunk)
            if report:
                self._on_copied(len(chunk))
        if digest is not None and sha256 is not None and digest.hexdigest() != sha256:
            assert path is not None, "a checked copy names the file it reads"
            raise SourceChanged(path, sha256, digest.hexdigest())
        return total

    def sha256(self, file: BinaryIO, like: str | None = None) -> str:
        """Return the sha256 hex digest of the rest of ``file`` (with ``like``, a digest of
        ``like``'s algorithm: md5 for an md5 digest)."""
        return file_sha256(file, self._buffer, like=like)

    def same_content(self, path: Path, size: int, digest: str) -> bool:
        """Tell whether ``path`` is a regular file of ``size`` bytes with sha256 ``digest``."""
        return same_content(path, size, digest, self._buffer)
