"""
One JSON file of an export being written: what :meth:`ExportSink.open_json` returns.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from exporter.sinks.errors import writing_to

__all__ = ["JsonEntry"]

_OPEN, _DONE, _DISCARDED = "open", "done", "discarded"


class JsonEntry:
    """
    One JSON file of the export being written: a binary, write-only file-like object.

    Write the bytes, then :meth:`close` the entry; the sink makes it visible at commit. The
    entry hashes what it is given. If a write fails the entry is discarded and the error
    propagates, an OSError as a :class:`~exporter.sinks.errors.SinkWriteError` naming the
    entry; a discarded entry refuses to be closed, so that an incomplete file can never
    be committed. Used as a context manager, the entry is closed when the block exits
    normally and discarded when it raises.

    The entry knows nothing of its sink: ``on_close`` and ``on_discard`` are the sink's own
    bookkeeping, called once, with the entry, when it is closed or dropped.
    """

    def __init__(
        self,
        relpath: str,
        file: BinaryIO,
        *,
        on_close: Callable[[JsonEntry], None],
        on_discard: Callable[[JsonEntry], None],
        compare: bool = False,
        temp_path: Path | None = None,
    ) -> None:
        #: The entry's name in the export.
        self.relpath = relpath
        #: Whether the sink may leave an existing file with the same bytes untouched.
        self.compare = compare
        #: The open file the bytes go to, for the sink's hooks.
        self.file = file
        #: The temporary file behind :attr:`file`, if it has a name the sink must clean up.
        self.temp_path = temp_path
        #: After :meth:`close`: False if compare mode found the same bytes already exported.
        self.changed: bool | None = None
        self._on_close = on_close
        self._on_discard = on_discard
        self._sha256 = hashlib.sha256()
        self._size = 0
        self._state = _OPEN

    def __enter__(self) -> JsonEntry:
        return self

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None:
        if exc_type is not None:
            self.discard()
        else:
            self.close()

    @property
    def closed(self) -> bool:
        """Whether the entry was closed or discarded."""
        return self._state != _OPEN

    @property
    def bytes_written(self) -> int:
        """How many bytes were written to the entry."""
        return self._size

    def hexdigest(self) -> str:
        """Return the sha256 hex digest of the bytes written so far."""
        return self._sha256.hexdigest()

    def writable(self) -> bool:
        """Always True: an entry is a write-only file."""
        return True

    def write(self, data: bytes) -> int:
        """Write all of ``data``. On failure the entry is discarded and the error propagates."""
        self._check_open()
        try:
            with writing_to(self.relpath):
                self.file.write(data)
        except BaseException:
            self.discard()
            raise
        self._sha256.update(data)
        self._size += len(data)
        return len(data)

    def close(self) -> None:
        """Finish the entry; the sink commits it with the export. Closing again does nothing."""
        if self._state == _DONE:
            return
        self._check_open()
        self._state = _DONE
        try:
            with writing_to(self.relpath):
                self._on_close(self)
        except BaseException:
            # The sink has dropped the bytes: a second close must not pretend otherwise.
            self._state = _DISCARDED
            raise

    def discard(self) -> None:
        """Drop the entry: nothing of it will be exported. Does nothing once closed."""
        if self._state != _OPEN:
            return
        self._state = _DISCARDED
        self._on_discard(self)

    def _check_open(self) -> None:
        if self._state != _OPEN:
            raise ValueError(f"JSON entry {self.relpath!r} was already {self._state}.")
