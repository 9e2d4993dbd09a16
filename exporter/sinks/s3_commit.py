"""
The layout of an export in object storage and its commit: what makes one generation visible.

Under the location's prefix (``s3://bucket/prefix/``)::

    COMMIT.json                         the commit object: the committed generations, newest first
    LOCK.json                           held while a run writes (created with If-None-Match)
    generations/<id>/begun.json         written first by the run of generation <id>: it is ours
    generations/<id>/files/<relpath>    the files that generation uploaded, one per export file
    generations/<id>/record.jsonl       the generation's record: every file of the export

A generation's record lists every file of that export, one JSON line each, sorted by name:
its name in the export (``path``), the key of the object holding its bytes (``key``, relative
to the prefix: in this generation's ``files/``, or an earlier generation's for a file that did
not change), its ``sha256``, its ``size`` and, for a document file, the source's ``mtime_ns``.
The files of the newest generation map one to one, byte for byte, onto a directory export's.

A run uploads everything under a generation id no earlier run used, so nothing of the
committed export changes while it runs; then it writes ``COMMIT.json``, one small object naming
the generation and its record (with the record's sha256 and size) and the generations kept: at
that one moment the new export is visible. A run killed before leaves the previous one as it
was; the next run aborts the multipart uploads left under ``generations/`` and removes the
objects of generations that began (``begun.json``) and were never committed
(:mod:`exporter.sinks.s3_cleanup`). Objects anywhere else under the prefix are never touched.
``LOCK.json`` is :mod:`exporter.sinks.s3_lock`'s.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
import secrets
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from exporter.sinks.s3_client import ObjectStoreError, S3Location, translated

__all__ = [
    "COMMIT_NAME",
    "FORMAT",
    "GENERATIONS",
    "GENERATION_ID",
    "Committed",
    "Generation",
    "committed_json",
    "create_record_table",
    "load_record",
    "new_generation_id",
    "read_commit",
    "record_lines",
    "write_commit",
]

COMMIT_NAME = "COMMIT.json"
GENERATIONS = "generations/"
#: What a commit object says it is, so that no other tool's file is taken for one.
FORMAT = "streaming-document-exporter/s3"
VERSION = 1

GENERATION_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{8}$")


def new_generation_id() -> str:
    """A generation id no other run will use: the UTC time and 32 random bits."""
    now = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{now}-{secrets.token_hex(4)}"


def generation_dir(generation: str) -> str:
    """The key prefix (relative to the location's) of a generation's objects."""
    return f"{GENERATIONS}{generation}/"


def file_key(generation: str, relpath: str) -> str:
    """The key (relative to the prefix) of the object a generation uploads for ``relpath``."""
    return f"{generation_dir(generation)}files/{relpath}"


def record_key(generation: str) -> str:
    """The key (relative to the prefix) of a generation's record."""
    return f"{generation_dir(generation)}record.jsonl"


def begun_key(generation: str) -> str:
    """The key (relative to the prefix) of the marker a generation's run writes first."""
    return f"{generation_dir(generation)}begun.json"


@dataclass(frozen=True)
class Generation:
    """A committed generation: its id, its record object and the generations it holds objects
    of (itself and those of the unchanged files it names)."""

    id: str
    record_key: str
    record_sha256: str
    record_size: int
    objects: int
    holds: tuple[str, ...]
    #: The record's entries of ``manifest.json`` and ``metadata.json`` (key, sha256, size), so
    #: that the next run's shrink guard reads the counts without reading the record.
    entries: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The generation's entry in the commit object."""
        return {
            "id": self.id,
            "record": {
                "key": self.record_key,
                "sha256": self.record_sha256,
                "size": self.record_size,
                "objects": self.objects,
            },
            "holds": list(self.holds),
            "entries": self.entries,
        }

    @classmethod
    def from_json(cls, value: Any) -> Generation:
        """A generation from its entry in a commit object; ValueError if it is not one."""
        record = value["record"]
        generation = cls(
            id=str(value["id"]),
            record_key=str(record["key"]),
            record_sha256=str(record["sha256"]),
            record_size=int(record["size"]),
            objects=int(record["objects"]),
            holds=tuple(str(held) for held in value["holds"]),
            entries={
                str(name): {
                    "key": str(e["key"]),
                    "sha256": str(e["sha256"]),
                    "size": int(e["size"]),
                }
                for name, e in value.get("entries", {}).items()
            },
        )
        if not GENERATION_ID.match(generation.id) or not all(
            GENERATION_ID.match(held) for held in generation.holds
        ):
            raise ValueError(f"generation id {generation.id!r} is not one of ours")
        return generation


@dataclass(frozen=True)
class Committed:
    """What ``COMMIT.json`` says: the committed generations, the newest (the export) first."""

    generations: tuple[Generation, ...]
    committed_at: str

    @property
    def current(self) -> Generation:
        """The newest generation: the export."""
        return self.generations[0]

    def live(self) -> set[str]:
        """Every generation id holding an object of a committed generation."""
        return {
            held for generation in self.generations for held in (generation.id, *generation.holds)
        }


def read_commit(client: Any, location: S3Location) -> Committed | None:
    """The commit object at ``location``, or None if there is none (no export yet)."""
    from botocore.exceptions import ClientError

    try:
        with translated(location, f"reading {COMMIT_NAME}"):
            try:
                answer = client.get_object(Bucket=location.bucket, Key=location.key(COMMIT_NAME))
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                    return None
                raise
            body = answer["Body"].read()
    except ObjectStoreError:
        raise
    try:
        value = json.loads(body)
        if value.get("format") != FORMAT or value.get("version") != VERSION:
            raise ValueError("not this tool's commit object")
        generations = tuple(Generation.from_json(item) for item in value["generations"])
        if not generations:
            raise ValueError("no generation")
        return Committed(generations, str(value.get("committed_at", "")))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ObjectStoreError(
            f"{location.url}/{COMMIT_NAME} is not a commit object of this tool ({exc}): it was "
            "not written by document_exporter, or it is damaged. Export to another prefix, or "
            "remove it if it is not yours.",
            "damaged",
        ) from None


def write_commit(client: Any, location: S3Location, generations: Iterable[Generation]) -> None:
    """Write the commit object: from this one request on, ``generations[0]`` is the export."""
    value = {
        "format": FORMAT,
        "version": VERSION,
        "committed_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "generations": [generation.as_json() for generation in generations],
    }
    body = json.dumps(value, indent=2).encode("utf-8") + b"\n"
    with translated(location, f"writing {COMMIT_NAME}"):
        client.put_object(Bucket=location.bucket, Key=location.key(COMMIT_NAME), Body=body)


def committed_json(client: Any, location: S3Location, name: str) -> Any:
    """The JSON value of the committed export's file ``name`` (``metadata.json``) as the commit
    object's entries give it; None if there is no export, no such entry, or it is not JSON
    with the recorded sha256."""
    committed = read_commit(client, location)
    if committed is None or name not in committed.current.entries:
        return None
    entry = committed.current.entries[name]
    with translated(location, f"reading {name}"):
        body = client.get_object(Bucket=location.bucket, Key=location.key(entry["key"]))
        data = body["Body"].read()
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        return None
    try:
        return json.loads(data)
    except ValueError:
        return None


# -- records ---------------------------------------------------------------------------------


def create_record_table(db: sqlite3.Connection, table: str) -> None:
    """A table of a generation's record: name, key, sha256, size and source mtime of each file."""
    db.execute(
        f"CREATE TABLE {table} (relpath TEXT PRIMARY KEY, key TEXT NOT NULL, "
        "sha256 TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER)"
    )


def record_lines(rows: Iterable[tuple[str, str, str, int, int | None]]) -> Iterator[bytes]:
    """The record's lines for ``(relpath, key, sha256, size, mtime_ns)`` rows, in their order."""
    for relpath, key, sha256, size, mtime_ns in rows:
        line = {"path": relpath, "key": key, "sha256": sha256, "size": size}
        if mtime_ns is not None:
            line["mtime_ns"] = mtime_ns
        yield json.dumps(line, ensure_ascii=False).encode("utf-8") + b"\n"


def load_record(
    client: Any, location: S3Location, generation: Generation, db: sqlite3.Connection, table: str
) -> None:
    """Stream ``generation``'s record into ``table`` (see :func:`create_record_table`), checking
    its sha256 and size against the commit object's; ObjectStoreError if they differ."""
    digest = hashlib.sha256()
    size = 0
    pending = b""
    insert = f"INSERT OR REPLACE INTO {table} VALUES (?, ?, ?, ?, ?)"
    where = f"reading the record of generation {generation.id}"
    try:
        with translated(location, where):
            body = client.get_object(
                Bucket=location.bucket, Key=location.key(generation.record_key)
            )["Body"]
            for chunk in body.iter_chunks(1 << 20):
                digest.update(chunk)
                size += len(chunk)
                pending += chunk
                *lines, pending = pending.split(b"\n")
                db.executemany(insert, (_record_row(line) for line in lines if line))
        if pending:
            db.execute(insert, _record_row(pending))
    except (ValueError, KeyError, TypeError) as exc:
        raise _damaged(location, generation, f"a line is not a record entry ({exc})") from None
    if digest.hexdigest() != generation.record_sha256 or size != generation.record_size:
        raise _damaged(location, generation, "its sha256 or size is not the commit object's")


def _record_row(line: bytes) -> tuple[str, str, str, int, int | None]:
    value = json.loads(line)
    mtime = value.get("mtime_ns")
    return (
        str(value["path"]),
        str(value["key"]),
        str(value["sha256"]),
        int(value["size"]),
        int(mtime) if mtime is not None else None,
    )


def _damaged(location: S3Location, generation: Generation, why: str) -> ObjectStoreError:
    return ObjectStoreError(
        f"The record of generation {generation.id} in {location.url} is damaged: {why}. The "
        "export cannot be trusted; export to a new prefix.",
        "damaged",
    )
