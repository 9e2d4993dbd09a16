"""A disk-backed multimap: (key, value) rows kept in order in a temporary SQLite file.

MariaDB's unbuffered cursor forbids any other statement while it streams, so what must be
looked up per batch is read beforehand into one of these, in flat memory.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from typing import Any


class KeyedSpill:
    """Append rows, seal, then look them up by key in their original order."""

    def __init__(self, prefix: str = "exporter-spill-") -> None:
        # Lives as long as the spill: close() removes it.
        self._file = tempfile.NamedTemporaryFile(prefix=prefix, suffix=".sqlite3")  # noqa: SIM115
        self._db = sqlite3.connect(self._file.name)
        # A scratch file: no journal and no fsync, it is thrown away after the run.
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("CREATE TABLE row (seq INTEGER PRIMARY KEY, key, value)")

    def extend(self, rows: Iterable[tuple[Any, Any]]) -> None:
        """Append (key, value) rows, before :meth:`seal`."""
        self._db.executemany("INSERT INTO row (key, value) VALUES (?, ?)", rows)

    def seal(self) -> None:
        """Index the rows; call once after the last extend()."""
        self._db.execute("CREATE INDEX row_key ON row (key, seq)")
        self._db.execute("CREATE TEMP TABLE wanted (key PRIMARY KEY)")
        self._db.commit()

    def lookup(self, keys: Iterable[Any]) -> Iterator[tuple[Any, Any]]:
        """The (key, value) rows of these keys, in the order they were appended."""
        self._db.execute("DELETE FROM wanted")
        self._db.executemany("INSERT OR IGNORE INTO wanted VALUES (?)", ((k,) for k in keys))
        yield from self._db.execute(
            "SELECT key, value FROM row WHERE key IN (SELECT key FROM wanted) ORDER BY seq"
        )

    def close(self) -> None:
        """Close the spill and remove its file."""
        self._db.close()
        self._file.close()
