"""Write and hash a file's chunks on a second thread, while the caller encodes the next ones.

Writing a large manifest costs the exporter its ``write`` system calls and a sha256 of every
byte: about a sixth of the streaming export, spent while the encoder waits. Both release the
GIL (hashlib for chunks over 2 KiB), so a thread can do them while the main thread encodes; it
also syncs the data as it goes, so that the commit's fsync has little left to do.

:class:`WriterThread` keeps the order of the chunks and a bounded queue (memory stays at a few
chunks); a failure in the thread is raised to the caller at its next call. It pays only with an
idle core: on busy cores the GIL hand-overs cost about what it saves (see
:func:`exporter.writing.atomic.write_manifest`).
"""

from __future__ import annotations

import os
import queue
import threading
from typing import Any, BinaryIO

__all__ = ["WriterThread"]

# Chunks in flight: enough to ride out a slow write, few enough to keep memory flat.
_MAX_PENDING = 8
# The thread syncs the file's data every this many bytes. The commit's fsync then finds little
# left to write: the block allocation and the wait happen here, beside the encoding, instead of
# after it (0.2 to 0.3 s of a 700 MB manifest). Durability is the commit's fsync, as before.
_SYNC_BYTES = 64 << 20
# Not every platform has fdatasync (macOS); fsync does the same and more.
_fdatasync = getattr(os, "fdatasync", os.fsync)


class WriterThread:
    """Write chunks to ``file`` and feed them to ``sha256``, in order, on a thread of its own.

    :meth:`write` queues a chunk (blocking while the queue is full) and raises the error of an
    earlier chunk, if one failed; after a failure nothing more is written. :meth:`finish` waits
    for every chunk and raises a failure; :meth:`cancel` stops without writing what is left.
    Either ends the thread; the caller owns ``file`` and closes it after.
    """

    def __init__(self, file: BinaryIO, sha256: Any) -> None:
        self._file = file
        self._sha256 = sha256
        # Two C queues, so that a hand-over runs no Python-level locking while it holds the
        # GIL: chunks one way, and back the other a token per chunk done, which bounds the
        # chunks in flight.
        self._chunks: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._free: queue.SimpleQueue[bool] = queue.SimpleQueue()
        for _ in range(_MAX_PENDING):
            self._free.put(True)
        self._error: BaseException | None = None
        self._cancelled = False
        self._thread = threading.Thread(target=self._run, name="manifest-writer", daemon=True)
        self._thread.start()

    def write(self, data: bytes) -> None:
        """Queue ``data``, which must not change afterwards."""
        self._raise_failure()
        self._free.get()
        self._chunks.put(data)

    def wait(self) -> None:
        """Return once every queued chunk is written and hashed; raise a failure."""
        if self._thread.is_alive():
            # All tokens back: no chunk in flight.
            tokens = [self._free.get() for _ in range(_MAX_PENDING)]
            for token in tokens:
                self._free.put(token)
        self._raise_failure()

    def finish(self) -> None:
        """Write everything queued, end the thread, and raise a failure."""
        self._stop()
        self._raise_failure()

    def cancel(self) -> None:
        """End the thread without writing what is still queued. Errors are dropped."""
        self._cancelled = True
        self._stop()

    def _stop(self) -> None:
        if self._thread.is_alive():
            self._chunks.put(None)
            self._thread.join()

    def _raise_failure(self) -> None:
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        chunks, free = self._chunks, self._free
        unsynced = 0
        while (data := chunks.get()) is not None:
            # After a failure or a cancel, only drain: a blocked write() must return.
            if self._error is None and not self._cancelled:
                try:
                    self._file.write(data)
                    self._sha256.update(data)
                    unsynced += len(data)
                    if unsynced >= _SYNC_BYTES:
                        self._file.flush()
                        _fdatasync(self._file.fileno())
                        unsynced = 0
                except BaseException as error:  # noqa: BLE001 - handed to the caller's thread
                    self._error = error
            free.put(True)
