"""An export in object storage (``s3://bucket/prefix``) to read back: its committed generation.

The source reads ``COMMIT.json`` once, when it opens, and streams the newest generation's record
(checked against the sha256 and size the commit object gives) into a temporary SQLite file, so
that memory stays flat whatever the export's size. Every file is then read by the name the
record gives it, from the object the record names, as a stream whose bytes are checked against
the record's sha256 and size at its end. An export committed while the source is open is not
seen: what is read is one generation, whole. The layout is :mod:`exporter.sinks.s3_commit`'s.
A generation whose one file is a zip (written with ``-z``) is read as a zip export
(:class:`S3ZipSource`), its members through ranged reads.
"""

from __future__ import annotations

import errno
import hashlib
import io
import sqlite3
import zipfile
from collections.abc import Iterator
from typing import Any, BinaryIO

from exporter.errors import ExportError
from exporter.format import MANIFEST
from exporter.readback.source import ExportSource, ZipSource
from exporter.sinks.s3_client import S3Location, make_client, translated
from exporter.sinks.s3_commit import COMMIT_NAME, create_record_table, load_record, read_commit

__all__ = ["S3Source", "S3ZipSource", "open_s3_export"]


class S3Source(ExportSource):
    """The committed export at ``location``; ValueError if there is none."""

    def __init__(self, location: str | S3Location, client: Any = None) -> None:
        self.where = location if isinstance(location, S3Location) else S3Location.parse(location)
        self.location = self.where.url
        self.client = client if client is not None else make_client()
        self.db = sqlite3.connect("", isolation_level=None)
        try:
            committed = read_commit(self.client, self.where)
            if committed is None:
                raise ValueError(
                    f"{self.location} holds no export: there is no {COMMIT_NAME} (export into "
                    "it with document_exporter first, or check the prefix)."
                )
            #: The generation read: the newest committed one.
            self.generation = committed.current
            create_record_table(self.db, "files")
            load_record(self.client, self.where, self.generation, self.db, "files")
        except BaseException:
            self.db.close()
            raise

    def open(self, relpath: str) -> BinaryIO:
        """Stream the object holding ``relpath``, checked against the record at its end;
        FileNotFoundError if the record or the bucket has no such file."""
        self.check(relpath)
        row = self._row(relpath)
        if row is None:
            raise FileNotFoundError(errno.ENOENT, "not in the export", relpath)
        key, sha256, size = row
        from botocore.exceptions import ClientError

        with translated(self.where, f"reading {relpath}"):
            try:
                answer = self.client.get_object(Bucket=self.where.bucket, Key=self.where.key(key))
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                    raise FileNotFoundError(
                        errno.ENOENT, f"its object {key} is missing from the bucket", relpath
                    ) from None
                raise
        reader = _CheckedObject(answer["Body"], relpath, sha256, size)
        return io.BufferedReader(reader, buffer_size=1 << 20)  # type: ignore[return-value]

    def exists(self, relpath: str) -> bool:
        """Whether the record names ``relpath`` and the bucket holds its object (whose bytes
        are checked against the record when it is read)."""
        self.check(relpath)
        row = self._row(relpath)
        if row is None:
            return False
        key = row[0]
        from botocore.exceptions import ClientError

        with translated(self.where, f"looking for {relpath}"):
            try:
                self.client.head_object(Bucket=self.where.bucket, Key=self.where.key(key))
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                    return False
                raise
        return True

    def iter_files(self) -> Iterator[str]:
        """Every file the record names, by name."""
        for (relpath,) in self.db.execute("SELECT relpath FROM files ORDER BY relpath"):
            yield relpath

    def close(self) -> None:
        """Drop the temporary copy of the record."""
        self.db.close()

    def only_zip(self) -> str | None:
        """The name of the generation's one file if it is a zip and there is no manifest (an
        export written with ``-z``); else None."""
        rows = self.db.execute("SELECT relpath FROM files LIMIT 2").fetchall()
        if len(rows) == 1 and rows[0][0].endswith(".zip") and rows[0][0] != MANIFEST:
            return rows[0][0]
        return None

    def size(self, relpath: str) -> int | None:
        """The object's size, from the generation's record."""
        found = self._row(relpath)
        return None if found is None else found[2]

    def row(self, relpath: str) -> tuple[str, str, int]:
        """The key, sha256 and size of ``relpath``'s object; KeyError if there is none."""
        found = self._row(relpath)
        if found is None:
            raise KeyError(relpath)
        return found

    def _row(self, relpath: str) -> tuple[str, str, int] | None:
        return self.db.execute(
            "SELECT key, sha256, size FROM files WHERE relpath = ?", (relpath,)
        ).fetchone()


