"""The streaming export: one pass over every section, batches straight to the sink.

Nothing is kept per document: each batch of document rows arrives with the columns its file
names need (a join, not a query per document), its split-section records are fetched per batch,
its names are claimed in an on-disk registry, its files go to the sink and its record to the
manifest stream, and then the batch is gone.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from exporter.batches import manifest_record_batches, manifest_record_batches_with_extras
from exporter.export.run import ArchiveExporter
from exporter.export.split_sections import BatchedSplitQuery, SpilledSplitSection, SplitSection
from exporter.export.totals import document_file_totals
from exporter.format import MANIFEST
from exporter.records.rows import needs_exclusive_connection
from exporter.sinks import ExportSink
from exporter.stream_writer import ManifestStreamWriter

__all__ = ["StreamingExporter"]


class StreamingExporter(ArchiveExporter):
    """The streaming export run: every section read once in batches and streamed to the sink."""

    def write_export(self, sink: ExportSink) -> None:
        """Stream every section into the manifest (or the split manifests), in plan order."""
        plan, options = self.plan, self.options
        entry = sink.open_json(MANIFEST, compare=options.compare_json)
        manifest = ManifestStreamWriter(entry, checksum=False, layout=self.layout)
        for section in plan.sections:
            queryset = self.main_manifest_rows(section)
            if section.key == plan.documents_key:
                self.write_documents(sink, manifest, queryset)
                continue
            for batch in manifest_record_batches(
                queryset,
                batch_size=options.batch_size,
                keep_native=self.secret_fields(queryset),
            ):
                if section.files is not None:
                    for record in batch:
                        self.export_attached_files(sink, section, record)
                manifest.write_many(map(self.encrypt_secrets, batch))
                self.summary.records[section.key] += len(batch)
        manifest.close()
        entry.close()
        self.summary.bytes_written += manifest.bytes_written

    def write_documents(
        self, sink: ExportSink, manifest: ManifestStreamWriter, queryset: QuerySet
    ) -> None:
        """Export the documents of ``queryset``: their files, and their records into
        ``manifest`` or, with split manifests, each into its own with its related records."""
        plan, options = self.plan, self.options
        files = plan.document_files
        if self.progress.wants_totals and not options.data_only:
            self.progress.stage("counting files")
            self.progress.files_planned(
                *document_file_totals(
                    files,
                    queryset,
                    thumbnail=not options.no_thumbnail,
                    archive=not options.no_archive,
                )
            )
        self.progress.stage("copying files", unit="docs")
        self.progress.start(queryset.count())
        split_sections = self.open_split_sections(queryset) if options.split_manifest else {}
        columns = files.columns
        try:
            for records, extras in manifest_record_batches_with_extras(
                queryset,
                batch_size=options.batch_size,
                extra=columns,
                keep_native=self.secret_fields(queryset),
            ):
                pks = [record["pk"] for record in records]
                related = {key: s.records_for(pks) for key, s in split_sections.items()}
                # The batch's records go to the manifest together: one encoding and one write
                # for the lot costs a fraction of one per record.
                done = []
                for record, values in zip(records, extras, strict=True):
                    info = files.describe(record["pk"], dict(zip(columns, values, strict=True)))
                    names = self.export_document(sink, record, info)
                    record = self.encrypt_secrets(record)
                    if options.split_manifest:
                        self.write_split_manifest(sink, names["manifest"], record, related)
                    else:
                        done.append(record)
                    self.progress.document_done()
                manifest.write_many(done)
                self.summary.records[plan.documents_key] += len(records)
        finally:
            for section in split_sections.values():
                section.close()
        self.progress.stage("reading")

    def secret_fields(self, queryset: QuerySet) -> tuple[str, ...]:
        """Fields encrypted later, by type: they must keep Django's values."""
        return self.plan.secrets.get(queryset.model._meta.label_lower, ())

    def open_split_sections(self, documents: QuerySet) -> dict[str, SplitSection]:
        """The split sections' records for batches of ``documents``, by section key."""
        plan, batch_size = self.plan, self.options.batch_size
        section_class = (
            SpilledSplitSection if needs_exclusive_connection(documents) else BatchedSplitQuery
        )
        return {
            key: section_class(plan.section(key).queryset(), fk_name, batch_size)
            for key, fk_name in plan.split_by_document.items()
        }

    def write_split_manifest(
        self, sink: ExportSink, relpath: str, record: dict, related: dict[str, dict[Any, list]]
    ) -> None:
        """Write the document's own manifest: its ``record``, then its records of every split
        section in ``related`` (by section key, then by document pk)."""
        entry = sink.open_json(relpath, compare=self.options.compare_json)
        writer = ManifestStreamWriter(entry, checksum=False)
        writer.write(record)
        for key, by_document in related.items():
            records = [self.encrypt_secrets(r) for r in by_document.get(record["pk"], ())]
            writer.write_many(records)
            self.summary.records[key] += len(records)
        writer.close()
        entry.close()
        self.summary.bytes_written += writer.bytes_written
