"""An export to read back: a directory or a zip, with every path checked before it is opened.

Names come from the export's own manifests, which an attacker may have written: a name is only
opened after it is proven relative, free of ``..``, and (for a directory) resolved inside the
export without a symlink leading out of it.

:func:`exporter.readback.opening.open_export` picks and opens one.
"""

from __future__ import annotations

import os
import stat
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from exporter.format import (
    MANIFEST,
    SPLIT_SUFFIX,
    checksum_hasher,
    is_tool_file,
)
from exporter.sinks import validate_relpath
from exporter.sinks.files import plainly_safe
from exporter.sinks.journal import JournalError, roll_forward

if TYPE_CHECKING:
    from exporter.plan import ExportPlan

CHUNK = 1 << 20


class UnsafePath(ValueError):
    """A name in the export that points outside it."""


class ExportBusy(ValueError):
    """A document_exporter is writing into the export directory: it cannot be read now."""


class ExportSource:
    """Base class: read files of an export by their relative posix path."""

    location: str
    #: Warnings about the export found on opening it (an interrupted commit completed).
    notes: tuple[str, ...] = ()
    #: Why the export cannot be read as it is (an interrupted commit left unfinished), or None.
    unfinished: str | None = None

    def open(self, relpath: str) -> BinaryIO:
        """Open a file of the export for reading, in binary; UnsafePath for an unsafe name."""
        raise NotImplementedError

    def exists(self, relpath: str) -> bool:
        """Whether the export holds the file ``relpath``; UnsafePath for an unsafe name."""
        raise NotImplementedError

    def iter_files(self) -> Iterator[str]:
        """Every file's relative path, in a stable order."""
        raise NotImplementedError

    def size(self, relpath: str) -> int | None:
        """The size of the file ``relpath`` in bytes, or None when it cannot be told without
        reading it (or it is not there)."""
        return None

    def close(self) -> None:
        """Release what reading the export holds (an open zip, the export's locks)."""

    def __enter__(self) -> ExportSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def check(self, relpath: str) -> str:
        """Return relpath if it is a safe name inside the export; raise UnsafePath if not."""
        try:
            validate_relpath(relpath)
        except ValueError as exc:
            raise UnsafePath(f"unsafe file name {relpath!r} in the export: {exc}") from None
        return relpath

    def sha256(self, relpath: str, like: str | None = None) -> tuple[str, int]:
        """The file's sha256 (with ``like``, a digest of ``like``'s algorithm: md5 for an md5
        digest) and size, read in chunks."""
        digest = checksum_hasher(like)
        size = 0
        with self.open(relpath) as stream:
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
        return digest.hexdigest(), size

    def manifests(self) -> Iterator[str]:
        """manifest.json first, then every split manifest."""
        if self.exists(MANIFEST):
            yield MANIFEST
        for relpath in self.iter_files():
            if relpath.endswith(SPLIT_SUFFIX) and relpath != MANIFEST:
                yield relpath


class DirectorySource(ExportSource):
    """An export directory; ``locks``, if given, are released by :meth:`close`."""

    def __init__(self, root: Path, locks: ExitStack | None = None) -> None:
        self.root = root
        self.real_root = Path(os.path.realpath(root))
        self._real_root = str(self.real_root)
        self._real_root_prefix = os.path.join(self._real_root, "")
        #: Each folder of the export by relative path ("" the root): its real path.
        self._real_folders: dict[str, str] = {}
        self.location = str(root)
        #: The locks held while reading, released by close().
        self.locks = locks

    def close(self) -> None:
        """Release the locks held while reading."""
        if self.locks is not None:
            self.locks.close()

    def complete_commit(self) -> None:
        """Complete an interrupted commit of the exporter; note why if it cannot be done."""
        try:
            done = roll_forward(self.root)
        except JournalError as exc:
            self.unfinished = str(exc)
            return
        except OSError as exc:
            self.unfinished = (
                f"interrupted commit: a document_exporter writing into {self.root} was stopped "
                f"half-way through its commit, and the commit cannot be completed here "
                f"({exc.strerror or exc}); run document_exporter (or verify_export with write "
                "access) to complete it."
            )
            return
        if done is not None and not done.torn:
            self.notes = (
                f"a document_exporter writing into {self.root} had been stopped half-way through "
                f"its commit: {done.renamed} of its {done.entries} renames were left, and were "
                "completed now.",
            )

    def resolve(self, relpath: str) -> Path:
        """The real path of ``relpath``; UnsafePath if it is unsafe or a symlink leads out.

        The real path of each folder is worked out once (an export has few folders and many
        files, and ``realpath`` costs an ``lstat`` per component); of the file itself only an
        ``lstat`` tells whether it is a link to follow.
        """
        self.check(relpath)
        folder, _, name = relpath.rpartition("/")
        real_folder = self._real_folders.get(folder)
        if real_folder is None:
            real_folder = os.path.realpath(os.path.join(self.root, folder))
            self._real_folders[folder] = real_folder
        real = os.path.join(real_folder, name)
        try:
            if stat.S_ISLNK(os.lstat(real).st_mode):
                real = os.path.realpath(real)
        except OSError:
            pass  # not there (the caller's exists() or open() says so)
        if real != self._real_root and not real.startswith(self._real_root_prefix):
            raise UnsafePath(
                f"{relpath!r} in the export leads outside it (to {real}) through a symlink."
            )
        return Path(real)

    def open(self, relpath: str) -> BinaryIO:
        """Open the file at ``relpath`` after :meth:`resolve` proves it inside the export."""
        return open(self.resolve(relpath), "rb")

    def exists(self, relpath: str) -> bool:
        """Whether ``relpath`` is a file inside the export."""
        return self.resolve(relpath).is_file()

    def size(self, relpath: str) -> int | None:
        """The file's size, from one ``stat``."""
        try:
            return os.stat(self.resolve(relpath)).st_size
        except OSError:
            return None

    def iter_files(self) -> Iterator[str]:
        """Every file of the export in sorted order, but temporary files and the tool's own."""
        for directory, dirs, files in os.walk(self.root):
            dirs.sort()
            for name in sorted(files):
                path = Path(directory) / name
                if name.startswith(".") and name.endswith(".tmp"):
                    continue  # a temporary file of a running or killed export, never data
                relpath = path.relative_to(self.root).as_posix()
                if is_tool_file(relpath):
                    continue  # the exporter's journal, file list or run marker, never data
                yield relpath