class _CheckedObject(io.RawIOBase):
    """An object's body as a raw binary stream; at its end, OSError (EIO) unless its bytes
    have the record's sha256 and size."""

    def __init__(self, body: Any, relpath: str, sha256: str, size: int) -> None:
        self.body = body
        self.relpath = relpath
        self.expected = (sha256, size)
        self.digest = hashlib.sha256()
        self.size = 0
        self.checked = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        from botocore.exceptions import BotoCoreError

        try:
            data = self.body.read(len(buffer))
        except (BotoCoreError, OSError) as exc:
            raise OSError(errno.EIO, f"reading its object failed ({exc})", self.relpath) from None
        if not data:
            self._check()
            return 0
        self.digest.update(data)
        self.size += len(data)
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        try:
            self.body.close()
        finally:
            super().close()

    def _check(self) -> None:
        if self.checked:
            return
        self.checked = True
        if (self.digest.hexdigest(), self.size) != self.expected:
            raise OSError(
                errno.EIO,
                f"its object's bytes (sha256 {self.digest.hexdigest()}, {self.size} bytes) are "
                f"not those the export's record gives ({self.expected[0]}, {self.expected[1]})",
                self.relpath,
            )


def open_s3_export(url: str) -> S3Source:
    """The committed export at ``url``; ValueError for a bad location or no export, and for a
    failure to reach or read the object store (an ObjectStoreError), so that the commands say
    they cannot read SOURCE."""
    try:
        source = S3Source(url)
    except ExportError as exc:
        raise ValueError(str(exc)) from None
    archive = source.only_zip()
    if archive is None:
        return source
    try:
        return S3ZipSource(source, archive)
    except BaseException:
        source.close()
        raise


class _RangedObject(io.RawIOBase):
    """An object of ``size`` bytes as a seekable raw stream, read with ranged GETs."""

    def __init__(self, source: S3Source, key: str, size: int, relpath: str) -> None:
        self.source = source
        self.key = key
        self.size = size
        self.relpath = relpath
        self.position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def readinto(self, buffer: Any) -> int:
        if self.position >= self.size or not len(buffer):
            return 0
        last = min(self.position + len(buffer), self.size) - 1
        where = self.source.where
        with translated(where, f"reading {self.relpath}"):
            body = self.source.client.get_object(
                Bucket=where.bucket, Key=where.key(self.key), Range=f"bytes={self.position}-{last}"
            )["Body"]
            data = body.read()
        buffer[: len(data)] = data
        self.position += len(data)
        return len(data)


class S3ZipSource(ZipSource):
    """A generation that holds one zip (``document_exporter s3://... -z``), read as a zip
    export: its members through ranged reads of the object."""

    def __init__(self, source: S3Source, relpath: str) -> None:
        #: The generation's source, closed with this one.
        self.s3 = source
        key, _sha256, size = source.row(relpath)
        raw = _RangedObject(source, key, size, relpath)
        self.zip = zipfile.ZipFile(io.BufferedReader(raw, buffer_size=1 << 20))
        self.location = f"{source.location} ({relpath})"

    def close(self) -> None:
        """Close the zip and the generation's source."""
        try:
            super().close()
        finally:
            self.s3.close()
