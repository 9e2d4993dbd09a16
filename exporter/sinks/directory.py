"""
An export into a directory, updated incrementally and replaced atomically file by file.

New and changed files are staged as temporary files next to their destination and renamed into
place only at commit, so that a failed run leaves the previous export as it was. See
:class:`DirectorySink`. :func:`sweep_tree` removes stale entries without following symlinks; the
zip sink uses it too.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import sqlite3
import stat
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, Literal

from exporter.sinks.base import FILE, JSON, ExportSink, JsonEntry
from exporter.sinks.files import (
    create_temp,
    fsync_directory,
    is_temp_name,
    remove_quietly,
    sync_files,
)

__all__ = ["SPLIT_MANIFEST_SUFFIX", "DirectorySink", "sweep_tree"]

#: The name ending of split manifests, which readers of an export take as manifests.
SPLIT_MANIFEST_SUFFIX = "-manifest.json"

# A time with a non-zero digit at every decimal place and an odd second: reading it back from a
# file shows to what the file system rounds modification times.
_PROBE_NS = 1_700_000_001_123_456_789
_GRANULARITIES = tuple(10**power for power in range(10)) + (2 * 10**9,)
# How many known directories to remember before starting over: enough for the usual layouts.
_KNOWN_DIRS_MAX = 4096


class DirectorySink(ExportSink):
    """
    Write the export into the existing directory ``target``, incrementally.

    A file is copied only when its destination is missing or differs from the source: by size
    and modification time (exactly, to the nanosecond, or to the precision the target's file
    system keeps), or with ``compare_checksums`` by size and sha256. Copies keep the source's
    modification time and permission bits (less the umask).

    Nothing in ``target`` changes before :meth:`commit`, which

    1. syncs every staged file, renames the staged document files into place, then syncs their
       directories;
    2. renames the staged JSON files, the top-level ones (the manifest) last, and syncs;
    3. removes leftover temporary files of killed runs, split manifests (``*-manifest.json``)
       this run did not write, and, with ``delete_stale``, every file or link this run did not
       write and the directories that emptied.

    If a run fails or is aborted before step 1, its temporary files and the directories it
    created are removed and ``target`` is exactly as before. If a rename fails during steps 1-2
    (an I/O error; renames within a directory do not need space), the files renamed so far stay
    in place, the rest are removed and the error propagates: the export then mixes new document
    files with the previous manifest until the next run. An error in step 3 propagates with the
    new export complete.

    The run's names and staged files are kept in the ledger's SQLite database, not in memory.
    The run holds a lock on ``target`` (see :meth:`ExportSink.lock`).
    """

    def __init__(
        self,
        target: str | os.PathLike[str],
        *,
        compare_checksums: bool = False,
        delete_stale: bool = False,
        on_bytes: Callable[[int], None] | None = None,
    ) -> None:
        super().__init__(on_bytes=on_bytes)
        self.target = Path(target)
        self.compare_checksums = compare_checksums
        self.delete_stale = delete_stale
        self.summary.location = self.target
        self.lock(self.target)
        self.ledger.db.executescript(
            """
            CREATE TABLE staged (
                id INTEGER PRIMARY KEY, relpath TEXT, parent TEXT, temp TEXT, kind INTEGER
            );
            CREATE TABLE created_dirs (relpath TEXT PRIMARY KEY, parent TEXT);
            """
        )
        self._known_dirs: set[str] = set()
        self._granularity: int | None = None

    # Hooks.

    def start_json(self, relpath: str, parts: tuple[str, ...], compare: bool) -> JsonEntry:
        path = self.target.joinpath(*parts)
        self._ensure_parents(parts)
        current = _lstat(path)
        if current is not None and stat.S_ISDIR(current.st_mode):
            raise IsADirectoryError(errno.EISDIR, "Is a directory", str(path))
        temp, fd = create_temp(path)
        try:
            if current is not None and stat.S_ISREG(current.st_mode):
                # Keep the mode of the file we replace, as AtomicFile does; best effort.
                with contextlib.suppress(OSError):
                    os.fchmod(fd, stat.S_IMODE(current.st_mode))
            file = open(fd, "wb")  # noqa: SIM115 - closed by end_json() or discard_json()
        except BaseException:
            os.close(fd)
            remove_quietly(temp)
            raise
        return JsonEntry(self, relpath, file, compare=compare, temp_path=temp)

    def end_json(self, entry: JsonEntry) -> bool:
        assert entry.temp_path is not None
        entry.file.flush()
        path = self.target / entry.relpath
        if entry.compare and self.has_content(path, entry.bytes_written, entry.hexdigest()):
            entry.file.close()
            remove_quietly(entry.temp_path)
            return False
        # Synced with the rest before any rename (see finish()).
        entry.file.close()
        self._stage(entry.relpath, entry.temp_path, JSON)
        return True

    def write_file(
        self, relpath: str, parts: tuple[str, ...], source: Path, sha256: str | None
    ) -> bool:
        destination = self.target.joinpath(*parts)
        with open(source, "rb", buffering=0) as reader:
            status = os.fstat(reader.fileno())
            if not stat.S_ISREG(status.st_mode):
                raise ValueError(f"{source} is not a regular file.")
            if self._unchanged(destination, reader, status, sha256):
                return False
            self._ensure_parents(parts)
            temp = self._copy(reader, status, destination)
        self._stage(relpath, temp, FILE)
        return True

    def finish(self) -> None:
        # Every staged file's data is durable before the first rename, or a crash could leave a
        # destination renamed but empty. One sync of the file system for all of them: a sync
        # per file costs a journal commit each, most of a full copy's time.
        staged = self.ledger.db.execute("SELECT parent, temp FROM staged")
        sync_files(self.target, (self._path(parent, temp) for parent, temp in staged))
        # Documents before JSON: the previous manifest stays in place until the new documents
        # are, so that a crash never leaves a manifest naming files that are not there yet.
        for kind in (FILE, JSON):
            self._rename_staged(kind)
            self._sync_staged(kind)
        counts = sweep_tree(
            self.target,
            self._condemn,
            self.ledger.db,
            prune="emptied" if self.delete_stale else "none",
        )
        self.summary.files_deleted += counts["stale"]
        self.summary.temps_removed += counts["temp"]
        self.summary.dirs_deleted += counts["dirs"]

    def discard(self) -> None:
        # After a failed rename some temporary names are gone already: removal skips them.
        for parent, temp in self.ledger.db.execute("SELECT parent, temp FROM staged"):
            remove_quietly(self._path(parent, temp))
        # Children sort after their parents: remove the deepest first.
        query = "SELECT relpath FROM created_dirs ORDER BY relpath DESC"
        for (relpath,) in self.ledger.db.execute(query):
            with contextlib.suppress(OSError):
                os.rmdir(self.target / relpath)

    # Internals.

    def _unchanged(
        self, destination: Path, reader: BinaryIO, status: os.stat_result, sha256: str | None
    ) -> bool:
        current = _lstat(destination)
        if current is None:
            return False
        if stat.S_ISDIR(current.st_mode):
            # Checked now: a rename over a directory would fail only at commit.
            raise IsADirectoryError(errno.EISDIR, "Is a directory", str(destination))
        # A link or a special file is replaced by a regular one.
        if not stat.S_ISREG(current.st_mode) or current.st_size != status.st_size:
            return False
        if self.compare_checksums:
            if sha256 is None:
                sha256 = self.hash_file(reader)
                reader.seek(0)
            with open(destination, "rb", buffering=0) as existing:
                return self.hash_file(existing) == sha256.lower()
        return self._same_mtime(status.st_mtime_ns, current.st_mtime_ns)

    def _same_mtime(self, source_ns: int, destination_ns: int) -> bool:
        if source_ns == destination_ns:
            return True
        # A file system with coarser times (FAT, some network ones) rounds the time a copy was
        # given: compare with what it would have kept.
        granularity = self._mtime_granularity()
        return granularity > 1 and destination_ns == source_ns - source_ns % granularity

    def _mtime_granularity(self) -> int:
        """The step the target's modification times are truncated to; 0 if unknown."""
        if self._granularity is None:
            temp, fd = create_temp(self.target / "mtime-probe")
            try:
                os.utime(fd, ns=(_PROBE_NS, _PROBE_NS))
                kept = os.fstat(fd).st_mtime_ns
            finally:
                os.close(fd)
                remove_quietly(temp)
            truncations = (step for step in _GRANULARITIES if kept == _PROBE_NS - _PROBE_NS % step)
            self._granularity = next(truncations, 0)
        return self._granularity

    def _copy(self, reader: BinaryIO, status: os.stat_result, destination: Path) -> Path:
        """Copy ``reader`` to a new temporary file next to ``destination``; return its path."""
        temp, fd = create_temp(destination, stat.S_IMODE(status.st_mode) & 0o777)
        try:
            with open(fd, "wb") as writer:
                self.copy_chunks(reader, writer.write)
                writer.flush()
                # After the last write, which would update it; like shutil.copy2, to the ns.
                os.utime(writer.fileno(), ns=(status.st_atime_ns, status.st_mtime_ns))
        except BaseException:
            remove_quietly(temp)
            raise
        return temp

    def _stage(self, relpath: str, temp: Path, kind: int) -> None:
        parent = relpath.rpartition("/")[0]
        try:
            self.ledger.db.execute(
                "INSERT INTO staged (relpath, parent, temp, kind) VALUES (?, ?, ?, ?)",
                (relpath, parent, temp.name, kind),
            )
        except BaseException:
            remove_quietly(temp)
            raise

    def _ensure_parents(self, parts: tuple[str, ...]) -> None:
        """Create the missing directories above ``parts``, recording them for :meth:`discard`."""
        for depth in range(1, len(parts)):
            relpath = "/".join(parts[:depth])
            if relpath in self._known_dirs:
                continue
            path = self.target / relpath
            try:
                os.mkdir(path)
            except FileExistsError:
                # A link to a directory is used as one, as the classic exporter would.
                if not path.is_dir():
                    raise NotADirectoryError(errno.ENOTDIR, "Not a directory", str(path)) from None
            else:
                self.ledger.db.execute(
                    "INSERT INTO created_dirs VALUES (?, ?)", (relpath, relpath.rpartition("/")[0])
                )
            if len(self._known_dirs) >= _KNOWN_DIRS_MAX:
                self._known_dirs.clear()
            self._known_dirs.add(relpath)

    def _rename_staged(self, kind: int) -> None:
        # Nested JSON (split manifests) before top-level JSON (the manifest), each in the order
        # closed.
        query = (
            "SELECT relpath, parent, temp FROM staged WHERE kind = ?"
            " ORDER BY instr(relpath, '/') = 0, id"
        )
        for relpath, parent, temp in self.ledger.db.execute(query, (kind,)):
            os.replace(self._path(parent, temp), self.target / relpath)

    def _sync_staged(self, kind: int) -> None:
        if kind == FILE:
            # Also the new directories' entries in their parents.
            query = "SELECT parent FROM staged WHERE kind = ? UNION SELECT parent FROM created_dirs"
        else:
            query = "SELECT DISTINCT parent FROM staged WHERE kind = ?"
        for (parent,) in self.ledger.db.execute(query, (kind,)):
            fsync_directory(self._path(parent))

    def _condemn(self, relpath: str, is_link: bool) -> str | None:
        name = relpath.rpartition("/")[2]
        if is_temp_name(name):
            return "temp"
        if self.ledger.contains(relpath):
            return None
        if name.endswith(SPLIT_MANIFEST_SUFFIX):
            # Readers (verify_export, document_importer) take every *-manifest.json as part of
            # the export: a split manifest this run did not write (a retitled document's old
            # one, or one of an earlier --split-manifest run) would repeat or contradict its
            # records. It goes even without delete_stale.
            return "stale"
        if not self.delete_stale:
            return None
        # A link to a directory that this run wrote through is part of the export.
        if is_link and self.ledger.has_under(relpath):
            return None
        return "stale"

    def _path(self, parent: str, name: str = "") -> Path:
        directory = self.target / parent if parent else self.target
        return directory / name if name else directory


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


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None
