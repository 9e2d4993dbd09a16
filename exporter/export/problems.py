"""What is wrong with a document file an export could not copy, and what to do about it.

:func:`file_problem` describes it; :class:`FileProblemStop` is the end of a run that was told
to stop at the first such file.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from exporter.format import FileProblem, checksum_hasher
from exporter.sinks.errors import SourceChanged

__all__ = ["FileProblemStop", "file_problem"]


class FileProblemStop(Exception):
    """A document file could not be exported and the run was told to stop at the first one
    (``strict``); :attr:`problem` says which and why."""

    def __init__(self, problem: FileProblem) -> None:
        super().__init__(problem.detail)
        #: The file that could not be exported.
        self.problem = problem


def file_problem(
    record: dict[str, Any],
    role: str,
    relpath: str,
    source: Path,
    exc: BaseException,
    started_at: float,
    media_lock: Path | None,
) -> FileProblem | None:
    """What is wrong with the document file ``source`` (its ``role``: "original", "thumbnail"
    or "archive"; its export name ``relpath``) that could not be copied; None if it is not the
    file's fault (a full disk, an unwritable target) and the run must stop."""
    if isinstance(exc, SourceChanged):
        algorithm = checksum_hasher(exc.expected).name
        try:
            modified = os.stat(source).st_mtime
        except OSError:
            modified = None
        if modified is not None and modified < started_at:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(modified))
            what, detail = (
                "damaged",
                f"{source} is damaged: its {algorithm} is {exc.actual}, but the database "
                f"recorded {exc.expected}, and the file was last modified on {when}, "
                "before this export began (bit rot or a disk fault, not a change). "
                "Restore it from an older backup that verifies, and check the disk.",
            )
        else:
            what, detail = (
                "changed",
                f"{source} changed during the export: its {algorithm} is now {exc.actual}, the "
                f"database said {exc.expected} when the export began; something replaced "
                f"it without taking the media lock {media_lock}: run the export "
                "again.",
            )
    elif isinstance(exc, OSError) and exc.filename == str(source):
        if isinstance(exc, FileNotFoundError):
            what = "missing"
            detail = (
                f"{source} is missing. Restore it from a backup (or restore the whole "
                "archive); export with --data-only to leave out every file."
            )
        else:
            what = "unreadable"
            detail = f"{source} cannot be read ({exc.strerror}). Fix its permissions or disk."
    else:
        return None
    return FileProblem(
        document=record["pk"],
        title=str(record["fields"].get("title", "")),
        file=role,
        export_name=relpath,
        source=str(source),
        problem=what,
        detail=detail,
        kept_previous_copy=False,
    )
