"""The errors of the library: each says what is wrong and how to fix it, in a sentence the
commands print as it is (see :mod:`exporter.management.cli` for the exit status of each)."""

from __future__ import annotations

__all__ = [
    "ExportError",
    "ExportStopped",
    "ImportFailed",
    "ImportUsageError",
    "PostImportFailed",
    "UsageError",
]


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


class PostImportFailed(ExportError):
    """A post-import step of the plan failed; the import itself is complete."""
