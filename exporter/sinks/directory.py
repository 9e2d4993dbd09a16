"""
An export into a directory, updated incrementally and replaced atomically file by file.

New and changed files are staged as temporary files next to their destination and renamed into
place only at commit, so that a failed run leaves the previous export as it was; a commit
journal makes the renames all or nothing. See :class:`DirectorySink`. :func:`sweep_tree`
(:mod:`exporter.sinks.sweep`, re-exported here) removes stale entries without following
symlinks; the zip sink uses it too.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from exporter import interrupts
from exporter.format import is_tool_file
from exporter.sinks.base import FILE, JSON, ExportSink, JsonEntry
from exporter.sinks.file_list import (
    FILE_LIST_NAME,
    RUN_MARKER_NAME,
    OwnedNames,
    begin_run,
    stage_file_list,
    write_file_list,
)
from exporter.sinks.files import (
    create_temp,
    fsync_directory,
    is_temp_name,
    lstat_or_none,
    remove_quietly,
    sync_files,
)
from exporter.sinks.journal import (
    JOURNAL_NAME,
    SPLIT_MANIFEST_SUFFIX,
    remove_journal,
    roll_forward,
    write_journal,
)
from exporter.sinks.sweep import sweep_tree
from exporter.sinks.unchanged import UnchangedCheck

__all__ = ["SPLIT_MANIFEST_SUFFIX", "DirectorySink", "sweep_tree"]

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

    1. syncs every staged file and writes the commit journal (:mod:`exporter.sinks.journal`),
       which lists every rename to come and the split manifests to keep: from then on the
       commit has begun;
    2. renames the staged document files into place, then syncs their directories;
    3. renames the staged JSON files, the top-level ones (the manifest) last, and syncs;
    4. removes leftover temporary files of killed runs, split manifests (``*-manifest.json``)
       this run did not write, and, with ``delete_stale``, every file or link this run did not
       write and the directories that emptied; then removes the journal.

    If a run fails or is aborted before the journal is in place, its temporary files and the
    directories it created are removed and ``target`` is exactly as before. Once it is, the
    commit goes forward, never back: if the run is killed, or a rename or sync fails (an I/O
    error; renames within a directory do not need space), the journal and the staged files not
    yet renamed stay, and :func:`~exporter.sinks.journal.roll_forward` completes the commit.
    Every run does that first, after taking the lock (see :attr:`completed_commit`), and so do
    ``verify_export`` and ``document_importer``. An error in step 4 propagates with the new
    export complete, and the journal left for the stale split manifests.

    The run's names and staged files are kept in the ledger's SQLite database, not in memory.
    The run holds a lock on ``target`` (see :class:`~exporter.sinks.files.DirectoryLock`).
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
        self._root = str(self.target)
        self.compare_checksums = compare_checksums
        self.delete_stale = delete_stale
        self.summary.location = self.target
        self.target_lock.acquire(self.target)
        self.ledger.db.executescript(
            """
            CREATE TABLE staged (
                id INTEGER PRIMARY KEY, relpath TEXT, parent TEXT, temp TEXT, file_type INTEGER
            );
            CREATE TABLE created_dirs (relpath TEXT PRIMARY KEY, parent TEXT);
            """
        )
        try:
            # Before anything else: an interrupted commit of an earlier run is completed.
            with interrupts.deferred():
                self.completed_commit = roll_forward(self.target)
            #: What in the target earlier exports of ours wrote.
            self.owned = OwnedNames(self.target, self.ledger.db, self.summary)
            # What killed runs left is removed, then the target is marked as being written.
            self.summary.temps_removed += begin_run(self.target, self.ledger.db)
        except BaseException:
            self.target_lock.release()
            self.ledger.close()
            raise
        self._known_dirs: set[str] = set()
        #: Whether a file already in the target is the same as its source.
        self.unchanged = UnchangedCheck(
            self.target, self.copier, compare_checksums, register=self.in_flight.add
        )
        self._commit_begun = False

    # Hooks.

    def create_json_file(self, relpath: str, parts: tuple[str, ...]) -> tuple[BinaryIO, Path]:
        """A temporary file next to the destination, with the mode of the file it replaces."""
        _refuse_journal_name(relpath)
        path = self.target.joinpath(*parts)
        self._ensure_parents(parts)
        current = lstat_or_none(path)
        if current is not None and stat.S_ISDIR(current.st_mode):
            raise IsADirectoryError(errno.EISDIR, "Is a directory", str(path))
        temp, fd = create_temp(path, register=self.in_flight.add)
        try:
            if current is not None and stat.S_ISREG(current.st_mode):
                # Keep the mode of the file we replace; best effort.
                with contextlib.suppress(OSError):
                    os.fchmod(fd, stat.S_IMODE(current.st_mode))
            file = open(fd, "wb")  # noqa: SIM115 - closed by end_json() or discard_json()
        except BaseException:
            os.close(fd)
            remove_quietly(temp)
            raise
        return file, temp

    def end_json(self, entry: JsonEntry) -> bool:
        """Stage the file for its rename; with compare, drop it if the bytes are the same."""
        assert entry.temp_path is not None
        entry.file.flush()
        path = self.target / entry.relpath
        if entry.compare and self.copier.same_content(path, entry.bytes_written, entry.hexdigest()):
            entry.file.close()
            remove_quietly(entry.temp_path)
            return False
        # Synced with the rest before any rename (see finish()).
        entry.file.close()
        self._stage(entry.relpath, entry.temp_path, JSON)
        return True

    def write_file(
        self, relpath: str, parts: tuple[str, ...], source: str, sha256: str | None
    ) -> bool:
        """Stage a copy of ``source`` unless the destination already matches it."""
        _refuse_journal_name(relpath)
        # A plain string: the relpath is validated, and a Path per file costs more than its
        # copy's system calls.
        destination = f"{self._root}/{relpath}"
        if not self.compare_checksums:
            # One stat of each side settles an unchanged file, without opening either.
            status = os.stat(source)
            if stat.S_ISREG(status.st_mode) and self.unchanged.same_status(destination, status):
                return False
        with open(source, "rb", buffering=0) as reader:
            status = os.fstat(reader.fileno())
            if not stat.S_ISREG(status.st_mode):
                raise ValueError(f"{source} is not a regular file.")
            # Without checksums, the stat above found it changed: a copy is due.
            if self.compare_checksums and self.unchanged.matches(
                destination, reader, status, sha256
            ):
                return False
            self._ensure_parents(parts)
            temp = self._copy(reader, status, destination, source, sha256)
        self._stage(relpath, temp, FILE)
        return True

    def finish(self) -> None:
        # The journal makes the renames all or nothing: a kill between two of them would leave
        # a new document file under the previous manifest; the journal lets the next run (or a
        # reader) complete them.
        """Journal, rename and sync everything staged, then sweep what is stale (see the class)."""
        journaled = self.ledger.db.execute("SELECT 1 FROM staged LIMIT 1").fetchone() is not None
        if journaled:
            # Renamed last with the rest: a list of every name, this run's and the earlier
            # ones, so that a commit completed by a roll forward still knows what is ours.
            # The exact list replaces it after the sweep.
            temp = stage_file_list(self.target, self.owned.all_names(), register=self.in_flight.add)
            self._stage(FILE_LIST_NAME, temp, JSON)
        # Every staged file's data is durable before the first rename, or a crash could leave a
        # destination renamed but empty. One sync of the file system for all of them: a sync
        # per file costs a journal commit each, most of a full copy's time.
        if self.on_stage is not None:
            self.on_stage("syncing")
        staged = self.ledger.db.execute("SELECT parent, temp FROM staged")
        sync_files(self.target, (self._path(parent, temp) for parent, temp in staged))
        if self.on_stage is not None:
            self.on_stage("committing")
        if journaled:
            self._commit_begun = True
            write_journal(self.target, self._renames(), removals=self.owned.stale_split_manifests())
        # Documents before JSON: the previous manifest stays in place until the new documents
        # are, so that a crash never leaves a manifest naming files that are not there yet.
        for file_type in (FILE, JSON):
            for relpath, parent, temp in self._staged_in_order(file_type):
                os.replace(self._path(parent, temp), self.target / relpath)
            self._sync_staged(file_type)
        counts = sweep_tree(
            self.target,
            self._condemn,
            self.ledger.db,
            prune="emptied" if self.delete_stale else "none",
            kept="names",
            undecodable=self.owned.note_foreign,
        )
        self.summary.files_deleted += counts["stale"]
        self.summary.temps_removed += counts["temp"]
        self.summary.dirs_deleted += counts["dirs"]
        write_file_list(self.target, self.owned.own_names(), register=self.in_flight.add)
        # Only now: the sweep removes the stale split manifests, which the journal lets a
        # roll forward remove too.
        if journaled:
            remove_journal(self.target)
        remove_quietly(self.target / RUN_MARKER_NAME)

    def discard(self) -> None:
        """Remove what this run staged and created, unless its commit has begun."""
        if self._commit_begun and os.path.lexists(self.target / JOURNAL_NAME):
            # The commit has begun: it goes forward. The staged files stay for roll_forward().
            return
        # After a failed rename some temporary names are gone already: removal skips them.
        for parent, temp in self.ledger.db.execute("SELECT parent, temp FROM staged"):
            remove_quietly(self._path(parent, temp))
        for temp in self.in_flight:
            remove_quietly(temp)
        remove_quietly(self.target / RUN_MARKER_NAME)
        # Children sort after their parents: remove the deepest first.
        query = "SELECT relpath FROM created_dirs ORDER BY relpath DESC"
        for (relpath,) in self.ledger.db.execute(query):
            with contextlib.suppress(OSError):
                os.rmdir(self.target / relpath)

    # Internals.

    def _copy(
        self,
        reader: BinaryIO,
        status: os.stat_result,
        destination: str,
        source: str,
        sha256: str | None,
    ) -> str:
        """Copy ``reader`` (``source``, checked against ``sha256`` if given) to a new temporary
        file next to ``destination``; return its path."""
        temp, fd = create_temp(
            destination, stat.S_IMODE(status.st_mode) & 0o777, register=self.in_flight.add
        )
        try:
            with open(fd, "wb") as writer:
                self.copier.copy(reader, writer.write, sha256=sha256, path=source)
                writer.flush()
                # After the last write, which would update it; like shutil.copy2, to the ns.
                os.utime(writer.fileno(), ns=(status.st_atime_ns, status.st_mtime_ns))
        except BaseException:
            remove_quietly(temp)
            raise
        return temp

    def _stage(self, relpath: str, temp: str | Path, file_type: int) -> None:
        parent = relpath.rpartition("/")[0]
        try:
            self.ledger.insert_later(
                "INSERT INTO staged (relpath, parent, temp, file_type) VALUES (?, ?, ?, ?)",
                (relpath, parent, os.path.basename(temp), file_type),
            )
        except BaseException:
            remove_quietly(temp)
            raise
        self.in_flight.discard(temp)

    def keep_file(self, relpath: str, parts: tuple[str, ...], sha256: str | None) -> bool:
        """Whether the earlier export's regular file is there (with ``sha256``, if given)."""
        destination = self.target.joinpath(*parts)
        current = lstat_or_none(destination)
        if current is None or not stat.S_ISREG(current.st_mode):
            return False
        if sha256 is not None:
            with open(destination, "rb", buffering=0) as existing:
                if self.copier.sha256(existing, like=sha256) != sha256.lower():
                    return False
        return True

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
                self.ledger.insert_later(
                    "INSERT INTO created_dirs VALUES (?, ?)", (relpath, relpath.rpartition("/")[0])
                )
            if len(self._known_dirs) >= _KNOWN_DIRS_MAX:
                self._known_dirs.clear()
            self._known_dirs.add(relpath)

    def _staged_in_order(self, file_type: int) -> sqlite3.Cursor:
        """``(relpath, parent, temp)`` of the staged files of ``file_type``, in commit order."""
        # Nested JSON (split manifests) before top-level JSON (the manifest), each in the order
        # closed.
        query = (
            "SELECT relpath, parent, temp FROM staged WHERE file_type = ?"
            " ORDER BY instr(relpath, '/') = 0, id"
        )
        return self.ledger.db.execute(query, (file_type,))

    def _renames(self) -> Iterator[tuple[str, str]]:
        """Every rename of the commit, ``(temp relpath, relpath)``, in order, for the journal."""
        for file_type in (FILE, JSON):
            for relpath, parent, temp in self._staged_in_order(file_type):
                yield (f"{parent}/{temp}" if parent else temp), relpath

    def _sync_staged(self, file_type: int) -> None:
        if file_type == FILE:
            # Also the new directories' entries in their parents.
            query = (
                "SELECT parent FROM staged WHERE file_type = ?"
                " UNION SELECT parent FROM created_dirs"
            )
        else:
            query = "SELECT DISTINCT parent FROM staged WHERE file_type = ?"
        for (parent,) in self.ledger.db.execute(query, (file_type,)):
            fsync_directory(self._path(parent))

    def _condemn(self, relpath: str, is_link: bool) -> str | None:
        name = relpath.rpartition("/")[2]
        if is_temp_name(name):
            return "temp"
        if is_tool_file(relpath):
            return None  # the journal, the marker and the file list have their own steps
        if self.ledger.contains(relpath):
            return None
        if not self.owned.is_ours_before(relpath):
            # Not written by an export of ours that we know of: never removed, but reported.
            self.owned.note_foreign(relpath)
            return None
        if name.endswith(SPLIT_MANIFEST_SUFFIX):
            # Readers (verify_export, document_importer) take every *-manifest.json as part of
            # the export: a split manifest of an earlier export that this run did not write (a
            # retitled document's old one) would repeat or contradict its records. It goes
            # even without delete_stale.
            self.summary.list_name(self.summary.removed_names, relpath)
            return "stale"
        # A link to a directory that this run wrote through is part of the export.
        if not self.delete_stale or (is_link and self.ledger.has_under(relpath)):
            self.owned.carry(relpath)
            return None
        self.summary.list_name(self.summary.removed_names, relpath)
        return "stale"

    def _path(self, parent: str, name: str = "") -> Path:
        directory = self.target / parent if parent else self.target
        return directory / name if name else directory


def _refuse_journal_name(relpath: str) -> None:
    if relpath == JOURNAL_NAME or is_tool_file(relpath):
        raise ValueError(f"Export path {relpath!r} is reserved for the tool's own files.")
