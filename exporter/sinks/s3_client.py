"""
Where an export in object storage is, how to reach it, and what its failures mean.

An S3 location is written ``s3://bucket/prefix``. The client is boto3's, configured only from
the standard AWS environment and files (``AWS_ENDPOINT_URL`` for MinIO, Backblaze B2, Wasabi,
Ceph or R2; ``AWS_REGION``; credentials from ``AWS_ACCESS_KEY_ID`` and the rest, a profile or an
instance role; retries from ``AWS_RETRY_MODE`` and ``AWS_MAX_ATTEMPTS``): nothing of our own.

Every call to the server goes through :func:`translated`, which turns what botocore raises into
an :class:`ObjectStoreError` whose message says what is wrong and what to do, and whose
:attr:`~ObjectStoreError.kind` tells the kinds apart (bad credentials, a missing bucket, a
denied request, an unreachable server, throttling).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from exporter.errors import ExportError, UsageError

__all__ = [
    "S3_SCHEME",
    "ObjectStoreError",
    "S3Location",
    "is_s3_url",
    "make_client",
    "translated",
]

S3_SCHEME = "s3://"

# S3's own rule for bucket names (3 to 63 lower-case letters, digits, dots and hyphens).
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def is_s3_url(value: object) -> bool:
    """Whether ``value`` (a command's TARGET or SOURCE) names an S3 location."""
    return isinstance(value, str) and value.startswith(S3_SCHEME)


@dataclass(frozen=True)
class S3Location:
    """A bucket and a key prefix: where one export lives (its commit object and generations)."""

    bucket: str
    #: The key prefix, empty or ending with ``/``.
    prefix: str

    @classmethod
    def parse(cls, url: str) -> S3Location:
        """The location of ``s3://bucket/prefix``; UsageError for anything else."""
        if not is_s3_url(url):
            raise UsageError(f"{url!r} is not an s3://bucket/prefix location.")
        bucket, _, prefix = url[len(S3_SCHEME) :].partition("/")
        if not _BUCKET.match(bucket):
            raise UsageError(
                f"{url!r} does not start with a bucket name (3 to 63 lower-case letters, digits, "
                "dots or hyphens): write s3://bucket/prefix."
            )
        parts = [part for part in prefix.split("/") if part]
        if any(part in (".", "..") for part in parts) or "\\" in prefix or "\x00" in prefix:
            raise UsageError(
                f"{url!r} has a '.' or '..' component, a backslash or a NUL byte in its prefix."
            )
        return cls(bucket, "".join(f"{part}/" for part in parts))

    @property
    def url(self) -> str:
        """``s3://bucket/prefix`` as the user reads it."""
        return f"{S3_SCHEME}{self.bucket}/{self.prefix}".rstrip("/")

    def key(self, name: str) -> str:
        """The object key of ``name`` (relative to the prefix)."""
        return self.prefix + name


def make_client() -> Any:
    """A boto3 S3 client configured from the standard AWS environment and files only.

    One client per process and set of ``AWS_*`` variables: a client loads botocore's service
    model (some 10 MB of JSON) when it is made, and is safe to share between threads.
    """
    try:
        import boto3
    except ImportError:
        raise UsageError(
            "Exporting to s3:// needs boto3: pip install 'streaming-document-exporter[s3]'."
        ) from None
    key = tuple(sorted((name, value) for name, value in os.environ.items() if name[:4] == "AWS_"))
    client = _CLIENTS.get(key)
    if client is None:
        client = _CLIENTS[key] = boto3.session.Session().client("s3")
    return client


_CLIENTS: dict[tuple[tuple[str, str], ...], Any] = {}


class ObjectStoreError(ExportError):
    """A request to the object store failed; the message says what is wrong and what to do."""

    def __init__(self, message: str, kind: str = "failed") -> None:
        super().__init__(message)
        #: ``credentials``, ``no_bucket``, ``denied``, ``unreachable``, ``throttled``,
        #: ``not_found`` or ``failed``.
        self.kind = kind


_CREDENTIALS = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken"}
_THROTTLED = {"SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded", "503"}


@contextmanager
def translated(location: S3Location, doing: str) -> Iterator[None]:
    """Raise what botocore raises in the block as an :class:`ObjectStoreError` saying that it
    happened while ``doing`` (``writing manifest.json``) at ``location``."""
    from botocore import exceptions as boto

    where = location.url
    try:
        yield
    except boto.NoCredentialsError:
        raise ObjectStoreError(
            f"No AWS credentials were found for {where}: set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) in the environment or ~/.aws/credentials.",
            "credentials",
        ) from None
    except boto.ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in _CREDENTIALS:
            raise ObjectStoreError(
                f"The object store refused the credentials for {where} ({code}) while {doing}: "
                "check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_PROFILE.",
                "credentials",
            ) from None
        if code == "NoSuchBucket":
            raise ObjectStoreError(
                f"The bucket {location.bucket} does not exist at the object store's endpoint: "
                "create it first, or check the bucket name and AWS_ENDPOINT_URL.",
                "no_bucket",
            ) from None
        if code in ("AccessDenied", "AllAccessDisabled") or status == 403:
            raise ObjectStoreError(
                f"Access denied to {where} while {doing}: the credentials need s3:GetObject, "
                "s3:PutObject, s3:DeleteObject, s3:ListBucket and s3:AbortMultipartUpload on "
                "the bucket and prefix.",
                "denied",
            ) from None
        if code in _THROTTLED or status == 503:
            raise ObjectStoreError(
                f"The object store kept throttling requests to {where} while {doing}, after "
                "botocore's retries: try again later, or raise AWS_MAX_ATTEMPTS (with "
                "AWS_RETRY_MODE=adaptive).",
                "throttled",
            ) from None
        if code in ("NoSuchKey", "404"):
            raise ObjectStoreError(
                f"An object of {where} is missing ({code}) while {doing}.", "not_found"
            ) from None
        message = error.get("Message") or code
        raise ObjectStoreError(
            f"The object store failed while {doing} at {where}: {message} ({code})."
        ) from None
    except (boto.EndpointConnectionError, boto.ConnectionClosedError) as exc:
        raise ObjectStoreError(
            f"Cannot reach the object store of {where} while {doing} ({exc}): check that the "
            "server runs and AWS_ENDPOINT_URL names it.",
            "unreachable",
        ) from None
    except (boto.ConnectTimeoutError, boto.ReadTimeoutError, boto.HTTPClientError) as exc:
        raise ObjectStoreError(
            f"The connection to the object store of {where} failed while {doing} ({exc}).",
            "unreachable",
        ) from None
    except boto.BotoCoreError as exc:
        raise ObjectStoreError(f"The object store client failed while {doing}: {exc}.") from None
