"""
Removing stale entries from an export directory without ever following a symlink out of it.

:func:`sweep_tree` walks the directory through descriptors and removes what a callback names;
the directory sink uses it for leftovers and stale files, the zip sink to empty its directory.
"""

from __future__ import annotations

import errno
import itertools
import os
import sqlite3
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import orjson

__all__ = ["sweep_tree"]


def sweep_tree(
    root: Path,
    condemn: Callable[[str, bool], str | None],
    db: sqlite3.Connection,
    *,
    prune: Literal["none", "emptied", "all"],
    kept: str | None = None,
    undecodable: Callable[[str], object] | None = None,
) -> Counter[str]:
    """
    Remove what ``condemn`` names under ``root``, never following a symlink; return counts.

    ``condemn(relpath, is_link)`` is asked about every entry that is not a directory (a symlink
    to a directory is a link) and returns a reason to remove it or None to keep it; removals are
    counted by reason. Directories are walked through descriptors opened relative to their
    parent with ``O_NOFOLLOW``, so that a directory swapped for a link during the walk cannot
    lead outside ``root``. After its content, a directory is removed if it is empty and
    ``prune`` is "all", or "emptied" and something in it was removed (counted as "dirs").
    ``root`` itself stays.

    ``kept`` names a table of ``db`` with an indexed ``relpath`` column: the files it names are
    kept without asking ``condemn``, which then hears only of the others. A directory's files
    are looked up there a thousand at a time, in one query, so that a tree of files that all
    stay (an unchanged re-run's) costs no Python call per file.

    A name that is not valid Unicode (a byte that does not decode, kept by Python as a lone
    surrogate) is none this tool wrote, and no SQLite text can hold it: it stays, ``condemn`` is
    not asked, and ``undecodable`` (if given) hears of it.

    Removals in a directory wait until it has been read (reading a directory while it changes
    may skip entries); until then the condemned names wait in ``db``, not in memory.
    """
    db.execute("CREATE TEMP TABLE IF NOT EXISTS condemned (visit INTEGER, name TEXT, reason TEXT)")
    db.execute("CREATE INDEX IF NOT EXISTS temp.condemned_visit ON condemned (visit)")
    counts: Counter[str] = Counter()
    visits = itertools.count()
    root_fd = os.open(root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | os.O_CLOEXEC)
    stack = [_Visit(root_fd, "", "", next(visits))]
    ask = _Asker(condemn, db, kept, undecodable)
    try:
        while stack:
            visit = stack[-1]
            entry = next(visit.entries, None)
            if entry is None:
                ask.about_pending(visit)
                stack.pop()
                emptied = visit.finish(db, counts)
                pruned = prune == "all" or (prune == "emptied" and emptied)
                if stack and pruned and _decoded(visit.name):
                    stack[-1].condemn(db, visit.name, "dirs")
                continue
            if entry.is_dir(follow_symlinks=False):
                fd = _open_subdirectory(visit.fd, entry)
                if fd is not None:
                    prefix = f"{visit.prefix}{entry.name}/"
                    stack.append(_Visit(fd, entry.name, prefix, next(visits)))
            elif kept is None:
                ask.about(visit, entry)
            else:
                visit.pending.append(entry)
                if len(visit.pending) >= _LOOKUP_BATCH:
                    ask.about_pending(visit)
    finally:
        for visit in stack:
            visit.close()
    return counts


#: How many of a directory's files one lookup in the kept table takes.
_LOOKUP_BATCH = 1000


class _Asker:
    """Asks ``condemn`` about files, except those the ``kept`` table names."""

    def __init__(
        self,
        condemn: Callable[[str, bool], str | None],
        db: sqlite3.Connection,
        kept: str | None,
        undecodable: Callable[[str], object] | None,
    ) -> None:
        self.condemn = condemn
        self.db = db
        self.undecodable = undecodable
        # The names go in as one JSON array, joined against the table's index.
        self.query = kept and (
            f"SELECT key FROM json_each(?) WHERE NOT EXISTS"
            f" (SELECT 1 FROM {kept} WHERE relpath = ? || json_each.value)"
        )

    def about(self, visit: _Visit, entry: os.DirEntry[str]) -> None:
        relpath = visit.prefix + entry.name
        if not _decoded(relpath):
            if self.undecodable is not None:
                self.undecodable(relpath)
        elif reason := self.condemn(relpath, entry.is_symlink()):
            visit.condemn(self.db, entry.name, reason)

    def about_pending(self, visit: _Visit) -> None:
        """Ask about the files of ``visit`` waiting for a lookup that the table does not name."""
        entries = visit.pending
        if not entries:
            return
        visit.pending = []
        try:
            names = orjson.dumps([entry.name for entry in entries])
            rows = self.db.execute(self.query, (names, visit.prefix)).fetchall()
        except (orjson.JSONEncodeError, UnicodeEncodeError, sqlite3.OperationalError):
            # A name that is not valid Unicode (an undecodable byte on disk), or an SQLite
            # without JSON functions: one question per file, as without a table.
            rows = [(position,) for position in range(len(entries))]
        for (position,) in rows:
            self.about(visit, entries[position])


class _Visit:
    """One directory being swept: its descriptor, its listing and the names condemned in it."""

    def __init__(self, fd: int, name: str, prefix: str, number: int) -> None:
        self.fd = fd
        self.name = name
        self.prefix = prefix
        self.number = number
        #: Files read from the listing, not yet looked up in the kept table.
        self.pending: list[os.DirEntry[str]] = []
        try:
            self.entries = os.scandir(fd)
        except BaseException:
            os.close(fd)
            raise

    def condemn(self, db: sqlite3.Connection, name: str, reason: str) -> None:
        db.execute("INSERT INTO condemned VALUES (?, ?, ?)", (self.number, name, reason))

    def finish(self, db: sqlite3.Connection, counts: Counter[str]) -> bool:
        """Remove the condemned names; return whether anything was removed."""
        self.entries.close()
        removed = False
        query = "SELECT name, reason FROM condemned WHERE visit = ?"
        for name, reason in db.execute(query, (self.number,)):
            try:
                if reason == "dirs":
                    os.rmdir(name, dir_fd=self.fd)
                else:
                    os.unlink(name, dir_fd=self.fd)
            except FileNotFoundError:
                continue
            except OSError:
                # A directory that is not empty stays; a file that cannot go is an error.
                if reason == "dirs":
                    continue
                raise
            counts[reason] += 1
            removed = True
        db.execute("DELETE FROM condemned WHERE visit = ?", (self.number,))
        self.close()
        return removed

    def close(self) -> None:
        self.entries.close()
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _decoded(name: str) -> bool:
    """Whether ``name`` is valid Unicode: no lone surrogate stands for an undecodable byte."""
    if name.isascii():
        return True
    try:
        name.encode()
    except UnicodeEncodeError:
        return False
    return True


def _open_subdirectory(parent_fd: int, entry: os.DirEntry[str]) -> int | None:
    """Open the directory ``entry`` without following links; None if it is no longer one."""
    # As shutil.rmtree does: what we looked at must be what we opened. O_NOFOLLOW alone would
    # do on Linux; the comparison also covers systems where it does not apply to the last part.
    try:
        looked = entry.stat(follow_symlinks=False)
        flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(entry.name, flags, dir_fd=parent_fd)
    except OSError as error:
        if error.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
            return None
        raise
    if not os.path.samestat(looked, os.fstat(fd)):
        # Replaced by a link between the look and the open: leave it alone.
        os.close(fd)
        return None
    return fd
