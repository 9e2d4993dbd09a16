"""What every export run does, whichever way its records travel.

``ArchiveExporter.run()`` checks the options, takes the locks, opens one consistent snapshot of
the database and a sink (directory or zip), lets the subclass write the manifests and files
(``write_export``), writes ``metadata.json`` and commits. Any failure aborts the sink, so the
previous export stays as it was. Subclasses:

* ``exporter.export.streaming.StreamingExporter``: one pass, batches straight to disk, flat memory.
* ``exporter.export.classic.ClassicExporter``: the seed's in-memory algorithm, kept as the oracle.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.apps import apps

from exporter import __version__, interrupts
from exporter.batches import validate_batch_size
from exporter.encryption import SecretCipher, encrypt_fields
from exporter.errors import ExportError, UsageError
from exporter.export.guard import check_not_shrinking, refuse_unsafe_target
from exporter.export.naming import default_stem, format_stem
from exporter.export.options import ExportOptions, ExportSummary
from exporter.export.problems import file_problem
from exporter.export.snapshot import consistent_snapshot, export_locks
from exporter.export.unique_names import UniqueNameRegistry, claim_document_names
from exporter.format import (
    ARCHIVE_NAME_KEY,
    FILE_FOLDERS,
    FILE_NAME_KEY,
    MANIFEST,
    METADATA,
    THUMBNAIL_NAME_KEY,
)
from exporter.plan import DocumentFileInfo, ExportPlan
from exporter.progress import ExportProgress
from exporter.sinks import DirectorySink, ExportSink, ZipSink
from exporter.sinks.base import SourceChanged
from exporter.sinks.files import validate_relpath
from exporter.sinks.journal import JournalError


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

    # -- the run -------------------------------------------------------------------------------

    def run(self) -> ExportSummary:
        started = time.monotonic()
        #: When the run began (wall clock): a file modified before it and no longer matching its
        #: checksum is damaged, one modified after it was replaced during the export.
        self.started_at = time.time()
        self.check_options()
        options = self.options
        if options.passphrase is not None:
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
        except JournalError as exc:
            # The journal of an interrupted commit that cannot be completed safely.
            raise ExportError(str(exc)) from exc
        except UnicodeEncodeError as exc:
            # A lone surrogate in a value (the record is named by
            # exporter.writing.encoding.UnencodableRecord).
            raise ExportError(f"Cannot export {exc}") from exc
        except OSError as exc:
            # Renames and fsyncs of the commit, or anything not written under writing().
            where = getattr(exc, "export_file", None) or exc.filename
            raise ExportError(describe_os_error(exc, where)) from exc
        finally:
            self.progress.finish()
        self.summary.elapsed = time.monotonic() - started
        return self.summary

    def write_to_sink(self) -> None:
        """Open the sink, write the whole export into it and commit it."""
        with (
            self.open_sink() as sink,
            UniqueNameRegistry(reserved=(MANIFEST, METADATA)) as names,
        ):
            self.names = names
            self.write_export(sink)
            self.write_json(sink, METADATA, self.metadata())
        self.record_sink_summary(sink)

    def write_export(self, sink: ExportSink) -> None:
        """Write every manifest and document file into the sink. The hook of subclasses."""
        raise NotImplementedError

    # -- checks --------------------------------------------------------------------------------

    def check_options(self) -> None:
        options = self.options
        try:
            validate_batch_size(options.batch_size)
        except ValueError as exc:
            raise UsageError(f"--{exc}.") from None
        if options.zip and (options.compare_checksums or options.compare_json):
            raise UsageError(
                "--zip writes a new archive every time, so --compare-checksums and "
                "--compare-json mean nothing with it: drop them or drop --zip."
            )
        if options.passphrase is not None and options.passphrase == "":
            raise UsageError("The passphrase is empty: give a non-empty --passphrase.")
        if options.use_filename_format and not self.plan.filename_format:
            raise UsageError(
                "--use-filename-format needs a filename format: set EXPORTER_FILENAME_FORMAT."
            )
        if options.zip:
            try:
                if len(validate_relpath(f"{options.zip_name}.zip")) != 1:
                    raise ValueError("it holds a slash")
                if options.zip_name.startswith("."):
                    raise ValueError("a hidden file is easily lost, and the tool's own are")
            except ValueError:
                raise UsageError(
                    f"--zip-name {options.zip_name!r} is not a plain file name: give a name "
                    "without slashes, '..' or a leading dot, such as nightly."
                ) from None
        if options.keep is not None:
            if not options.zip:
                raise UsageError("--keep counts zips: it needs --zip.")
            if options.keep < 1:
                raise UsageError(f"--keep must be at least 1 (the new zip), got {options.keep}.")
        if options.stdout is not None:
            if not options.zip:
                raise UsageError("TARGET - (standard output) needs --zip.")
            if options.delete or options.keep is not None:
                raise UsageError("--delete and --keep need a TARGET directory, not -.")
            return
        target = options.target
        if target is None:
            raise UsageError("No TARGET given.")
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
        options = self.options
        on_bytes = self.progress.bytes_copied
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

    def protect(self, record: dict[str, Any]) -> dict[str, Any]:
        """Encrypt the record's secret fields when a passphrase was given."""
        if self.cipher is None:
            return record
        fields = self.plan.secrets.get(record["model"])
        return encrypt_fields(record, fields, self.cipher) if fields else record

    def document_names(self, info: DocumentFileInfo) -> dict[str, str]:
        """The document's unique export names (relative paths), claimed in export order."""
        if self.options.use_filename_format:
            try:
                stem = format_stem(self.plan.filename_format, info.name_values)
            except ValueError as exc:
                raise UsageError(
                    f"The filename format {self.plan.filename_format!r} "
                    f"(EXPORTER_FILENAME_FORMAT) cannot be used: {exc}"
                ) from None
        else:
            values = info.name_values
            stem = default_stem(values["created"], values["correspondent"], values["title"])
        # All four names of the document are checked, so no file lands on another's.
        names = claim_document_names(self.names, stem, info.original_extension)
        if self.options.use_folder_prefix:
            names = {kind: f"{FILE_FOLDERS[kind]}/{name}" for kind, name in names.items()}
        return names

    def annotate_and_copy(
        self, sink: ExportSink, record: dict[str, Any], info: DocumentFileInfo
    ) -> dict[str, str]:
        """Add the export names to the document record and hand its files to the sink."""
        interrupts.check()
        options = self.options
        names = self.document_names(info)
        files = [("original", info.source, info.checksum)]
        record[FILE_NAME_KEY] = names["original"]
        if not options.no_thumbnail:
            record[THUMBNAIL_NAME_KEY] = names["thumbnail"]
            files.append(("thumbnail", info.thumbnail, None))
        if info.archive is not None and not options.no_archive:
            record[ARCHIVE_NAME_KEY] = names["archive"]
            files.append(("archive", info.archive, info.archive_checksum))
        if not options.data_only:
            for kind, source, checksum in files:
                relpath = names[kind]
                try:
                    with writing(relpath):
                        sink.add_file(relpath, source, sha256=checksum)
                except (OSError, SourceChanged) as exc:
                    problem = file_problem(
                        record, kind, relpath, source, exc, self.started_at, self.plan.media_lock
                    )
                    if problem is None:
                        raise
                    if options.strict:
                        raise ExportError(
                            f"Document {problem.document} ({problem.title!r}): its {kind} "
                            f"{problem.detail} The previous export was left as it was. Without "
                            "--strict the export goes on without the file and lists it."
                        ) from None
                    kept = sink.keep_previous(relpath, sha256=checksum)
                    self.summary.problems.append(
                        dataclasses.replace(problem, kept_previous_copy=kept)
                    )
        return names

    def write_json(self, sink: ExportSink, relpath: str, value: Any) -> None:
        """A small JSON file, encoded as the classic exporter does."""
        with writing(relpath):
            entry = sink.open_json(relpath, compare=self.options.compare_json)
            entry.write(json.dumps(value, indent=2, ensure_ascii=False).encode("utf-8"))
            entry.close()

    def metadata(self) -> dict[str, Any]:
        options = self.options
        metadata: dict[str, Any] = {
            "version": __version__,
            # What the export holds, so that verification knows which files to expect.
            "contents": {
                "originals": not options.data_only,
                "thumbnails": not (options.data_only or options.no_thumbnail),
                "archive_versions": not (options.data_only or options.no_archive),
                "split_manifest": options.split_manifest,
            },
        }
        if self.cipher is not None:
            metadata["encryption"] = self.cipher.metadata()
        # Read by the next run's shrink guard and by verify_export.
        records = self.summary.records
        metadata["counts"] = {section.key: records[section.key] for section in self.plan.sections}
        metadata["problems"] = [problem.as_json() for problem in self.summary.problems]
        return metadata

    def record_sink_summary(self, sink: ExportSink) -> None:
        result = sink.summary
        summary = self.summary
        summary.files_copied = result.files_copied
        summary.files_skipped = result.files_skipped
        summary.files_deleted = result.files_deleted
        summary.bytes_copied = result.bytes_copied
        summary.json_written = result.json_written
        summary.json_unchanged = result.json_unchanged
        summary.files_kept = result.files_kept
        summary.foreign_files = result.foreign_files
        summary.foreign_names = list(result.foreign_names)
        summary.temps_removed = result.temps_removed
        if result.foreign_split_manifests:
            summary.warnings.append(
                f"{result.foreign_split_manifests} split manifests (*-manifest.json) in "
                f"{result.location} were not written by this export, and no earlier export's "
                "file list names them; they were kept. verify_export and document_importer "
                "read every split manifest: remove them by hand if they are not yours."
            )
        summary.output = str(result.location) if result.location is not None else "-"
        completed = sink.completed_commit if isinstance(sink, DirectorySink) else None
        if completed is not None and not completed.torn:
            summary.warnings.append(
                f"The previous run into {result.location} was stopped half-way through its "
                f"commit: its {completed.renamed} remaining renames (of {completed.entries}) were "
                "completed before this run."
            )


@contextmanager
def writing(relpath: str) -> Iterator[None]:
    """Turn a failed write (a full disk, an I/O error) into an ExportError naming the file.

    A missing source file is not a write error: FileNotFoundError passes through.
    """
    try:
        yield
    except FileNotFoundError:
        raise
    except OSError as exc:
        # A sink may name the file that really failed (a zip names the archive and the entry).
        raise ExportError(describe_os_error(exc, getattr(exc, "export_file", relpath))) from exc


def describe_os_error(exc: OSError, relpath: str | None = None) -> str:
    where = f" while writing {relpath}" if relpath else ""
    if exc.errno == errno.ENOSPC:
        return f"No space left on device{where}. Free some space and run the export again."
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"Permission denied{where}: {exc.strerror}."
    return f"{exc.strerror or exc}{where}."
