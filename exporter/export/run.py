"""What every export run does, whichever way its records travel.

``ArchiveExporter.run()`` checks the options, takes the locks, opens one consistent snapshot of
the database and a sink (directory or zip), lets the subclass write the manifests and files
(``write_export``), writes ``metadata.json`` and commits. Any failure aborts the sink, so the
previous export stays as it was.

Errors travel one way: the sink raises what it knows (a ``SinkWriteError`` naming the file it
was writing), the document files' copier what it knows (a ``FileProblemStop`` with ``strict``),
and :meth:`ArchiveExporter.run` alone turns them into the ``ExportError`` the user reads.

Subclasses:

* ``exporter.export.streaming.StreamingExporter``: one pass, batches straight to disk, flat memory.
* ``exporter.export.classic.ClassicExporter``: the in-memory algorithm, kept as the reference.
"""

from __future__ import annotations

import errno
import json
import os
import time
from pathlib import PurePosixPath
from typing import Any

from django.apps import apps
from django.db.models import QuerySet

from exporter import __version__, interrupts
from exporter.encryption import (
    METADATA_KEY,
    PAPERLESS_METADATA_KEY,
    SecretCipher,
    encrypt_fields,
)
from exporter.errors import ExportError, UsageError
from exporter.export.document_files import (
    DocumentFile,
    DocumentFileCopier,
    DocumentNamer,
    add_export_names,
    files_to_export,
)
from exporter.export.guard import check_not_shrinking, refuse_unsafe_target
from exporter.export.options import ExportOptions, ExportSummary
from exporter.export.problems import FileProblemStop
from exporter.export.snapshot import consistent_snapshot, export_locks
from exporter.export.unique_names import UniqueNameRegistry
from exporter.format import MANIFEST, METADATA
from exporter.plan import DocumentFileInfo, ExportPlan, Section
from exporter.progress import ExportProgress
from exporter.sinks import DirectorySink, ExportSink, ZipSink
from exporter.sinks.errors import SinkWriteError
from exporter.sinks.journal import JournalError
from exporter.writing.layouts import layout_named

__all__ = ["ArchiveExporter", "describe_os_error"]


