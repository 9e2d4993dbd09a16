"""
An export into one zip archive, written in a single pass in flat memory.

See :class:`ZipSink`. The archive goes to a temporary file renamed into place at commit, or
straight into a non-seekable stream such as standard output.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from exporter.format import is_tool_file
from exporter.sinks.base import ExportSink, JsonEntry
from exporter.sinks.errors import SinkWriteError, SourceChanged
from exporter.sinks.file_list import OwnedNames, write_file_list
from exporter.sinks.files import (
    create_temp,
    fsync_directory,
    is_temp_name,
    remove_quietly,
    validate_relpath,
)
from exporter.sinks.zip_parts import ArchiveOutput, NoNames, SpooledInfos

__all__ = ["STORED_SUFFIXES", "ZipSink", "zip_date_time"]

#: Files with these suffixes are compressed already: deflating them costs time and saves little.
#: TIFF is not among them, as it is often uncompressed and deflates well.
STORED_SUFFIXES = frozenset(
    {
        # Documents and images
        *(".pdf", ".png", ".jpg", ".jpeg", ".jfif", ".gif", ".webp", ".heic", ".heif"),
        *(".avif", ".jp2", ".jxl"),
        # Archives and compressed streams
        *(".zip", ".gz", ".tgz", ".bz2", ".xz", ".zst", ".7z", ".rar", ".br", ".lz", ".lz4"),
        ".lzma",
        # Audio and video
        *(".mp3", ".mp4", ".m4a", ".m4v", ".mov", ".ogg", ".opus", ".webm", ".mkv"),
        # Office formats, which are zip archives
        *(".docx", ".xlsx", ".pptx", ".odt", ".ods", ".odp", ".epub"),
    }
)

_EARLIEST = (1980, 1, 1, 0, 0, 0)
# DOS times count seconds in steps of two.
_LATEST = (2107, 12, 31, 23, 59, 58)


def zip_date_time(timestamp: float) -> tuple[int, int, int, int, int, int]:
    """Return the local date and time of ``timestamp``, clamped to what a zip can hold."""
    try:
        local = time.localtime(timestamp)
    except (OverflowError, OSError, ValueError):
        return _EARLIEST if timestamp < 0 else _LATEST
    if local.tm_year < _EARLIEST[0]:
        return _EARLIEST
    if local.tm_year > _LATEST[0]:
        return _LATEST
    return (local.tm_year, local.tm_mon, local.tm_mday, local.tm_hour, local.tm_min, local.tm_sec)


class ZipSink(ExportSink):
    """
    Write the export as the zip archive ``<target_dir>/<zip_name>.zip``, or into ``stream``.

    Entries are streamed into the archive as they come, with ZIP64 extensions on every entry so
    that entries and archives over 4 GiB work: no temporary copies of the documents. Document
    files keep their modification time (clamped to 1980-2107) and permission bits; files with
    a suffix in :data:`STORED_SUFFIXES` are stored, everything else (JSON included) deflated.
    JSON entries are spooled to anonymous temporary files (in ``target_dir``, or the system's
    temporary directory when streaming) while they are written, and added to the archive when
    closed, so that any number may be open at once. The ZIP central directory, which zipfile
    would keep in memory for every entry, is spooled to disk as well. ``compare`` is ignored: a
    zip is always written whole, and :meth:`add_file` always copies.

    With ``target_dir`` the archive is written to ``.<zip_name>.zip.<random>.tmp`` there, and
    :meth:`commit` syncs it, renames it over ``<zip_name>.zip`` and syncs the directory; then,
    with ``keep`` (or ``delete_stale``, which means ``keep=1``), the older zips that this tool
    wrote there (the target's file list, :mod:`exporter.sinks.file_list`, names them) are
    removed but for the ``keep`` newest, the new one included; nothing else is ever removed.
    Leftover temporary archives of killed runs are removed when a run begins. Any failure
    before the rename removes the temporary file and leaves an earlier archive as it was; an
    error while removing older zips propagates with the new archive in place. The run holds a
    lock on ``target_dir``.

    With ``stream`` (a binary file object, typically ``sys.stdout.buffer``; it is never
    closed) the archive is written through data descriptors, which needs no seeking.
    :meth:`commit` writes the central directory and flushes; an aborted archive gets no
    central directory, so that no reader mistakes it for a complete export.

    A failure while an entry is being written leaves a partial entry in the archive, so the
    sink aborts itself before the error propagates; a failure to open a source file leaves the
    sink usable.
    """

    def __init__(
        self,
        target_dir: str | os.PathLike[str] | None,
        zip_name: str,
        *,
        stream: BinaryIO | None = None,
        delete_stale: bool = False,
        keep: int | None = None,
        on_bytes: Callable[[int], None] | None = None,
    ) -> None:
        super().__init__(on_bytes=on_bytes)
        if (target_dir is None) == (stream is None):
            raise ValueError("Give either a target directory or a stream.")
        if stream is not None and (delete_stale or keep is not None):
            raise ValueError("Only an archive in a target directory can delete older ones.")
        if keep is not None and keep < 1:
            raise ValueError(f"keep must be at least 1 (the new archive), got {keep}.")
        #: How many of this tool's archives to keep in the target, the new one included.
        self.keep = keep if keep is not None else (1 if delete_stale else None)
        if len(validate_relpath(f"{zip_name}.zip")) != 1:
            raise ValueError(f"The zip name {zip_name!r} must not contain a slash.")
        self.zip_name = zip_name
        self.delete_stale = delete_stale
        self.target_dir = None if target_dir is None else Path(target_dir)
        #: The archive's final path; None when streaming.
        self.path = None if self.target_dir is None else self.target_dir / f"{zip_name}.zip"
        self.temp_path: Path | None = None
        self._raw: BinaryIO | None = None
        self._output: ArchiveOutput | None = None
        self._infos: SpooledInfos | None = None
        self._zip: zipfile.ZipFile | None = None
        self.summary.location = self.path
        try:
            self._open(stream)
        except BaseException:
            self.abort()
            raise

    # Hooks.

    def create_json_file(self, relpath: str, parts: tuple[str, ...]) -> tuple[BinaryIO, None]:
        """An anonymous spool file: the entry is added to the archive when it is closed."""
        spool = tempfile.TemporaryFile(dir=self.target_dir)  # noqa: SIM115 - closed by the entry
        return spool, None

    def end_json(self, entry: JsonEntry) -> bool:
        """Add the spooled JSON as a deflated entry."""
        entry.file.flush()
        entry.file.seek(0)
        info = self._info(entry.relpath, time.time(), 0o644, zipfile.ZIP_DEFLATED)
        info.file_size = entry.bytes_written
        self._write_entry(info, entry.file, report=False)
        entry.file.close()
        return True

    def write_file(
        self, relpath: str, parts: tuple[str, ...], source: str, sha256: str | None
    ) -> bool:
        """Add ``source`` as an entry, checked against ``sha256`` before and while it is written."""
        with open(source, "rb", buffering=0) as reader:
            status = os.fstat(reader.fileno())
            if not stat.S_ISREG(status.st_mode):
                raise ValueError(f"{source} is not a regular file.")
            if sha256 is not None:
                # An entry cannot be taken back out of the archive: a file whose bytes are not
                # what the record says is found before any of it is written, so that the run
                # can go on without it. The copy is hashed again on the way.
                actual = self.copier.sha256(reader, like=sha256)
                if actual != sha256:
                    raise SourceChanged(source, sha256, actual)
                reader.seek(0)
            stored = PurePosixPath(parts[-1]).suffix.lower() in STORED_SUFFIXES
            method = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            info = self._info(relpath, status.st_mtime, status.st_mode, method)
            info.file_size = status.st_size
            self._write_entry(info, reader, report=True, sha256=sha256, source=source)
        return True

    def keep_file(self, relpath: str, parts: tuple[str, ...], sha256: str | None) -> bool:
        # The archive this one replaces (same name) may hold a good copy: it is carried over,
        # so that a nightly zip under a fixed name does not lose a file whose source broke.
        """Carry over the same-named previous archive's entry ``relpath`` (with ``sha256``, if
        it has it)."""
        if self.path is None or not self.path.is_file():
            return False
        try:
            previous = zipfile.ZipFile(self.path)
        except (OSError, zipfile.BadZipFile):
            return False
        with previous:
            try:
                old = previous.getinfo(relpath)
                if sha256 is not None:
                    with previous.open(old) as member:
                        if self.copier.sha256(member, like=sha256) != sha256.lower():
                            return False
            except (KeyError, OSError, zipfile.BadZipFile, zlib.error, EOFError):
                return False
            # Checked whole just now: a failure from here on is the new archive's, and stops
            # the run as any failed entry does.
            with previous.open(old) as member:
                info = self._info(relpath, 0, old.external_attr >> 16, old.compress_type)
                info.date_time = old.date_time
                info.file_size = old.file_size
                self._write_entry(info, member, report=True)
        return True

    @property
    def output_name(self) -> str:
        """What error messages call the archive: its file name, or standard output."""
        return "standard output" if self.path is None else self.path.name

    def finish(self) -> None:
        """Write the central directory; then rename the archive into place and apply the
        retention."""
        assert self._zip is not None and self._infos is not None and self._output is not None
        try:
            self._zip.close()
        except OSError as error:
            # The central directory: what failed to write is the archive.
            raise SinkWriteError(self.output_name, error) from error
        self._infos.close()
        if self._raw is None:
            self._output.flush()
            return
        assert self.temp_path is not None and self.path is not None
        self._raw.flush()
        os.fsync(self._raw.fileno())
        self._raw.close()
        os.replace(self.temp_path, self.path)
        fsync_directory(self.path.parent)
        self._sweep()

    def discard(self) -> None:
        """Drop the archive: nothing more reaches the output, the temporary file is removed."""
        if self._output is not None:
            # Whatever zipfile still writes (the end of an entry, the central directory) must
            # not reach the output.
            self._output.discarding = True
        if self._infos is not None:
            self._infos.clear()
        if self._zip is not None:
            with contextlib.suppress(Exception):
                self._zip.close()
        if self._infos is not None:
            self._infos.close()
        if self._raw is not None:
            with contextlib.suppress(OSError):
                self._raw.close()
        for temp in self.in_flight:
            remove_quietly(temp)

    # Internals.

    def _open(self, stream: BinaryIO | None) -> None:
        if stream is not None:
            self._output = ArchiveOutput(stream, seekable=False)
        else:
            assert self.target_dir is not None and self.path is not None
            self.target_lock.acquire(self.target_dir)
            self._remove_leftovers()
            self.owned = OwnedNames(self.target_dir, self.ledger.db, self.summary)
            self.temp_path, fd = create_temp(self.path, register=self.in_flight.add)
            try:
                # Keep the mode of the archive we replace; best effort.
                with contextlib.suppress(OSError):
                    os.fchmod(fd, stat.S_IMODE(os.stat(self.path).st_mode))
                self._raw = open(fd, "wb")  # noqa: SIM115 - closed by finish() or discard()
            except BaseException:
                os.close(fd)
                raise
            self._output = ArchiveOutput(self._raw, seekable=True)
        self._infos = SpooledInfos(self.target_dir)
        self._zip = zipfile.ZipFile(self._output, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
        # zipfile keeps a ZipInfo per entry in these for the central directory and a
        # duplicate warning: on disk and nothing instead (the ledger refuses duplicates).
        self._zip.filelist = self._infos  # type: ignore[assignment]
        self._zip.NameToInfo = NoNames()

    def _info(self, relpath: str, mtime: float, mode: int, method: int) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(relpath, date_time=zip_date_time(mtime))
        info.compress_type = method
        info.external_attr = (stat.S_IFREG | (stat.S_IMODE(mode) & 0o777)) << 16
        return info

    def _write_entry(
        self,
        info: zipfile.ZipInfo,
        reader: BinaryIO,
        *,
        report: bool,
        sha256: str | None = None,
        source: str | None = None,
    ) -> None:
        """Add ``reader`` as the entry ``info``; with ``sha256``, the bytes of ``source`` that
        ``reader`` reads must have it."""
        assert self._zip is not None
        try:
            with self._zip.open(info, "w", force_zip64=True) as writer:
                self.copier.copy(reader, writer.write, report=report, sha256=sha256, path=source)
        except BaseException as error:
            # The archive holds part of an entry now, and nothing can make it whole.
            self.abort()
            if isinstance(error, OSError) and error.errno != errno.ENOENT:
                # What failed to write is the archive, not the entry's own file.
                name = f"{self.output_name} (entry {info.filename})"
                raise SinkWriteError(name, error) from error
            raise

    def _remove_leftovers(self) -> None:
        """Remove the temporary archives of killed runs: only at the top, where they are."""
        assert self.target_dir is not None
        with os.scandir(self.target_dir) as entries:
            names = [
                entry.name
                for entry in entries
                if _LEFTOVER.fullmatch(entry.name) and not entry.is_dir(follow_symlinks=False)
            ]
        for name in names:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.target_dir / name)
                self.summary.temps_removed += 1

    def _sweep(self) -> None:
        """Apply the retention of this tool's archives; write the target's new file list."""
        assert self.target_dir is not None and self.path is not None
        ours: list[tuple[int, str]] = []
        for name in self.owned.previous_names():
            if name == self.path.name:
                continue
            try:
                status = os.lstat(self.target_dir / name)
            except (FileNotFoundError, NotADirectoryError):
                continue  # gone: no longer listed
            is_zip = "/" not in name and name.endswith(".zip") and stat.S_ISREG(status.st_mode)
            ours.append((status.st_mtime_ns if is_zip else -1, name))
        zips = sorted((entry for entry in ours if entry[0] >= 0), reverse=True)
        removed: set[str] = set()
        if self.keep is not None:
            for _, name in zips[self.keep - 1 :]:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.target_dir / name)
                    self.summary.files_deleted += 1
                    self.summary.list_name(self.summary.removed_names, name)
                removed.add(name)
            fsync_directory(self.target_dir)
            self._note_foreign({name for _, name in ours})
        kept = [name for _, name in sorted(ours, key=lambda e: e[1]) if name not in removed]
        write_file_list(self.target_dir, [*kept, self.path.name], register=self.in_flight.add)

    def _note_foreign(self, ours: set[str]) -> None:
        """Count what at the top of the target is not this tool's: it stays, reported."""
        assert self.target_dir is not None and self.path is not None
        with os.scandir(self.target_dir) as entries:
            names = [entry.name for entry in entries]
        for name in sorted(names):
            mine = name in ours or name == self.path.name
            if not (mine or is_tool_file(name) or is_temp_name(name)):
                self.owned.note_foreign(name)


# Temporary archives are ".<zip name>.zip.<hex>.tmp" (exporter.sinks.files.create_temp).
_LEFTOVER = re.compile(r"\..+\.zip\.[0-9a-f]+\.tmp", re.DOTALL)
