"""A bucket with Object Lock and a default retention: every object a generation writes gets the
bucket's retention, removals of generations not kept become delete markers, and the locked
versions stay until their retention ends; the export still commits and verifies."""

from __future__ import annotations

import os

import pytest
from django.core.management import call_command

from exporter.sinks import s3_upload
from tests.helpers.exports import verify
from tests.s3.helpers import MIN_PART, committed_files

pytestmark = [pytest.mark.django_db, pytest.mark.one_database]

ARCHIVE = {"documents": 4, "seed": 19}


def test_an_export_into_a_bucket_with_default_retention(archive, s3_server, s3_env, monkeypatch):
    monkeypatch.setattr(s3_upload, "PART_SIZE", MIN_PART)
    client = s3_server.client()
    bucket = f"locked-{os.getpid()}"
    client.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    client.put_object_lock_configuration(
        Bucket=bucket,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 1}},
        },
    )
    url = f"s3://{bucket}/locked"
    for _ in range(2):
        call_command("document_exporter", url, "--stream", "-d", "--no-progress-bar", verbosity=0)
    verify(url)
    versions = client.list_object_versions(Bucket=bucket, Prefix="locked/")
    records = [v for v in versions.get("Versions", []) if v["Key"].endswith("record.jsonl")]
    assert len(records) == 2
    removed = {m["Key"] for m in versions.get("DeleteMarkers", [])}
    # The dropped generation's record is hidden by a delete marker, and locked all the same.
    (dropped,) = [v for v in records if v["Key"] in removed]
    head = client.head_object(Bucket=bucket, Key=dropped["Key"], VersionId=dropped["VersionId"])
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert committed_files(client, bucket, "locked/")
