"""
The names one export run has written, kept on disk so that memory stays flat.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

__all__ = ["FILE", "JSON", "Ledger"]

#: The file types of names: a document file, or a JSON file (manifest, split manifest,
#: metadata).
FILE = 0
JSON = 1


class Ledger:
    """
    The names one run has written, in a private temporary SQLite database.

    SQLite keeps a small page cache and spills the rest to a temporary file that it deletes on
    close (even if the process dies, as the file is unlinked once open), so memory stays flat
    however many names there are. Sinks may add their own tables to :attr:`db`.
    """

    def __init__(self) -> None:
        self.db = sqlite3.connect("", isolation_level=None)
        # Nothing here must survive a crash: skip the journal and the syncs.
        self.db.execute("PRAGMA journal_mode = OFF")
        self.db.execute("PRAGMA synchronous = OFF")
        self.db.execute(
            "CREATE TABLE names (relpath TEXT PRIMARY KEY, file_type INTEGER, changed INTEGER)"
        )

    def record(self, relpath: str, file_type: int, changed: bool) -> None:
        """Note that ``relpath`` (of ``file_type``, FILE or JSON) was written, and whether it
        changed the export."""
        self.db.execute("INSERT INTO names VALUES (?, ?, ?)", (relpath, file_type, changed))

    def contains(self, relpath: str) -> bool:
        """Tell whether ``relpath`` was written."""
        query = "SELECT 1 FROM names WHERE relpath = ?"
        return self.db.execute(query, (relpath,)).fetchone() is not None

    def has_under(self, relpath: str) -> bool:
        """Tell whether a name lies under ``relpath`` taken as a directory."""
        # Every name starting with "<relpath>/" sorts in ["<relpath>/", "<relpath>0"): "0"
        # follows "/" in byte order.
        query = "SELECT 1 FROM names WHERE relpath > ? AND relpath < ? LIMIT 1"
        return self.db.execute(query, (relpath + "/", relpath + "0")).fetchone() is not None

    def conflict(self, relpath: str, parts: tuple[str, ...]) -> str | None:
        """Return a name already written that ``relpath`` would clash with, if any."""
        if self.contains(relpath):
            return relpath
        for depth in range(1, len(parts)):
            ancestor = "/".join(parts[:depth])
            if self.contains(ancestor):
                return ancestor
        if self.has_under(relpath):
            return f"{relpath}/..."
        return None

    def names(self) -> Iterator[tuple[str, int, bool]]:
        """Yield ``(relpath, file_type, changed)`` for every name, in the order written."""
        for relpath, file_type, changed in self.db.execute(
            "SELECT relpath, file_type, changed FROM names ORDER BY rowid"
        ):
            yield relpath, file_type, bool(changed)

    def close(self) -> None:
        """Close (and so remove) the database."""
        self.db.close()
