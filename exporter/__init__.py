"""A streaming exporter for Django document archives: flat memory, classic bytes.

The public API, importable from ``exporter``:

- What to export: :class:`ExportPlan` of :class:`Section` s, with :class:`DocumentFiles`
  describing each document's files as a :class:`DocumentFileInfo` and :class:`AttachedFile`
  the files other records carry, :class:`PostImportStep` a command to run after an import;
  :func:`load_plan` reads the site's plan from the
  ``EXPORTER_PLAN`` setting (in a paperless-ngx site, ``exporter.paperless`` ships one).
- Exporting: :class:`StreamingExporter` (flat memory) or :class:`ClassicExporter` (the
  reference), each run with :class:`ExportOptions` and returning an :class:`ExportSummary`.
- Rows to records: a QuerySet as batches of Django "python"-serializer records, equal to
  Django's (:func:`django_record_batches`) or to be written to a manifest
  (:func:`manifest_record_batches`, :func:`manifest_record_batches_with_extras`);
  :func:`serialize_queryset_batched` is either with a flag, :func:`iter_record_batches` the
  general form. ``DEFAULT_BATCH_SIZE`` and ``MAX_BATCH_SIZE`` bound a batch,
  :func:`validate_batch_size` checks one.
- Records to bytes: :class:`ManifestStreamWriter` writes a manifest one record at a time, in
  a :class:`ManifestLayout`: ``CLASSIC`` (records inside the array) or ``FLAT`` (records at
  the top level, as paperless-ngx 3.x writes them).
- Where an export goes: :class:`ExportSink`, implemented by :class:`DirectorySink` and
  :class:`ZipSink`; a sink raises :class:`SinkWriteError` (naming the file it was writing)
  and :class:`SourceChanged` (a file without the checksum it was given).
- Reading an export back: :func:`open_export`, then :class:`ExportVerifier` (which returns a
  :class:`VerifyReport`) or :class:`ArchiveImporter` (with :class:`ImportOptions`, returning an
  :class:`ImportSummary`), then :func:`run_post_import` for the plan's ``post_import`` steps;
  :func:`read_records` and :func:`read_metadata` read its parts.
- Progress and problems: :class:`ExportProgress` hooks, :class:`FileProblem` for a document
  file an export could not copy, and the errors :class:`ExportError`, :class:`UsageError`,
  :class:`ExportStopped`, :class:`ImportFailed`, :class:`ImportUsageError` and
  :class:`PostImportFailed`.

``exporter`` is also the Django app of the management commands. Django imports this module
while it loads the app registry, before any model can be used, so the names above are imported
on first use (PEP 562), not here.
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("streaming-document-exporter")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0.1.0"

#: Each public name and the module that defines it.
_MODULES = {
    "ExportPlan": "exporter.plan",
    "Section": "exporter.plan",
    "DocumentFiles": "exporter.plan",
    "DocumentFileInfo": "exporter.plan",
    "AttachedFile": "exporter.plan",
    "PostImportStep": "exporter.plan",
    "load_plan": "exporter.site_plan",
    "ExportOptions": "exporter.export.options",
    "ExportSummary": "exporter.export.options",
    "StreamingExporter": "exporter.export.streaming",
    "ClassicExporter": "exporter.export.classic",
    "django_record_batches": "exporter.batches",
    "manifest_record_batches": "exporter.batches",
    "manifest_record_batches_with_extras": "exporter.batches",
    "serialize_queryset_batched": "exporter.batches",
    "iter_record_batches": "exporter.batches",
    "DEFAULT_BATCH_SIZE": "exporter.batches",
    "MAX_BATCH_SIZE": "exporter.batches",
    "validate_batch_size": "exporter.batches",
    "ManifestStreamWriter": "exporter.stream_writer",
    "ManifestLayout": "exporter.writing.layouts",
    "CLASSIC": "exporter.writing.layouts",
    "FLAT": "exporter.writing.layouts",
    "ExportSink": "exporter.sinks.base",
    "DirectorySink": "exporter.sinks.directory",
    "ZipSink": "exporter.sinks.zipped",
    "SinkWriteError": "exporter.sinks.errors",
    "SourceChanged": "exporter.sinks.errors",
    "open_export": "exporter.readback.opening",
    "ExportVerifier": "exporter.readback.verify",
    "VerifyReport": "exporter.readback.report",
    "ArchiveImporter": "exporter.readback.importing",
    "ImportOptions": "exporter.readback.import_options",
    "ImportSummary": "exporter.readback.import_options",
    "read_records": "exporter.readback.reading",
    "read_metadata": "exporter.readback.reading",
    "ExportProgress": "exporter.progress",
    "FileProblem": "exporter.format",
    "ExportError": "exporter.errors",
    "UsageError": "exporter.errors",
    "ExportStopped": "exporter.errors",
    "ImportFailed": "exporter.errors",
    "ImportUsageError": "exporter.errors",
    "PostImportFailed": "exporter.errors",
    "run_post_import": "exporter.readback.post_import",
}

__all__ = list(_MODULES)


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use, and keep it here."""
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The module's own names and the public ones not imported yet."""
    return sorted({*globals(), *_MODULES})
