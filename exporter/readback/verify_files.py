"""The verifier's checks of the files an export's records name: each named safely, present,
and (for documents' originals and archived versions) with the sha256 its record gives; and
the files of the export that no record names.

A mixin of :class:`exporter.readback.verify.ExportVerifier`, whose state it uses: ``source``,
``report``, ``progress``, ``ledger``, ``paths``, ``contents``, ``recorded`` and ``checksums``.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Iterator
from typing import Any

from exporter.format import (
    ARCHIVE_NAME_KEY,
    FILE_NAME_KEY,
    METADATA,
    THUMBNAIL_NAME_KEY,
    checksum_hasher,
    is_file_name_key,
)
from exporter.readback.reading import LEGACY_VERSION

__all__ = ["FILE_KINDS", "ZIP_ERRORS", "FileChecks", "describe_os_error"]

#: What reading a damaged zip member raises, besides OSError.
ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError)

#: The kinds of document files, as an export's ``contents`` names them.
FILE_KINDS = ("originals", "thumbnails", "archive_versions")


def describe_os_error(exc: BaseException) -> str:
    """An I/O error in a few words, without a trailing period."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc).rstrip(".") or type(exc).__name__


class FileChecks:
    """The file checks of a verification."""

    #: :meth:`file_slots`, once the export's metadata is read.
    _file_slots: tuple[tuple[str, str | None, bool, bool], ...] | None = None
    #: Whether the names of files the export does not hold go into the ledger (for
    #: the ledger's ``has_name``); the verifier says.
    keep_unexported_names = True

    def check_files(self, where: str, record: dict[str, Any], at: int) -> None:
        """The record's file names and files; its files' place once imported (the importer's
        checks, :class:`exporter.readback.source.MediaPaths`). ``at`` is the record's
        position, for the ledger."""
        slots = self._file_slots
        if slots is None:
            slots = self._file_slots = self.file_slots()
        fields = record["fields"]
        if self.contents.get("originals", True):
            # Only an export with files is imported with them (the importer refuses a data-only
            # one without --data-only). Not for data-only ones: pathlib interns every name it
            # parses, which would grow the memory of a verification with the export's size.
            for problem in self.paths.destination_problems(record):
                self.report.problem(f"{where}: {problem}")
        name_problem, add_name = self.paths.name_problem, self.ledger.add_name
        for key, checksum_field, exported, required in slots:
            relpath = record.get(key)
            if relpath is None:
                if required:
                    self.report.problem(f"{where}: no thumbnail is named.")
                continue
            unsafe = name_problem(relpath, follow_links=exported)
            if unsafe is not None:
                self.report.problem(f"{where}: {unsafe}")
                continue
            if not exported:
                # --data-only, -na or -nt: named, deliberately not exported.
                if self.keep_unexported_names:
                    add_name(relpath)
                continue
            add_name(relpath, at)
            self.check_file(where, relpath, fields.get(checksum_field) if checksum_field else None)

    def file_slots(self) -> tuple[tuple[str, str | None, bool, bool], ...]:
        """A document record's file names, each as (its key, the field holding its checksum,
        whether the export holds such files, whether a record must name one), from the
        export's ``contents``."""
        exported = {kind: bool(self.contents.get(kind, True)) for kind in FILE_KINDS}
        return (
            (FILE_NAME_KEY, "checksum", exported["originals"], False),
            (THUMBNAIL_NAME_KEY, None, exported["thumbnails"], exported["thumbnails"]),
            (ARCHIVE_NAME_KEY, "archive_checksum", exported["archive_versions"], False),
        )

    def check_attached_files(self, where: str, record: dict[str, Any], at: int) -> None:
        """The files a record other than a document's carries (a share link bundle's zip);
        ``at`` is the record's position, for the ledger."""
        for key, relpath in record.items():
            if is_file_name_key(key):
                exported = self.contents.get("originals", True)
                unsafe = self.paths.name_problem(relpath, follow_links=exported)
                if unsafe is not None:
                    self.report.problem(f"{where}: {unsafe}")
                    continue
                if exported:
                    self.ledger.add_name(relpath, at)
                    self.check_file(where, relpath, None)
                elif self.keep_unexported_names:
                    self.ledger.add_name(relpath)

    def check_leftovers(self) -> None:
        """Warn of every file of the export that no record names."""
        for relpath in self.unnamed_candidates():
            if not self.ledger.has_name(relpath):
                self.report.warnings.append(f"{relpath} is not named by any record.")

    def unnamed_candidates(self) -> Iterator[str]:
        """The export's files that a record should name: all but its metadata and manifests."""
        for relpath in self.source.iter_files():
            if relpath in (METADATA, LEGACY_VERSION) or relpath.endswith("manifest.json"):
                continue
            yield relpath

    def check_file(self, where: str, relpath: str, checksum: str | None) -> None:
        """Check that the file is in the export and has the sha256 its record gives."""
        # A file the export recorded as a problem is reported as that, not again here.
        recorded = self.recorded.get(relpath)
        if not self.source.exists(relpath):
            if recorded is None:
                self.report.problem(f"{where}: file {relpath} is missing.")
            elif recorded.kept_previous_copy:
                self.report.problem(
                    f"{where}: file {relpath} is missing, although the export recorded that it "
                    "kept the previous export's copy of it."
                )
            return
        self.report.files_checked += 1
        if not self.checksums or checksum is None:
            return
        try:
            digest, size = self.source.sha256(relpath, like=checksum)
        except (OSError, *ZIP_ERRORS) as exc:
            self.report.problem(
                f"{where}: file {relpath} cannot be read: {describe_os_error(exc)}."
            )
            return
        self.report.bytes_hashed += size
        self.progress.bytes_copied(size)
        if digest != checksum and recorded is None:
            self.report.problem(
                f"{where}: file {relpath} has {checksum_hasher(checksum).name} {digest}, the "
                f"record says {checksum}."
            )
