"""What an import is told (:class:`ImportOptions`), what it reports (:class:`ImportSummary`),
and its stages with what a failure in each leaves behind."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from exporter.batches import DEFAULT_BATCH_SIZE

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


@dataclass(frozen=True)
class ImportOptions:
    """What `document_importer` can be told; see its --help for each option."""

    #: Load the database only; copy no files.
    data_only: bool = False
    #: Copy the files only: resume a file stage that failed or was stopped.
    files_only: bool = False
    #: The passphrase the export's secrets were encrypted with; None for an unencrypted export.
    passphrase: str | None = None
    #: Rows inserted per INSERT (fewer where the database allows fewer values in one).
    batch_size: int = DEFAULT_BATCH_SIZE
    #: Load into a database that holds rows, and copy into a media directory that holds files.
    force: bool = False
    using: str = "default"
    #: Where the passphrase came from, for messages ("--passphrase-file", ...).
    passphrase_origin: str = ""


@dataclass
class ImportSummary:
    """What an import did, for the command's final report."""

    #: Records loaded, by model label.
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
