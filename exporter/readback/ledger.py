"""Disk-backed bookkeeping for reading an export back: which records and names exist.

A verification or import of a million documents must not hold a million keys in memory, so
primary keys, references and file names go into a temporary SQLite file. Rows are buffered and
inserted a few thousand at a time, and the indexes are built once at the end: a row-by-row
insert into an indexed table costs more than parsing the record did. The keys of the small
tables (a bounded number of them) are also held in memory: a reference to one of them is
settled when it is read, and only the others are stored, to be settled at the end.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator

# Rows buffered per table before one executemany: enough to amortise the call, small in memory.
_FLUSH_ROWS = 5_000
# The keys of models with few records are also kept in memory, up to these many keys a model
# and in all (some hundred kB at most), so that most references are settled as they are read
# instead of being stored (tags, correspondents, users: three references in four).
_KNOWN_PER_MODEL = 2_000
_KNOWN_IN_ALL = 10_000
# What _known holds for a model with too many records to keep their keys in memory.
_TOO_MANY = None


class ReadLedger:
    """What reading an export back has seen, on disk: records (model, pk), the references
    they make, and the file names they claim.

    Each record has a position ``at``, an integer that grows with every record added (the
    reader's own numbering); references and names carry the position of the record that makes
    them, and the questions answer with it and that record's model and pk, from which the
    reader says where the record is. Keys are stored as text: an int or str key as SQLite's
    text affinity writes it (what ``str`` gives), anything else as ``str`` of it.

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
            CREATE TABLE record (at INTEGER PRIMARY KEY, model TEXT, pk TEXT);
            CREATE TABLE ref (model TEXT, pk TEXT, at INTEGER);
            CREATE TABLE name (relpath TEXT, at INTEGER);
            """
        )
        self._records: list[tuple] = []
        self._refs: list[tuple] = []
        self._names: list[tuple] = []
        self._indexed = False
        #: The int and str keys seen, by model, while the model has few records.
        self._known: dict[str, set[int | str] | None] = {}
        self._room = _KNOWN_IN_ALL

    def add_record(self, model: str, pk: object, at: int) -> None:
        """Remember a record, the one at position ``at`` (greater than any added before)."""
        records = self._records
        if type(pk) is int or type(pk) is str:
            self._know(model, pk)
        else:
            pk = str(pk)
        records.append((at, model, pk))
        if len(records) >= _FLUSH_ROWS:
            self._flush()

    def add_refs(self, refs: list[tuple[str, object, int]]) -> None:
        """Remember references: ``(model, pk, at)`` each, ``at`` the referring record's
        position. A reference to a record already added is settled at once."""
        known, pending = self._known, self._refs
        for ref in refs:
            pk = ref[1]
            if type(pk) is int or type(pk) is str:
                keys = known.get(ref[0])
                if keys is None or pk not in keys:
                    pending.append(ref)
            else:
                pending.append((ref[0], str(pk), ref[2]))
        if len(pending) >= _FLUSH_ROWS:
            self._flush()

    def add_name(self, relpath: str, at: int | None = None) -> None:
        """Remember a file name a record claims, for :meth:`has_name`; with ``at`` (the
        record's position), a file the export holds, for :meth:`shared_names`."""
        names = self._names
        names.append((relpath, at))
        if len(names) >= _FLUSH_ROWS:
            self._flush()

    def has_name(self, relpath: str) -> bool:
        """Whether a record claims the file name ``relpath``."""
        self._finish()
        query = "SELECT 1 FROM name WHERE relpath = ? LIMIT 1"
        return self.db.execute(query, (relpath,)).fetchone() is not None

    def duplicates(self) -> Iterator[tuple[str, str, int]]:
        """Records whose (model, pk) came earlier already: (model, pk, at), in order."""
        self._finish()
        # One pass over the (covering) index finds the repeated keys; only their records are
        # looked at again.
        yield from self.db.execute(
            "SELECT later.model, later.pk, later.at FROM record AS later JOIN ("
            " SELECT model, pk, min(at) AS first FROM record GROUP BY model, pk"
            " HAVING count(*) > 1) AS repeated"
            " ON later.model = repeated.model AND later.pk = repeated.pk"
            " AND later.at > repeated.first"
            " ORDER BY later.at"
        )

    def shared_names(self) -> Iterator[tuple[str, int, str, str]]:
        """Files the export holds that an earlier record named already: (relpath, and the
        later record's at, model and pk), in order."""
        self._finish()
        yield from self.db.execute(
            "SELECT later.relpath, later.at, origin.model, origin.pk FROM name AS later"
            " JOIN record AS origin ON origin.at = later.at"
            " WHERE EXISTS (SELECT 1 FROM name AS earlier WHERE earlier.relpath = later.relpath"
            " AND earlier.at IS NOT NULL AND earlier.rowid < later.rowid)"
            " ORDER BY later.rowid"
        )

    def dangling(self) -> Iterator[tuple[str, str, int, str, str]]:
        """References whose target record is not in the export: (model, pk, and the
        referring record's at, model and pk)."""
        self._finish()
        yield from self.db.execute(
            "SELECT ref.model, ref.pk, ref.at, origin.model, origin.pk FROM ref"
            " JOIN record AS origin ON origin.at = ref.at"
            " WHERE NOT EXISTS ("
            " SELECT 1 FROM record WHERE record.model = ref.model AND record.pk = ref.pk)"
            " ORDER BY ref.rowid"
        )

    def close(self) -> None:
        """Close the ledger and remove its file."""
        self.db.close()
        self._file.close()

    def _know(self, model: str, pk: int | str) -> None:
        """Keep ``pk`` in memory while ``model`` has few records and there is room; a model
        that has too many gives its keys' room back, for good."""
        keys = self._known.get(model, ())
        if keys is _TOO_MANY:
            return
        if keys == ():
            keys = self._known[model] = set()
        if len(keys) < _KNOWN_PER_MODEL and self._room > 0:
            keys.add(pk)
            self._room -= 1
        else:
            self._room += len(keys)
            self._known[model] = _TOO_MANY

    def _flush(self) -> None:
        for table, rows in (("record", self._records), ("ref", self._refs), ("name", self._names)):
            if rows:
                marks = ", ".join("?" * len(rows[0]))
                self.db.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
                rows.clear()

    def _finish(self) -> None:
        if self._indexed:
            return
        self._flush()
        self.db.executescript(
            """
            CREATE INDEX record_key ON record (model, pk, at);
            CREATE INDEX name_key ON name (relpath);
            """
        )
        self._indexed = True
