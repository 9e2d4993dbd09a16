"""Disk-backed bookkeeping for reading an export back: which records and names exist.

A verification or import of a million documents must not hold a million keys in memory, so
primary keys, references and file names go into a temporary SQLite file.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator


class Ledger:
    """Records seen (model, pk), references made, and file names claimed by records."""

    def __init__(self) -> None:
        # Lives as long as the ledger: close() removes it.
        self._file = tempfile.NamedTemporaryFile(prefix="exporter-ledger-", suffix=".sqlite3")  # noqa: SIM115
        self.db = sqlite3.connect(self._file.name)
        self.db.executescript(
            """
            PRAGMA journal_mode=OFF;
            PRAGMA synchronous=OFF;
            CREATE TABLE record (model TEXT, pk TEXT, PRIMARY KEY (model, pk)) WITHOUT ROWID;
            CREATE TABLE ref (model TEXT, pk TEXT, origin TEXT);
            CREATE TABLE name (relpath TEXT PRIMARY KEY) WITHOUT ROWID;
            """
        )

    def add_record(self, model: str, pk: object) -> bool:
        """Remember a record; False if the model already had a record with this pk."""
        try:
            self.db.execute("INSERT INTO record VALUES (?, ?)", (model, str(pk)))
        except sqlite3.IntegrityError:
            return False
        return True

    def add_refs(self, refs: list[tuple[str, str, str]]) -> None:
        self.db.executemany("INSERT INTO ref VALUES (?, ?, ?)", refs)

    def add_name(self, relpath: str) -> None:
        self.db.execute("INSERT OR IGNORE INTO name VALUES (?)", (relpath,))

    def has_name(self, relpath: str) -> bool:
        return (
            self.db.execute("SELECT 1 FROM name WHERE relpath = ?", (relpath,)).fetchone()
            is not None
        )

    def dangling(self) -> Iterator[tuple[str, str, str]]:
        """References whose target record is not in the export: (model, pk, origin)."""
        yield from self.db.execute(
            "SELECT ref.model, ref.pk, ref.origin FROM ref LEFT JOIN record "
            "ON record.model = ref.model AND record.pk = ref.pk WHERE record.pk IS NULL"
        )

    def close(self) -> None:
        self.db.close()
        self._file.close()
