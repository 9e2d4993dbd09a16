"""Exports to ``s3://bucket/prefix`` against a real S3-compatible server process: the committed
generation holds exactly the files and bytes of a directory export, an unchanged re-run
uploads no file (counted on the server's side), and the export reads back and round-trips."""

from __future__ import annotations

import json
import os
import re

import pytest
from django.core.management import call_command

from documents.models import Document
from tests.helpers.archives import wipe
from tests.helpers.exports import export, import_, verify
from tests.s3.helpers import committed_files, directory_files, objects, uploaded_files

pytestmark = [pytest.mark.django_db, pytest.mark.one_database]

ARCHIVE = {"documents": 12, "seed": 5}

GENERATION = r"generations/\d{8}T\d{6}Z-[0-9a-f]{8}/"


def export_s3(url: str, *args: str) -> None:
    call_command("document_exporter", url, "--stream", *args, "--no-progress-bar", verbosity=0)


@pytest.mark.parametrize(
    "args",
    [(), ("-sm", "-p"), ("--data-only",), ("-na", "-nt", "-cj")],
    ids=lambda a: " ".join(a) or "plain",
)
def test_the_committed_generation_is_a_directory_export_byte_for_byte(
    archive, tmp_path, bucket, s3_server, args
):
    directory = export(tmp_path / "directory", *args)
    export_s3(f"s3://{bucket}/backups/nightly", *args)
    client = s3_server.client()
    assert committed_files(client, bucket, "backups/nightly/") == directory_files(directory)
    # The layout: the commit object, and one generation's marker, record and files; no lock.
    keys = sorted(objects(client, bucket))
    assert "backups/nightly/COMMIT.json" in keys
    pattern = re.compile(
        rf"^backups/nightly/(COMMIT\.json|{GENERATION}(begun\.json|record\.jsonl|files/.+))$"
    )
    assert [key for key in keys if not pattern.match(key)] == []


def test_an_unchanged_rerun_uploads_no_file(archive, tmp_path, bucket, s3_server):
    url = f"s3://{bucket}/archive"
    export_s3(url)
    with s3_server.recording() as requests:
        export_s3(url, "-cj")
    uploads = [r.path for r in requests if r.uploads_bytes]
    # The lock, the new generation's marker, its record and the commit object: no file, and
    # with -cj not even the unchanged manifests.
    assert uploaded_files(requests) == []
    assert len(uploads) == 4, uploads
    assert sum(path.endswith("/COMMIT.json") for path in uploads) == 1

    # Without -cj the JSON files go up again; the document files still do not.
    with s3_server.recording() as requests:
        export_s3(url)
    assert sorted(uploaded_files(requests)) == ["manifest.json", "metadata.json"]

    # One changed document file: that file alone (and the JSON) is uploaded.
    document = Document.global_objects.order_by("pk").first()
    document.source_path.write_bytes(document.source_path.read_bytes() + b"changed\n")
    import hashlib

    document.checksum = hashlib.sha256(document.source_path.read_bytes()).hexdigest()
    document.save()
    with s3_server.recording() as requests:
        export_s3(url, "-cj")
    uploaded = uploaded_files(requests)
    assert len(uploaded) == 2, uploaded  # the original and manifest.json (metadata unchanged)
    assert "manifest.json" in uploaded
    directory = export(tmp_path / "directory")
    assert committed_files(s3_server.client(), bucket, "archive/") == directory_files(directory)
    verify(url)


