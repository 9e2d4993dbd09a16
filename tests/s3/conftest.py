"""The S3-compatible server the tests of ``s3://`` targets talk to: moto's standalone server,
a real process on 127.0.0.1 over HTTP, started once per test session (per xdist worker) and
stopped at its end. If it cannot be started, the tests fail: they never skip.

Each test gets a bucket of its own (:func:`bucket`) and the standard AWS environment pointing at
the server (:func:`s3_env`), for the test's own process and for the commands it runs in
subprocesses. Nothing of the host's AWS configuration is read.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import pytest

from tests.s3.helpers import S3Server, start_server

_buckets = itertools.count(1)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory) -> Iterator[S3Server]:
    """moto's server in a subprocess, with its request recorder enabled."""
    try:
        server = start_server(tmp_path_factory.mktemp("moto") / "server.log")
    except AssertionError as exc:
        pytest.fail(str(exc))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3_env(s3_server: S3Server, monkeypatch) -> dict[str, str]:
    """The standard AWS environment for the server, set in this process too; the host's own
    AWS configuration files and profile are hidden."""
    env = s3_server.environment()
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def bucket(s3_server: S3Server, s3_env: dict[str, str]) -> str:
    """A new, empty bucket for the test."""
    name = f"test-{os.getpid()}-{next(_buckets)}"
    s3_server.client().create_bucket(Bucket=name)
    return name
