"""The classic export: the in-memory algorithm, kept as the reference and the baseline.

It serializes every section with Django's "python" serializer into one list, walks the
documents with a query per document for its file names and split records, and writes each
manifest with one ``json.dumps`` at the end. A zip is made the classic way too: every file is
copied into a temporary directory first, then zipped, which needs twice the disk.

Memory grows with the archive. Do not improve it: its bytes are the oracle that the streaming
exporter is held to, and its speed and memory are the baseline of the benchmarks.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.core import serializers

from exporter.export.run import ArchiveExporter
from exporter.format import MANIFEST, is_tool_file
from exporter.sinks import DirectorySink, ExportSink
from exporter.writing.encoding import classic_dumps

__all__ = ["ClassicExporter"]


class ClassicExporter(ArchiveExporter):
    """The classic export run: everything serialized in memory, then written."""

    def write_export(self, sink: ExportSink) -> None:
        """Write the export into ``sink``; a zip by way of a temporary directory."""
        if self.options.zip:
            # Copy everything into a temporary directory, then zip that directory.
            with tempfile.TemporaryDirectory(prefix="classic-export-") as scratch:
                copies = DirectorySink(Path(scratch))
                with copies:
                    self.write_everything(copies)
                for path in sorted(Path(scratch).rglob("*")):
                    relpath = path.relative_to(scratch).as_posix()
                    if path.is_file() and not is_tool_file(relpath):
                        if relpath.endswith(".json"):
                            entry = sink.open_json(relpath)
                            entry.write(path.read_bytes())
                            entry.close()
                        else:
                            sink.add_file(relpath, path)
            return
        self.write_everything(sink)

    def write_everything(self, sink: ExportSink) -> None:
        """Serialize every section, copy the documents' files, then write the manifests."""
        plan, options = self.plan, self.options
        manifest: list[dict] = []
        documents: list[dict] = []
        for section in plan.sections:
            records = [
                self.encrypt_secrets(r)
                for r in serializers.serialize("python", self.main_manifest_rows(section))
            ]
            self.summary.records[section.key] += len(records)
            if section.files is not None:
                for record in records:
                    self.export_attached_files(sink, section, record)
            if section.key == plan.documents_key:
                documents = records
                if options.split_manifest:
                    continue
            manifest.extend(records)

        files = plan.document_files
        model = plan.section(plan.documents_key).queryset().model
        self.progress.start(len(documents))
        for record in documents:
            # One query per document for its name and file columns: the classic algorithm's cost.
            values = model._base_manager.filter(pk=record["pk"]).values_list(*files.columns).get()
            info = files.describe(record["pk"], dict(zip(files.columns, values, strict=True)))
            names = self.export_document(sink, record, info)
            if options.split_manifest:
                split_manifest = [record]
                for key, fk_name in plan.split_by_document.items():
                    related = plan.section(key).queryset().filter(**{fk_name: record["pk"]})
                    records = [
                        self.encrypt_secrets(r) for r in serializers.serialize("python", related)
                    ]
                    self.summary.records[key] += len(records)
                    split_manifest.extend(records)
                self.write_bytes(sink, names["manifest"], classic_dumps(split_manifest))
            self.progress.document_done()
        self.write_bytes(sink, MANIFEST, self.layout.dumps(manifest))

    def write_bytes(self, sink: ExportSink, relpath: str, content: bytes) -> None:
        """Write the JSON file ``relpath`` with ``content`` into ``sink``."""
        with sink.open_json(relpath, compare=self.options.compare_json) as entry:
            entry.write(content)
        self.summary.bytes_written += len(content)
