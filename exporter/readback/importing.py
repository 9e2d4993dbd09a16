"""Restore an export into an empty database and media directory, reading it as a stream.

One pass over the manifests, one record at a time (ijson), then one over the files:

1. **Before anything is read**: a database that holds rows, or a media directory that holds
   files, is refused unless ``force``.
2. **Check and load**, in one transaction for the whole database: every record's shape, model
   and fields are checked (a field the model does not have is an error, not dropped), and
   every file name: names must be relative and stay inside SOURCE (no ``..``, no absolute
   path, no symlink or zip member leading out), and the files they land on must stay inside
   the media directory (:class:`exporter.readback.source.MediaPaths`, which verify_export
   applies too). A refused record, or any failure, rolls the transaction back: the database
   is exactly as it was. Constraints are checked at the end, PostgreSQL sequences are reset.
   (``--files-only`` runs the checks alone.)
3. **Files**: each file is copied with its sha256 checked, to a temporary name then renamed.
   A failure names the document and file; the database stays loaded, and ``--files-only``
   resumes, skipping files already in place with the right checksum. Every temporary file is
   registered before it is created and removed on any failure or interruption; those a killed
   import left are removed when the same file is imported again.

Files the export recorded as problems (``metadata.json`` "problems": it could not export them)
and does not hold are skipped and listed in ``ImportSummary.problems``.

Secrets are decrypted in memory, never written anywhere in plain text but the database.
"""

from __future__ import annotations

import time
from collections import Counter
from functools import cached_property
from pathlib import Path
from typing import Any

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.management.color import no_style
from django.db import DatabaseError, connections

from exporter.batches import validate_batch_size
from exporter.encryption import (
    InvalidSecret,
    SecretCipher,
    decrypt_record,
    encryption_parameters,
)
from exporter.errors import ImportFailed, ImportUsageError
from exporter.format import (
    ARCHIVE_NAME_KEY,
    FILE_NAME_KEY,
    THUMBNAIL_NAME_KEY,
    is_file_name_key,
)
from exporter.plan import ExportPlan
from exporter.progress import ExportProgress
from exporter.readback.import_files import FileStage
from exporter.readback.import_options import STAGE_NOTES, ImportOptions, ImportSummary
from exporter.readback.loader import (
    BatchLoader,
    CommitThen,
    describe_unknown_fields,
    refresh_planner_statistics,
    unknown_fields,
)
from exporter.readback.reading import (
    RecordedProblem,
    announced_counts,
    describe_json_error,
    read_metadata,
    read_records,
    recorded_problems,
)
from exporter.readback.source import ExportSource, MediaPaths


