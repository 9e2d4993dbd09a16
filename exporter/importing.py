"""Restore an export into an empty database and media directory, reading it as a stream.

Three passes over the manifests, each one record at a time (ijson):

1. **Check**: every record's shape, model and fields (a field the model does not have is an
   error, not dropped), and every file name, before anything is written: names must be
   relative and stay inside SOURCE (no ``..``, no absolute path, no symlink or zip member
   leading out), and the files they land on must stay inside the media directory
   (:class:`exporter.source.MediaPaths`, which verify_export applies too). A database that
   holds rows, or a media directory that holds files, is refused unless ``force``.
2. **Load**: one transaction for the whole database. Any failure leaves the database exactly as
   it was. Constraints are checked at the end, PostgreSQL sequences are reset.
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

from exporter import interrupts
from exporter.base import ARCHIVE_NAME_KEY, FILE_NAME_KEY, THUMBNAIL_NAME_KEY
from exporter.loader import (
    BatchLoader,
    describe_unknown_fields,
    refresh_planner_statistics,
    unknown_fields,
)
from exporter.options import ExportError, ExportProgress, UsageError
from exporter.plan import ExportPlan
from exporter.secrets import InvalidSecret, SecretCipher, decrypt_record
from exporter.sinks.files import (
    NAME_MAX,
    create_temp,
    file_sha256,
    is_temp_name,
    remove_quietly,
    sync_files,
    syncs_whole_file_systems,
)
from exporter.source import CHUNK, ExportSource, MediaPaths
from exporter.verify import (
    RecordedProblem,
    describe_json_error,
    read_metadata,
    read_records,
    recorded_problems,
)

#: The stages of an import, in order (``ArchiveImporter.stage``).
STAGES = ("check", "load", "files", "done")
#: What a failure or an interruption in each stage leaves behind.
STAGE_NOTES = {
    "check": "Nothing was changed.",
    "load": ("The load is one transaction: the database is as it was, and no file was copied."),
    "files": (
        "The database is loaded; run the import again with --files-only to copy the "
        "remaining files."
    ),
    "done": "The import was complete.",
}
# create_temp's names: ".<name, shortened to fit>.<12 hex digits>.tmp".
_TEMP_NAME_ROOM = NAME_MAX - len("..") - 12 - len(".tmp")


class ImportFailed(ExportError):
    """An import cannot go on; the message says what is wrong and how to fix it."""


class ImportUsageError(UsageError, ImportFailed):
    """The import was asked for something the export cannot give (a passphrase it has no use
    for, none where it needs one)."""


class ChecksumMismatch(ValueError):
    """A copied file's bytes do not have the sha256 its record gives."""


@dataclass(frozen=True)
class ImportOptions:
    data_only: bool = False
    files_only: bool = False
    passphrase: str | None = None
    batch_size: int = 500
    #: Load into a database that holds rows, and copy into a media directory that holds files.
    force: bool = False
    using: str = "default"
    #: Where the passphrase came from, for messages ("--passphrase-file", ...).
    passphrase_origin: str = ""