def test_compare_checksums_decides_by_sha256(archive, bucket, s3_server):
    url = f"s3://{bucket}/c"
    export_s3(url, "-c")
    originals = [document.source_path for document in Document.global_objects.all()]
    # Touch every original: same bytes, new mtime. By size and mtime they changed; by sha256
    # they did not (and the record takes their new mtime).
    for path in originals:
        path.touch()
    with s3_server.recording() as requests:
        export_s3(url, "-c", "-cj")
    assert uploaded_files(requests) == []
    for path in originals:
        os.utime(path, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    with s3_server.recording() as requests:
        export_s3(url, "-cj")
    uploaded = uploaded_files(requests)
    assert len(uploaded) == len(originals), uploaded


def test_round_trip_through_the_bucket_is_byte_exact(archive, tmp_path, bucket, s3_server):
    url = f"s3://{bucket}/roundtrip"
    export_s3(url)
    first = export(tmp_path / "first")
    out, _ = verify(url)
    assert f"Verified {url}" in out
    media_before = {p.relative_to(archive): p.read_bytes() for p in archive.rglob("*.*")}
    wipe(archive)
    assert Document.global_objects.count() == 0
    assert "Imported" in import_(url)
    media_after = {p.relative_to(archive): p.read_bytes() for p in archive.rglob("*.*")}
    assert media_after == media_before
    second = export(tmp_path / "second")
    assert directory_files(second) == directory_files(first)
    export_s3(url)
    assert committed_files(s3_server.client(), bucket, "roundtrip/") == directory_files(first)
    verify(url, "--against-db")


def test_the_commit_object_names_every_file_with_its_sha256_and_size(archive, bucket, s3_server):
    export_s3(f"s3://{bucket}/p")
    client = s3_server.client()
    commit = json.loads(client.get_object(Bucket=bucket, Key="p/COMMIT.json")["Body"].read())
    generation = commit["generations"][0]
    record = client.get_object(Bucket=bucket, Key="p/" + generation["record"]["key"])["Body"].read()
    import hashlib

    assert hashlib.sha256(record).hexdigest() == generation["record"]["sha256"]
    lines = [json.loads(line) for line in record.decode().splitlines()]
    assert len(lines) == generation["record"]["objects"]
    for entry in lines:
        data = client.get_object(Bucket=bucket, Key="p/" + entry["key"])["Body"].read()
        assert (hashlib.sha256(data).hexdigest(), len(data)) == (entry["sha256"], entry["size"])


def test_zip_into_the_bucket_holds_a_directory_exports_files(archive, tmp_path, bucket, s3_server):
    import io
    import zipfile

    url = f"s3://{bucket}/zipped"
    export_s3(url, "-z", "-zn", "backup", "--keep", "2")
    export_s3(url, "-z", "-zn", "backup", "--keep", "2")
    client = s3_server.client()
    files = committed_files(client, bucket, "zipped/")
    assert list(files) == ["backup.zip"]
    with zipfile.ZipFile(io.BytesIO(files["backup.zip"])) as archive_zip:
        members = {name: archive_zip.read(name) for name in archive_zip.namelist()}
    assert members == directory_files(export(tmp_path / "directory"))
    commit = json.loads(client.get_object(Bucket=bucket, Key="zipped/COMMIT.json")["Body"].read())
    assert len(commit["generations"]) == 2
    out, _ = verify(url)
    assert f"Verified {url} (backup.zip)" in out
    wipe(archive)
    assert "Imported" in import_(url)
    assert Document.global_objects.count() == ARCHIVE["documents"]


def test_compare_json_drops_an_unchanged_manifest_sent_in_parts(
    archive, bucket, s3_server, monkeypatch
):
    from exporter.sinks import s3_upload
    from tests.s3.helpers import MIN_PART

    monkeypatch.setattr(s3_upload, "PART_SIZE", MIN_PART)
    url = f"s3://{bucket}/parts"
    export_s3(url)
    client = s3_server.client()
    before = committed_files(client, bucket, "parts/")
    with s3_server.recording() as requests:
        export_s3(url, "-cj")
    # The manifest went up in parts as it streamed, then its upload was aborted: same bytes.
    assert "manifest.json" in uploaded_files(requests)
    assert any(r.method == "DELETE" and "uploadId=" in r.query for r in requests)
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    held = objects(client, bucket, "parts/")
    commit = json.loads(held["COMMIT.json"])
    newest, previous = commit["generations"]
    assert newest["entries"]["manifest.json"]["key"].startswith(f"generations/{previous['id']}/")
    assert not any(key.startswith(f"generations/{newest['id']}/files/") for key in held)
    assert committed_files(client, bucket, "parts/") == before
