"""What the tests of ``s3://`` targets share: the server, its request log, the bucket's contents
and the commands run against it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from tests.helpers.processes import command_environment


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on now."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(log: Path, **settings: str) -> S3Server:
    """moto's S3 server in a new process on a free port of 127.0.0.1, its request recorder
    enabled, moto's ``settings`` (environment variables) given and its output in ``log``;
    AssertionError if it does not answer within 30 s."""
    import time

    port = free_port()
    env = dict(
        os.environ,
        MOTO_ENABLE_RECORDING="True",
        # The recorder's log goes beside the server's, never into the working directory.
        MOTO_RECORDER_FILEPATH=str(log.with_name("recording.jsonl")),
        S3_UPLOAD_PART_MIN_SIZE=str(MIN_PART),
        **settings,
    )
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=log.parent,
        )
    server = S3Server(f"http://127.0.0.1:{port}", process)
    deadline = time.monotonic() + 30
    while True:
        try:
            server.api("", method="GET")
            return server
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise AssertionError(
                    f"moto's S3 server did not start on {server.endpoint}:\n{log.read_text()}"
                ) from None
            time.sleep(0.1)


#: A generation's uploaded files live under ``generations/<id>/files/``.
FILES = "/files/"
#: The size of the parts the tests upload in (the exporter's own are 8 MiB) and the smallest
#: part the test server takes, so that manifests of a small archive go up in several parts.
MIN_PART = 64 << 10


@dataclass
class S3Server:
    """moto's server process at ``endpoint``."""

    endpoint: str
    process: subprocess.Popen

    def environment(self) -> dict[str, str]:
        """The standard AWS variables that point boto3 at this server."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            # Few retries: a test of the server stopped mid-run need not wait long.
            "AWS_MAX_ATTEMPTS": "2",
        }

    def client(self) -> Any:
        """A boto3 client of the server."""
        import boto3

        env = self.environment()
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            region_name=env["AWS_DEFAULT_REGION"],
        )

    def api(self, path: str, method: str = "POST") -> bytes:
        """A request to moto's own ``/moto-api/`` endpoints."""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/{path}", method=method)
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.read()

    @contextmanager
    def recording(self):
        """Record every request the server receives inside the block, on the server's side;
        the list of :class:`Request` is filled when the block ends."""
        self.api("recorder/reset-recording")
        self.api("recorder/start-recording")
        requests: list[Request] = []
        try:
            yield requests
        finally:
            self.api("recorder/stop-recording")
            log = self.api("recorder/download-recording", method="GET").decode()
            requests.extend(Request.parse(line) for line in log.splitlines() if line.strip())

    def running(self) -> bool:
        """Whether the server process is alive."""
        return self.process.poll() is None

    def stop(self) -> None:
        """Stop the server (its buckets are lost)."""
        if self.running():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass(frozen=True)
class Request:
    """One request the server received: its method, key (bucket and key) and query."""

    method: str
    path: str
    query: str

    @classmethod
    def parse(cls, line: str) -> Request:
        value = json.loads(line)
        url = urlsplit(value["url"])
        return cls(value["method"], unquote(url.path), url.query)

    @property
    def uploads_bytes(self) -> bool:
        """Whether the request carried an object's bytes: a PutObject or an UploadPart."""
        return self.method == "PUT" and "x-id=CopyObject" not in self.query


def uploaded_files(requests: list[Request]) -> list[str]:
    """The names in the export of the files whose bytes the recorded requests uploaded (a
    PutObject, or an UploadPart of a multipart upload), in order."""
    return [r.path.rpartition(FILES)[2] for r in requests if r.uploads_bytes and FILES in r.path]


def objects(client: Any, bucket: str, prefix: str = "") -> dict[str, bytes]:
    """Every object of the bucket under ``prefix``, by key (relative to it)."""
    found = {}
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            key = item["Key"]
            found[key[len(prefix) :]] = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    return found


def committed_files(client: Any, bucket: str, prefix: str = "") -> dict[str, bytes]:
    """The files of the committed export under ``prefix``, by their names in the export, read
    as the record of the committed generation gives them (not as the exporter reads them)."""
    commit = json.loads(client.get_object(Bucket=bucket, Key=f"{prefix}COMMIT.json")["Body"].read())
    record_key = commit["generations"][0]["record"]["key"]
    record = client.get_object(Bucket=bucket, Key=prefix + record_key)["Body"].read()
    files = {}
    for line in record.decode().splitlines():
        entry = json.loads(line)
        data = client.get_object(Bucket=bucket, Key=prefix + entry["key"])["Body"].read()
        files[entry["path"]] = data
    return files


def directory_files(root: Path) -> dict[str, bytes]:
    """Every file of a directory export, but the tool's own (``.document_exporter-*``)."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.name.startswith(".document_exporter-")
    }


def run(data_dir: Path, env: dict[str, str], *args: str, timeout: float = 120):
    """``manage.py *args`` in a real process on the test database, with the AWS environment."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=Path(__file__).resolve().parents[2],
        env=command_environment(data_dir, **env),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


class CuttableProxy:
    """A TCP proxy on a free port of 127.0.0.1 in front of the server: :meth:`cut` stops it
    and resets every connection through it (the network gone, the server and its data not),
    :meth:`restore` listens again on the same port."""

    def __init__(self, upstream: str) -> None:
        self.upstream = ("127.0.0.1", urlsplit(upstream).port)
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        #: While True, every new connection is answered ``503 SlowDown``, as a throttling
        #: server answers, instead of being forwarded.
        self.throttling = False
        #: How many requests were answered ``503 SlowDown``.
        self.throttled = 0
        self._server: Any = None
        self._sockets: set[Any] = set()
        self.restore()

    def restore(self) -> None:
        """Listen and forward again."""
        import socket
        import socketserver
        import threading

        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                if proxy.throttling:
                    proxy.throttled += 1
                    _slow_down(self.request)
                    return
                upstream = socket.create_connection(proxy.upstream)
                proxy._sockets.update((self.request, upstream))
                pump = threading.Thread(target=_pump, args=(upstream, self.request), daemon=True)
                pump.start()
                _pump(self.request, upstream)
                pump.join()

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self._server = Server(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def cut(self) -> None:
        """Stop listening and reset every open connection."""
        import socket
        import struct

        self._server.shutdown()
        self._server.server_close()
        for sock in list(self._sockets):
            try:
                # A reset, not a polite close: as when the network or the server goes away.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.close()
            except OSError:
                pass
        self._sockets.clear()


_SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message></Error>"
)


def _slow_down(sock: Any) -> None:
    """Read one request from ``sock`` and answer it ``503 SlowDown``, then close."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(b":") for line in head.split(b"\r\n")[1:])
    }
    if headers.get(b"expect", b"").lower() != b"100-continue":
        # The body follows the headers: read it, so that the client reads the answer.
        length = int(headers.get(b"content-length", b"0") or 0)
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
    answer = (
        b"HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\n"
        + f"Content-Length: {len(_SLOW_DOWN)}\r\nConnection: close\r\n\r\n".encode()
        + _SLOW_DOWN
    )
    with suppress(OSError):
        sock.sendall(answer)
        sock.close()


def _pump(source: Any, destination: Any) -> None:
    try:
        while data := source.recv(65536):
            destination.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, destination):
            with suppress(OSError):
                sock.shutdown(2)
