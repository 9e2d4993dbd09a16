"""The streaming export: one pass over every section, batches straight to the sink.

Nothing is kept per document: each batch of document rows arrives with the columns its file
names need (a join, not a query per document), its split-section records are fetched per batch,
its names are claimed in an on-disk registry, its files go to the sink and its record to the
manifest stream, and then the batch is gone.
"""

from __future__ import annotations

from typing import Any

from exporter.batches import iter_record_batches, serialize_queryset_batched
from exporter.export.run import ArchiveExporter, writing
from exporter.export.split_sections import BatchedSplitQuery, SpilledSplitSection, SplitSection
from exporter.format import MANIFEST
from exporter.records.rows import needs_exclusive_connection
from exporter.sinks import ExportSink
from exporter.stream_writer import ManifestStreamWriter


class StreamingExporter(ArchiveExporter):
    def write_export(self, sink: ExportSink) -> None:
        plan, options = self.plan, self.options
        split = options.split_manifest
        with writing(MANIFEST):
            entry = sink.open_json(MANIFEST, compare=options.compare_json)
        manifest = ManifestStreamWriter(WritingTo(entry, MANIFEST), checksum=False)
        for section in plan.sections:
            if split and section.key in plan.split_by_document:
                continue
            queryset = section.queryset()
            if section.key == plan.documents_key:
                self.write_documents(sink, manifest, queryset)
                continue
            for batch in serialize_queryset_batched(
                queryset,
                batch_size=options.batch_size,
                for_manifest=True,
                keep_native=self.secret_fields(queryset),
            ):
                manifest.write_many(map(self.protect, batch))
                self.summary.records[section.key] += len(batch)
        manifest.close()
        with writing(MANIFEST):
            entry.close()
        self.summary.bytes_written += manifest.bytes_written

    def write_documents(self, sink: ExportSink, manifest: ManifestStreamWriter, queryset) -> None:
        plan, options = self.plan, self.options
        files = plan.document_files
        self.progress.start(queryset.count())
        split_sections = self.open_split_sections(queryset) if options.split_manifest else {}
        columns = files.columns
        try:
            for records, extras in iter_record_batches(
                queryset,
                batch_size=options.batch_size,
                extra=columns,
                for_manifest=True,
                keep_native=self.secret_fields(queryset),
            ):
                pks = [record["pk"] for record in records]
                related = {key: s.records_for(pks) for key, s in split_sections.items()}
                for record, values in zip(records, extras, strict=True):
                    info = files.describe(record["pk"], dict(zip(columns, values, strict=True)))
                    names = self.annotate_and_copy(sink, record, info)
                    record = self.protect(record)
                    if options.split_manifest:
                        self.write_split_manifest(sink, names["manifest"], record, related)
                    else:
                        manifest.write(record)
                    self.progress.document_done()
                self.summary.records[plan.documents_key] += len(records)
        finally:
            for section in split_sections.values():
                section.close()

    def secret_fields(self, queryset) -> tuple[str, ...]:
        """Fields encrypted later, by type: they must keep Django's values."""
        return self.plan.secrets.get(queryset.model._meta.label_lower, ())

    def open_split_sections(self, documents) -> dict[str, SplitSection]:
        plan, batch_size = self.plan, self.options.batch_size
        kind = SpilledSplitSection if needs_exclusive_connection(documents) else BatchedSplitQuery
        return {
            key: kind(plan.section(key).queryset(), fk_name, batch_size)
            for key, fk_name in plan.split_by_document.items()
        }

    def write_split_manifest(
        self, sink: ExportSink, relpath: str, record: dict, related: dict[str, dict[Any, list]]
    ) -> None:
        with writing(relpath):
            entry = sink.open_json(relpath, compare=self.options.compare_json)
        writer = ManifestStreamWriter(WritingTo(entry, relpath), checksum=False)
        writer.write(record)
        for key, by_document in related.items():
            records = [self.protect(r) for r in by_document.get(record["pk"], ())]
            writer.write_many(records)
            self.summary.records[key] += len(records)
        writer.close()
        with writing(relpath):
            entry.close()
        self.summary.bytes_written += writer.bytes_written


class WritingTo:
    """A sink entry whose failed writes become ExportErrors naming the file."""

    def __init__(self, entry, relpath: str) -> None:
        self.entry = entry
        self.relpath = relpath

    def write(self, data: bytes) -> int:
        with writing(self.relpath):
            return self.entry.write(data)
