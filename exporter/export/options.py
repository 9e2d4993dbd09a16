"""The options of one export run and what the run reports back."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from exporter.batches import DEFAULT_BATCH_SIZE, validate_batch_size
from exporter.errors import UsageError
from exporter.format import FileProblem
from exporter.sinks.files import validate_relpath
from exporter.writing.layouts import LAYOUTS

if TYPE_CHECKING:
    from exporter.sinks import SinkSummary
    from exporter.sinks.journal import RollForward

__all__ = ["ExportOptions", "ExportSummary", "default_zip_name"]


def default_zip_name() -> str:
    """The zip's name when none is given: ``export-<today, YYYY-MM-DD>``."""
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
    #: The manifest's layout ("classic" or "flat"); None: the plan's.
    manifest_layout: str | None = None
    #: An ``s3://bucket/prefix`` location to export into instead of a directory (``target``
    #: is None then); see :class:`exporter.sinks.s3.S3Sink`.
    remote: str | None = None

    def validate(self) -> None:
        """Raise UsageError if a value, or a combination of options, cannot work.

        Only the options themselves: whether the target can take an export is the run's to see.
        """
        try:
            validate_batch_size(self.batch_size)
        except ValueError as exc:
            raise UsageError(f"--{exc}.") from None
        if self.manifest_layout is not None and self.manifest_layout not in LAYOUTS:
            raise UsageError(
                f"--manifest-layout {self.manifest_layout!r} is not a layout: use one of "
                f"{', '.join(sorted(LAYOUTS))}."
            )
        if self.zip and (self.compare_checksums or self.compare_json):
            raise UsageError(
                "--zip writes a new archive every time, so --compare-checksums and "
                "--compare-json mean nothing with it: drop them or drop --zip."
            )
        if self.passphrase is not None and self.passphrase == "":
            raise UsageError("The passphrase is empty: give a non-empty --passphrase.")
        if self.zip:
            try:
                if len(validate_relpath(f"{self.zip_name}.zip")) != 1:
                    raise ValueError("it holds a slash")
                if self.zip_name.startswith("."):
                    raise ValueError("a hidden file is easily lost, and the tool's own are")
            except ValueError:
                raise UsageError(
                    f"--zip-name {self.zip_name!r} is not a plain file name: give a name "
                    "without slashes, '..' or a leading dot, such as nightly."
                ) from None
        if self.remote is not None:
            _validate_remote(self)
        if self.keep is not None:
            if not self.zip and self.remote is None:
                raise UsageError("--keep counts zips: it needs --zip.")
            if self.keep < 1:
                raise UsageError(f"--keep must be at least 1 (the new zip), got {self.keep}.")
        if self.stdout is not None:
            if not self.zip:
                raise UsageError("TARGET - (standard output) needs --zip.")
            if self.delete or self.keep is not None:
                raise UsageError("--delete and --keep need a TARGET directory, not -.")
        elif self.target is None and self.remote is None:
            raise UsageError("No TARGET given.")


def _validate_remote(options: ExportOptions) -> None:
    """Raise UsageError unless an export to ``options.remote`` (s3://) can work."""
    from exporter.sinks.s3_client import S3Location

    S3Location.parse(options.remote or "")


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
    #: Bytes of the JSON files this run changed (``bytes_written`` counts every one made, those
    #: ``-cj`` left untouched too).
    json_bytes: int = 0
    #: The first names of the files left alone, kept from the previous export, and removed.
    skipped_names: list[str] = field(default_factory=list)
    kept_names: list[str] = field(default_factory=list)
    removed_names: list[str] = field(default_factory=list)

    def add_sink_summary(self, result: SinkSummary, completed: RollForward | None) -> None:
        """Take in what the sink did (``result``) and the earlier run's interrupted commit it
        completed (``completed``), with a warning for what the user should know of."""
        self.files_copied = result.files_copied
        self.files_skipped = result.files_skipped
        self.files_deleted = result.files_deleted
        self.bytes_copied = result.bytes_copied
        self.json_written = result.json_written
        self.json_unchanged = result.json_unchanged
        self.files_kept = result.files_kept
        self.foreign_files = result.foreign_files
        self.foreign_names = list(result.foreign_names)
        self.temps_removed = result.temps_removed
        self.json_bytes = result.json_bytes
        self.skipped_names = list(result.skipped_names)
        self.kept_names = list(result.kept_names)
        self.removed_names = list(result.removed_names)
        if result.foreign_split_manifests:
            self.warnings.append(
                f"{result.foreign_split_manifests} split manifests (*-manifest.json) in "
                f"{result.location} were not written by this export, and no earlier export's "
                "file list names them; they were kept. verify_export and document_importer "
                "read every split manifest: remove them by hand if they are not yours."
            )
        self.output = str(result.location) if result.location is not None else "-"
        if completed is not None and not completed.torn:
            self.warnings.append(
                f"The previous run into {result.location} was stopped half-way through its "
                f"commit: its {completed.renamed} remaining renames (of {completed.entries}) were "
                "completed before this run."
            )
