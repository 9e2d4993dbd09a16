"""
An export straight into object storage (``s3://bucket/prefix``), incremental and committed at
one moment: see :class:`S3Sink`, and :mod:`exporter.sinks.s3_commit` for the layout.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

from exporter.format import MANIFEST, METADATA, checksum_hasher
from exporter.sinks.base import ExportSink, JsonEntry
from exporter.sinks.s3_cleanup import remove_generation, remove_generations, remove_orphans
from exporter.sinks.s3_client import S3Location, make_client, translated
from exporter.sinks.s3_commit import (
    Committed,
    Generation,
    begun_key,
    create_record_table,
    file_key,
    load_record,
    new_generation_id,
    read_commit,
    record_key,
    record_lines,
    write_commit,
)
from exporter.sinks.s3_lock import RemoteLock
from exporter.sinks.s3_upload import ObjectUpload

__all__ = ["S3Sink"]

_SHA256_HEX_DIGITS = 64
# "generations/" is 12 characters and every generation id 25: the id of a key is fixed in place.
_ID_START, _ID_LENGTH = 13, 25


class _Previous(NamedTuple):
    key: str
    sha256: str
    size: int
    mtime_ns: int | None


class S3Sink(ExportSink):
    """
    Write the export into the object store at ``location`` (``s3://bucket/prefix``).

    Opening the sink takes ``LOCK.json`` (waiting up to ``lock_timeout`` seconds for another
    run to let it go), reads the committed export's record (its files'
    sha256, size and source mtime), aborts the multipart uploads and removes the objects that
    killed runs left, and writes the new generation's ``begun.json``. Then every JSON file is
    uploaded as it is streamed, in parts of bounded size, and every document file with its
    sha256 computed on the way, each under the new generation's ``files/``; nothing the
    committed export holds changes. A file is not uploaded again when the committed export
    holds it with the same size and source modification time (with ``compare_checksums``:
    the same size and sha256): the new record names the earlier generation's object. With
    ``compare`` a JSON file of the same bytes is named the same way.

    :meth:`commit` uploads the new record, then writes ``COMMIT.json``: the new export is
    visible from that one request on. Then the generations beyond the newest ``keep`` (one
    with ``delete_stale``; all are kept by default) are removed, but for the objects that a
    kept generation names. Any failure before ``COMMIT.json`` is written leaves the committed
    export as it was; what the run uploaded is removed now if the server answers, else by the
    next run.
    """

    def __init__(
        self,
        location: str | S3Location,
        *,
        compare_checksums: bool = False,
        delete_stale: bool = False,
        keep: int | None = None,
        lock_timeout: float = 0,
        on_bytes: Callable[[int], None] | None = None,
        client: Any = None,
    ) -> None:
        super().__init__(on_bytes=on_bytes)
        self.location = location if isinstance(location, S3Location) else S3Location.parse(location)
        self.client = client if client is not None else make_client()
        self.compare_checksums = compare_checksums
        #: How many generations to keep, the new one included; None keeps them all.
        self.keep = 1 if delete_stale and keep is None else keep
        self.generation = new_generation_id()
        self.summary.location = self.location.url  # type: ignore[assignment]
        db = self.ledger.db
        create_record_table(db, "previous")
        create_record_table(db, "objects")
        #: Uploads open now: aborted by :meth:`discard`.
        self._uploads: set[ObjectUpload] = set()
        self._committed = False
        #: Whether the request writing COMMIT.json was sent (whatever its answer).
        self._commit_sent = False
        self.lock = RemoteLock(self.client, self.location, self.generation)
        try:
            self.lock.acquire(lock_timeout)
            #: The committed export before this run, or None.
            self.previous: Committed | None = read_commit(self.client, self.location)
            if self.previous is not None:
                load_record(self.client, self.location, self.previous.current, db, "previous")
            live = self.previous.live() if self.previous is not None else set()
            self.summary.temps_removed += remove_orphans(self.client, self.location, live)
            with translated(self.location, "starting the new generation"):
                self.client.put_object(
                    Bucket=self.location.bucket,
                    Key=self.location.key(begun_key(self.generation)),
                    Body=b'{"tool": "document_exporter"}\n',
                )
        except BaseException:
            self.lock.release()
            self.ledger.close()
            raise

    # Hooks.

    def create_json_file(
        self, relpath: str, parts: tuple[str, ...]
    ) -> tuple[BinaryIO, Path | None]:
        """An upload under the new generation, sent a part at a time as it is written."""
        upload = self._upload(relpath)
        return upload, None  # type: ignore[return-value]

    def end_json(self, entry: JsonEntry) -> bool:
        """Complete the upload; with compare, drop it if the committed export has the bytes."""
        upload: ObjectUpload = entry.file  # type: ignore[assignment]
        previous = self._previous(entry.relpath)
        digest = entry.hexdigest()
        if (
            entry.compare
            and previous is not None
            and (previous.size, previous.sha256) == (entry.bytes_written, digest)
        ):
            self._drop(upload)
            self._record(entry.relpath, previous.key, digest, previous.size, None)
            return False
        upload.complete()
        self._uploads.discard(upload)
        self._record(entry.relpath, upload.key, digest, entry.bytes_written, None)
        return True

    def discard_json(self, entry: JsonEntry) -> None:
        """Abort the entry's upload."""
        self._drop(entry.file)  # type: ignore[arg-type]

    def write_file(
        self, relpath: str, parts: tuple[str, ...], source: str, sha256: str | None
    ) -> bool:
        """Upload ``source`` unless the committed export holds it unchanged."""
        with open(source, "rb", buffering=0) as reader:
            status = os.fstat(reader.fileno())
            if not stat.S_ISREG(status.st_mode):
                raise ValueError(f"{source} is not a regular file.")
            previous = self._previous(relpath)
            if previous is not None and self._unchanged(previous, reader, status, sha256):
                self._record(
                    relpath, previous.key, previous.sha256, previous.size, status.st_mtime_ns
                )
                return False
            upload = self._upload(relpath)
            try:
                self.copier.copy(reader, upload.write, sha256=sha256, path=source)
                upload.complete()
            finally:
                self._drop(upload)
        self._record(relpath, upload.key, upload.hexdigest(), upload.size, status.st_mtime_ns)
        return True

    def keep_file(self, relpath: str, parts: tuple[str, ...], sha256: str | None) -> bool:
        """Whether the committed export holds ``relpath`` (with ``sha256``, if given)."""
        previous = self._previous(relpath)
        if previous is None:
            return False
        if sha256 is not None and self._digest_of(previous, sha256) != sha256.lower():
            return False
        self._record(relpath, previous.key, previous.sha256, previous.size, previous.mtime_ns)
        return True

    def finish(self) -> None:
        """Upload the record, write ``COMMIT.json`` (the moment the export is visible), then
        remove the generations beyond ``keep``."""
        db = self.ledger.db
        record = ObjectUpload(
            self.client, self.location, record_key(self.generation), name="the export's record"
        )
        self._uploads.add(record)
        rows = db.execute(
            "SELECT relpath, key, sha256, size, mtime_ns FROM objects ORDER BY relpath"
        )
        for line in record_lines(rows):
            record.write(line)
        record.complete()
        self._uploads.discard(record)
        (count,) = db.execute("SELECT count(*) FROM objects").fetchone()
        holds = {
            generation
            for (generation,) in db.execute(
                "SELECT DISTINCT substr(key, ?, ?) FROM objects", (_ID_START, _ID_LENGTH)
            )
        }
        holds.discard(self.generation)
        entries = {
            relpath: {"key": key, "sha256": sha256, "size": size}
            for relpath, key, sha256, size in db.execute(
                "SELECT relpath, key, sha256, size FROM objects WHERE relpath IN (?, ?)",
                (MANIFEST, METADATA),
            )
        }
        new = Generation(
            id=self.generation,
            record_key=record.key,
            record_sha256=record.hexdigest(),
            record_size=record.size,
            objects=count,
            holds=tuple(sorted(holds)),
            entries=entries,
        )
        generations = [new, *(self.previous.generations if self.previous is not None else ())]
        kept = generations if self.keep is None else generations[: self.keep]
        # Every generation that held objects of the export before and is not kept now: those
        # dropped, and earlier ones whose objects only the dropped ones named.
        before = self.previous.live() if self.previous is not None else set()
        swept = sorted(before - {generation.id for generation in kept})
        # From here a failure may come after the server wrote COMMIT.json (an answer lost on
        # the way back): the generation's objects must stay, for the next run to sort out.
        self._commit_sent = True
        write_commit(self.client, self.location, kept)
        self._committed = True
        if swept:
            self.summary.files_deleted += self._remove_dropped(kept, swept)
        self.lock.release()

    def discard(self) -> None:
        """Abort the open uploads and remove what this run uploaded, unless it sent its commit
        object (which the server may have written even if its answer never came)."""
        try:
            for upload in list(self._uploads):
                self._drop(upload)
            if not self._commit_sent:
                with contextlib.suppress(Exception):
                    self._remove_own()
        finally:
            self.lock.release()

    # Internals.

    def _upload(self, relpath: str) -> ObjectUpload:
        upload = ObjectUpload(
            self.client, self.location, file_key(self.generation, relpath), name=relpath
        )
        self._uploads.add(upload)
        return upload

    def _drop(self, upload: ObjectUpload) -> None:
        upload.close()
        self._uploads.discard(upload)

    def _record(self, relpath: str, key: str, sha256: str, size: int, mtime_ns: int | None) -> None:
        self.ledger.insert_later(
            "INSERT INTO objects VALUES (?, ?, ?, ?, ?)", (relpath, key, sha256, size, mtime_ns)
        )

    def _previous(self, relpath: str) -> _Previous | None:
        row = self.ledger.db.execute(
            "SELECT key, sha256, size, mtime_ns FROM previous WHERE relpath = ?", (relpath,)
        ).fetchone()
        return _Previous(*row) if row is not None else None

    def _unchanged(
        self, previous: _Previous, reader: BinaryIO, status: os.stat_result, sha256: str | None
    ) -> bool:
        """Whether the committed copy holds the bytes of ``reader``: by size and source mtime,
        or with ``compare_checksums`` by size and sha256 (hashing the source if need be)."""
        if previous.size != status.st_size:
            return False
        if not self.compare_checksums:
            return previous.mtime_ns == status.st_mtime_ns
        if sha256 is None or len(sha256) != _SHA256_HEX_DIGITS:
            sha256 = self.copier.sha256(reader)
            reader.seek(0)
        return sha256 == previous.sha256

    def _digest_of(self, previous: _Previous, like: str) -> str:
        """The digest of the committed copy in ``like``'s algorithm (md5 is read and hashed)."""
        if len(like) == _SHA256_HEX_DIGITS:
            return previous.sha256
        digest = checksum_hasher(like)
        with translated(self.location, f"reading {previous.key}"):
            body = self.client.get_object(
                Bucket=self.location.bucket, Key=self.location.key(previous.key)
            )["Body"]
            for chunk in body.iter_chunks(self.chunk_size):
                digest.update(chunk)
        return digest.hexdigest()

    def _remove_dropped(self, kept: list[Generation], swept: list[str]) -> int:
        """Remove the objects of the ``swept`` generations that no ``kept`` one names."""
        db = self.ledger.db
        db.execute("CREATE TABLE referenced (key TEXT PRIMARY KEY)")
        db.execute("INSERT OR IGNORE INTO referenced SELECT key FROM objects")
        for generation in kept[1:]:
            db.execute("DROP TABLE IF EXISTS other")
            create_record_table(db, "other")
            load_record(self.client, self.location, generation, db, "other")
            db.execute("INSERT OR IGNORE INTO referenced SELECT key FROM other")
        return remove_generations(self.client, self.location, swept, db, "referenced")

    def _remove_own(self) -> None:
        """Remove the objects this run uploaded and its marker (a kill leaves them to the next
        run's :func:`~exporter.sinks.s3_commit.remove_orphans`)."""
        remove_generation(self.client, self.location, self.generation)
