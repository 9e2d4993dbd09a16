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

__all__ = ["sweep_tree"]


def sweep_tree(
    root: Path,
    condemn: Callable[[str, bool], str | None],
    db: sqlite3.Connection,
    *,
    prune: Literal["none", "emptied", "all"],
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

    Removals in a directory wait until it has been read (reading a directory while it changes
    may skip entries); until then the condemned names wait in ``db``, not in memory.
    """
    db.execute("CREATE TEMP TABLE IF NOT EXISTS condemned (visit INTEGER, name TEXT, reason TEXT)")
    db.execute("CREATE INDEX IF NOT EXISTS temp.condemned_visit ON condemned (visit)")
    counts: Counter[str] = Counter()
    visits = itertools.count()
    root_fd = os.open(root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | os.O_CLOEXEC)
    stack = [_Visit(root_fd, "", "", next(visits))]
    try:
        while stack:
            visit = stack[-1]
            entry = next(visit.entries, None)
            if entry is None:
                stack.pop()
                emptied = visit.finish(db, counts)
                if stack and (prune == "all" or (prune == "emptied" and emptied)):
                    stack[-1].condemn(db, visit.name, "dirs")
                continue
            relpath = visit.prefix + entry.name
            if entry.is_dir(follow_symlinks=False):
                fd = _open_subdirectory(visit.fd, entry)
                if fd is not None:
                    stack.append(_Visit(fd, entry.name, relpath + "/", next(visits)))
            elif reason := condemn(relpath, entry.is_symlink()):
                visit.condemn(db, entry.name, reason)
    finally:
        for visit in stack:
            visit.close()
    return counts


class _Visit:
    """One directory being swept: its descriptor, its listing and the names condemned in it."""

    def __init__(self, fd: int, name: str, prefix: str, number: int) -> None:
        self.fd = fd
        self.name = name
        self.prefix = prefix
        self.number = number
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
