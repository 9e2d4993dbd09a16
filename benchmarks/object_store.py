"""The S3-compatible server of the ``s3`` case: moto's standalone server, a real process.

It runs on a free port of 127.0.0.1 over HTTP, started by the first run that needs it (see
:meth:`benchmarks.prepare.Workspace.object_store`) and stopped when the invocation ends,
whatever happened: the workspace stops it on close, and the kernel stops it if the harness
itself dies (``PR_SET_PDEATHSIG``), so that no server outlives the run.

The children reach it only through the standard AWS environment (:meth:`ObjectStore.child_env`),
as a user's export reaches any S3-compatible service. The parent talks to it with plain
``urllib`` requests, never boto3: the parent must stay small (see :mod:`benchmarks.prepare`),
and moto checks no signatures, so an unsigned ``PUT /<bucket>`` creates a bucket and
``POST /moto-api/reset`` drops every bucket (each run's objects are freed after it).
"""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

#: Seconds the server may take to answer its first request.
START_TIMEOUT = 30.0
#: prctl(2)'s option: the signal this process gets when its parent dies.
_PR_SET_PDEATHSIG = 1
#: Region of the buckets: moto's default, and what an AWS_DEFAULT_REGION-less client assumes.
REGION = "us-east-1"


class ObjectStoreFailed(Exception):
    """The server did not start, or did not answer a request of the harness."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _die_with_parent() -> Callable[[], None]:
    """What the server's process runs before exec: ask for SIGTERM when the harness dies.

    libc is loaded here, in the harness: nothing is imported between fork and exec.
    """
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def arm() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)

    return arm


@dataclass
class ObjectStore:
    """moto's S3 server process at ``endpoint``."""

    endpoint: str
    process: subprocess.Popen
    log: Path
    _buckets: itertools.count = field(default_factory=lambda: itertools.count(1))

    @classmethod
    def start(cls, log: Path) -> ObjectStore:
        """Start the server, its output in ``log``; ObjectStoreFailed if it does not answer."""
        log.parent.mkdir(parents=True, exist_ok=True)
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
        with open(log, "wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=log.parent,
                preexec_fn=_die_with_parent(),
            )
        store = cls(f"http://127.0.0.1:{port}", process, log)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                store._request("GET", "/")
                return store
            except ObjectStoreFailed:
                if process.poll() is not None or time.monotonic() > deadline:
                    store.stop()
                    tail = log.read_text(errors="replace")[-2000:]
                    raise ObjectStoreFailed(
                        f"moto's S3 server did not start on {store.endpoint}: {tail}"
                    ) from None
                time.sleep(0.1)

    def environment(self) -> dict[str, str]:
        """The standard AWS variables that point boto3 at this server."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "benchmarks",
            "AWS_SECRET_ACCESS_KEY": "benchmarks",
            "AWS_DEFAULT_REGION": REGION,
            # Nothing of the host's own AWS configuration.
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }

    def child_env(self, base: dict[str, str]) -> dict[str, str]:
        """``base`` without any ``AWS_*`` variable of the host, plus :meth:`environment`."""
        env = {name: value for name, value in base.items() if not name.startswith("AWS_")}
        env.update(self.environment())
        return env

    def new_bucket(self) -> str:
        """Create a new, empty bucket and return its name."""
        name = f"bench-{os.getpid()}-{next(self._buckets)}"
        self._request("PUT", f"/{name}")
        return name

    def reset(self) -> None:
        """Drop every bucket and object (moto's own reset endpoint)."""
        self._request("POST", "/moto-api/reset")

    def stop(self) -> None:
        """Stop the server and wait for it; everything it held is lost."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def _request(self, method: str, path: str) -> bytes:
        # Imported here: a harness run without the s3 case never pays for urllib's imports.
        import urllib.request

        request = urllib.request.Request(f"{self.endpoint}{path}", method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.read()
        except OSError as exc:
            raise ObjectStoreFailed(f"{method} {self.endpoint}{path}: {exc}") from exc
