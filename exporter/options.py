"""The options of one export run and what the run reports back."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from exporter.batches import DEFAULT_BATCH_SIZE


def default_zip_name() -> str:
    return f"export-{dt.date.today().isoformat()}"


@dataclass(frozen=True)
class ExportOptions:
    """Everything `document_exporter` can be told; see its --help for each option."""

    #: The export directory. None only when ``stdout`` receives a zip.
    target: Path | None
    batch_size: int = DEFAULT_BATCH_SIZE
    compare_checksums: bool = False
    compare_json: bool = False
    delete: bool = False
    use_filename_format: bool = False
    use_folder_prefix: bool = False
    split_manifest: bool = False
    no_archive: bool = False
    no_thumbnail: bool = False
    data_only: bool = False
    zip: bool = False
    zip_name: str = field(default_factory=default_zip_name)
    passphrase: str | None = None
    #: Seconds to wait for another exporter holding TARGET; 0 fails at once.
    lock_timeout: float = 0
    #: A binary stream that receives the zip instead of TARGET (``TARGET -``).
    stdout: BinaryIO | None = None
    #: Go on even when the export would hold far fewer documents than the previous one.
    allow_shrink: bool = False
    #: Stop at the first document file that cannot be exported, instead of listing it.
    strict: bool = False
    #: With ``zip``: keep this many of this tool's zips in TARGET, the new one included.
    keep: int | None = None


@dataclass
class ExportSummary:
    """What a run did, for the command's final report."""

    records: Counter = field(default_factory=Counter)
    files_copied: int = 0
    files_skipped: int = 0
    files_deleted: int = 0
    bytes_copied: int = 0
    bytes_written: int = 0
    json_written: int = 0
    json_unchanged: int = 0
    elapsed: float = 0.0
    #: Where the export went: the TARGET directory, the zip file, or "-".
    output: str = ""
    warnings: list[str] = field(default_factory=list)
    #: Document files that could not be exported (see :class:`FileProblem`).
    problems: list[FileProblem] = field(default_factory=list)
    #: Files of an earlier export kept in place of sources that could not be copied.
    files_kept: int = 0
    #: Files in TARGET no export of ours wrote, never removed; the first names of them.
    foreign_files: int = 0
    foreign_names: list[str] = field(default_factory=list)
    #: Temporary files of earlier, killed runs that were removed.
    temps_removed: int = 0


@dataclass(frozen=True)
class FileProblem:
    """A document file that an export could not copy; recorded in ``metadata.json``."""

    document: Any
    title: str
    #: "original", "thumbnail" or "archive".
    file: str
    #: The name the file has in the export.
    export_name: str
    #: Where the file should be, in the media directory.
    source: str
    #: "missing", "unreadable", "damaged" (bit rot) or "changed" (replaced during the export).
    problem: str
    #: What is wrong and what to do, in a sentence.
    detail: str
    #: Whether the export holds the previous export's good copy of the file instead.
    kept_previous_copy: bool

    def as_json(self) -> dict[str, Any]:
        """The problem as ``metadata.json`` records it."""
        return dataclasses.asdict(self)

    def describe(self) -> str:
        """One line for the command's summary."""
        kept = (
            " The previous export's good copy was kept."
            if self.kept_previous_copy
            else " The export has no copy of it."
        )
        return f"document {self.document} ({self.title!r}), {self.file}: {self.detail}{kept}"


class ExportProgress:
    """Hooks a command can override to show progress; the library itself never prints."""

    def start(self, documents: int) -> None:
        """The run will export this many documents."""

    def document_done(self) -> None:
        """One more document is exported."""

    def bytes_copied(self, count: int) -> None:
        """This many more bytes of files were copied."""

    def finish(self) -> None:
        """The run is over, successful or not."""


class ExportError(Exception):
    """An export cannot go on; the message says what is wrong and how to fix it."""


class UsageError(ExportError):
    """The options given cannot work (a bad value, options that exclude each other)."""


class ExportStopped(ExportError):
    """A suspicious export stopped before touching the previous one (see the shrink guard)."""


class ImportFailed(ExportError):
    """An import cannot go on; the message says what is wrong and how to fix it."""


class ImportUsageError(UsageError, ImportFailed):
    """The import was asked for something the export cannot give (a passphrase it has no use
    for, none where it needs one)."""
