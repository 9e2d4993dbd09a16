"""The options of one export run and what the run reports back."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from exporter.batches import DEFAULT_BATCH_SIZE
from exporter.format import FileProblem


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
