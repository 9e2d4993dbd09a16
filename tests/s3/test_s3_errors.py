"""What goes wrong with an object store, through the real commands: bad credentials, a denied
write, a missing bucket, a bad location, no credentials, another run holding the lock, and the
network cut in the middle of an upload. Each is one clear message and exit status 1 (2 for a
bad location), never a traceback, and the previous export is left as it was."""

from __future__ import annotations

import json
import signal
import time

import pytest

from documents.models import Document
from tests.helpers.processes import assert_clean_failure, command_environment
from tests.helpers.stop_points import spawn, wait_stopped
from tests.s3.helpers import CuttableProxy, Request, committed_files, objects, run, start_server

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.one_database]

ARCHIVE = {"documents": 6, "seed": 11}

#: Requests moto serves before it checks credentials: the set-up of the bucket and two users.
SETUP_REQUESTS = 7


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    """A server that checks credentials and permissions (after the set-up requests): a bucket,
    a writer allowed everything, a reader allowed to read and list only."""
    import boto3

    server = start_server(
        tmp_path_factory.mktemp("moto-auth") / "server.log",
        INITIAL_NO_AUTH_ACTION_COUNT=str(SETUP_REQUESTS),
    )
    anyone = {
        "endpoint_url": server.endpoint,
        "region_name": "us-east-1",
        "aws_access_key_id": "setup",
        "aws_secret_access_key": "setup",
    }
    boto3.client("s3", **anyone).create_bucket(Bucket="guarded")
    iam = boto3.client("iam", **anyone)
    keys = {}
    reading = ["s3:GetObject", "s3:ListBucket", "s3:ListBucketMultipartUploads"]
    for user, actions in (("writer", ["s3:*"]), ("reader", reading)):
        iam.create_user(UserName=user)
        key = iam.create_access_key(UserName=user)["AccessKey"]
        keys[user] = {
            "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
        }
        policy = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
        }
        iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=json.dumps(policy))
    try:
        yield server, keys
    finally:
        server.stop()


def test_bad_credentials_and_a_denied_write_leave_the_previous_export(archive, auth_server):
    server, keys = auth_server
    data_dir = archive.parent
    base = {**server.environment()}
    url = "s3://guarded/backup"
    done = run(data_dir, {**base, **keys["writer"]}, "document_exporter", url, "--stream")
    assert done.returncode == 0, done.stderr
    writer = server.client()
    writer = _client(server, keys["writer"])
    before = objects(writer, "guarded")

    unknown = {"AWS_ACCESS_KEY_ID": "AKIAUNKNOWN000000000", "AWS_SECRET_ACCESS_KEY": "x"}
    done = run(data_dir, {**base, **unknown}, "document_exporter", url, "--stream")
    assert_clean_failure(done, 1, "refused the credentials", "InvalidAccessKeyId")
    wrong_secret = {**keys["writer"], "AWS_SECRET_ACCESS_KEY": "wrong"}
    done = run(data_dir, {**base, **wrong_secret}, "document_exporter", url, "--stream")
    assert_clean_failure(done, 1, "refused the credentials", "SignatureDoesNotMatch")
    done = run(data_dir, {**base, **keys["reader"]}, "document_exporter", url, "--stream")
    assert_clean_failure(done, 1, "Access denied to s3://guarded/backup", "s3:PutObject")
    assert objects(writer, "guarded") == before

    # A reader may verify, and reads what the writer committed.
    done = run(data_dir, {**base, **keys["reader"]}, "verify_export", url)
    assert done.returncode == 0, done.stderr
    done = run(data_dir, {**base, **unknown}, "verify_export", url)
    assert_clean_failure(done, 2, "Cannot verify", "refused the credentials")


def _client(server, key):
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        aws_access_key_id=key["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=key["AWS_SECRET_ACCESS_KEY"],
    )