class ArchiveExporter:
    """Base class of an export run. Subclasses implement ``write_export``."""

    def __init__(
        self, plan: ExportPlan, options: ExportOptions, progress: ExportProgress | None = None
    ) -> None:
        self.plan = plan
        self.options = options
        self.progress = progress or ExportProgress()
        self.summary = ExportSummary()
        self.cipher: SecretCipher | None = None
        #: The main manifest's layout: the options', else the plan's. Split manifests and
        #: metadata.json are always classic, as in every exporter this one follows.
        self.layout = layout_named(options.manifest_layout or plan.manifest_layout)

    # -- the run -------------------------------------------------------------------------------

    def run(self) -> ExportSummary:
        """Export the archive as the options say; return what was done.

        Raise UsageError for options that cannot work, ExportError (its message says what to
        do) for an export that failed, leaving the previous one as it was.
        """
        started = time.monotonic()
        #: When the run began (wall clock): a file modified before it and no longer matching its
        #: checksum is damaged, one modified after it was replaced during the export.
        self.started_at = time.time()
        options = self.options
        options.validate()
        self.check_target()
        if options.passphrase is not None:
            if not self.plan.secrets:
                raise UsageError(
                    "--passphrase encrypts the secret fields the export plan names, and this "
                    "site's plan names none: drop --passphrase."
                )
            self.cipher = SecretCipher.from_passphrase(options.passphrase)
        else:
            self.warn_about_plaintext_secrets()
        try:
            with (
                export_locks(
                    options.target, self.plan.media_lock, lock_timeout=options.lock_timeout
                ),
                consistent_snapshot(),
            ):
                check_not_shrinking(self.plan, options)
                self.write_to_sink()
        except FileProblemStop as stop:
            problem = stop.problem
            raise ExportError(
                f"Document {problem.document} ({problem.title!r}): its {problem.file} "
                f"{problem.detail} The previous export was left as it was. Without "
                "--strict the export goes on without the file and lists it."
            ) from None
        except JournalError as exc:
            # The journal of an interrupted commit that cannot be completed safely.
            raise ExportError(str(exc)) from exc
        except UnicodeEncodeError as exc:
            # A lone surrogate in a value (the record is named by
            # exporter.writing.encoding.UnencodableRecord).
            raise ExportError(f"Cannot export {exc}") from exc
        except SinkWriteError as exc:
            raise ExportError(describe_os_error(exc, exc.export_name)) from exc
        except OSError as exc:
            # The renames and syncs of the commit, the locks: the file is the OSError's own.
            raise ExportError(describe_os_error(exc, exc.filename)) from exc
        finally:
            self.progress.finish()
        self.summary.elapsed = time.monotonic() - started
        return self.summary

    def write_to_sink(self) -> None:
        """Open the sink, write the whole export into it and commit it."""
        options = self.options
        with (
            self.open_sink() as sink,
            UniqueNameRegistry(reserved=(MANIFEST, METADATA)) as registry,
        ):
            sink.on_stage = self.progress.stage
            self.namer = DocumentNamer(
                registry,
                filename_format=self.plan.filename_format if options.use_filename_format else None,
                use_folder_prefix=options.use_folder_prefix,
            )
            self.copier = DocumentFileCopier(
                on_problem=self.summary.problems.append,
                started_at=self.started_at,
                media_lock=self.plan.media_lock,
                strict=options.strict,
                on_skipped=self.progress.bytes_skipped if self.progress.wants_totals else None,
            )
            self.progress.stage("reading")
            self.write_export(sink)
            self.write_json(sink, METADATA, self.metadata())
            # The sink commits as the block ends; a directory's says when it syncs and when it
            # renames into place.
            self.progress.stage("committing")
        self.summary.add_sink_summary(sink.summary, sink.completed_commit)

    def write_export(self, sink: ExportSink) -> None:
        """Write every manifest and document file into the sink. The hook of subclasses."""
        raise NotImplementedError

    # -- checks --------------------------------------------------------------------------------

    def check_target(self) -> None:
        """Raise UsageError or ExportError unless the site and the target can take the export
        the (valid) options ask for."""
        options = self.options
        if options.use_filename_format and not self.plan.filename_format:
            raise UsageError(
                "--use-filename-format needs a filename format, and this site's export plan "
                "has none: set EXPORTER_FILENAME_FORMAT (in a paperless-ngx site, export "
                "without --use-filename-format; its storage path templates are not reproduced)."
            )
        target = options.target
        if options.stdout is not None or target is None:
            return
        if not target.exists():
            raise ExportError(f"The target {target} does not exist: create it first.")
        if not target.is_dir():
            raise ExportError(f"The target {target} is not a directory.")
        if not os.access(target, os.W_OK | os.X_OK):
            raise ExportError(
                f"The target {target} is not writable by this user: fix its permissions."
            )
        refuse_unsafe_target(target, self.plan)

    def warn_about_plaintext_secrets(self) -> None:
        """Add a warning for every secret field that holds a value and will not be encrypted."""
        for label, fields in self.plan.secrets.items():
            model = apps.get_model(label)
            for name in fields:
                if (
                    model._base_manager.exclude(**{name: ""})
                    .exclude(**{f"{name}__isnull": True})
                    .exists()
                ):
                    self.summary.warnings.append(
                        f"{label}.{name} holds secrets that will be exported in plain text; "
                        "pass --passphrase to encrypt them."
                    )

    # -- pieces subclasses share ---------------------------------------------------------------

    def open_sink(self) -> ExportSink:
        """The sink the options ask for: a zip (in TARGET or to a stream), an object store
        (``s3://``) or TARGET itself."""
        options = self.options
        on_bytes = self.progress.bytes_copied
        if options.remote is not None and options.zip:
            from exporter.sinks.s3_zip import S3ZipSink

            return S3ZipSink(
                options.remote,
                options.zip_name,
                delete_stale=options.delete,
                keep=options.keep,
                lock_timeout=options.lock_timeout,
                on_bytes=on_bytes,
            )
        if options.remote is not None:
            # Imported here: boto3 is the optional extra "s3".
            from exporter.sinks.s3 import S3Sink

            return S3Sink(
                options.remote,
                compare_checksums=options.compare_checksums,
                delete_stale=options.delete,
                keep=options.keep,
                lock_timeout=options.lock_timeout,
                on_bytes=on_bytes,
            )
        if options.zip:
            return ZipSink(
                options.target,
                options.zip_name,
                stream=options.stdout,
                delete_stale=options.delete,
                keep=options.keep,
                on_bytes=on_bytes,
            )
        return DirectorySink(
            options.target,
            compare_checksums=options.compare_checksums,
            delete_stale=options.delete,
            on_bytes=on_bytes,
        )

    def encrypt_secrets(self, record: dict[str, Any]) -> dict[str, Any]:
        """Return the record with its secret fields encrypted when a passphrase was given (the
        record itself when there is nothing to encrypt)."""
        if self.cipher is None:
            return record
        fields = self.plan.secrets.get(record["model"])
        return encrypt_fields(record, fields, self.cipher) if fields else record

    def export_document(
        self, sink: ExportSink, record: dict[str, Any], info: DocumentFileInfo
    ) -> dict[str, str]:
        """Name the document's files, note the names in its record and copy the files into the
        sink; return the names by file role (the split manifest's among them)."""
        interrupts.check()
        options = self.options
        names = self.namer.names(info)
        files = files_to_export(
            info, names, thumbnail=not options.no_thumbnail, archive=not options.no_archive
        )
        add_export_names(record, files)
        if not options.data_only:
            self.copier.copy(sink, record, files)
        return names

    def main_manifest_rows(self, section: Section) -> QuerySet:
        """The rows of ``section`` for the main manifest (see
        :meth:`ExportPlan.main_manifest_rows`; paperless-ngx loses those of no document)."""
        return self.plan.main_manifest_rows(section, split=self.options.split_manifest)

    def export_attached_files(
        self, sink: ExportSink, section: Section, record: dict[str, Any]
    ) -> None:
        """Name the files a record of ``section`` carries (see :attr:`Section.files`), note
        their unique names in the record and copy the files into the sink."""
        files = []
        for attached in section.files(record):
            suffix = PurePosixPath(attached.export_name).suffix
            stem = attached.export_name[: len(attached.export_name) - len(suffix)]
            name = self.namer.registry.claim(stem, (suffix,)) + suffix
            record[attached.key] = name
            files.append(DocumentFile("file", name, attached.source, None))
        if files and not self.options.data_only:
            self.copier.copy(sink, record, files)

    def write_json(self, sink: ExportSink, relpath: str, value: Any) -> None:
        """A small JSON file, encoded as the classic exporter does."""
        with sink.open_json(relpath, compare=self.options.compare_json) as entry:
            entry.write(json.dumps(value, indent=2, ensure_ascii=False).encode("utf-8"))

    def metadata(self) -> dict[str, Any]:
        """The content of ``metadata.json``."""
        options = self.options
        metadata: dict[str, Any] = {}
        if self.plan.site_version is not None:
            # The site's importer reads "version" (and "__crypto__"); ours reads the rest.
            metadata["version"] = self.plan.site_version
            if self.cipher is not None and self.plan.encryption_format == "paperless":
                metadata[PAPERLESS_METADATA_KEY] = self.cipher.paperless_metadata()
            metadata["exporter_version"] = __version__
        else:
            metadata["version"] = __version__
        metadata.update({
            # What the export holds, so that verification knows which files to expect.
            "contents": {
                "originals": not options.data_only,
                "thumbnails": not (options.data_only or options.no_thumbnail),
                "archive_versions": not (options.data_only or options.no_archive),
                "split_manifest": options.split_manifest,
            },
        })
        if self.cipher is not None and self.plan.encryption_format != "paperless":
            metadata[METADATA_KEY] = self.cipher.metadata()
        # Read by the next run's shrink guard and by verify_export.
        records = self.summary.records
        metadata["counts"] = {section.key: records[section.key] for section in self.plan.sections}
        metadata["problems"] = [problem.as_json() for problem in self.summary.problems]
        return metadata


def describe_os_error(exc: OSError, relpath: str | None = None) -> str:
    """The user's sentence for a failed write of ``relpath`` (or of no file in particular)."""
    where = f" while writing {relpath}" if relpath else ""
    if exc.errno == errno.ENOSPC:
        return f"No space left on device{where}. Free some space and run the export again."
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"Permission denied{where}: {exc.strerror}."
    return f"{exc.strerror or exc}{where}."
