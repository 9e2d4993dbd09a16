"""
Where an export run writes: a directory updated incrementally, or one zip archive.

A sink receives the run's JSON manifests (:meth:`ExportSink.open_json`) and document files
(:meth:`ExportSink.add_file`) and makes them visible all at once on :meth:`ExportSink.commit`;
:meth:`ExportSink.abort` leaves the previous export as it was. Use one as a context manager::

    with DirectorySink(target, delete_stale=True) as sink:
        with sink.open_json("manifest.json") as manifest:
            ...
        sink.add_file("originals/0000001.pdf", source, sha256=checksum)
    summary = sink.summary

A write that fails raises :class:`SinkWriteError` naming the export's file it was writing; a
document file whose bytes are not the checksum it was given raises :class:`SourceChanged`.
"""

from exporter.sinks.base import ExportSink, JsonEntry, SinkSummary, validate_relpath
from exporter.sinks.directory import DirectorySink
from exporter.sinks.errors import SinkWriteError, SourceChanged
from exporter.sinks.zipped import ZipSink

__all__ = [
    "DirectorySink",
    "ExportSink",
    "JsonEntry",
    "SinkSummary",
    "SinkWriteError",
    "SourceChanged",
    "ZipSink",
    "validate_relpath",
]
