"""
The file list of an export target: what exports of ours wrote there, so that ``--delete``
removes only that.

Every commit into a target leaves ``TARGET/`` :data:`FILE_LIST_NAME`: the names (relative to
TARGET) of every file this tool wrote there and still considers its own, the new export's and
those of earlier exports that were kept. A later run with ``delete_stale`` removes a file only
if that list names it and the run did not write it again; a file the list does not name (the
user's own, or one of an export made before file lists existed) is kept and reported.

The format is UTF-8 text: a header line, then one JSON string per line (a name may hold any
character, a newline included)::

    document_exporter file list 1
    "manifest.json"
    "2024-01-02 ACME Invoice.pdf"

Names starting with :data:`TOOL_PREFIX` at the top of TARGET (this list, the commit journal,
the run marker) belong to the tool, are never export data, and readers of an export skip them.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from exporter.format import SPLIT_SUFFIX, TOOL_PREFIX, is_tool_file
from exporter.sinks.files import (
    create_temp,
    fsync_directory,
    is_temp_name,
    remove_quietly,
    validate_relpath,
)
from exporter.sinks.sweep import sweep_tree

__all__ = [
    "FILE_LIST_NAME",
    "FOREIGN_NAMES_MAX",
    "OwnedNames",
    "RUN_MARKER_NAME",
    "begin_run",
    "load_file_list",
    "stage_file_list",
    "write_file_list",
]

#: The file list's name, at the top of TARGET.
FILE_LIST_NAME = TOOL_PREFIX + "files"
#: Present while a run writes into TARGET: found at the start of a run, it means an earlier run
#: was killed, and its temporary files are removed first.
RUN_MARKER_NAME = TOOL_PREFIX + "running"
_HEADER = b"document_exporter file list 1\n"
#: How many names of files that no export of ours wrote a summary lists (all are counted).
FOREIGN_NAMES_MAX = 1000


def begin_run(target: Path, db: sqlite3.Connection) -> int:
    """
    Mark ``target`` as being written (:data:`RUN_MARKER_NAME`); first, if a killed run left its
    marker, remove that run's temporary files. Return how many were removed.

    The run removes the marker when it ends, committed or aborted; so temporary files of killed
    runs never pile up, and a clean target is never walked twice.
    """
    marker = target / RUN_MARKER_NAME
    removed = 0
    if os.path.lexists(marker):
        removed = sweep_tree(target, _condemn_temp, db, prune="none")["temp"]
    fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        os.write(fd, f"{os.getpid()}\n".encode())
    finally:
        os.close(fd)
    return removed


def _condemn_temp(relpath: str, is_link: bool) -> str | None:
    return "temp" if is_temp_name(relpath.rpartition("/")[2]) else None


def load_file_list(target: Path, db: sqlite3.Connection, table: str) -> bool:
    """
    Insert the names of ``target``'s file list into ``db``'s table ``table`` (created here,
    one ``relpath`` column); return False when there is no readable list.

    A list that is damaged (a line that is not a safe relative name) counts as no list at all:
    then nothing is deleted, which is the safe side.
    """
    db.execute(f"CREATE TABLE IF NOT EXISTS {table} (relpath TEXT PRIMARY KEY)")
    try:
        file = open(target / FILE_LIST_NAME, "rb")  # noqa: SIM115 - closed below
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return False
    rows: list[tuple[str]] = []
    with file:
        if file.readline() != _HEADER:
            return False
        for line in file:
            try:
                name = orjson.loads(line)
                validate_relpath(name)
            except (orjson.JSONDecodeError, ValueError):
                db.execute(f"DELETE FROM {table}")
                return False
            rows.append((name,))
            if len(rows) >= 10_000:
                db.executemany(f"INSERT OR IGNORE INTO {table} VALUES (?)", rows)
                rows.clear()
    db.executemany(f"INSERT OR IGNORE INTO {table} VALUES (?)", rows)
    return True


def stage_file_list(
    target: Path, names: Iterable[str], *, register: Callable[[Path], object] | None = None
) -> Path:
    """Write a file list of ``names`` to a new temporary file next to ``target``'s list and
    return its path, for a commit to rename into place."""
    temp, fd = create_temp(target / FILE_LIST_NAME, 0o600, register=register)
    try:
        with open(fd, "wb") as file:
            file.write(_HEADER)
            for lines in _lines(names):
                file.write(lines)
    except BaseException:
        remove_quietly(temp)
        raise
    return temp


def write_file_list(
    target: Path,
    names: Iterable[str],
    *,
    register: Callable[[Path], object] | None = None,
) -> bool:
    """
    Replace ``target``'s file list with ``names``, durably; return False if it was unchanged.

    The new list is written to a temporary file and renamed into place; an unchanged list is
    left as it was (its modification time too).
    """
    path = target / FILE_LIST_NAME
    temp, fd = create_temp(path, 0o600, register=register)
    try:
        digest = hashlib.sha256(_HEADER)
        size = len(_HEADER)
        with open(fd, "wb") as file:
            file.write(_HEADER)
            for lines in _lines(names):
                digest.update(lines)
                size += len(lines)
                file.write(lines)
            file.flush()
            if _same(path, size, digest.hexdigest()):
                remove_quietly(temp)
                return False
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        remove_quietly(temp)
        raise
    fsync_directory(target)
    return True


def _lines(names: Iterable[str]) -> Iterator[bytes]:
    """The list's lines after its header, a thousand names at a time: one JSON string each."""
    names = iter(names)
    while batch := list(itertools.islice(names, 1_000)):
        yield b"\n".join(map(orjson.dumps, batch)) + b"\n"


