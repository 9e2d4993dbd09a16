"""What ``verify_export s3://...`` finds in a bucket that was tampered with: a damaged record,
an object missing, an object whose bytes changed, a commit object not ours. Each is a problem
or a clear refusal, never a traceback."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from tests.helpers.exports import verify_outcome
from tests.s3.helpers import objects

pytestmark = [pytest.mark.django_db, pytest.mark.one_database]

ARCHIVE = {"documents": 5, "seed": 17}


@pytest.fixture
def exported(archive, bucket, s3_server):
    """An export at ``s3://<bucket>/b``; the client and the record's entries by name."""
    url = f"s3://{bucket}/b"
    call_command("document_exporter", url, "--stream", "--no-progress-bar", verbosity=0)
    client = s3_server.client()
    held = objects(client, bucket, "b/")
    commit = json.loads(held["COMMIT.json"])
    record = held[commit["generations"][0]["record"]["key"]].decode().splitlines()
    entries = {json.loads(line)["path"]: json.loads(line) for line in record}
    return url, client, bucket, entries, commit


def original_of(entries):
    return next(path for path in entries if path.endswith(".pdf") and "-archive" not in path)


def test_a_missing_object_is_a_problem(exported):
    url, client, bucket, entries, _ = exported
    name = original_of(entries)
    client.delete_object(Bucket=bucket, Key="b/" + entries[name]["key"])
    ok, out, err = verify_outcome(url)
    assert not ok
    assert f"file {name} is missing" in err, err


def test_an_object_with_other_bytes_is_a_problem(exported):
    url, client, bucket, entries, _ = exported
    name = original_of(entries)
    key = "b/" + entries[name]["key"]
    data = bytearray(client.get_object(Bucket=bucket, Key=key)["Body"].read())
    data[len(data) // 2] ^= 0x01
    client.put_object(Bucket=bucket, Key=key, Body=bytes(data))
    ok, out, err = verify_outcome(url)
    assert not ok
    assert name in err and "sha256" in err, err


def test_a_damaged_manifest_object_is_found_by_the_record(exported):
    url, client, bucket, entries, _ = exported
    key = "b/" + entries["manifest.json"]["key"]
    data = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    # Still JSON, and still the same records' shape: only the record's sha256 tells.
    client.put_object(Bucket=bucket, Key=key, Body=data.replace(b'"title": "', b'"title": "X', 1))
    ok, out, err = verify_outcome(url)
    assert not ok
    assert "manifest.json" in err and "not those the export's record gives" in err, err


def test_a_damaged_record_or_commit_object_is_refused(exported):
    url, client, bucket, _, commit = exported
    record_key = "b/" + commit["generations"][0]["record"]["key"]
    record = client.get_object(Bucket=bucket, Key=record_key)["Body"].read()
    client.put_object(Bucket=bucket, Key=record_key, Body=record + b"\n")
    with pytest.raises(CommandError, match="record of generation .* is damaged"):
        call_command("verify_export", url)
    client.put_object(Bucket=bucket, Key=record_key, Body=record)
    call_command("verify_export", url)
    client.put_object(Bucket=bucket, Key="b/COMMIT.json", Body=b'{"format": "something else"}')
    with pytest.raises(CommandError, match="is not a commit object of this tool"):
        call_command("verify_export", url)
    # And an exporter does not write over it either.
    with pytest.raises(CommandError, match="is not a commit object of this tool"):
        call_command("document_exporter", url, "--stream", "--no-progress-bar", verbosity=0)
