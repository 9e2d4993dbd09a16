"""
What every export sink does, and the machinery the sinks share.

A sink is where one export run writes. The orchestrator streams JSON manifests into it with
:meth:`ExportSink.open_json` and hands it document files with :meth:`ExportSink.add_file`.
Nothing becomes visible until :meth:`ExportSink.commit`; :meth:`ExportSink.abort` leaves the
previous export as it was.

Subclasses implement the hooks ``create_json_file``, ``end_json``, ``write_file``, ``finish``
and ``discard``. The base class validates paths, refuses duplicate or conflicting names, tracks
the open JSON entries and the run's state, and counts what was done. The names a run has written
are kept in a :class:`Ledger` on disk rather than in Python sets, so that memory stays flat for
an export of a million files. A failed write of a file of the export is raised as a
:class:`~exporter.sinks.errors.SinkWriteError` naming that file; the copying and hashing of
files in chunks is a :class:`~exporter.sinks.copying.ChunkCopier`'s.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Literal

from exporter import interrupts
from exporter.sinks.copying import ChunkCopier
from exporter.sinks.errors import SinkWriteError, SourceChanged, writing_to
from exporter.sinks.files import CHUNK_SIZE, DirectoryLock, remove_quietly, validate_relpath
from exporter.sinks.json_entry import JsonEntry
from exporter.sinks.ledger import FILE, JSON, Ledger

if TYPE_CHECKING:
    from exporter.sinks.journal import RollForward

__all__ = [
    "FILE",
    "JSON",
    "ExportSink",
    "JsonEntry",
    "Ledger",
    "SinkSummary",
    "SinkWriteError",
    "SourceChanged",
]


@dataclass
class SinkSummary:
    """What one export run did. :meth:`ExportSink.commit` returns a copy."""

    files_copied: int = 0
    #: Files left alone because the export already held them unchanged.
    files_skipped: int = 0
    #: Stale files and links removed with ``delete_stale``.
    files_deleted: int = 0
    #: Directories removed with ``delete_stale`` (emptied ones, or all of them for a zip).
    dirs_deleted: int = 0
    #: Leftover temporary files of an earlier, killed run that were removed.
    temps_removed: int = 0
    #: Files of an earlier export kept in place of a source that could not be copied.
    files_kept: int = 0
    #: Files in the target that no export of ours wrote (so never removed), and the first names.
    foreign_files: int = 0
    foreign_names: list[str] = dataclasses.field(default_factory=list)
    #: Of those, split manifests (``*-manifest.json``), which readers take as part of the export.
    foreign_split_manifests: int = 0
    #: Bytes of document files copied (JSON not included).
    bytes_copied: int = 0
    json_written: int = 0
    #: JSON files opened with ``compare=True`` whose existing copy already held the same bytes.
    json_unchanged: int = 0
    json_bytes: int = 0
    #: Where the export is: the target directory, the zip file, or None when streamed.
    location: Path | None = None
    #: The first LISTED_NAMES_MAX names of the files left alone (unchanged), kept from the
    #: previous export, and removed, for a command's ``-v 2`` listing.
    skipped_names: list[str] = dataclasses.field(default_factory=list)
    kept_names: list[str] = dataclasses.field(default_factory=list)
    removed_names: list[str] = dataclasses.field(default_factory=list)

    def list_name(self, names: list[str], relpath: str) -> None:
        """Add ``relpath`` to one of the name lists, while it is shorter than its cap."""
        if len(names) < LISTED_NAMES_MAX:
            names.append(relpath)


#: How many names of each kind a :class:`SinkSummary` lists; past it they are only counted.
LISTED_NAMES_MAX = 1000


_OPEN, _COMMITTING, _COMMITTED, _ABORTED = "open", "committing", "committed", "aborted"


class ExportSink:
    """
    Where one export run writes. Subclasses implement the hooks below.

    Used as a context manager, the sink commits when the block exits normally and aborts when
    it raises (the exception propagates). :meth:`abort` is best effort and never raises for a
    cleanup failure, so that it cannot hide the error that led to it.
    """

    #: The size of the reads when copying or hashing files.
    chunk_size: int = CHUNK_SIZE

    def __init__(self, *, on_bytes: Callable[[int], None] | None = None) -> None:
        #: Called with the number of bytes after each chunk of a document file is copied.
        self.on_bytes = on_bytes
        #: Called with the name of each step of the commit a sink tells apart ("syncing",
        #: "committing"), for a progress display; set by the run that opened the sink.
        self.on_stage: Callable[[str], object] | None = None
        #: The running counts; :meth:`commit` returns a copy.
        self.summary = SinkSummary()
        self.ledger = Ledger()
        self._open_entries: dict[str, JsonEntry] = {}
        self._state = _OPEN
        #: Held on the target directory by sinks that write into one, released when the run
        #: ends (commit or abort).
        self.target_lock = DirectoryLock()
        #: Copies and hashes files for the hooks; the bytes it copies are counted and reported.
        self.copier = ChunkCopier(self.chunk_size, self._copied)
        #: Temporary files created and not yet staged, removed by :meth:`discard`.
        self.in_flight: set[Path] = set()
        #: An interrupted commit of an earlier run that this sink completed when it opened the
        #: target; None when there was none (always, for a sink that cannot leave one).
        self.completed_commit: RollForward | None = None

    def __enter__(self) -> ExportSink:
        return self

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None:
        if exc_type is not None:
            self.abort()
        elif self._state == _OPEN:
            self.commit()

    # The public interface.

    def open_json(self, relpath: str, *, compare: bool = False) -> JsonEntry:
        """
        Return a writable for the JSON file at ``relpath``; write to it, then close it.

        Several entries may be open at once. With ``compare=True`` a sink that keeps earlier
        exports leaves an existing file with the same bytes untouched (its mtime is kept). A
        failure to create, write or close the file raises :class:`SinkWriteError`.
        """
        self._check_open()
        parts = validate_relpath(relpath)
        self._check_free(relpath, parts)
        with writing_to(relpath):
            file, temp_path = self.create_json_file(relpath, parts)
        entry = JsonEntry(
            relpath,
            file,
            on_close=self._end_json,
            on_discard=self._discard_json,
            compare=compare,
            temp_path=temp_path,
        )
        self._open_entries[relpath] = entry
        return entry

    def add_file(
        self, relpath: str, source: str | os.PathLike[str], *, sha256: str | None = None
    ) -> Literal["copied", "skipped"]:
        """
        Put a copy of the regular file ``source`` at ``relpath``; return what was done.

        ``sha256``, the source's known checksum, saves hashing it where a sink compares
        checksums; and a copy is hashed on the way (no second read) and refused with
        :class:`SourceChanged` if its bytes do not have that checksum, before anything of it is
        staged. A missing ``source`` raises FileNotFoundError and leaves the sink usable unless
        the subclass says otherwise; any other OSError of the copy raises
        :class:`SinkWriteError` naming ``relpath`` (or what the sink wrote, such as the zip).
        """
        self._check_open()
        interrupts.check()
        parts = validate_relpath(relpath)
        self._check_free(relpath, parts)
        expected = sha256.lower() if sha256 is not None else None
        with writing_to(relpath):
            # A string: a Path per file costs more than an unchanged file's two stats.
            copied = self.write_file(relpath, parts, os.fspath(source), expected)
        self.ledger.record(relpath, FILE, copied)
        if copied:
            self.summary.files_copied += 1
            return "copied"
        self.summary.files_skipped += 1
        self.summary.list_name(self.summary.skipped_names, relpath)
        return "skipped"

    def keep_previous(self, relpath: str, *, sha256: str | None = None) -> bool:
        """
        Keep the earlier export's copy at ``relpath`` as part of this one; return whether there
        was one (with ``sha256``, one with that checksum).

        For a document whose source cannot be copied (missing, damaged): a sink that keeps
        earlier exports keeps their good copy instead of losing it.
        """
        self._check_open()
        parts = validate_relpath(relpath)
        self._check_free(relpath, parts)
        if not self.keep_file(relpath, parts, sha256):
            return False
        self.ledger.record(relpath, FILE, False)
        self.summary.files_kept += 1
        self.summary.list_name(self.summary.kept_names, relpath)
        return True

    def commit(self) -> SinkSummary:
        """
        Make everything written visible as the new export and return the summary.

        Every JSON entry must be closed. If committing fails, the sink is aborted and the error
        propagates; see the subclass for what is already in place at each step.
        """
        self._check_open()
        if self._open_entries:
            names = ", ".join(sorted(self._open_entries))
            self.abort()
            raise ValueError(f"Cannot commit while JSON entries are open: {names}.")
        self._state = _COMMITTING
        try:
            # The commit is not cut half-way by a signal: it is held until the commit is done.
            with interrupts.deferred():
                self.finish()
        except BaseException:
            self._state = _ABORTED
            self._discard_quietly()
            raise
        finally:
            self.target_lock.release()
        self._state = _COMMITTED
        return dataclasses.replace(self.summary)

    def abort(self) -> None:
        """Drop everything this run wrote. Aborting again, or after a commit, does nothing."""
        if self._state in (_COMMITTED, _ABORTED):
            return
        self._state = _ABORTED
        try:
            for entry in list(self._open_entries.values()):
                entry.discard()
            self._discard_quietly()
        finally:
            self.target_lock.release()

    def written(self) -> Iterator[tuple[str, str]]:
        """
        Yield ``(relpath, outcome)`` for every name of this run, in the order written.

        The outcome is "copied" or "skipped" for files, "written" or "unchanged" for JSON. It
        reads the ledger, which lives until :meth:`close` (or until the sink is collected).
        """
        for relpath, file_type, changed in self.ledger.names():
            if file_type == FILE:
                yield relpath, "copied" if changed else "skipped"
            else:
                yield relpath, "written" if changed else "unchanged"

    def close(self) -> None:
        """Abort unless committed, and free the ledger."""
        self.abort()
        self.ledger.close()

    # The hooks.

    def create_json_file(
        self, relpath: str, parts: tuple[str, ...]
    ) -> tuple[BinaryIO, Path | None]:
        """
        Open the file the bytes of the JSON file ``relpath`` (already validated and free) go
        to; return it and its temporary path, if it has one the sink must clean up.
        """
        raise NotImplementedError

    def end_json(self, entry: JsonEntry) -> bool:
        """
        Stage the complete ``entry`` for the commit, closing its file; return whether it changes
        the export (False when compare mode found the same bytes).
        """
        raise NotImplementedError

    def discard_json(self, entry: JsonEntry) -> None:
        """Drop ``entry``'s bytes. By default, close its file and remove its temporary file."""
        with contextlib.suppress(OSError):
            entry.file.close()
        if entry.temp_path is not None:
            remove_quietly(entry.temp_path)

    def write_file(
        self, relpath: str, parts: tuple[str, ...], source: str, sha256: str | None
    ) -> bool:
        """
        Stage a copy of ``source`` (a path, as a string) at ``relpath``; return False if it
        was skipped.

        With ``sha256`` (lower case), the copy must have it: pass it to
        :meth:`ChunkCopier.copy`, which raises :class:`SourceChanged` otherwise.
        """
        raise NotImplementedError

    def keep_file(self, relpath: str, parts: tuple[str, ...], sha256: str | None) -> bool:
        """Whether an earlier export's copy at ``relpath`` (with ``sha256``) can stay; the
        default, for sinks that write a new export every time, is False."""
        return False

    def finish(self) -> None:
        """Make everything staged visible (the body of :meth:`commit`)."""
        raise NotImplementedError

    def discard(self) -> None:
        """Remove everything staged, leaving the previous export as it was."""
        raise NotImplementedError

    # Internals.

    def _copied(self, size: int) -> None:
        self.summary.bytes_copied += size
        if self.on_bytes is not None:
            self.on_bytes(size)

    def _end_json(self, entry: JsonEntry) -> None:
        del self._open_entries[entry.relpath]
        try:
            changed = self.end_json(entry)
            self.ledger.record(entry.relpath, JSON, changed)
        except BaseException:
            self.discard_json(entry)
            raise
        entry.changed = changed
        if changed:
            self.summary.json_written += 1
            self.summary.json_bytes += entry.bytes_written
        else:
            self.summary.json_unchanged += 1

    def _discard_json(self, entry: JsonEntry) -> None:
        self._open_entries.pop(entry.relpath, None)
        self.discard_json(entry)

    def _check_free(self, relpath: str, parts: tuple[str, ...]) -> None:
        clash = self.ledger.conflict(relpath, parts)
        if clash is None:
            # The open entries are few: a scan is enough.
            for name in self._open_entries:
                nested = name.startswith(relpath + "/") or relpath.startswith(name + "/")
                if name == relpath or nested:
                    clash = name
        if clash is not None:
            raise ValueError(f"Export path {relpath!r} clashes with {clash!r}, already written.")

    def _check_open(self) -> None:
        if self._state != _OPEN:
            raise ValueError(f"This export sink was already {self._state}.")

    def _discard_quietly(self) -> None:
        with contextlib.suppress(Exception):
            self.discard()
