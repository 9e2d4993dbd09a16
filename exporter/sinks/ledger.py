"""
The names one export run has written, kept on disk so that memory stays flat.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from exporter.key_filter import KeyFilter

__all__ = ["FILE", "JSON", "NAME_FILTER_BITS", "Ledger"]

#: The file types of names: a document file, or a JSON file (manifest, split manifest,
#: metadata).
FILE = 0
JSON = 1
#: The filter of names' size: 1 MiB, at a million files about one query in 40 for a new name
#: (the folders', an eighth of it: a name lies in fewer folders than there are names).
NAME_FILTER_BITS = 1 << 23
#: Rows held back from the database, inserted together.
_PENDING_ROWS = 1_000
_INSERT_NAME = "INSERT INTO names VALUES (?, ?, ?)"


class Ledger:
    """
    The names one run has written, in a private temporary SQLite database.

    SQLite keeps a small page cache and spills the rest to a temporary file that it deletes on
    close (even if the process dies, as the file is unlinked once open), so memory stays flat
    however many names there are. Sinks may add their own tables to :attr:`db`.

    Every file written asks whether its name, or a folder of it, clashes with one written
    before, and the answer is almost always no: two filters of a fixed size (the names, and
    the folders they lie in) give most noes without a query. The names are inserted a
    thousand at a time, each time before the names are read.
    """

    def __init__(self, filter_bits: int = NAME_FILTER_BITS) -> None:
        """``filter_bits`` sizes the filter of names, and an eighth of it that of folders
        (see :class:`KeyFilter`)."""
        self._names = KeyFilter(filter_bits)
        self._folders = KeyFilter(max(8, filter_bits // 8))
        # Rows held back from the database, by statement: the names', and the sinks' (see
        # insert_later()).
        self._pending: dict[str, list[tuple[object, ...]]] = {_INSERT_NAME: []}
        self._pending_rows = 0
        self._db = sqlite3.connect("", isolation_level=None)
        # Nothing here must survive a crash: skip the journal and the syncs.
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.execute(
            "CREATE TABLE names (relpath TEXT PRIMARY KEY, file_type INTEGER, changed INTEGER)"
        )

    @property
    def db(self) -> sqlite3.Connection:
        """The database, with every name recorded so far in its ``names`` table."""
        self._insert_pending()
        return self._db

    def insert_later(self, statement: str, row: tuple[object, ...]) -> None:
        """Run the INSERT ``statement`` with ``row`` before anyone next reads :attr:`db`: rows
        of a statement go in together, a thousand at a time, in one transaction."""
        pending = self._pending.get(statement)
        if pending is None:
            pending = self._pending[statement] = []
        pending.append(row)
        self._pending_rows += 1
        if self._pending_rows >= _PENDING_ROWS:
            self._insert_pending()

    def record(self, relpath: str, file_type: int, changed: bool) -> None:
        """Note that ``relpath`` (of ``file_type``, FILE or JSON) was written, and whether it
        changed the export."""
        self._pending[_INSERT_NAME].append((relpath, file_type, changed))
        self._pending_rows += 1
        if self._pending_rows >= _PENDING_ROWS:
            self._insert_pending()
        self._names.add(relpath)
        slash = relpath.rfind("/")
        while slash > 0:
            self._folders.add(relpath[:slash])
            slash = relpath.rfind("/", 0, slash)

    def contains(self, relpath: str) -> bool:
        """Tell whether ``relpath`` was written."""
        return self._names.may_contain(relpath) and self._written(relpath)

    def has_under(self, relpath: str) -> bool:
        """Tell whether a name lies under ``relpath`` taken as a directory."""
        return self._folders.may_contain(relpath) and self._written_under(relpath)

    def conflict(self, relpath: str, parts: tuple[str, ...]) -> str | None:
        """Return a name already written that ``relpath`` would clash with, if any."""
        # contains() and has_under(), inline: this runs for every file.
        names = self._names
        if names.may_contain(relpath) and self._written(relpath):
            return relpath
        for depth in range(1, len(parts)):
            ancestor = "/".join(parts[:depth])
            if names.may_contain(ancestor) and self._written(ancestor):
                return ancestor
        if self._folders.may_contain(relpath) and self._written_under(relpath):
            return f"{relpath}/..."
        return None

    def _written(self, relpath: str) -> bool:
        query = "SELECT 1 FROM names WHERE relpath = ?"
        return self.db.execute(query, (relpath,)).fetchone() is not None

    def _written_under(self, relpath: str) -> bool:
        # Every name starting with "<relpath>/" sorts in ["<relpath>/", "<relpath>0"): "0"
        # follows "/" in byte order.
        query = "SELECT 1 FROM names WHERE relpath > ? AND relpath < ? LIMIT 1"
        return self.db.execute(query, (relpath + "/", relpath + "0")).fetchone() is not None

    def names(self) -> Iterator[tuple[str, int, bool]]:
        """Yield ``(relpath, file_type, changed)`` for every name, in the order written."""
        for relpath, file_type, changed in self.db.execute(
            "SELECT relpath, file_type, changed FROM names ORDER BY rowid"
        ):
            yield relpath, file_type, bool(changed)

    def close(self) -> None:
        """Close (and so remove) the database."""
        self._db.close()

    def _insert_pending(self) -> None:
        if not self._pending_rows:
            return
        self._pending_rows = 0
        db = self._db
        # One transaction for the lot, unless a sink has one open.
        begin = not db.in_transaction
        if begin:
            db.execute("BEGIN")
        try:
            for statement, rows in self._pending.items():
                if rows:
                    try:
                        db.executemany(statement, rows)
                    finally:
                        rows.clear()
        finally:
            if begin:
                db.execute("COMMIT")
