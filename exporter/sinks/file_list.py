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

Names starting with :data:`RESERVED_PREFIX` at the top of TARGET (this list, the commit journal,
the run marker) belong to the tool, are never export data, and readers of an export skip them.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path

import orjson

from exporter.sinks.files import create_temp, fsync_directory, remove_quietly, validate_relpath

__all__ = [
    "FILE_LIST_NAME",
    "RESERVED_PREFIX",
    "RUN_MARKER_NAME",
    "is_reserved_name",
    "load_file_list",
    "stage_file_list",
    "write_file_list",
]

#: The prefix of the tool's own files at the top of an export target.
RESERVED_PREFIX = ".document_exporter-"
#: The file list's name, at the top of TARGET.
FILE_LIST_NAME = RESERVED_PREFIX + "files"
#: Present while a run writes into TARGET: found at the start of a run, it means an earlier run
#: was killed, and its temporary files are removed first.
RUN_MARKER_NAME = RESERVED_PREFIX + "running"
_HEADER = b"document_exporter file list 1\n"


def is_reserved_name(relpath: str) -> bool:
    """Tell whether ``relpath`` is one of the tool's own files at the top of a target."""
    return "/" not in relpath and relpath.startswith(RESERVED_PREFIX)


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
            for name in names:
                file.write(orjson.dumps(name) + b"\n")
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
            for name in names:
                line = orjson.dumps(name) + b"\n"
                digest.update(line)
                size += len(line)
                file.write(line)
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


def _same(path: Path, size: int, digest: str) -> bool:
    try:
        if os.lstat(path).st_size != size:
            return False
        with open(path, "rb") as existing:
            return hashlib.file_digest(existing, "sha256").hexdigest() == digest
    except OSError:
        return False
