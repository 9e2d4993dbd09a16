"""
Write a manifest as a JSON array, one record at a time, in constant memory.

The bytes written are exactly those of :func:`exporter.encoding.classic_dumps` applied to the
list of all the records: ``[]`` when there are none, otherwise ``[\\n`` + record + ``,\\n`` +
record ... + ``\\n]``, each record encoded by :func:`exporter.encoding.encode_record`.
"""

import hashlib
from collections.abc import Iterable
from typing import Any, Protocol

from exporter.encoding import encode_record

__all__ = ["BinarySink", "ManifestStreamWriter"]

_OPEN = b"[\n"
_SEPARATOR = b",\n"
_CLOSE = b"\n]"
_EMPTY = b"[]"


class BinarySink(Protocol):
    """Anything with a ``write(bytes)`` that writes all the bytes it is given, like a file."""

    def write(self, data: bytes, /) -> Any: ...


class ManifestStreamWriter:
    """
    Stream records into ``sink`` as the classic manifest's JSON array.

    Records are encoded as they arrive and never kept. The writer counts the records and bytes
    it has handed to the sink and, unless ``checksum`` is false, keeps a running sha256 of them.
    Turn the checksum off when the sink already computes one (as
    :class:`exporter.atomic.AtomicFile` does) to avoid hashing the manifest twice.

    Call :meth:`close` to finish the array; the writer does not close the sink. Used as a context
    manager, the writer is closed when the block exits normally and left unfinished when it
    raises, so that a failed export never looks like a complete manifest.
    """

    #: :meth:`write_many` makes one ``sink.write`` per this many encoded bytes (about), so that
    #: a slow sink sees large writes while memory stays bounded whatever the record count.
    batch_bytes: int = 1 << 20

    def __init__(self, sink: BinarySink, *, checksum: bool = True) -> None:
        self._sink = sink
        self._sha256 = hashlib.sha256() if checksum else None
        self._records = 0
        self._bytes = 0
        self._closed = False

    def __enter__(self) -> "ManifestStreamWriter":
        return self

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None:
        if exc_type is None:
            self.close()

    @property
    def records(self) -> int:
        """The number of records written to the sink so far."""
        return self._records

    @property
    def bytes_written(self) -> int:
        """The number of bytes written to the sink so far, framing included."""
        return self._bytes

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has finished the array."""
        return self._closed

    def hexdigest(self) -> str:
        """Return the sha256 hex digest of every byte written so far."""
        if self._sha256 is None:
            raise ValueError("This writer was created with checksum=False.")
        return self._sha256.hexdigest()

    def write(self, record: Any) -> None:
        """
        Encode ``record`` and write it to the sink as the next element of the array.

        If the record cannot be encoded, the exception propagates and nothing is written: the
        writer stays usable.
        """
        self._check_open()
        encoded = encode_record(record)
        self._emit((_SEPARATOR if self._records else _OPEN) + encoded, 1)

    def write_many(self, records: Iterable[Any]) -> None:
        """
        Write every record of ``records``, in order, with few large ``sink.write`` calls.

        ``records`` may be any iterable, including a generator over database batches. If a record
        cannot be encoded, the records before it are written and the exception propagates.
        """
        self._check_open()
        parts: list[bytes] = []
        pending = 0
        size = 0
        try:
            for record in records:
                encoded = encode_record(record)
                parts.append(_SEPARATOR if self._records or pending else _OPEN)
                parts.append(encoded)
                pending += 1
                size += len(encoded)
                if size >= self.batch_bytes:
                    chunk, count = b"".join(parts), pending
                    # Reset before writing: if the sink fails, the finally clause must not
                    # write the same records again.
                    parts.clear()
                    pending = size = 0
                    self._emit(chunk, count)
        finally:
            # Flush what was encoded before a failing record (or the end of the iterable), so
            # that the counts and checksum describe what the sink holds.
            if parts:
                self._emit(b"".join(parts), pending)

    def close(self) -> None:
        """Finish the array. Closing again does nothing."""
        if self._closed:
            return
        self._emit(_CLOSE if self._records else _EMPTY, 0)
        self._closed = True

    def _emit(self, chunk: bytes, count: int) -> None:
        self._sink.write(chunk)
        # Account only for what the sink accepted.
        if self._sha256 is not None:
            self._sha256.update(chunk)
        self._bytes += len(chunk)
        self._records += count

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError("Cannot write to a closed manifest.")