def test_a_missing_bucket_a_bad_location_and_no_credentials(archive, s3_env, s3_server):
    data_dir = archive.parent
    done = run(data_dir, s3_env, "document_exporter", "s3://no-such-bucket/x", "--stream")
    assert_clean_failure(done, 1, "The bucket no-such-bucket does not exist")
    done = run(data_dir, s3_env, "document_exporter", "s3://Not_A_Bucket/x", "--stream")
    assert_clean_failure(done, 2, "does not start with a bucket name")
    done = run(data_dir, s3_env, "document_exporter", "s3://bucket/../x", "--stream")
    assert_clean_failure(done, 2, "'..' component")
    done = run(data_dir, s3_env, "verify_export", "s3://no-such-bucket/x")
    assert_clean_failure(done, 2, "Cannot verify", "does not exist")
    anonymous = {**s3_env, "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}
    anonymous["AWS_EC2_METADATA_DISABLED"] = "true"
    env = command_environment(data_dir, **anonymous)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        env.pop(name)
    done = _run_env(data_dir, env, "document_exporter", "s3://no-such-bucket/x", "--stream")
    assert_clean_failure(done, 1, "No AWS credentials were found")


def _run_env(data_dir, env, *args):
    import subprocess
    import sys
    from pathlib import Path

    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_another_run_holding_the_lock_is_refused(archive, bucket, s3_env, s3_server):
    data_dir = archive.parent
    url = f"s3://{bucket}/locked"
    done = run(data_dir, s3_env, "document_exporter", url, "--stream")
    assert done.returncode == 0, done.stderr
    client = s3_server.client()
    holder = {"host": "elsewhere", "pid": 1, "since": "2026-01-01T00:00:00+00:00"}
    client.put_object(Bucket=bucket, Key="locked/LOCK.json", Body=json.dumps(holder).encode())
    before = objects(client, bucket)
    done = run(data_dir, s3_env, "document_exporter", url, "--stream")
    assert_clean_failure(done, 1, "Another document_exporter is writing into", "host elsewhere")
    assert objects(client, bucket) == before

    # With --lock-timeout the run waits: once it has tried twice, the other run lets go.
    waiting = spawn(
        ["document_exporter", url, "--stream", "--lock-timeout", "60", "-v", "0"],
        command_environment(data_dir, **s3_env),
    )
    with s3_server.recording():
        deadline = time.monotonic() + 60
        while lock_attempts(s3_server) < 2:
            assert waiting.poll() is None and time.monotonic() < deadline, waiting.stderr.read()
            time.sleep(0.2)
        client.delete_object(Bucket=bucket, Key="locked/LOCK.json")
        _, err = waiting.communicate(timeout=120)
    done = waiting
    assert done.returncode == 0, err
    assert "locked/LOCK.json" not in objects(client, bucket)


def lock_attempts(server) -> int:
    """How many PutObject of a LOCK.json the server received since recording began."""
    log = server.api("recorder/download-recording", method="GET").decode()
    return sum(
        1
        for request in (Request.parse(line) for line in log.splitlines() if line.strip())
        if request.method == "PUT" and request.path.endswith("/LOCK.json")
    )


def test_the_network_cut_mid_upload_leaves_the_previous_export(archive, bucket, s3_env, s3_server):
    data_dir = archive.parent
    proxy = CuttableProxy(s3_server.endpoint)
    env = {**s3_env, "AWS_ENDPOINT_URL": proxy.endpoint}
    url = f"s3://{bucket}/cut"
    done = run(data_dir, env, "document_exporter", url, "--stream")
    assert done.returncode == 0, done.stderr
    client = s3_server.client()
    before = committed_files(client, bucket, "cut/")
    # Every original looks changed (a new mtime): the run freezes after its fifth PutObject
    # (some of them uploaded), the network goes, the run goes on.
    for document in Document.global_objects.all():
        document.source_path.touch()
    process = spawn(
        ["document_exporter", url, "--stream", "--no-progress-bar", "-v", "0"],
        command_environment(data_dir, **env),
        "put:5",
        runner="tests.s3.stop_runner",
    )
    assert wait_stopped(process, must_stop=True)
    proxy.cut()
    process.send_signal(signal.SIGCONT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 1, err
    assert "Traceback" not in err, err
    assert "Cannot reach the object store" in err, err
    assert committed_files(client, bucket, "cut/") == before

    # The network back: the export verifies as it was, and the next run completes.
    proxy.restore()
    done = run(data_dir, env, "verify_export", url)
    assert done.returncode == 0, done.stderr
    done = run(data_dir, env, "document_exporter", url, "--stream", "-d")
    assert done.returncode == 0, done.stderr
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    commit = json.loads(objects(client, bucket, "cut/")["COMMIT.json"])
    live = {g["id"] for g in commit["generations"]} | {
        held for g in commit["generations"] for held in g["holds"]
    }
    generations = {key.split("/")[1] for key in objects(client, bucket, "cut/") if "/" in key}
    assert generations <= live
    proxy.cut()


def test_a_throttling_server_is_retried_then_a_clear_error(archive, bucket, s3_env, s3_server):
    data_dir = archive.parent
    proxy = CuttableProxy(s3_server.endpoint)
    env = {**s3_env, "AWS_ENDPOINT_URL": proxy.endpoint, "AWS_MAX_ATTEMPTS": "2"}
    url = f"s3://{bucket}/slow"
    done = run(data_dir, env, "document_exporter", url, "--stream")
    assert done.returncode == 0, done.stderr
    client = s3_server.client()
    before = objects(client, bucket)
    proxy.throttling = True
    done = run(data_dir, env, "document_exporter", url, "--stream")
    assert_clean_failure(done, 1, "kept throttling requests to", "AWS_MAX_ATTEMPTS")
    assert proxy.throttled == 2  # botocore's retry, then the error: nothing was written
    proxy.throttling = False
    assert objects(client, bucket) == before
    done = run(data_dir, env, "verify_export", url)
    assert done.returncode == 0, done.stderr
    proxy.cut()


def test_a_lost_answer_to_the_commit_keeps_the_new_generation(archive, tmp_path, bucket, s3_env):
    from tests.helpers.exports import export
    from tests.s3.helpers import directory_files

    data_dir = archive.parent
    url = f"s3://{bucket}/lost"
    done = run(data_dir, s3_env, "document_exporter", url, "--stream")
    assert done.returncode == 0, done.stderr
    for document in Document.global_objects.all():
        document.title = f"Lost {document.title}"[:128]
        document.save()
    process = spawn(
        ["document_exporter", url, "--stream", "--no-progress-bar", "-v", "0"],
        command_environment(data_dir, **s3_env, LOSE_COMMIT_ANSWER="1"),
        runner="tests.s3.stop_runner",
    )
    _, err = process.communicate(timeout=120)
    assert process.returncode == 1 and "Traceback" not in err, err
    # The server did write COMMIT.json: the new generation is the export, whole.
    import boto3

    client = boto3.client("s3")
    new = directory_files(export(tmp_path / "directory"))
    assert committed_files(client, bucket, "lost/") == new
    done = run(data_dir, s3_env, "verify_export", url)
    assert done.returncode == 0, done.stderr
    done = run(data_dir, s3_env, "document_exporter", url, "--stream", "-d")
    assert done.returncode == 0, done.stderr
    assert committed_files(client, bucket, "lost/") == new