@dataclass
class ImportSummary:
    records: Counter = field(default_factory=Counter)
    files_copied: int = 0
    files_skipped: int = 0
    bytes_copied: int = 0
    elapsed: float = 0.0
    #: Files the export recorded as problems, each described with what the import did.
    problems: list[str] = field(default_factory=list)
    #: Of those, files not imported (the export has no good copy of them).
    files_not_imported: int = 0
    #: Temporary files of an earlier, killed import removed from the media directory.
    temps_removed: int = 0


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

    @property
    def failure_note(self) -> str:
        """What a failure or an interruption at this point leaves behind, in a sentence."""
        return STAGE_NOTES[self.stage]

    def run(self) -> ImportSummary:
        started = time.monotonic()
        options = self.options
        if options.batch_size < 1:
            raise ImportUsageError("--batch-size must be at least 1.")
        try:
            metadata = read_metadata(self.source)
        except ValueError as exc:
            raise ImportFailed(f"Cannot import {self.source.location}: {exc}") from None
        self.setup_cipher(metadata.get("encryption"))
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
        documents = self.check()
        try:
            if options.files_only:
                self.stage = "files"
            else:
                self.check_empty()
                if not options.data_only:
                    self.check_media()
                self.load(documents)
            if not options.data_only:
                self.copy_files(documents)
        finally:
            self.progress.finish()
        self.stage = "done"
        self.summary.elapsed = time.monotonic() - started
        return self.summary

    def setup_cipher(self, encryption: dict | None) -> None:
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
                '(its metadata.json has no "encryption"): import it without a passphrase.'
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
        """Validate records, their fields and file names; return the number of documents."""
        documents = 0
        documents_label = self.documents_label()
        for relpath, index, record in self.records():
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
            if record["model"] == documents_label:
                documents += 1
                self.check_names(where, record)
        return documents

    def check_names(self, where: str, record: dict[str, Any]) -> None:
        for key in (FILE_NAME_KEY, THUMBNAIL_NAME_KEY, ARCHIVE_NAME_KEY):
            name = record.get(key)
            if name is None:
                continue
            unsafe = self.paths.name_problem(name)
            if unsafe is not None:
                raise ImportFailed(f"{where}: {unsafe}")
            if not self.options.data_only and not self.source.exists(name):
                recorded = self.recorded.get(name)
                if recorded is not None and not recorded.kept_previous_copy:
                    continue  # the export could not export it, and says so: skipped, listed
                raise ImportFailed(
                    f"{where}: its file {name} is missing from {self.source.location}. Run "
                    "verify_export on it to see what else is wrong."
                )
        if self.options.data_only:
            return
        problems = self.paths.destination_problems(record)
        if problems:
            raise ImportFailed(f"{where}: {problems[0]}")

    def destinations(self, record: dict[str, Any]) -> tuple[Path | None, ...]:
        return self.paths.destinations(record)

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

    def check_media(self) -> None:
        """Refuse a media directory that already holds files (another archive's?)."""
        if self.options.force or self.media_root is None:
            return
        counts = self.media_file_counts()
        if not counts:
            return
        listed = ", ".join(f"{folder} {count}" for folder, count in sorted(counts.items()))
        raise ImportFailed(
            f"The media directory {self.media_root} already holds {sum(counts.values())} files "
            f"({listed}): the import would mix this export's files with them and overwrite "
            "those of the same name. Import into an empty media directory (check "
            "ARCHIVE_DATA_DIR), or pass --force to import on top of them."
        )

    def media_file_counts(self) -> Counter:
        """Files in the media directory by top folder (originals, archive, thumbnails, ...),
        not counting the media lock and temporary files."""
        counts: Counter = Counter()
        root = self.media_root
        lock = self.plan.media_lock
        lock = Path(os.path.realpath(lock)) if lock is not None else None
        for directory, _, files in os.walk(root):
            relative = Path(directory).relative_to(root)
            folder = relative.parts[0] if relative.parts else "top level"
            for name in files:
                if is_temp_name(name) or Path(directory, name) == lock:
                    continue
                counts[folder] += 1
        return counts

    def load(self, documents: int) -> None:
        using = self.options.using
        connection = connections[using]
        loader = BatchLoader(using, self.options.batch_size)
        self.progress.start(documents)
        documents_label = self.documents_label()
        self.stage = "load"
        try:
            with (
                CommitThen(using, self.loaded),
                connection.constraint_checks_disabled(),
            ):
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
        except ImportFailed as exc:
            raise ImportFailed(f"{exc} The load was rolled back: nothing was changed.") from None
        finally:
            ContentType.objects.clear_cache()
        self.summary.records.update(loader.counts)

    def loaded(self) -> None:
        """The load is committed (called with signals held, right after the commit)."""
        self.stage = "files"

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

    def copy_files(self, documents: int) -> None:
        """Copy every document's files into the media directory; on any failure or
        interruption, remove every temporary file this run created."""
        try:
            self._copy_files(documents)
        except BaseException:
            self.remove_temps()
            raise

    def _copy_files(self, documents: int) -> None:
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
                self.remove_stale_temps(destination)
                recorded = self.recorded.get(name)
                if recorded is not None and not self.source.exists(name):
                    self.summary.files_not_imported += 1
                    self.summary.problems.append(
                        f"Recorded by the export: {recorded.describe()} Not imported: "
                        f"{destination} is left out."
                    )
                    continue
                try:
                    self.copy_file(name, destination, checksum)
                except ChecksumMismatch as exc:
                    if recorded is None:
                        raise self.copy_failed(name, record, destination, exc) from exc
                    self.summary.files_not_imported += 1
                    self.summary.problems.append(
                        f"Recorded by the export: {recorded.describe()} Not imported: the "
                        f"export's copy does not match the record ({exc})."
                    )
                    continue
                except (OSError, ValueError) as exc:
                    raise self.copy_failed(name, record, destination, exc) from exc
                if recorded is not None:
                    self.summary.problems.append(
                        f"Recorded by the export: {recorded.describe()} The export's copy was "
                        f"imported to {destination}."
                    )
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

    def copy_failed(
        self, name: str, record: dict[str, Any], destination: Path, exc: Exception
    ) -> ImportFailed:
        reason: object = exc
        if isinstance(exc, OSError) and exc.strerror and exc.filename is None:
            # A failed write (a full disk): say which file it was writing.
            reason = f"{exc.strerror} while writing {destination}"
        return ImportFailed(
            f"Copying file {name} of document {record['pk']} failed: {reason}. "
            "The database is loaded; fix the cause and run the import again with "
            "--files-only to copy the remaining files."
        )

    def remove_temps(self) -> None:
        """Remove every temporary file this run created and did not rename (signals held)."""
        with interrupts.deferred():
            for temp in self._temps:
                remove_quietly(temp)
            self._temps.clear()

    def remove_stale_temps(self, destination: Path) -> None:
        """Remove the temporary files an earlier, killed import left for ``destination``."""
        directory = destination.parent
        stale = self._stale.get(directory)
        if stale is None:
            stale = self._stale[directory] = {}
            try:
                with os.scandir(directory) as entries:
                    for entry in entries:
                        if is_temp_name(entry.name) and entry.is_file(follow_symlinks=False):
                            # ".<name>.<12 hex>.tmp" -> <name> (shortened if it was long)
                            stem = entry.name[1:].rsplit(".", 2)[0]
                            stale.setdefault(stem, []).append(Path(entry.path))
            except OSError:
                return  # not there yet (nothing to remove), or unreadable (the copy will say)
        if not stale:
            return
        name = destination.name
        leftovers = stale.pop(name, [])
        if len(name.encode("utf-8", "surrogateescape")) > _TEMP_NAME_ROOM:
            for stem in [s for s in stale if name.startswith(s)]:
                leftovers.extend(stale.pop(stem))
        for path in leftovers:
            remove_quietly(path)
            self.summary.temps_removed += 1

    def copy_file(self, name: str, destination: Path, checksum: str | None) -> None:
        if checksum is None:
            checksum, _ = self.source.sha256(name)
        if destination.is_file() and sha256_of(destination) == checksum:
            self.summary.files_skipped += 1
            return
        destination.parent.mkdir(parents=True, exist_ok=True)
        # Registered before it exists: a signal landing anywhere from here on cannot leak it.
        temp, fd = create_temp(destination, register=self._temps.add)
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
                raise ChecksumMismatch(
                    f"its sha256 is {digest.hexdigest()}, the manifest says {checksum}"
                )
            os.replace(temp, destination)
        except BaseException:
            remove_quietly(temp)
            self._temps.discard(temp)
            raise
        self._temps.discard(temp)
        self.summary.files_copied += 1
        self.summary.bytes_copied += destination.stat().st_size


class CommitThen:
    """``transaction.atomic`` whose commit and ``then()`` are not cut apart by a signal.

    A SIGINT or SIGTERM that arrives while the transaction commits is held
    (:func:`exporter.interrupts.deferred`) until ``then()`` has recorded that the commit is
    done, and raised right after: what a stopped run reports is then always true.
    """

    def __init__(self, using: str, then) -> None:
        self.atomic = transaction.atomic(using=using)
        self.then = then

    def __enter__(self) -> None:
        self.atomic.__enter__()

    def __exit__(self, kind, value, traceback) -> bool | None:
        if kind is not None:
            return self.atomic.__exit__(kind, value, traceback)
        with interrupts.deferred():
            self.atomic.__exit__(None, None, None)
            self.then()
        interrupts.check()
        return None


def sha256_of(path: Path) -> str:
    """The sha256 of the file at ``path``, read in chunks."""
    with open(path, "rb", buffering=0) as stream:
        return file_sha256(stream, bytearray(CHUNK))
