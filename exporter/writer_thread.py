"""Write and hash a file's chunks on a second thread, while the caller encodes the next ones.

Writing a large manifest costs the exporter its ``write`` system calls and a sha256 of every
byte: about a sixth of the streaming export, spent while the encoder waits. Both release the
GIL (hashlib for chunks over 2 KiB), so a thread can do them while the main thread encodes.

:class:`WriterThread` keeps the order of the chunks and a bounded queue (memory stays at a few
chunks); a failure in the thread is raised to the caller at its next call. It pays only with an
idle core: on busy cores the GIL hand-overs cost about what it saves (see
:func:`exporter.atomic.write_manifest`).
"""

from __future__ import annotations

import queue
import threading
from typing import Any, BinaryIO

__all__ = ["WriterThread"]

# Chunks in flight: enough to ride out a slow write, few enough to keep memory flat.
_MAX_PENDING = 4


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
        self._queue: queue.Queue[bytes | None] = queue.Queue(_MAX_PENDING)
        self._error: BaseException | None = None
        self._cancelled = False
        self._thread = threading.Thread(target=self._run, name="manifest-writer", daemon=True)
        self._thread.start()

    def write(self, data: bytes) -> None:
        """Queue ``data``, which must not change afterwards."""
        self._raise_failure()
        self._queue.put(data)

    def wait(self) -> None:
        """Return once every queued chunk is written and hashed; raise a failure."""
        self._queue.join()
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
            self._queue.put(None)
            self._thread.join()

    def _raise_failure(self) -> None:
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        while True:
            data = self._queue.get()
            try:
                if data is None:
                    return
                # After a failure or a cancel, only drain: a blocked write() must return.
                if self._error is None and not self._cancelled:
                    self._file.write(data)
                    self._sha256.update(data)
            except BaseException as error:  # noqa: BLE001 - handed to the caller's thread
                self._error = error
            finally:
                self._queue.task_done()
