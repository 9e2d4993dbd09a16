"""
A document's files in an export: their names, the record's note of them, and their copies.

Each job has its own piece, and the run strings them together for every document:

* :class:`DocumentNamer` claims the document's unique export names (one per file role:
  original, thumbnail, archive, manifest).
* :func:`files_to_export` says which of the document's files the export carries, and
  :func:`add_export_names` writes their names into the document's record.
* :class:`DocumentFileCopier` hands the files to the sink; one whose source cannot be copied
  becomes a :class:`~exporter.format.FileProblem`, or, with ``strict``, stops the run with
  :class:`~exporter.export.problems.FileProblemStop`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from exporter.errors import UsageError
from exporter.export.naming import STEM_MAX_BYTES, default_stem, format_stem, sanitize_component
from exporter.export.problems import FileProblemStop, file_problem
from exporter.export.unique_names import UniqueNameRegistry, claim_document_names
from exporter.format import (
    ARCHIVE_NAME_KEY,
    FILE_FOLDERS,
    FILE_NAME_KEY,
    THUMBNAIL_NAME_KEY,
    FileProblem,
)
from exporter.plan import DocumentFileInfo
from exporter.sinks import ExportSink
from exporter.sinks.errors import SinkWriteError, SourceChanged

__all__ = [
    "NAME_KEYS",
    "DocumentFile",
    "DocumentFileCopier",
    "DocumentNamer",
    "add_export_names",
    "files_to_export",
]

#: The record key that holds the export name of each file role.
NAME_KEYS = {
    "original": FILE_NAME_KEY,
    "thumbnail": THUMBNAIL_NAME_KEY,
    "archive": ARCHIVE_NAME_KEY,
}


@dataclass(frozen=True)
class DocumentFile:
    """One file of a document that the export carries."""

    #: "original", "thumbnail" or "archive".
    role: str
    #: Its relative path in the export.
    export_name: str
    #: The file in the archive's media.
    source: Path
    #: The sha256 the database recorded for it; None where it records none (thumbnails).
    sha256: str | None


class DocumentNamer:
    """Claim each document's unique export names in ``registry``, in export order.

    The stem is the filename format's (``filename_format``, when given) or the default one;
    with ``use_folder_prefix`` each name goes into its role's folder (``originals/`` ...).
    """

    def __init__(
        self,
        registry: UniqueNameRegistry,
        *,
        filename_format: str | None = None,
        use_folder_prefix: bool = False,
    ) -> None:
        self.registry = registry
        self.filename_format = filename_format
        self.use_folder_prefix = use_folder_prefix

    def names(self, info: DocumentFileInfo) -> dict[str, str]:
        """The document's export names (relative paths) by file role, manifest included.

        A filename format that cannot name this document raises UsageError.
        """
        values = info.name_values
        if self.filename_format:
            try:
                stem = format_stem(self.filename_format, values)
            except ValueError as exc:
                raise UsageError(
                    f"The filename format {self.filename_format!r} "
                    f"(EXPORTER_FILENAME_FORMAT) cannot be used: {exc}"
                ) from None
        elif values.get("default_name") is not None:
            # The site's own default name (paperless-ngx's str(document)), made safe.
            stem = sanitize_component(values["default_name"], max_bytes=STEM_MAX_BYTES)
        else:
            stem = default_stem(values["created"], values["correspondent"], values["title"])
        # All four names of the document are checked, so no file lands on another's.
        names = claim_document_names(self.registry, stem, info.original_extension)
        if self.use_folder_prefix:
            names = {role: f"{FILE_FOLDERS[role]}/{name}" for role, name in names.items()}
        return names


def files_to_export(
    info: DocumentFileInfo, names: dict[str, str], *, thumbnail: bool, archive: bool
) -> list[DocumentFile]:
    """The document's files the export carries, the original first: the thumbnail unless
    ``thumbnail`` is False, the archived version if there is one and ``archive`` is True."""
    files = [DocumentFile("original", names["original"], info.source, info.checksum)]
    if thumbnail:
        files.append(DocumentFile("thumbnail", names["thumbnail"], info.thumbnail, None))
    if info.archive is not None and archive:
        files.append(DocumentFile("archive", names["archive"], info.archive, info.archive_checksum))
    return files


def add_export_names(record: dict[str, Any], files: list[DocumentFile]) -> None:
    """Write the export name of each file into the document's record, in the files' order
    (which is the order of the keys in the manifest)."""
    for file in files:
        record[NAME_KEYS[file.role]] = file.export_name


class DocumentFileCopier:
    """
    Hand documents' files to a sink, and deal with those whose source cannot be copied.

    A missing, unreadable, damaged or replaced source is the document's problem, not the
    export's: it is described (:func:`~exporter.export.problems.file_problem`), the previous
    export's good copy is kept if the sink has one, and the problem goes to ``on_problem``; with
    ``strict`` it raises :class:`FileProblemStop` instead. A failure to write the export
    (:class:`SinkWriteError`) propagates. ``started_at`` is when the run began (wall clock) and
    ``media_lock`` the archive's media lock, both for the problems' descriptions;
    ``on_skipped`` hears the size of each file the sink already held.
    """

    def __init__(
        self,
        *,
        on_problem: Callable[[FileProblem], object],
        started_at: float,
        media_lock: Path | None,
        strict: bool = False,
        on_skipped: Callable[[int], object] | None = None,
    ) -> None:
        self.on_problem = on_problem
        self.on_skipped = on_skipped
        self.started_at = started_at
        self.media_lock = media_lock
        self.strict = strict

    def copy(self, sink: ExportSink, record: dict[str, Any], files: list[DocumentFile]) -> None:
        """Copy ``files``, the files of the document ``record``, into ``sink``."""
        for file in files:
            try:
                done = sink.add_file(file.export_name, file.source, sha256=file.sha256)
            except SinkWriteError:
                raise
            except (OSError, SourceChanged) as exc:
                problem = file_problem(
                    record,
                    file.role,
                    file.export_name,
                    file.source,
                    exc,
                    self.started_at,
                    self.media_lock,
                )
                if problem is None:
                    raise
                if self.strict:
                    raise FileProblemStop(problem) from exc
                kept = sink.keep_previous(file.export_name, sha256=file.sha256)
                self.on_problem(dataclasses.replace(problem, kept_previous_copy=kept))
            else:
                if done == "skipped" and self.on_skipped is not None:
                    # Only for the progress bar's count of bytes done: a vanished file is 0.
                    with contextlib.suppress(OSError):
                        self.on_skipped(os.stat(file.source).st_size)
