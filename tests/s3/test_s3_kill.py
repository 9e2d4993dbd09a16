"""kill -9 at chosen requests of real exporter processes writing to ``s3://``.

Each point changes the archive (two documents retitled, so their files get new names; one file
changed in place), runs ``document_exporter s3://... --stream -d`` in a subprocess that freezes
itself at the n-th request of one kind (``tests/s3/stop_runner.py``: a PutObject, an UploadPart,
a CompleteMultipartUpload, just before or just after COMMIT.json, a DeleteObjects), and kills it.
Then

* ``verify_export s3://...`` passes, on the previous export, or on the new one for a kill once
  COMMIT.json was written;
* the next run completes (the dead run's LOCK.json is taken over), aborts every multipart upload
  the kill left, removes the objects of the killed generation, and leaves the committed
  generation equal to a directory export;
* objects no export of ours wrote (beside the export, and inside ``generations/``) are never
  touched.
"""

from __future__ import annotations

import hashlib
import random
import signal

import pytest
from django.core.management import call_command

from documents.models import Document
from tests.helpers.exports import export, verify
from tests.helpers.processes import command_environment
from tests.helpers.stop_points import kill, spawn, wait_stopped
from tests.s3.helpers import MIN_PART, committed_files, directory_files, objects

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.one_database]

ARCHIVE = {"documents": 12, "seed": 7}
SEED = 20261202

#: (kind, n): file puts, a manifest part, a completed multipart upload, before and after the
#: commit object, and the removal of the dropped generation.
POINTS = [
    ("put", 5),
    ("part", 2),
    ("complete", 1),
    ("commit", 1),
    ("committed", 1),
    ("delete", 1),
]

FOREIGN = {
    "nightly/notes.txt": b"mine",
    "nightly/generations/handmade/keep.txt": b"mine too",
    "nightly/generations/20200101T000000Z-deadbeef/keep.txt": b"looks like ours, is not",
}


def mutate(round_: int, rng: random.Random) -> None:
    documents = list(Document.global_objects.order_by("pk"))
    for document in rng.sample(documents, 2):
        document.title = f"K{round_} {document.title}"[:128]
        document.save()
    document = rng.choice(documents)
    data = document.source_path.read_bytes() + f"round {round_}\n".encode()
    document.source_path.write_bytes(data)
    document.checksum = hashlib.sha256(data).hexdigest()
    document.save()


def export_s3(url: str) -> None:
    call_command("document_exporter", url, "--stream", "-d", "--no-progress-bar", verbosity=0)


def test_kill_9_at_chosen_requests_leaves_the_previous_export_and_the_next_run_cleans_up(
    archive, tmp_path, bucket, s3_server, s3_env, monkeypatch
):
    from exporter.sinks import s3_upload

    monkeypatch.setattr(s3_upload, "PART_SIZE", MIN_PART)
    client = s3_server.client()
    for key, data in FOREIGN.items():
        client.put_object(Bucket=bucket, Key=key, Body=data)
    url = f"s3://{bucket}/nightly"
    export_s3(url)
    env = command_environment(archive.parent, **s3_env)
    rng = random.Random(SEED)
    log = []
    for round_, (kind, n) in enumerate(POINTS, start=1):
        before = committed_files(client, bucket, "nightly/")
        mutate(round_, rng)
        process = spawn(
            ["document_exporter", url, "--stream", "-d", "--no-progress-bar", "-v", "0"],
            env,
            f"{kind}:{n}",
            runner="tests.s3.stop_runner",
        )
        assert wait_stopped(process, must_stop=True), kind
        err = kill(process)
        label = f"{kind}:{n}"
        assert f"STOPPED {label}" in err, (label, err)

        # What the bucket holds verifies: the previous export, or the new one once committed.
        verify(url)
        current = committed_files(client, bucket, "nightly/")
        new = directory_files(export(tmp_path / f"directory-{round_}"))
        if kind in ("committed", "delete"):
            assert current == new, label
        else:
            assert current == before, label
        pending = client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
        log.append(f"{label}: verified, {len(pending)} multipart uploads left")

        # The next run completes and leaves nothing of the killed one.
        export_s3(url)
        assert committed_files(client, bucket, "nightly/") == new, label
        verify(url)
        assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == [], label
        held = objects(client, bucket)
        assert "nightly/LOCK.json" not in held, label
        for key, data in FOREIGN.items():
            assert held[key] == data, (label, key)
        assert_only_live_generations(client, bucket, held, label)
    print("\n".join(log))


def assert_only_live_generations(client, bucket: str, held: dict[str, bytes], label: str) -> None:
    """Every generation of ours under the prefix is the committed one or holds objects it
    names; every object of ours is named by the commit object or the record."""
    import json

    commit = json.loads(held["nightly/COMMIT.json"])
    (generation,) = commit["generations"]  # -d keeps one generation
    record = held["nightly/" + generation["record"]["key"]].decode().splitlines()
    named = {"nightly/" + json.loads(line)["key"] for line in record}
    live = {generation["id"], *generation["holds"]}
    for key in held:
        if key in FOREIGN or not key.startswith("nightly/generations/"):
            continue
        gen = key.split("/")[2]
        assert gen in live, (label, key)
        if "/files/" in key:
            assert key in named, (label, key)


@pytest.mark.parametrize("point", ["put:4", "part:1"])
def test_sigterm_before_the_commit_removes_what_the_run_uploaded(
    archive, bucket, s3_server, s3_env, monkeypatch, point
):
    from exporter.sinks import s3_upload

    monkeypatch.setattr(s3_upload, "PART_SIZE", MIN_PART)
    client = s3_server.client()
    url = f"s3://{bucket}/term"
    export_s3(url)
    before = objects(client, bucket)
    for document in Document.global_objects.all():
        document.source_path.touch()
    process = spawn(
        ["document_exporter", url, "--stream", "--no-progress-bar", "-v", "0"],
        command_environment(archive.parent, **s3_env),
        point,
        runner="tests.s3.stop_runner",
    )
    assert wait_stopped(process, must_stop=True)
    process.send_signal(signal.SIGTERM)
    process.send_signal(signal.SIGCONT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 143, err
    assert "Stopped by SIGTERM" in err and "Traceback" not in err, err
    # Nothing of the stopped run is left: no object, no multipart upload, no lock.
    assert objects(client, bucket) == before
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
