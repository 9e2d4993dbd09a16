"""Disk-backed bookkeeping for reading an export back: which records and names exist.

A verification or import of a million documents must not hold a million keys in memory, so
primary keys, references and file names go into a temporary SQLite file. Rows are buffered and
inserted a few thousand at a time, and the indexes are built once at the end: a row-by-row
insert into an indexed table costs more than parsing the record did.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator

# Rows buffered per table before one executemany: enough to amortise the call, small in memory.
_FLUSH_ROWS = 5_000


class ReadLedger:
    """What reading an export back has seen, on disk: records (model, pk), the references
    they make, and the file names they claim.

    Add everything first; :meth:`duplicates`, :meth:`dangling` and :meth:`has_name` answer once
    everything is added (the first of them builds the indexes).
    """

    def __init__(self) -> None:
        # Lives as long as the ledger: close() removes it.
        self._file = tempfile.NamedTemporaryFile(prefix="exporter-ledger-", suffix=".sqlite3")  # noqa: SIM115
        self.db = sqlite3.connect(self._file.name)
        self.db.executescript(
            """
            PRAGMA journal_mode=OFF;
            PRAGMA synchronous=OFF;
            CREATE TABLE record (model TEXT, pk TEXT, origin TEXT);
            CREATE TABLE ref (model TEXT, pk TEXT, origin TEXT);
            CREATE TABLE name (relpath TEXT, origin TEXT);
            """
        )
        self._pending: dict[str, list[tuple]] = {"record": [], "ref": [], "name": []}
        self._indexed = False

    def add_record(self, model: str, pk: object, origin: str) -> None:
        """Remember a record; ``origin`` says where it is, for :meth:`duplicates`."""
        self._add("record", (model, str(pk), origin))

    def add_refs(self, refs: list[tuple[str, str, str]]) -> None:
        """Remember references: ``(model, pk, origin)`` each."""
        pending = self._pending["ref"]
        pending.extend(refs)
        if len(pending) >= _FLUSH_ROWS:
            self._flush("ref")

    def add_name(self, relpath: str, origin: str | None = None) -> None:
        """Remember a file name a record claims, for :meth:`has_name`; with ``origin`` (where
        the record is), a file the export holds, for :meth:`shared_names`."""
        self._add("name", (relpath, origin))

    def has_name(self, relpath: str) -> bool:
        """Whether a record claims the file name ``relpath``."""
        self._finish()
        query = "SELECT 1 FROM name WHERE relpath = ? LIMIT 1"
        return self.db.execute(query, (relpath,)).fetchone() is not None

    def duplicates(self) -> Iterator[tuple[str, str, str]]:
        """Records whose (model, pk) came earlier already: (model, pk, origin), in order."""
        self._finish()
        yield from self.db.execute(
            "SELECT model, pk, origin FROM record AS later WHERE EXISTS ("
            " SELECT 1 FROM record AS earlier WHERE earlier.model = later.model"
            " AND earlier.pk = later.pk AND earlier.rowid < later.rowid)"
            " ORDER BY rowid"
        )

    def shared_names(self) -> Iterator[tuple[str, str]]:
        """Files the export holds that an earlier record named already: (relpath, origin of
        the later record), in order."""
        self._finish()
        yield from self.db.execute(
            "SELECT relpath, origin FROM name AS later WHERE origin IS NOT NULL AND EXISTS ("
            " SELECT 1 FROM name AS earlier WHERE earlier.relpath = later.relpath"
            " AND earlier.origin IS NOT NULL AND earlier.rowid < later.rowid)"
            " ORDER BY rowid"
        )

    def dangling(self) -> Iterator[tuple[str, str, str]]:
        """References whose target record is not in the export: (model, pk, origin)."""
        self._finish()
        yield from self.db.execute(
            "SELECT ref.model, ref.pk, ref.origin FROM ref WHERE NOT EXISTS ("
            " SELECT 1 FROM record WHERE record.model = ref.model AND record.pk = ref.pk)"
            " ORDER BY ref.rowid"
        )

    def close(self) -> None:
        """Close the ledger and remove its file."""
        self.db.close()
        self._file.close()

    def _add(self, table: str, row: tuple) -> None:
        pending = self._pending[table]
        pending.append(row)
        if len(pending) >= _FLUSH_ROWS:
            self._flush(table)

    def _flush(self, table: str) -> None:
        rows = self._pending[table]
        if rows:
            marks = ", ".join("?" * len(rows[0]))
            self.db.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
            rows.clear()

    def _finish(self) -> None:
        if self._indexed:
            return
        for table in self._pending:
            self._flush(table)
        self.db.executescript(
            """
            CREATE INDEX record_key ON record (model, pk);
            CREATE INDEX name_key ON name (relpath);
            """
        )
        self._indexed = True
