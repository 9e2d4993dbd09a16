"""The export format, as both directions see it: the files an export holds, the keys its
records carry for document files, the names the tool keeps for itself, and where an export's
lock lives.

The exporter writes these names and the readers (``verify_export``, ``document_importer``)
look for them; keeping them in one module is what keeps the two directions in step.
"""

from __future__ import annotations

import dataclasses
import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "ARCHIVE_NAME_KEY",
    "FILE_FOLDERS",
    "FILE_NAME_KEY",
    "FileProblem",
    "MANIFEST",
    "METADATA",
    "SPLIT_SUFFIX",
    "THUMBNAIL_NAME_KEY",
    "TOOL_PREFIX",
    "MD5_HEX_DIGITS",
    "checksum_hasher",
    "is_file_name_key",
    "is_tool_file",
    "target_lock_path",
]

#: The manifest: every record of the export, or (with split manifests) all but the split ones.
MANIFEST = "manifest.json"
#: The export's metadata: versions, encryption parameters, counts, problems.
METADATA = "metadata.json"
#: The ending of a split manifest's name: ``<document export name>-manifest.json``.
SPLIT_SUFFIX = "-manifest.json"

#: Keys a document's record carries for the export names of its files (removed on import).
FILE_NAME_KEY = "__exported_file_name__"
THUMBNAIL_NAME_KEY = "__exported_thumbnail_name__"
ARCHIVE_NAME_KEY = "__exported_archive_name__"

#: The folder of each kind of file inside an export, when export names are nested.
FILE_FOLDERS = {
    "original": "originals",
    "thumbnail": "thumbnails",
    "archive": "archive",
    "manifest": "json",
}

#: Top-level names the exporter keeps for itself (its commit journal, its file list, its run
#: marker): never export data, never reported as files that no record names.
TOOL_PREFIX = ".document_exporter-"


#: The length of an md5 hex digest. Archives of older versions (paperless-ngx 2.x, and files a
#: 3.x migration could not read again) record md5 checksums, not sha256.
MD5_HEX_DIGITS = 32


def checksum_hasher(checksum: str | None) -> Any:
    """A new hash object of the algorithm ``checksum`` (a hex digest the database records)
    was made with: md5 for 32 hex digits, sha256 otherwise (and when there is none)."""
    if checksum is not None and len(checksum) == MD5_HEX_DIGITS:
        return hashlib.md5(usedforsecurity=False)
    return hashlib.sha256()


def is_file_name_key(key: str) -> bool:
    """Whether a record's top-level ``key`` holds the export name of a file it carries: a
    document's (:data:`FILE_NAME_KEY` ...) or another record's (a share link bundle's zip)."""
    return key.startswith("__exported_") and key.endswith("_name__")


def is_tool_file(relpath: str) -> bool:
    """Tell whether ``relpath`` is one of the exporter's own files at the top of an export."""
    return "/" not in relpath and relpath.startswith(TOOL_PREFIX)


def target_lock_path(target: Path) -> Path:
    """The lock file of an export target: outside it, so it never shows up in the export.

    The exporter holds it while writing; the readers take it so that they never read an
    export half-way through a commit.
    """
    key = hashlib.sha256(str(target.resolve()).encode()).hexdigest()[:20]
    return Path(tempfile.gettempdir()) / f"document-exporter-{key}.lock"


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
