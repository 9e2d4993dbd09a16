"""Restore an export into an empty database and media directory, reading it as a stream.

Three passes over the manifests, each one record at a time (ijson):

1. **Check**: every record's shape and model, and every file name, before anything is written:
   names must be relative and stay inside SOURCE (no ``..``, no absolute path, no symlink or zip
   member leading out), and the files they land on must stay inside the media directory.
2. **Load**: one transaction for the whole database. Any failure leaves the database exactly as
   it was. Constraints are checked at the end, PostgreSQL sequences are reset.
3. **Files**: each file is copied with its sha256 checked, to a temporary name then renamed.
   A failure names the document and file; the database stays loaded, and ``--files-only``
   resumes, skipping files already in place with the right checksum.

Secrets are decrypted in memory, never written anywhere in plain text but the database.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.management.color import no_style
from django.db import DatabaseError, connections, transaction

from exporter.base import ARCHIVE_NAME_KEY, FILE_NAME_KEY, THUMBNAIL_NAME_KEY
from exporter.loader import BatchLoader, refresh_planner_statistics
from exporter.options import ExportError, ExportProgress
from exporter.plan import ExportPlan
from exporter.secrets import InvalidSecret, SecretCipher, decrypt_record
from exporter.sinks.files import create_temp, file_sha256, sync_files, syncs_whole_file_systems
from exporter.source import CHUNK, ExportSource, UnsafePath
from exporter.verify import describe_json_error, read_metadata, read_records


class ImportFailed(ExportError):
    """An import cannot go on; the message says what is wrong and how to fix it."""


@dataclass(frozen=True)
class ImportOptions:
    data_only: bool = False
    files_only: bool = False
    passphrase: str | None = None
    batch_size: int = 500
    force: bool = False
    using: str = "default"


@dataclass
class ImportSummary:
    records: Counter = field(default_factory=Counter)
    files_copied: int = 0
    files_skipped: int = 0
    bytes_copied: int = 0
    elapsed: float = 0.0


class ArchiveImporter:
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
        media = plan.media_root
        self.media_root = Path(os.path.realpath(media)) if media is not None else None

    def run(self) -> ImportSummary:
        started = time.monotonic()
        options = self.options
        if options.batch_size < 1:
            raise ImportFailed("--batch-size must be at least 1.")
        try:
            metadata = read_metadata(self.source)
        except ValueError as exc:
            raise ImportFailed(f"Cannot import {self.source.location}: {exc}") from None
        self.setup_cipher(metadata.get("encryption"))
        contents = metadata.get("contents", {})
        if contents.get("originals") is False and not options.data_only:
            raise ImportFailed(
                "This export has no files (it was made with --data-only): import it with "
                "--data-only."
            )
        documents = self.check()
        try:
            if not options.files_only:
                self.check_empty()
                self.load(documents)
            if not options.data_only:
                self.copy_files(documents, contents)
        finally:
            self.progress.finish()
        self.summary.elapsed = time.monotonic() - started
        return self.summary

    def setup_cipher(self, encryption: dict | None) -> None:
        if encryption and self.options.passphrase is None:
            raise ImportFailed(
                "The export's secrets are encrypted: give the export's --passphrase."
            )
        if not encryption:
            return
        try:
            self.cipher = SecretCipher.from_metadata(self.options.passphrase, encryption)
        except (ValueError, TypeError) as exc:
            raise ImportFailed(f"Cannot use the export's encryption parameters: {exc}") from None

    # -- pass 1: check -------------------------------------------------------------------------

    def records(self):
        """(manifest, index, record) for every record of every manifest, in order."""
        for relpath in self.source.manifests():
            with self.source.open(relpath) as stream:
                index = -1
                try:
                    for index, record in enumerate(read_records(stream)):
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
        """Validate records and file names; return the number of documents."""
        documents = 0
        documents_label = self.documents_label()
        for relpath, index, record in self.records():
            where = f"{relpath} record {index}"
            if not isinstance(record, dict) or not {"model", "pk", "fields"} <= record.keys():
                raise ImportFailed(f"{where}: not a record (needs model, pk and fields).")
            try:
                apps.get_model(record["model"])
            except (LookupError, ValueError, TypeError):
                raise ImportFailed(f"{where}: unknown model {record['model']!r}.") from None
            if record["model"] == documents_label:
                documents += 1
                self.check_names(where, record)
        return documents

    def check_names(self, where: str, record: dict[str, Any]) -> None:
        for key in (FILE_NAME_KEY, THUMBNAIL_NAME_KEY, ARCHIVE_NAME_KEY):
            name = record.get(key)
            if name is None:
                continue
            try:
                self.source.check(name)
                if hasattr(self.source, "resolve"):
                    self.source.resolve(name)
            except UnsafePath as exc:
                raise ImportFailed(f"{where} (document {record['pk']}): {exc}") from None
            if not self.options.data_only and not self.source.exists(name):
                raise ImportFailed(
                    f"{where} (document {record['pk']}): its file {name} is missing from "
                    f"{self.source.location}."
                )
        if self.options.data_only or self.media_root is None:
            return
        for destination in self.destinations(record):
            if destination is None:
                continue
            real = Path(os.path.realpath(destination))
            if self.media_root not in real.parents:
                raise ImportFailed(
                    f"{where} (document {record['pk']}): its file would be written to "
                    f"{destination}, outside the media directory {self.media_root}."
                )

    def destinations(self, record: dict[str, Any]) -> tuple[Path, Path, Path | None]:
        return self.plan.document_files.destinations(record["pk"], record["fields"])

    def documents_label(self) -> str:
        return self.plan.section(self.plan.documents_key).queryset().model._meta.label_lower

    # -- pass 2: load --------------------------------------------------------------------------

    def check_empty(self) -> None:
        if self.options.force:
            return
        for section in self.plan.sections:
            model = section.queryset().model
            if model._meta.label_lower in self.plan.replace_on_import:
                continue
            count = model._base_manager.using(self.options.using).count()
            if count:
                raise ImportFailed(
                    f"The database is not empty: {model._meta.label_lower} has {count} rows. "
                    "Import into a freshly migrated, empty database (or pass --force to load on "
                    "top of what is there, which fails on any duplicate)."
                )

    def load(self, documents: int) -> None:
        using = self.options.using
        connection = connections[using]
        loader = BatchLoader(using, self.options.batch_size)
        self.progress.start(documents)
        documents_label = self.documents_label()
        try:
            with transaction.atomic(using=using), connection.constraint_checks_disabled():
                for label in self.plan.replace_on_import:
                    apps.get_model(label)._base_manager.using(using).all().delete()
                for relpath, index, record in self.records():
                    loader.add(self.decrypt(f"{relpath} record {index}", record))
                    if record["model"] == documents_label:
                        self.progress.document_done()
                loader.flush()
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
        finally:
            ContentType.objects.clear_cache()
        self.summary.records.update(loader.counts)

    def decrypt(self, where: str, record: dict[str, Any]) -> dict[str, Any]:
        try:
            return decrypt_record(record, self.plan.secrets, self.cipher)
        except InvalidSecret as exc:
            raise ImportFailed(f"{where}: {exc}") from None

    def reset_sequences(self, counts: Counter) -> None:
        connection = connections[self.options.using]
        models = [apps.get_model(label) for label in counts]
        for model in list(models):
            models.extend(f.remote_field.through for f in model._meta.local_many_to_many)
        statements = connection.ops.sequence_reset_sql(no_style(), models)
        if statements:
            with connection.cursor() as cursor:
                for sql in statements:
                    cursor.execute(sql)

    # -- pass 3: files -------------------------------------------------------------------------

    def copy_files(self, documents: int, contents: dict[str, Any]) -> None:
        if self.options.files_only:
            self.progress.start(documents)
        documents_label = self.documents_label()
        for _, _, record in self.records():
            if record["model"] != documents_label:
                continue
            original, thumbnail, archive = self.destinations(record)
            fields = record["fields"]
            jobs = [
                (FILE_NAME_KEY, original, fields.get("checksum")),
                (THUMBNAIL_NAME_KEY, thumbnail, None),
                (ARCHIVE_NAME_KEY, archive, fields.get("archive_checksum")),
            ]
            for key, destination, checksum in jobs:
                name = record.get(key)
                if name is None or destination is None:
                    continue
                try:
                    self.copy_file(name, destination, checksum)
                except (OSError, ValueError) as exc:
                    reason = exc
                    if isinstance(exc, OSError) and exc.strerror and exc.filename is None:
                        # A failed write (a full disk): say which file it was writing.
                        reason = f"{exc.strerror} while writing {destination}"
                    raise ImportFailed(
                        f"Copying file {name} of document {record['pk']} failed: {reason}. "
                        "The database is loaded; fix the cause and run the import again with "
                        "--files-only to copy the remaining files."
                    ) from exc
            if self.options.files_only:
                self.progress.document_done()
        # One sync per file system instead of one per file, each a journal commit.
        for directory in self._unsynced.values():
            try:
                sync_files(directory, ())
            except OSError as exc:
                raise ImportFailed(
                    f"Syncing the copied files in {directory} failed: {exc}. The database is "
                    "loaded; fix the cause and run the import again with --files-only."
                ) from exc

    def copy_file(self, name: str, destination: Path, checksum: str | None) -> None:
        if checksum is None:
            checksum, _ = self.source.sha256(name)
        if destination.is_file() and sha256_of(destination) == checksum:
            self.summary.files_skipped += 1
            return
        destination.parent.mkdir(parents=True, exist_ok=True)
        temp, fd = create_temp(destination)
        digest = hashlib.sha256()
        try:
            with self.source.open(name) as src, os.fdopen(fd, "wb") as out:
                while chunk := src.read(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    self.progress.bytes_copied(len(chunk))
                if syncs_whole_file_systems():
                    # Synced all at once when every file is in place (see copy_files()). A
                    # crash before that is safe: --files-only checks every file in place.
                    self._unsynced.setdefault(os.fstat(out.fileno()).st_dev, destination.parent)
                else:
                    out.flush()
                    os.fsync(out.fileno())
            if digest.hexdigest() != checksum:
                raise ValueError(
                    f"its sha256 is {digest.hexdigest()}, the manifest says {checksum}"
                )
            os.replace(temp, destination)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        self.summary.files_copied += 1
        self.summary.bytes_copied += destination.stat().st_size


def sha256_of(path: Path) -> str:
    """The sha256 of the file at ``path``, read in chunks."""
    with open(path, "rb", buffering=0) as stream:
        return file_sha256(stream, bytearray(CHUNK))
