"""
Write a manifest as a JSON array, one record at a time, in constant memory.

The bytes written are exactly those of the layout's reference encoding
(:meth:`exporter.writing.layouts.ManifestLayout.dumps`) applied to the list of all the records.
In the classic layout that is ``[]`` when there are none, otherwise
``[\\n`` + record + ``,\\n`` + record ... + ``\\n]``, each record encoded by
:func:`exporter.writing.encoding.encode_record`; the flat layout frames the same records at
depth 0.

This is the one way manifests are written: by the exporters into a sink's JSON entry (which
replaces the file atomically and hashes it), and by a library user into any binary file.
"""

import hashlib
from collections.abc import Iterable
from typing import Any, Protocol

from exporter.writing.encoding import (
    classic_encode_record,
    encode_plain_records,
    encode_record,
    floats_as_fragments,
    orjson_safe_size,
)
from exporter.writing.layouts import CLASSIC, ManifestLayout

__all__ = ["BinarySink", "ManifestStreamWriter"]


# write_many() encodes runs of records with one orjson call each, of about this share of
# batch_bytes by the walk's estimate: large enough to make the call's cost vanish, small enough
# to keep memory and the size of each write near batch_bytes, whatever the records' sizes.
_RUN_SHARE = 4
_MAX_RUN = 1024


class BinarySink(Protocol):
    """Anything with a ``write(bytes)`` that writes all the bytes it is given, like a file."""

    def write(self, data: bytes, /) -> Any:
        """Write all of ``data``."""
        ...


class ManifestStreamWriter:
    """
    Stream records into ``sink`` as a manifest's JSON array, in ``layout`` (classic unless
    told otherwise).

    Records are encoded as they arrive and never kept. The writer counts the records and bytes
    it has handed to the sink and, unless ``checksum`` is false, keeps a running sha256 of them.
    Turn the checksum off when the sink already computes one (as a sink's
    :class:`exporter.sinks.JsonEntry` does) to avoid hashing the manifest twice.

    Call :meth:`close` to finish the array; the writer does not close the sink. Used as a context
    manager, the writer is closed when the block exits normally and left unfinished when it
    raises, so that a failed export never looks like a complete manifest.
    """

    #: :meth:`write_many` makes one ``sink.write`` per this many encoded bytes (about), so that
    #: a slow sink sees large writes while memory stays bounded whatever the record count.
    batch_bytes: int = 1 << 20

    def __init__(
        self, sink: BinarySink, *, checksum: bool = True, layout: ManifestLayout = CLASSIC
    ) -> None:
        self._sink = sink
        self._layout = layout
        self._sha256 = hashlib.sha256() if checksum else None
        self._records = 0
        self._bytes = 0
        self._closed = False
        # What write_many() has encoded and not yet handed to the sink; empty between calls.
        self._parts: list[bytes | memoryview] = []
        self._pending = 0
        self._pending_bytes = 0

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
        layout = self._layout
        encoded = layout.frame(encode_record(record))
        self._emit((layout.separator if self._records else layout.opening) + encoded, 1)

    def write_many(self, records: Iterable[Any]) -> None:
        """
        Write every record of ``records``, in order, with few large ``sink.write`` calls.

        ``records`` may be any iterable, including a generator over database batches. If a record
        cannot be encoded, or the iterable raises, the records before it are written and the
        exception propagates.
        """
        self._check_open()
        run: list[Any] = []
        # Records of the run that orjson gets as a copy (floats_as_fragments), by position.
        originals: dict[int, Any] = {}
        run_bytes = 0
        budget = max(1, self.batch_bytes // _RUN_SHARE)
        try:
            try:
                for record in records:
                    size = orjson_safe_size(record)
                    if size < 0:
                        fixed = floats_as_fragments(record)
                        if fixed is None:
                            # Keep the order: what came before goes first.
                            if run:
                                self._encode_run(run, originals)
                                run_bytes = 0
                            self._add(self._layout.frame(classic_encode_record(record)), 1)
                            continue
                        originals[len(run)] = record
                        record, size = fixed
                    run.append(record)
                    run_bytes += size
                    if run_bytes >= budget or len(run) >= _MAX_RUN:
                        self._encode_run(run, originals)
                        run_bytes = 0
            finally:
                # Records taken from the iterable before it raised are written too.
                if run:
                    self._encode_run(run, originals)
        finally:
            # Whatever was encoded before a failure reaches the sink. A failing sink leaves
            # nothing here: _flush clears the queue before it writes.
            if self._parts:
                self._flush()

    def _encode_run(self, run: list[Any], originals: dict[int, Any]) -> None:
        """Encode the records of ``run`` and queue them for the sink; both are emptied.

        ``originals`` maps positions in ``run`` to the records their entries stand for.
        """
        records, replaced = run.copy(), originals.copy()
        # Emptied first: if a record below raises, the caller's cleanup must not see it again.
        run.clear()
        originals.clear()
        array = encode_plain_records(records)
        if array is None:
            # orjson refused one of them: one at a time, each falling back or raising alone,
            # as the caller's own record.
            for position, record in enumerate(records):
                self._add(self._layout.frame(encode_record(replaced.get(position, record))), 1)
            return
        # "[\n" + E(r1) + ",\n" ... + "\n]": the records without the array's brackets, and
        # (classic) no copy until the join in _flush.
        records_only = memoryview(array)[2:-2]
        if not self._layout.nested:
            records_only = self._layout.frame(bytes(records_only))
        self._add(records_only, len(records))

    def _add(self, encoded: bytes | memoryview, count: int) -> None:
        """Queue ``count`` encoded records; hand the queue to the sink near ``batch_bytes``."""
        if self._parts and self._pending_bytes + len(encoded) > self.batch_bytes:
            self._flush()
        layout = self._layout
        self._parts.append(layout.separator if self._records or self._pending else layout.opening)
        self._parts.append(encoded)
        self._pending += count
        self._pending_bytes += len(encoded) + len(layout.separator)
        if self._pending_bytes >= self.batch_bytes:
            self._flush()

    def _flush(self) -> None:
        chunk, count = b"".join(self._parts), self._pending
        # Reset before writing: if the sink fails, nothing may be written twice.
        self._parts.clear()
        self._pending = self._pending_bytes = 0
        self._emit(chunk, count)

    def close(self) -> None:
        """Finish the array. Closing again does nothing."""
        if self._closed:
            return
        layout = self._layout
        self._emit(layout.closing if self._records else layout.empty, 0)
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
