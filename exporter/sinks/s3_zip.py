"""
An export as one zip object in object storage (``document_exporter s3://... -z``).

See :class:`S3ZipSink`: the zip sink's single pass, streamed into one object of a new generation
(:mod:`exporter.sinks.s3_commit`), committed as every ``s3://`` export is.
"""

from __future__ import annotations

from collections.abc import Callable

from exporter.sinks.json_entry import JsonEntry
from exporter.sinks.s3 import S3Sink
from exporter.sinks.s3_client import S3Location
from exporter.sinks.zipped import ZipSink

__all__ = ["S3ZipSink"]


class _EntryStream:
    """The write-only stream the zip sink writes into: an upload's entry."""

    def __init__(self, entry: JsonEntry) -> None:
        self.entry = entry

    def write(self, data: bytes) -> int:
        return self.entry.write(data)

    def flush(self) -> None:
        """Nothing to do: the upload sends a part each time one is full."""


class S3ZipSink(ZipSink):
    """
    Write the export as the zip ``<zip_name>.zip``, the one file of a new generation at
    ``location``.

    The archive is written in one pass through data descriptors, as into a pipe, and goes up
    in parts of bounded size while it is written; its JSON entries are spooled to the system's
    temporary directory while they are written, as the zip sink always does. :meth:`commit`
    writes the central directory, completes the upload, then commits the generation
    (:class:`~exporter.sinks.s3.S3Sink`); ``keep`` and ``delete_stale`` keep generations, each
    one zip. Any failure before the commit object is written leaves the previous export as it
    was. A zip is written whole every time: nothing of an earlier one is reused.
    """

    def __init__(
        self,
        location: str | S3Location,
        zip_name: str,
        *,
        delete_stale: bool = False,
        keep: int | None = None,
        lock_timeout: float = 0,
        on_bytes: Callable[[int], None] | None = None,
    ) -> None:
        #: The generation the archive goes into.
        self.store = S3Sink(
            location, delete_stale=delete_stale, keep=keep, lock_timeout=lock_timeout
        )
        try:
            self.entry = self.store.open_json(f"{zip_name}.zip")
        except BaseException:
            self.store.close()
            raise
        try:
            super().__init__(None, zip_name, stream=_EntryStream(self.entry), on_bytes=on_bytes)
        except BaseException:
            self.store.close()
            raise
        self.summary.location = self.store.location.url  # type: ignore[assignment]

    @property
    def output_name(self) -> str:
        """What error messages call the archive."""
        return f"{self.store.location.url} ({self.zip_name}.zip)"

    def finish(self) -> None:
        """Write the central directory, complete the upload, commit the generation."""
        super().finish()
        self.entry.close()
        done = self.store.commit()
        self.summary.temps_removed += done.temps_removed
        self.summary.files_deleted += done.files_deleted

    def discard(self) -> None:
        """Drop the archive and the generation's uploads."""
        try:
            super().discard()
        finally:
            self.entry.discard()
            self.store.abort()

    def close(self) -> None:
        """Abort unless committed; free both ledgers."""
        try:
            super().close()
        finally:
            self.store.close()
