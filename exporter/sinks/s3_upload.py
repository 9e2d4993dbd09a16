"""
One object being uploaded as it is written, in bounded memory.

:class:`ObjectUpload` is a write-only binary file: the bytes gather in one buffer of
:data:`PART_SIZE` and go up as the parts of a multipart upload each time it fills; an object
that never fills a part goes up as one ``PutObject`` with its sha256 as the object's checksum.
Nothing is visible under the key until :meth:`ObjectUpload.complete`; :meth:`ObjectUpload.abort`
(and :meth:`~ObjectUpload.close` before completing) drops the upload, and a multipart upload a
killed run left is aborted by the next run (:mod:`exporter.sinks.s3_commit`).
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from exporter.sinks.s3_client import S3Location, translated

__all__ = ["PART_SIZE", "ObjectUpload"]

#: The size of the parts of a multipart upload: S3 takes parts of 5 MiB to 5 GiB, and at most
#: 10,000 of them, so objects up to 80 GiB; the buffer of one object is this big at most.
PART_SIZE = 8 << 20


class ObjectUpload:
    """The object ``key`` (relative to ``location``'s prefix), written as a file."""

    def __init__(
        self,
        client: Any,
        location: S3Location,
        key: str,
        *,
        name: str,
        part_size: int | None = None,
    ) -> None:
        self.client = client
        self.location = location
        #: The object's key, relative to the prefix.
        self.key = key
        #: What the user knows the object as (``manifest.json``), for messages.
        self.name = name
        self.part_size = part_size if part_size is not None else PART_SIZE
        self.upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._buffer = bytearray()
        self._sha256 = hashlib.sha256()
        self._size = 0
        self._done = False
        self._closed = False

    @property
    def size(self) -> int:
        """How many bytes were written."""
        return self._size

    def hexdigest(self) -> str:
        """The sha256 of the bytes written so far."""
        return self._sha256.hexdigest()

    def writable(self) -> bool:
        """Always True."""
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Add ``data``; each part goes up as soon as it is full."""
        if self._closed:
            raise ValueError(f"The upload of {self.name} is closed.")
        self._sha256.update(data)
        self._size += len(data)
        with memoryview(data) as view:
            while view:
                room = self.part_size - len(self._buffer)
                self._buffer += view[:room]
                view = view[room:]
                if len(self._buffer) >= self.part_size:
                    self._send_part()
        return len(data)

    def flush(self) -> None:
        """Nothing to do: bytes go up a part at a time."""

    def complete(self) -> None:
        """Make the object visible under its key with every byte written."""
        if self._closed:
            raise ValueError(f"The upload of {self.name} is closed.")
        full_key = self.location.key(self.key)
        with translated(self.location, f"writing {self.name}"):
            if self.upload_id is None:
                body = self._buffer
                checksum = base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")
                self.client.put_object(
                    Bucket=self.location.bucket,
                    Key=full_key,
                    Body=body,
                    ChecksumAlgorithm="SHA256",
                    ChecksumSHA256=checksum,
                )
            else:
                if self._buffer or not self._parts:
                    self._send_part()
                self.client.complete_multipart_upload(
                    Bucket=self.location.bucket,
                    Key=full_key,
                    UploadId=self.upload_id,
                    MultipartUpload={"Parts": self._parts},
                )
        self._buffer = bytearray()
        self._done = True
        self._closed = True

    def abort(self) -> None:
        """Drop what was uploaded; nothing becomes visible. Best effort: a multipart upload
        that cannot be aborted now is aborted by the next run."""
        if self._closed:
            return
        self._closed = True
        self._buffer = bytearray()
        if self.upload_id is not None:
            try:
                with translated(self.location, f"aborting the upload of {self.name}"):
                    self.client.abort_multipart_upload(
                        Bucket=self.location.bucket,
                        Key=self.location.key(self.key),
                        UploadId=self.upload_id,
                    )
            except Exception:  # noqa: S110 - the next run aborts what is left
                pass

    def close(self) -> None:
        """Abort unless completed: a file closed without :meth:`complete` is dropped."""
        if not self._done:
            self.abort()

    def _send_part(self) -> None:
        """Upload the buffer as the next part, then start a new one: the part is never
        copied, so that an upload holds one part's bytes at most."""
        full_key = self.location.key(self.key)
        with translated(self.location, f"writing {self.name}"):
            if self.upload_id is None:
                created = self.client.create_multipart_upload(
                    Bucket=self.location.bucket, Key=full_key
                )
                self.upload_id = created["UploadId"]
            number = len(self._parts) + 1
            answer = self.client.upload_part(
                Bucket=self.location.bucket,
                Key=full_key,
                UploadId=self.upload_id,
                PartNumber=number,
                Body=self._buffer,
            )
        self._buffer = bytearray()
        self._parts.append({"PartNumber": number, "ETag": answer["ETag"]})
