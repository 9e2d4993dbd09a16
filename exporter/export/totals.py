"""How many document files an export will hand to its sink, and their bytes, counted before
copying: the totals a progress bar needs for its percentage and ETA.

One pass over the documents' file columns (the same ``values_list`` the run reads them with)
and a ``stat`` per file; nothing is kept per document. It runs only when the command shows
progress (:attr:`exporter.progress.ExportProgress.wants_totals`): a cron job pays nothing.
"""

from __future__ import annotations

import contextlib
import os

from django.db.models import QuerySet

from exporter.plan import DocumentFiles

__all__ = ["document_file_totals"]

#: Rows fetched per round trip of the counting pass.
CHUNK_SIZE = 2_000


def document_file_totals(
    files: DocumentFiles, documents: QuerySet, *, thumbnail: bool, archive: bool
) -> tuple[int, int]:
    """The number of files the documents of ``documents`` have (the original, the thumbnail
    unless ``thumbnail`` is False, the archived version where there is one unless ``archive``
    is False) and their size in bytes; a file that cannot be read counts with size 0 (the run
    reports it as a problem)."""
    columns = files.columns
    count = size = 0
    rows = documents.order_by().values_list("pk", *columns).iterator(chunk_size=CHUNK_SIZE)
    for pk, *values in rows:
        info = files.describe(pk, dict(zip(columns, values, strict=True)))
        paths = [info.source]
        if thumbnail:
            paths.append(info.thumbnail)
        if archive and info.archive is not None:
            paths.append(info.archive)
        for path in paths:
            count += 1
            with contextlib.suppress(OSError):
                size += os.stat(path).st_size
    return count, size
