"""A disk-backed multimap: (key, value) rows kept in order in a temporary SQLite file.

MariaDB's unbuffered cursor forbids any other statement while it streams, so what must be
looked up per batch is read beforehand into one of these, in flat memory.

Keys and values come back as they went in, value and type: ints of SQLite's 64 bits and
strings are stored as themselves (the common keys: compact, and no call per value); anything
else (UUIDs, decimals, dates, times, durations, booleans, ints past 64 bits, bytes) as its
pickle, which sqlite3 could not store or would give back as another type. Equal keys of one
column (values read by the same field's converters) have equal pickles, so a pickle is looked
up as the key itself. The file is private to this process and read only by it.
"""

from __future__ import annotations

import pickle
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

_INT64 = range(-(2**63), 2**63)
_PICKLE = pickle.HIGHEST_PROTOCOL


class KeyedSpill:
    """Append rows, seal, then look them up by key in their original order."""

    def __init__(
        self,
        prefix: str = "exporter-spill-",
        *,
        native_keys: bool = False,
        native_values: bool = False,
    ) -> None:
        """With ``native_keys`` (``native_values``), the caller knows every key (value) to be
        an int of 64 bits, a str or bytes: they are stored and given back as they are, without
        a check per batch."""
        # Lives as long as the spill: close() removes it.
        self._file = tempfile.NamedTemporaryFile(prefix=prefix, suffix=".sqlite3")  # noqa: SIM115
        self._db = sqlite3.connect(self._file.name)
        # A scratch file: no journal and no fsync, it is thrown away after the run.
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("CREATE TABLE row (seq INTEGER PRIMARY KEY, key, value)")
        self._native = (native_keys, native_values)
        # Whether any key or value was stored as a pickle: if not, nothing is decoded.
        self._pickled_keys = False
        self._pickled_values = False

    def extend(self, rows: Iterable[tuple[Any, Any]]) -> None:
        """Append (key, value) rows, before :meth:`seal`."""
        if not all(self._native):
            rows = self._stored_rows(list(rows))
        self._db.executemany("INSERT INTO row (key, value) VALUES (?, ?)", rows)

    def _stored_rows(self, rows: list[tuple[Any, Any]]) -> Iterable[tuple[Any, Any]]:
        if not rows:
            return rows
        keys, values = zip(*rows, strict=True)
        native_keys, native_values = self._native
        stored_keys, pickled = (keys, False) if native_keys else _stored(keys)
        self._pickled_keys |= pickled
        stored_values, pickled = (values, False) if native_values else _stored(values)
        self._pickled_values |= pickled
        if stored_keys is keys and stored_values is values:
            return rows
        return zip(stored_keys, stored_values, strict=True)

    def seal(self) -> None:
        """Index the rows; call once after the last extend()."""
        self._db.execute("CREATE INDEX row_key ON row (key, seq)")
        self._db.execute("CREATE TEMP TABLE wanted (key PRIMARY KEY)")
        self._db.commit()

    def lookup(self, keys: Iterable[Any]) -> Iterator[tuple[Any, Any]]:
        """The (key, value) rows of these keys, in the order they were appended."""
        wanted = keys if self._native[0] else _stored(tuple(keys))[0]
        self._db.execute("DELETE FROM wanted")
        self._db.executemany("INSERT OR IGNORE INTO wanted VALUES (?)", ((k,) for k in wanted))
        rows = self._db.execute(
            "SELECT key, value FROM row WHERE key IN (SELECT key FROM wanted) ORDER BY seq"
        )
        if not (self._pickled_keys or self._pickled_values):
            yield from rows
            return
        key_of = _decode if self._pickled_keys else _same
        value_of = _decode if self._pickled_values else _same
        for key, value in rows:
            yield key_of(key), value_of(value)

    def close(self) -> None:
        """Close the spill and remove its file."""
        self._db.close()
        self._file.close()


def _stored(column: Sequence[Any]) -> tuple[Sequence[Any], bool]:
    """``column`` as stored, and whether any value of it was pickled."""
    types = set(map(type, column))
    if types <= {str} or (types <= {int} and min(column) in _INT64 and max(column) in _INT64):
        # The common case, checked in C: stored as they are.
        return column, False
    stored = list(map(_encode, column))
    return stored, any(type(value) is bytes for value in stored)


def _encode(value: Any) -> Any:
    if type(value) is str or (type(value) is int and value in _INT64):
        return value
    return pickle.dumps(value, protocol=_PICKLE)


def _decode(stored: Any) -> Any:
    # Only pickles are stored as bytes: bytes of the caller's were pickled too.
    return pickle.loads(stored) if type(stored) is bytes else stored  # noqa: S301 - our own file


def _same(value: Any) -> Any:
    return value