def _same(path: Path, size: int, digest: str) -> bool:
    try:
        if os.lstat(path).st_size != size:
            return False
        with open(path, "rb") as existing:
            return hashlib.file_digest(existing, "sha256").hexdigest() == digest
    except OSError:
        return False


class OwnedNames:
    """
    What in a target is ours: the earlier exports' file list next to the names of this run.

    The earlier list is loaded into the run's ledger database (table ``previous``; this run's
    names are its table ``names``), so that memory stays flat for a million names. It is loaded
    when first needed: an unchanged re-run, which finds nothing but its own names in the target
    and stages nothing, never reads it. The target's lock keeps the list as it was when the run
    began until then; a commit that replaces it reads it first (:meth:`all_names`). The sweep
    of a commit asks :meth:`is_ours_before` about each file this run did not write, and
    :meth:`carry` or :meth:`note_foreign` records the answer; ``summary`` (a
    :class:`~exporter.sinks.base.SinkSummary`) counts the files that are not ours.
    """

    def __init__(self, target: Path, db: sqlite3.Connection, summary: Any) -> None:
        self.db = db
        self.summary = summary
        self._target = target
        self._loaded = False
        db.execute("CREATE TABLE IF NOT EXISTS carried (id INTEGER PRIMARY KEY, relpath TEXT)")

    def _previous(self) -> str:
        """The table of the earlier list's names, loaded on first use."""
        if not self._loaded:
            load_file_list(self._target, self.db, "previous")
            self._loaded = True
        return "previous"

    def is_ours_before(self, relpath: str) -> bool:
        """Whether an earlier export of ours wrote ``relpath``."""
        query = f"SELECT 1 FROM {self._previous()} WHERE relpath = ?"
        return self.db.execute(query, (relpath,)).fetchone() is not None

    def carry(self, relpath: str) -> None:
        """An earlier export's file that stays: the new list names it too."""
        self.db.execute("INSERT INTO carried (relpath) VALUES (?)", (relpath,))

    def note_foreign(self, relpath: str) -> None:
        """A file no export of ours wrote: kept, counted, its name listed up to a limit (a byte
        that does not decode shown escaped, as ``\\udcff``)."""
        summary = self.summary
        summary.foreign_files += 1
        if len(summary.foreign_names) < FOREIGN_NAMES_MAX:
            printable = relpath.encode("utf-8", "backslashreplace").decode()
            summary.foreign_names.append(printable)
        if relpath.endswith(SPLIT_SUFFIX):
            summary.foreign_split_manifests += 1

    def previous_names(self) -> Iterator[str]:
        """Every name of the earlier list, sorted."""
        query = f"SELECT relpath FROM {self._previous()} ORDER BY relpath"
        for (relpath,) in self.db.execute(query):
            yield relpath

    def stale_split_manifests(self) -> Iterator[str]:
        """Split manifests of earlier exports that this run did not write, sorted."""
        query = (
            f"SELECT relpath FROM {self._previous()} WHERE relpath GLOB ?"
            " AND relpath NOT IN (SELECT relpath FROM names) ORDER BY relpath"
        )
        for (relpath,) in self.db.execute(query, ("*" + SPLIT_SUFFIX,)):
            yield relpath

    def all_names(self) -> Iterator[str]:
        """This run's names and every name of the earlier list: the list a commit stages."""
        yield from self._names(self._previous())

    def own_names(self) -> Iterator[str]:
        """This run's names and the earlier ones carried: the list once the sweep is done."""
        yield from self._names("carried")

    def _names(self, others: str) -> Iterator[str]:
        # Sorted: the list does not depend on the order the files were written in.
        query = f"SELECT relpath FROM names UNION SELECT relpath FROM {others} ORDER BY relpath"
        for (relpath,) in self.db.execute(query):
            if not is_tool_file(relpath):
                yield relpath
