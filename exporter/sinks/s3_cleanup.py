"""
Removing what is not part of an ``s3://`` export: the leftovers of killed runs, and the
generations not kept.

Only generations with this tool's id and a ``begun.json`` are touched; within a generation still
named by a kept one, only the objects no kept record names go. See
:mod:`exporter.sinks.s3_commit` for the layout.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from typing import Any

from exporter.sinks.s3_client import ObjectStoreError, S3Location, translated
from exporter.sinks.s3_commit import GENERATION_ID, GENERATIONS, begun_key, generation_dir

__all__ = ["remove_generation", "remove_generations", "remove_orphans"]

# DeleteObjects takes at most 1,000 keys.
_DELETE_BATCH = 1000


def remove_orphans(client: Any, location: S3Location, live: set[str]) -> int:
    """Abort the multipart uploads under ``generations/`` (the caller holds the lock: they are
    all stale) and remove the objects of the generations that began and are not ``live``
    (killed runs'); return how many were removed.

    Only generations with this tool's id and a ``begun.json`` are touched: nothing else under
    the prefix, even inside ``generations/``, is ours to remove.
    """
    removed = 0
    base = location.key(GENERATIONS)
    with translated(location, "aborting the uploads of interrupted runs"):
        paginator = client.get_paginator("list_multipart_uploads")
        for page in paginator.paginate(Bucket=location.bucket, Prefix=base):
            for upload in page.get("Uploads", []):
                generation = upload["Key"][len(base) :].partition("/")[0]
                # Every one is stale: the caller holds the lock, so no run of ours is uploading
                # (an upload a run failed to abort may be left even in a committed generation).
                if GENERATION_ID.match(generation):
                    client.abort_multipart_upload(
                        Bucket=location.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    )
                    removed += 1
    for generation in _generation_ids(client, location):
        if generation in live or not _began(client, location, generation):
            continue
        removed += _remove_under(client, location, generation_dir(generation))
    return removed


def remove_generations(
    client: Any,
    location: S3Location,
    dropped: Iterable[str],
    referenced: sqlite3.Connection,
    table: str,
) -> int:
    """Remove the objects of the ``dropped`` generations that no kept generation's record
    names (``table`` of ``referenced`` holds their keys); return how many were removed."""
    removed = 0
    for generation in dropped:
        keep = {
            key
            for (key,) in referenced.execute(
                f"SELECT key FROM {table} WHERE key >= ? AND key < ?",
                (generation_dir(generation), generation_dir(generation)[:-1] + "0"),
            )
        }
        if keep:
            # Its files that kept generations name stay; the rest of it goes.
            removed += _remove_under(client, location, generation_dir(generation), keep=keep)
        else:
            removed += _remove_under(client, location, generation_dir(generation))
    return removed


def remove_generation(client: Any, location: S3Location, generation: str) -> int:
    """Remove every object of ``generation`` (a run's own, when it fails); return how many."""
    return _remove_under(client, location, generation_dir(generation))


def _generation_ids(client: Any, location: S3Location) -> Iterator[str]:
    base = location.key(GENERATIONS)
    with translated(location, "listing the generations"):
        paginator = client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=location.bucket, Prefix=base, Delimiter="/"):
            for common in page.get("CommonPrefixes", []):
                generation = common["Prefix"][len(base) :].rstrip("/")
                if GENERATION_ID.match(generation):
                    yield generation


def _began(client: Any, location: S3Location, generation: str) -> bool:
    from botocore.exceptions import ClientError

    with translated(location, f"reading the marker of generation {generation}"):
        try:
            client.head_object(Bucket=location.bucket, Key=location.key(begun_key(generation)))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return False
            raise
    return True


def _remove_under(
    client: Any, location: S3Location, relative: str, keep: set[str] | frozenset = frozenset()
) -> int:
    """Remove every object under ``relative`` (relative to the prefix) but those in ``keep``
    (relative keys); the marker goes last, so that a stop half-way leaves it to the next run."""
    base = location.key(relative)
    marker = location.key(relative + "begun.json")
    removed = 0
    batch: list[dict[str, str]] = []
    with translated(location, f"removing the objects under {relative}"):
        paginator = client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=location.bucket, Prefix=base):
            for item in page.get("Contents", []):
                key = item["Key"]
                if key == marker or key[len(location.prefix) :] in keep:
                    continue
                batch.append({"Key": key})
                if len(batch) == _DELETE_BATCH:
                    removed += _delete(client, location, batch)
                    batch = []
        if batch:
            removed += _delete(client, location, batch)
        if not keep:
            client.delete_object(Bucket=location.bucket, Key=marker)
    return removed


def _delete(client: Any, location: S3Location, batch: list[dict[str, str]]) -> int:
    answer = client.delete_objects(Bucket=location.bucket, Delete={"Objects": batch, "Quiet": True})
    errors = answer.get("Errors", [])
    if errors:
        first = errors[0]
        raise ObjectStoreError(
            f"Cannot remove {first.get('Key')} from {location.url}: {first.get('Message')} "
            f"({first.get('Code')}).",
            "denied" if first.get("Code") == "AccessDenied" else "failed",
        )
    return len(batch)
