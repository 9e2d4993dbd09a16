"""What a benchmark child runs, inside Django: one function per contender.

Each workload writes into ``out`` and returns how many records it wrote. They import Django
lazily so that :mod:`benchmarks.child` can set Django up first. The workloads that read an
export instead (import, verify) are in :mod:`benchmarks.readers`; :data:`WITHOUT_DJANGO` names
those that run without Django at all.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

#: The batch size of the exporters (the command's default ``--batch-size``).
STREAM_BATCH_SIZE = 500
#: Rows per fetch for the floor: the streaming contender's batch, so that both hold as many rows
#: at a time and their peak RSS compares.
FLOOR_FETCH_ROWS = STREAM_BATCH_SIZE
#: Bytes read at a time to count a manifest's records after a run. Small on purpose: the count
#: runs in the measured process after the workload, and larger reads raised its peak RSS (with
#: 8 MB reads, a verify_export of 10,000 documents peaked at 109 MB instead of its own 69 MB).
_SCAN_CHUNK = 1 << 20
#: The floor of the s3 case sends a file larger than this in parts of this size: the
#: exporter's part size (exporter.sinks.s3_upload.PART_SIZE).
FLOOR_PART_SIZE = 8 << 20


@dataclass
class Produced:
    """What a workload wrote."""

    #: None when the workload handles no records (``cp``).
    records: int | None
    #: Queries the workload ran outside Django's cursor wrappers (so not seen by the counter).
    uncounted_queries: int = 0
    #: Bytes the workload read, for one that reads (MB/s then uses them). None: the bytes of
    #: every file in ``out`` after the run.
    bytes_read: int | None = None
    #: For a workload that exports into object storage (its output directory stays empty): the
    #: bytes of the export it left there (MB/s then uses them).
    bytes_stored: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


Workload = Callable[[Path, list[str]], Produced]


def classic(out: Path, args: list[str]) -> Produced:
    """``document_exporter OUT --data-only``: the classic in-memory exporter, every record in a
    list and one ``json.dumps``."""
    from exporter.export.classic import ClassicExporter

    return _export(ClassicExporter, out)


def stream(out: Path, args: list[str]) -> Produced:
    """``document_exporter OUT --stream --data-only``: the streaming exporter."""
    from exporter.export.streaming import StreamingExporter

    return _export(StreamingExporter, out)


def _export(kind: Any, out: Path) -> Produced:
    """Run the command's exporter ``kind`` over the whole plan into ``out``, data only.

    Built as ``document_exporter`` builds it (its plan, options and a silent progress), minus
    the option parsing and the report: the same code writes the same files. Records are the
    run's own counts, one per manifest record.
    """
    from exporter.export.options import ExportOptions
    from exporter.site_plan import load_plan

    options = ExportOptions(target=out, batch_size=STREAM_BATCH_SIZE, data_only=True)
    summary = kind(load_plan(), options).run()
    return Produced(records=sum(summary.records.values()))


def manage(out: Path, args: list[str]) -> Produced:
    """A management command run in this process, ``{out}`` in its arguments replaced by ``out``.

    This is how ``dumpdata`` and the ``document_exporter`` runs of the files and incremental
    cases run: in process, so that their queries are counted like the others'.
    Records are counted afterwards in the JSON manifests it wrote.
    """
    from django.core.management import call_command

    if not args:
        raise SystemExit("manage: name the management command to run")
    command, *rest = (arg.replace("{out}", str(out)) for arg in args)
    call_command(command, *rest)
    manifests = sorted(Path(e.path) for e in iter_files(out) if e.name.endswith(".json"))
    return Produced(records=sum(count_manifest_records(path) for path in manifests))


def manage_then_sha256sum(out: Path, args: list[str]) -> Produced:
    """``<media folder> <command> [args...]``: :func:`manage`, then ``sha256sum`` of every file
    of the media folder: what ``document_exporter -c`` does on top of a data-only export."""
    import subprocess

    if len(args) < 2:
        raise SystemExit("manage-sha256sum: give the media folder, then the command to run")
    media, rest = args[0], args[1:]
    produced = manage(out, rest)
    subprocess.run(
        ["sh", "-c", 'find "$1" -type f -print0 | xargs -0 -r sha256sum > /dev/null', "sh", media],
        check=True,
    )
    return produced


def iter_files(root: Path) -> Iterator[os.DirEntry]:
    """Every regular file under ``root``, without following links, in constant memory.

    ``Path.rglob`` lists each directory whole first, and the flat folder of an export of
    100,000 documents holds 250,000 files: that list would weigh more than the export did.
    """
    pending = [str(root)]
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    yield entry


def copy_tree(out: Path, args: list[str]) -> Produced:
    """``cp -r <folder> <out>``: the disk floor of an export with files (no records)."""
    import subprocess

    if len(args) != 1:
        raise SystemExit("cp: name the one folder to copy")
    subprocess.run(["cp", "-r", args[0], str(out)], check=True)
    return Produced(records=None)


def floor(out: Path, args: list[str]) -> Produced:
    """The lower bound: every row of the plan's tables through a raw DB-API cursor, no ORM.

    One ``orjson.dumps`` per row tuple, one line per row. The auto-created many-to-many tables
    are written too (their rows carry the same information as the records' id lists) but only
    model rows count as records.
    """
    from django.db import connection

    from exporter.site_plan import load_plan

    records = links = uncounted = 0
    with open(out / "floor.jsonl", "wb", buffering=1 << 20) as sink:
        for table, pk, is_model in _floor_tables(load_plan()):
            sql = (
                f"SELECT * FROM {connection.ops.quote_name(table)} "
                f"ORDER BY {connection.ops.quote_name(pk)}"
            )
            rows, counted = _raw_rows(connection, sql)
            uncounted += 0 if counted else 1
            for batch in rows:
                sink.write(b"".join([orjson.dumps(row, default=str) + b"\n" for row in batch]))
                if is_model:
                    records += len(batch)
                else:
                    links += len(batch)
    return Produced(records=records, uncounted_queries=uncounted, extra={"link_rows": links})


def _floor_tables(plan: Any) -> list[tuple[str, str, bool]]:
    """(table, primary key column, is a model table) for every table the plan's sections read."""
    tables: list[tuple[str, str, bool]] = []
    seen: set[str] = set()
    for section in plan.sections:
        meta = section.queryset().model._meta.concrete_model._meta
        candidates = [(meta.db_table, meta.pk.column, True)]
        for m2m in meta.local_many_to_many:
            through = m2m.remote_field.through._meta
            if through.auto_created:
                candidates.append((through.db_table, through.pk.column, False))
        for table, pk, is_model in candidates:
            if table not in seen:
                seen.add(table)
                tables.append((table, pk, is_model))
    return tables


def _raw_rows(connection: Any, sql: str) -> tuple[Iterator[list[tuple]], bool]:
    """Batches of rows of ``sql`` from a cursor that does not hold the result in memory.

    Returns the batches and whether Django's cursor wrapper (and so the query counter) saw the
    query. PostgreSQL's chunked cursor is a server-side one; SQLite's steps through the file;
    MySQLdb's default cursor would buffer the whole result, so there it is an unbuffered SSCursor
    on the raw connection, which Django does not wrap.
    """
    if connection.vendor == "mysql":
        from MySQLdb.cursors import SSCursor

        connection.ensure_connection()
        cursor = connection.connection.cursor(SSCursor)
        counted = False
    else:
        cursor = connection.chunked_cursor()
        counted = True

    def batches() -> Iterator[list[tuple]]:
        try:
            cursor.execute(sql)
            while batch := cursor.fetchmany(FLOOR_FETCH_ROWS):
                yield batch
        finally:
            cursor.close()

    return batches(), counted


def count_manifest_records(path: Path) -> int:
    """The number of records in a manifest written with an indent, without parsing it.

    Indented JSON puts every record's ``"model"`` key on its own line at the same indentation,
    and a raw newline cannot occur inside a JSON string, so counting that exact line start is
    exact. Nested keys called "model" sit deeper. Compact JSON falls back to ijson.
    """
    with open(path, "rb") as manifest:
        head = manifest.read(_SCAN_CHUNK)
        key = head.find(b'"model": ')
        line_start = head.rfind(b"\n", 0, key)
        if key < 0 or line_start < 0 or head[line_start + 1 : key].strip(b" "):
            manifest.seek(0)
            return _count_with_ijson(manifest)
        pattern = head[line_start:key] + b'"model": '
        count, tail, chunk = 0, b"", head
        while chunk:
            window = tail + chunk
            count += window.count(pattern)
            # Shorter than the pattern: an occurrence in it cannot be counted twice.
            tail = window[-(len(pattern) - 1) :]
            chunk = manifest.read(_SCAN_CHUNK)
        return count


def _count_with_ijson(manifest: Any) -> int:
    import ijson

    return sum(
        1 for prefix, event, _ in ijson.parse(manifest) if prefix == "item" and event == "start_map"
    )


def s3_export(out: Path, args: list[str]) -> Produced:
    """``<s3://bucket/prefix> [flags...]``: ``document_exporter`` into object storage, in process.

    In process like :func:`manage`, so that its queries are counted. The export is then read
    back from the server (``COMMIT.json``, ``metadata.json`` and the record: three small GETs,
    inside the measured time): its records are the counts of its ``metadata.json``, its bytes
    those of every file its record names, and ``extra`` says how many of them this run uploaded
    (an unchanged re-run names the earlier generation's objects instead).
    """
    from django.core.management import call_command

    from exporter.sinks.s3_client import S3Location, make_client

    if not args or not args[0].startswith("s3://"):
        raise SystemExit("s3-export: give the s3:// target first, then the command's flags")
    call_command("document_exporter", *args)
    return _committed_export(make_client(), S3Location.parse(args[0]))


def _committed_export(client: Any, location: Any) -> Produced:
    """What the committed export at ``location`` holds, from its commit object and record."""

    def get(key: str) -> Any:
        return client.get_object(Bucket=location.bucket, Key=location.key(key))["Body"]

    newest = orjson.loads(get("COMMIT.json").read())["generations"][0]
    metadata = orjson.loads(get(newest["entries"]["metadata.json"]["key"]).read())
    own = f"generations/{newest['id']}/files/"
    files = size = uploaded_files = uploaded_bytes = 0
    pending = b""
    # Streamed a line at a time: the record of 100,000 documents is some 60 MB.
    for chunk in get(newest["record"]["key"]).iter_chunks(1 << 20):
        *lines, pending = (pending + chunk).split(b"\n")
        for line in lines:
            entry = orjson.loads(line)
            files += 1
            size += entry["size"]
            if entry["key"].startswith(own):
                uploaded_files += 1
                uploaded_bytes += entry["size"]
    if pending.strip():
        raise SystemExit("s3-export: the record does not end with a newline")
    return Produced(
        records=sum(metadata["counts"].values()),
        bytes_stored=size,
        extra={
            "export_files": files,
            "uploaded_files": uploaded_files,
            "uploaded_bytes": uploaded_bytes,
        },
    )


def boto3_put(out: Path, args: list[str]) -> Produced:
    """``<bucket> <prefix> <export dir>``: the floor of an export into object storage.

    A plain boto3 loop, no Django: one ``put_object`` per file of a directory export of the same
    archive (the same files, byte for byte, that an ``s3://`` export's record names), one after
    the other, under ``<prefix>/<name in the export>``. The tool's own bookkeeping at the top of
    the directory (names starting with ``TOOL_PREFIX``: the file list) is not export data and
    is skipped, as readers of an export skip it. Records are those of its manifest.

    Each body is the file's bytes in a ``bytearray``, as the exporter's upload buffers are:
    botocore turns ``bytes`` and file bodies into a stream and sends those with
    ``Expect: 100-continue``, one more round trip per request, which nearly doubles the time of
    a PUT of a small file (measured against moto). A file past :data:`FLOOR_PART_SIZE` (the
    manifest of a large archive) goes up as a multipart upload in parts of that size, one after
    the other, as the exporter's does, so that the floor's memory stays bounded too.
    """
    import boto3
    from boto3.s3.transfer import TransferConfig

    from exporter.format import TOOL_PREFIX

    if len(args) != 3:
        raise SystemExit("boto3-put: give the bucket, the key prefix and the export directory")
    bucket, prefix, root = args[0], args[1].strip("/"), Path(args[2])
    client = boto3.session.Session().client("s3")
    large = TransferConfig(
        multipart_threshold=FLOOR_PART_SIZE, multipart_chunksize=FLOOR_PART_SIZE, use_threads=False
    )
    files = size = 0
    for entry in iter_files(root):
        name = Path(entry.path).relative_to(root).as_posix()
        if name.startswith(TOOL_PREFIX):
            continue
        length = entry.stat(follow_symlinks=False).st_size
        key = f"{prefix}/{name}"
        with open(entry.path, "rb") as body:
            if length <= FLOOR_PART_SIZE:
                client.put_object(Bucket=bucket, Key=key, Body=bytearray(body.read()))
            else:
                client.upload_fileobj(body, bucket, key, Config=large)
        files += 1
        size += length
    return Produced(
        records=count_manifest_records(root / "manifest.json"),
        bytes_stored=size,
        extra={"export_files": files, "uploaded_files": files, "uploaded_bytes": size},
    )


WORKLOADS: dict[str, Workload] = {
    "classic": classic,
    "stream": stream,
    "manage": manage,
    "manage-sha256sum": manage_then_sha256sum,
    "floor": floor,
    "cp": copy_tree,
    "s3-export": s3_export,
    "boto3-put": boto3_put,
}

#: Workloads that need no Django: the child does not set it up, and counts no queries.
WITHOUT_DJANGO = frozenset({"cp", "boto3-put"})
