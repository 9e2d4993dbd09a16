"""The file stage of an import: every document's files copied into the media directory.

:class:`FileStage` is the third pass of :class:`exporter.readback.importing.ArchiveImporter`,
kept apart because it is a job of its own: copies checked against the records' sha256,
temporary files registered before they exist and removed on any failure or signal, leftovers
of killed runs removed, one sync per file system, files the export recorded as problems
skipped and listed. Before anything is loaded, :meth:`FileStage.check_media` refuses a media
directory that already holds files.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

from exporter import interrupts
from exporter.errors import ImportFailed
from exporter.format import ARCHIVE_NAME_KEY, FILE_NAME_KEY, THUMBNAIL_NAME_KEY, checksum_hasher
from exporter.readback.source import CHUNK
from exporter.sinks.files import (
    NAME_MAX,
    create_temp,
    file_sha256,
    is_temp_name,
    remove_quietly,
    sync_files,
    syncs_whole_file_systems,
)

__all__ = ["ChecksumMismatch", "FileStage", "sha256_of"]

# create_temp's names: ".<name, shortened to fit>.<12 hex digits>.tmp".
_TEMP_NAME_ROOM = NAME_MAX - len("..") - 12 - len(".tmp")


class ChecksumMismatch(ValueError):
    """A copied file's bytes do not have the sha256 its record gives."""


class FileStage:
    """
    The file stage of :class:`~exporter.readback.importing.ArchiveImporter`, which it is mixed into.

    It uses the importer's ``options``, ``plan``, ``media_root``, ``paths``, ``source``,
    ``summary``, ``progress``, ``recorded`` (the export's recorded problems by export name),
    ``records()``, ``destinations()`` and ``documents_label()``, its ``planned_files`` and
    ``planned_bytes``, and its ``_temps``, ``_stale`` and ``_unsynced`` bookkeeping.
    """

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

    def copy_files(self, documents: int) -> None:
        """Copy every document's files into the media directory; on any failure or
        interruption, remove every temporary file this run created."""
        try:
            self._copy_files(documents)
        except BaseException:
            self.remove_temps()
            raise

    def _copy_files(self, documents: int) -> None:
        self.progress.stage("copying files", total=documents, unit="docs")
        if self.progress.wants_totals:
            self.progress.files_planned(self.planned_files, self.planned_bytes)
        if self.options.files_only:
            self.progress.start(documents)
        documents_label = self.documents_label()
        for _, _, record in self.records():
            if record["model"] != documents_label:
                if self.paths.carries_attached_files(record):
                    self.copy_attached_files(record)
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

    def copy_attached_files(self, record: dict[str, Any]) -> None:
        """Copy the files a record of another section carries (a share link bundle's zip) to
        where its section puts them, checked as they are copied."""
        for key, destination in self.paths.attached_destinations(record).items():
            name = record.get(key)
            if name is None:
                continue
            self.remove_stale_temps(destination)
            try:
                self.copy_file(name, destination, None)
            except (OSError, ValueError) as exc:
                raise self.copy_failed(name, record, destination, exc) from exc

    def copy_failed(
        self, name: str, record: dict[str, Any], destination: Path, exc: Exception
    ) -> ImportFailed:
        """The error of a failed copy: which file of which document, why, and how to resume."""
        reason: object = exc
        if isinstance(exc, OSError) and exc.strerror and exc.filename is None:
            # A failed write (a full disk): say which file it was writing.
            reason = f"{exc.strerror} while writing {destination}"
        owner = "document" if record["model"] == self.documents_label() else record["model"]
        return ImportFailed(
            f"Copying file {name} of {owner} {record['pk']} failed: {reason}. "
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
        """Copy the export's file ``name`` to ``destination`` through a temporary file,
        checking its sha256; skip it if ``destination`` already has those bytes."""
        if checksum is None:
            checksum, _ = self.source.sha256(name)
        if destination.is_file() and sha256_of(destination, like=checksum) == checksum:
            self.summary.files_skipped += 1
            self.progress.bytes_skipped(destination.stat().st_size)
            return
        destination.parent.mkdir(parents=True, exist_ok=True)
        # Registered before it exists: a signal landing anywhere from here on cannot leak it.
        temp, fd = create_temp(destination, register=self._temps.add)
        digest = checksum_hasher(checksum)
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
                    f"its {digest.name} is {digest.hexdigest()}, the manifest says {checksum}"
                )
            os.replace(temp, destination)
        except BaseException:
            remove_quietly(temp)
            self._temps.discard(temp)
            raise
        self._temps.discard(temp)
        self.summary.files_copied += 1
        self.summary.bytes_copied += destination.stat().st_size


def sha256_of(path: Path, like: str | None = None) -> str:
    """The sha256 of the file at ``path`` (with ``like``, a digest of ``like``'s algorithm),
    read in chunks."""
    with open(path, "rb", buffering=0) as stream:
        return file_sha256(stream, bytearray(CHUNK), like=like)
