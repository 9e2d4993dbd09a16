"""An export to read back: a directory or a zip, with every path checked before it is opened.

Names come from the export's own manifests, which an attacker may have written: a name is only
opened after it is proven relative, free of ``..``, and (for a directory) resolved inside the
export without a symlink leading out of it.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from exporter.sinks import validate_relpath

CHUNK = 1 << 20
MANIFEST = "manifest.json"
METADATA = "metadata.json"
SPLIT_SUFFIX = "-manifest.json"


class UnsafePath(ValueError):
    """A name in the export that points outside it."""


class ExportSource:
    """Base class: read files of an export by their relative posix path."""

    location: str

    def open(self, relpath: str) -> BinaryIO:
        raise NotImplementedError

    def exists(self, relpath: str) -> bool:
        raise NotImplementedError

    def iter_files(self) -> Iterator[str]:
        """Every file's relative path, in a stable order."""
        raise NotImplementedError

    def close(self) -> None:
        pass

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

    def sha256(self, relpath: str) -> tuple[str, int]:
        """The file's sha256 and size, read in chunks."""
        digest = hashlib.sha256()
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
    def __init__(self, root: Path) -> None:
        self.root = root
        self.real_root = Path(os.path.realpath(root))
        self.location = str(root)

    def resolve(self, relpath: str) -> Path:
        self.check(relpath)
        path = Path(os.path.realpath(self.root / relpath))
        if path != self.real_root and self.real_root not in path.parents:
            raise UnsafePath(
                f"{relpath!r} in the export leads outside it (to {path}) through a symlink."
            )
        return path

    def open(self, relpath: str) -> BinaryIO:
        return open(self.resolve(relpath), "rb")

    def exists(self, relpath: str) -> bool:
        return self.resolve(relpath).is_file()

    def iter_files(self) -> Iterator[str]:
        for directory, dirs, files in os.walk(self.root):
            dirs.sort()
            for name in sorted(files):
                path = Path(directory) / name
                if name.startswith(".") and name.endswith(".tmp"):
                    continue  # a temporary file of a running or killed export, never data
                yield path.relative_to(self.root).as_posix()


class ZipSource(ExportSource):
    def __init__(self, path: Path) -> None:
        self.zip = zipfile.ZipFile(path)
        self.location = str(path)

    def open(self, relpath: str) -> BinaryIO:
        self.check(relpath)
        return self.zip.open(relpath)

    def exists(self, relpath: str) -> bool:
        self.check(relpath)
        return relpath in self.zip.NameToInfo

    def iter_files(self) -> Iterator[str]:
        for info in self.zip.infolist():
            if not info.is_dir():
                yield info.filename

    def unsafe_members(self) -> list[str]:
        unsafe = []
        for name in self.iter_files():
            try:
                self.check(name)
            except UnsafePath:
                unsafe.append(name)
        return unsafe

    def close(self) -> None:
        self.zip.close()


def open_source(path: Path) -> ExportSource:
    """A directory export, or a zip export given as the .zip file."""
    if path.is_dir():
        return DirectorySource(path)
    if path.is_file() and zipfile.is_zipfile(path):
        return ZipSource(path)
    if path.exists():
        raise ValueError(f"{path} is neither an export directory nor a zip file.")
    raise ValueError(f"{path} does not exist.")