class ArchiveImporter(FileStage):
    """Import one export into the database and media directory of the site's plan.

    :meth:`run` checks every record and file name as it loads the database, in one
    transaction that a refused record rolls back, then copies the files
    (:class:`~exporter.readback.import_files.FileStage`);
    it raises :class:`~exporter.errors.ImportFailed` with what is wrong, and
    :attr:`failure_note` says what a failure or an interruption left behind.
    """

    def __init__(
        self,
        source: ExportSource,
        plan: ExportPlan,
        options: ImportOptions,
        progress: ExportProgress | None = None,
    ) -> None:
        self.source = source
        self.plan = plan
        self.options = options
        self.progress = progress or ExportProgress()
        self.summary = ImportSummary()
        self.cipher: SecretCipher | None = None
        # A directory per file system that copies went to, to sync once at the end.
        self._unsynced: dict[int, Path] = {}
        self.paths = MediaPaths(source, plan)
        self.media_root = self.paths.media_root
        #: Where the import is (see STAGES): what a failure now leaves behind.
        self.stage = "check"
        #: The export's recorded problems, by the export name of the file they concern.
        self.recorded: dict[str, RecordedProblem] = {}
        #: Temporary files this run may have created and not renamed yet.
        self._temps: set[Path] = set()
        #: Temporary files found in a destination directory, by the file they were for.
        self._stale: dict[Path, dict[str, list[Path]]] = {}
        #: The files the file stage will copy and their bytes (counted for progress totals).
        self.planned_files = 0
        self.planned_bytes = 0

    @property
    def failure_note(self) -> str:
        """What a failure or an interruption at this point leaves behind, in a sentence."""
        return STAGE_NOTES[self.stage]

    def run(self) -> ImportSummary:
        """Check, load and copy (as ``options`` ask); return what was done."""
        started = time.monotonic()
        options = self.options
        try:
            validate_batch_size(options.batch_size)
        except ValueError as exc:
            raise ImportUsageError(f"--{exc}.") from None
        try:
            metadata = read_metadata(self.source)
        except ValueError as exc:
            raise ImportFailed(f"Cannot import {self.source.location}: {exc}") from None
        self.setup_cipher(encryption_parameters(metadata))
        contents = metadata.get("contents", {})
        if not isinstance(contents, dict):
            contents = {}
        if contents.get("originals") is False and not options.data_only:
            raise ImportFailed(
                "This export has no files (it was made with --data-only): import it with "
                "--data-only."
            )
        try:
            self.recorded = {p.export_name: p for p in recorded_problems(metadata)}
        except ValueError as exc:
            raise ImportFailed(
                f"Cannot import {self.source.location}: {exc} Run verify_export on it."
            ) from None
        try:
            if options.files_only:
                documents = self.check()
                self.stage = "files"
            else:
                self.check_empty()
                if not options.data_only:
                    self.check_media()
                counts = announced_counts(metadata)
                documents = self.load(
                    counts.get(self.plan.documents_key) if counts is not None else None
                )
            if not options.data_only:
                self.copy_files(documents)
        finally:
            self.progress.finish()
        self.stage = "done"
        self.summary.elapsed = time.monotonic() - started
        return self.summary

    def setup_cipher(self, encryption: dict | None) -> None:
        """The cipher of the export's secrets; refuse a passphrase the export has no use
        for, or none where it needs one."""
        origin = self.options.passphrase_origin
        origin = f" ({origin})" if origin else ""
        if encryption and self.options.passphrase is None:
            raise ImportUsageError(
                "The export's secrets are encrypted: give the passphrase they were encrypted "
                "with (--passphrase-file FILE, --ask-passphrase, the "
                "DOCUMENT_EXPORTER_PASSPHRASE environment variable, or --passphrase)."
            )
        if not encryption and self.options.passphrase is not None:
            raise ImportUsageError(
                f"A passphrase was given{origin}, but the export's secrets are not encrypted "
                '(its metadata.json has no "encryption" or "__crypto__"): import it without a '
                "passphrase."
            )
        if not encryption:
            return
        try:
            self.cipher = SecretCipher.from_metadata(self.options.passphrase, encryption)
        except (ValueError, TypeError) as exc:
            raise ImportFailed(f"Cannot use the export's encryption parameters: {exc}") from None

    # -- the records and their checks ------------------------------------------------------

    def records(self):
        """(manifest, index, record) for every record of every manifest, in order."""
        for relpath in self.source.manifests():
            with self.source.open(relpath) as stream:
                index = -1
                try:
                    for index, record in enumerate(read_records(stream, use_float=True)):
                        yield relpath, index, record
                except Exception as exc:
                    if isinstance(exc, ImportFailed):
                        raise
                    raise ImportFailed(
                        f"{relpath} is not a readable manifest (at record {index + 1}: "
                        f"{describe_json_error(exc)}). Run verify_export on "
                        f"{self.source.location} to see what is wrong."
                    ) from None

    def check(self) -> int:
        """Validate records, their fields and file names; return the number of documents."""
        return sum(
            self.check_record(relpath, index, record) for relpath, index, record in self.records()
        )

    def check_record(self, relpath: str, index: int, record: Any) -> bool:
        """Validate one record, its fields and its file names (ImportFailed, saying what is
        wrong); whether it is a document."""
        where = f"{relpath} record {index}"
        if not isinstance(record, dict) or not {"model", "pk", "fields"} <= record.keys():
            raise ImportFailed(f"{where}: not a record (needs model, pk and fields).")
        try:
            model = apps.get_model(record["model"])
        except (LookupError, ValueError, TypeError, AttributeError):
            raise ImportFailed(f"{where}: unknown model {record['model']!r}.") from None
        where = f"{where} ({record['model']} pk={record['pk']})"
        if not isinstance(record["fields"], dict):
            raise ImportFailed(f"{where}: fields is not an object.")
        unknown = unknown_fields(model, record["fields"])
        if unknown:
            raise ImportFailed(f"{where}: {describe_unknown_fields(model, unknown)}")
        if record["model"] == self.documents_label():
            self.check_names(where, record)
            return True
        if self.paths.carries_attached_files(record):
            self.check_attached_names(where, record)
        return False

    def check_names(self, where: str, record: dict[str, Any]) -> None:
        """Refuse a document record whose file names are unsafe, whose files are missing
        (unless the export recorded them as problems), or whose files would land outside
        the media directory."""
        names = [record.get(k) for k in (FILE_NAME_KEY, THUMBNAIL_NAME_KEY, ARCHIVE_NAME_KEY)]
        self.check_files(where, record, [name for name in names if name is not None])

    def check_attached_names(self, where: str, record: dict[str, Any]) -> None:
        """Refuse a record of another section (a share link bundle) whose files are unsafely
        named, missing, or would land outside the media directory."""
        names = [record[key] for key in record if is_file_name_key(key)]
        if names:
            self.check_files(where, record, names, attached=True)

    def check_files(
        self, where: str, record: dict[str, Any], names: list[str], *, attached: bool = False
    ) -> None:
        """Refuse ``record`` if one of its file ``names`` is unsafe or missing (a document's
        file the export recorded as a problem aside), or would be imported outside the media
        directory; count the files to copy."""
        for name in names:
            # --data-only opens no file: its name must be safe, where links lead is moot.
            unsafe = self.paths.name_problem(name, follow_links=not self.options.data_only)
            if unsafe is not None:
                raise ImportFailed(f"{where}: {unsafe}")
            if self.options.data_only:
                continue
            if not self.source.exists(name):
                recorded = None if attached else self.recorded.get(name)
                if recorded is not None and not recorded.kept_previous_copy:
                    continue  # the export could not export it, and says so: skipped, listed
                raise ImportFailed(
                    f"{where}: its file {name} is missing from {self.source.location}. Run "
                    "verify_export on it to see what else is wrong."
                )
            self.plan_file(name)
        if self.options.data_only:
            return
        problems = self.paths.destination_problems(record, attached=attached)
        if problems:
            raise ImportFailed(f"{where}: {problems[0]}")

    def plan_file(self, name: str) -> None:
        """Count a file the file stage will copy, for a progress bar that shows totals."""
        if self.progress.wants_totals:
            self.planned_files += 1
            self.planned_bytes += self.source.size(name) or 0

    def destinations(self, record: dict[str, Any]) -> tuple[Path | None, ...]:
        """Where the record's original, thumbnail and archived version are imported to."""
        return self.paths.destinations(record)

    def documents_label(self) -> str:
        """The model label of the plan's documents ("documents.document")."""
        return self._documents_label

    @cached_property
    def _documents_label(self) -> str:
        return self.plan.section(self.plan.documents_key).queryset().model._meta.label_lower

    # -- the load, which checks each record ---------------------------------------------------

    def check_empty(self) -> None:
        """Refuse a database that holds rows (but those migrations create), unless forced."""
        if self.options.force:
            return
        for section in self.plan.sections:
            model = section.queryset().model
            if model._meta.label_lower in self.plan.replace_on_import:
                continue
            rows = model._base_manager.using(self.options.using)
            kept = self.plan.kept_on_import.get(model._meta.label_lower)
            count = (rows.exclude(**kept) if kept else rows).count()
            if count:
                raise ImportFailed(
                    f"The database is not empty: {model._meta.label_lower} has {count} rows. "
                    "Import into a freshly migrated, empty database (or pass --force to load on "
                    "top of what is there, which fails on any duplicate)."
                )

    def load(self, announced: int | None) -> int:
        """Check and load every record in one transaction: all of them, or none if anything
        fails or a record is refused; return the number of documents. ``announced`` is the
        number the export's metadata gives, for the progress bar."""
        using = self.options.using
        connection = connections[using]
        loader = BatchLoader(using, self.options.batch_size)
        self.progress.stage("loading", total=announced, unit="docs")
        if announced is not None:
            self.progress.start(announced)
        documents = 0
        self.stage = "load"
        try:
            with (
                CommitThen(using, self.loaded),
                connection.constraint_checks_disabled(),
            ):
                for label in self.plan.replace_on_import:
                    apps.get_model(label)._base_manager.using(using).all().delete()
                for relpath, index, record in self.records():
                    is_document = self.check_record(relpath, index, record)
                    loader.add(self.decrypt(f"{relpath} record {index}", record))
                    if is_document:
                        documents += 1
                        self.progress.document_done()
                loader.flush()
                self.progress.stage("checking and committing")
                tables = [apps.get_model(label)._meta.db_table for label in loader.counts]
                connection.check_constraints(table_names=tables)
                self.reset_sequences(loader.counts)
                refresh_planner_statistics(
                    using, [apps.get_model(label) for label in loader.counts]
                )
        except (DatabaseError, ValueError) as exc:
            raise ImportFailed(
                f"The database load failed and was rolled back, nothing was changed: {exc}"
            ) from exc
        except ImportFailed as exc:
            raise ImportFailed(f"{exc} The load was rolled back: nothing was changed.") from None
        finally:
            ContentType.objects.clear_cache()
        self.summary.records.update(loader.counts)
        return documents

    def loaded(self) -> None:
        """The load is committed (called with signals held, right after the commit)."""
        self.stage = "files"

    def decrypt(self, where: str, record: dict[str, Any]) -> dict[str, Any]:
        """The record with its secrets decrypted; ImportFailed if one does not decrypt."""
        try:
            return decrypt_record(record, self.plan.secrets, self.cipher)
        except InvalidSecret as exc:
            raise ImportFailed(f"{where}: {exc}") from None

    def reset_sequences(self, counts: Counter) -> None:
        """Move the primary key sequences of the loaded tables past the loaded rows."""
        connection = connections[self.options.using]
        models = [apps.get_model(label) for label in counts]
        for model in list(models):
            models.extend(f.remote_field.through for f in model._meta.local_many_to_many)
        statements = connection.ops.sequence_reset_sql(no_style(), models)
        if statements:
            with connection.cursor() as cursor:
                for sql in statements:
                    cursor.execute(sql)
