"""Generations kept and removed in ``s3://``: ``--keep N``, ``-d`` (one generation), the
default (every generation kept), the shrink guard, and ``--verify``."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from documents.models import Document
from tests.helpers.exports import verify
from tests.s3.helpers import objects

pytestmark = [pytest.mark.django_db, pytest.mark.one_database]

ARCHIVE = {"documents": 8, "seed": 13}


def export_s3(url: str, *args: str) -> str:
    out = io.StringIO()
    call_command(
        "document_exporter", url, "--stream", *args, "--no-progress-bar", stdout=out, verbosity=1
    )
    return out.getvalue()


def retitle(index: int, title: str) -> None:
    document = Document.global_objects.order_by("pk")[index]
    document.title = title
    document.save()


def generations(held: dict[str, bytes], prefix: str) -> list[dict]:
    return json.loads(held[f"{prefix}COMMIT.json"])["generations"]


def record_keys(held: dict[str, bytes], prefix: str, generation: dict) -> set[str]:
    lines = held[prefix + generation["record"]["key"]].decode().splitlines()
    return {prefix + json.loads(line)["key"] for line in lines}


def assert_kept_generations_complete(held: dict[str, bytes], prefix: str) -> set[str]:
    """Every kept generation's record and files are there; every file object of ours is named
    by a kept generation. Returns the keys named."""
    named: set[str] = set()
    for generation in generations(held, prefix):
        keys = record_keys(held, prefix, generation)
        assert keys <= held.keys(), generation["id"]
        named |= keys
    files = {key for key in held if "/files/" in key}
    assert files == named
    return named


def test_keep_n_keeps_n_generations_and_what_they_name(archive, bucket, s3_server):
    url, prefix = f"s3://{bucket}/kept", "kept/"
    client = s3_server.client()
    export_s3(url, "--keep", "2")
    first_names = {key.rpartition("/files/")[2] for key in objects(client, bucket, prefix)}
    retitle(0, "Renamed once")
    export_s3(url, "--keep", "2")
    retitle(1, "Renamed twice")
    out = export_s3(url, "--keep", "2")
    held = objects(client, bucket)
    kept = generations(held, prefix)
    assert len(kept) == 2
    named = assert_kept_generations_complete(held, prefix)
    # The first generation's record is gone; the files it uploaded that the kept generations
    # still name stay, the others (document 0's old names) went.
    ids = {key.split("/")[2] for key in held if key.startswith(f"{prefix}generations/")}
    first = (ids - {g["id"] for g in kept}).pop()
    assert f"{prefix}generations/{first}/record.jsonl" not in held
    assert any(key.startswith(f"{prefix}generations/{first}/files/") for key in named)
    assert len(first_names) > len([k for k in held if f"/{first}/files/" in k])
    assert "deleted" in out
    verify(url)


def test_default_keeps_every_generation_and_d_keeps_one(archive, bucket, s3_server):
    client = s3_server.client()
    url, prefix = f"s3://{bucket}/all", "all/"
    export_s3(url)
    Document.global_objects.order_by("-pk").first().delete()
    export_s3(url)
    held = objects(client, bucket)
    assert len(generations(held, prefix)) == 2
    assert_kept_generations_complete(held, prefix)
    export_s3(url, "-d")
    held = objects(client, bucket)
    (only,) = generations(held, prefix)
    named = assert_kept_generations_complete(held, prefix)
    assert {key for key in held if key.endswith("record.jsonl")} == {prefix + only["record"]["key"]}
    assert len(named) == only["record"]["objects"]
    verify(url)


def test_the_shrink_guard_reads_the_committed_generation(archive, bucket, s3_server):
    client = s3_server.client()
    url = f"s3://{bucket}/shrink"
    export_s3(url, "-d")
    before = objects(client, bucket, "shrink/")
    keep = Document.global_objects.order_by("pk").first().pk
    Document.global_objects.exclude(pk=keep).delete()
    with pytest.raises(CommandError, match=f"Stopped before touching the export in {url}"):
        export_s3(url, "-d")
    assert objects(client, bucket, "shrink/") == before
    export_s3(url, "-d", "--allow-shrink")
    out, _ = verify(url)
    assert "documents.document 1" in out


def test_verify_after_the_export(archive, bucket):
    url = f"s3://{bucket}/verified"
    out = export_s3(url, "--verify")
    assert f"Verified {url}" in out
