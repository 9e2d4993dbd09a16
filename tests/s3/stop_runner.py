"""Run ``manage.py`` against an S3 target and freeze it (SIGSTOP) at a chosen request, for
kill -9 tests: ``python -m tests.s3.stop_runner <manage.py arguments>``.

With ``STOP_AT=<kind>:<n>`` the command runs unchanged until the n-th request of that kind,
then prints ``STOPPED <kind>:<n> <key>`` on standard error and stops itself, every thread at
once; the test sends SIGKILL, and the process dies there with no clean-up, as on a power cut.
Kinds (counted on the client the S3 sink makes):

* ``put``: after a ``PutObject`` of an export file, the record, the marker or the lock;
* ``part``: after an ``UploadPart`` of a multipart upload;
* ``complete``: after a ``CompleteMultipartUpload``;
* ``commit``: just before the ``PutObject`` of ``COMMIT.json`` (all uploaded, nothing visible);
* ``committed``: just after it (the new export visible; retention and the lock's release not
  done);
* ``delete``: after a ``DeleteObjects`` (orphans or old generations removed half-way).

With ``LOSE_COMMIT_ANSWER=1`` the ``PutObject`` of ``COMMIT.json`` is done and then raises
botocore's ``ConnectionClosedError``, as when the server's answer is lost on the way back.

The parts are :data:`tests.s3.helpers.MIN_PART` bytes, so that a small archive's manifests go up
in several.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from tests.helpers.stop_point import main, stop_if_due
from tests.s3.helpers import MIN_PART


class StoppingClient:
    """A boto3 S3 client whose requests are events of :func:`stop_if_due`."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if name not in (
            "put_object",
            "upload_part",
            "complete_multipart_upload",
            "delete_objects",
        ):
            return method

        def call(**params: Any) -> Any:
            key = str(params.get("Key", ""))
            is_commit = name == "put_object" and key.endswith("/COMMIT.json")
            if is_commit:
                stop_if_due("commit", key)
            answer = method(**params)
            if is_commit and os.environ.get("LOSE_COMMIT_ANSWER"):
                # The server wrote COMMIT.json; its answer is lost on the way back.
                from botocore.exceptions import ConnectionClosedError

                raise ConnectionClosedError(endpoint_url=key)
            kind = {
                "put_object": "committed" if is_commit else "put",
                "upload_part": "part",
                "complete_multipart_upload": "complete",
                "delete_objects": "delete",
            }[name]
            stop_if_due(kind, key)
            return answer

        return call


def install() -> None:
    """Wrap the clients the S3 sink makes, and upload in small parts."""
    from exporter.sinks import s3, s3_upload

    s3_upload.PART_SIZE = MIN_PART
    real = s3.make_client

    def make_client() -> Any:
        return StoppingClient(real())

    s3.make_client = make_client


if __name__ == "__main__":
    main(sys.argv[1:], install_hooks=install)