class ZipSource(ExportSource):
    """A zip export, read by member name."""

    def __init__(self, path: Path) -> None:
        self.zip = zipfile.ZipFile(path)
        self.location = str(path)

    def open(self, relpath: str) -> BinaryIO:
        """Open the member ``relpath`` once its name is proven safe."""
        self.check(relpath)
        return self.zip.open(relpath)

    def exists(self, relpath: str) -> bool:
        """Whether the zip has a member named ``relpath``."""
        self.check(relpath)
        return relpath in self.zip.NameToInfo

    def size(self, relpath: str) -> int | None:
        """The member's uncompressed size, from the zip's directory."""
        info = self.zip.NameToInfo.get(relpath)
        return None if info is None else info.file_size

    def iter_files(self) -> Iterator[str]:
        """Every file member in the zip's order, but the tool's own files."""
        for info in self.zip.infolist():
            if not info.is_dir() and not is_tool_file(info.filename):
                yield info.filename

    def unsafe_members(self) -> list[str]:
        """The names of the zip's members that are not safe names inside the export."""
        unsafe = []
        for name in self.iter_files():
            try:
                self.check(name)
            except UnsafePath:
                unsafe.append(name)
        return unsafe

    def close(self) -> None:
        """Close the zip file."""
        self.zip.close()


class MediaPaths:
    """
    The safety checks of a document record's file names, shared by document_importer (which
    refuses the export) and verify_export (which reports each as a problem).

    A name the record gives must be a safe relative name inside the export: not absolute, no
    ``..``, no backslash, and (for a directory) no symlink leading out of it; for a zip the
    member name itself is all there is. And the files an import of the record would write must
    land inside the media directory (``plan.media_root``), whatever its fields say.
    """

    def __init__(self, source: ExportSource, plan: ExportPlan) -> None:
        self.source = source
        self.plan = plan
        media = plan.media_root
        self.media_root = Path(os.path.realpath(media)) if media is not None else None
        #: Model label -> its section's ``file_destinations``, built on first use.
        self._attached: dict[str, Any] | None = None

    def name_problem(self, name: Any, *, follow_links: bool = True) -> str | None:
        """Why ``name`` cannot be read from the export, or None if it is safe.

        ``follow_links=False`` checks the name only, not where symlinks lead: for a name the
        export does not hold (``--data-only``), which nothing will open.
        """
        if not follow_links and plainly_safe(name):
            return None
        try:
            self.source.check(name)
            if follow_links and isinstance(self.source, DirectorySource):
                self.source.resolve(name)
        except UnsafePath as exc:
            return str(exc)
        return None

    def destinations(self, record: dict[str, Any]) -> tuple[Path | None, ...]:
        """Where an import writes the record's original, thumbnail and archived version."""
        files = self.plan.document_files
        if files is None or files.destinations is None:
            return ()
        return tuple(files.destinations(record["pk"], record["fields"]))

    def attached_destinations(self, record: dict[str, Any]) -> dict[str, Path]:
        """Where an import writes the files a record of another section carries (a share link
        bundle's zip), by record key: its section's ``file_destinations``; {} if none."""
        destinations = self._attached_sections().get(record.get("model"))
        if destinations is None:
            return {}
        return dict(destinations(record["pk"], record["fields"]))

    def carries_attached_files(self, record: dict[str, Any]) -> bool:
        """Whether ``record`` is of a section whose files an import copies back."""
        return record.get("model") in self._attached_sections()

    def _attached_sections(self) -> dict[str, Any]:
        if self._attached is None:
            self._attached = {
                section.queryset().model._meta.label_lower: section.file_destinations
                for section in self.plan.sections
                if section.file_destinations is not None
            }
        return self._attached

    def destination_problems(self, record: dict[str, Any], *, attached: bool = False) -> list[str]:
        """Why the files of ``record`` cannot be imported where its fields say; [] if they can.
        ``attached``: the record is not a document, and carries files of its section."""
        if self.media_root is None:
            return []
        try:
            if attached:
                destinations = tuple(self.attached_destinations(record).values())
            else:
                destinations = self.destinations(record)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            return [
                f"cannot tell where its files would be imported to ({type(exc).__name__}: {exc})."
            ]
        problems = []
        for destination in destinations:
            if destination is None:
                continue
            real = Path(os.path.realpath(destination))
            if self.media_root not in real.parents:
                problems.append(
                    f"its file would be written to {destination}, outside the media directory "
                    f"{self.media_root}."
                )
        return problems
