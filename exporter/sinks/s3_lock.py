"""
``LOCK.json``: one run at a time writes into an ``s3://`` location.

The lock object is created only if absent (a conditional ``PutObject`` with ``If-None-Match``),
and says which host and process hold it since when; see :class:`RemoteLock`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import time
from typing import Any

from exporter.sinks.s3_client import ObjectStoreError, S3Location, translated

__all__ = ["LOCK_NAME", "RemoteLock"]

LOCK_NAME = "LOCK.json"


class RemoteLock:
    """``LOCK.json``, created only if absent (If-None-Match), so that two runs never write
    into one location at once. A lock left by a killed run on this host (its process is gone)
    is taken over; one of another host is refused with what to do."""

    def __init__(self, client: Any, location: S3Location, generation: str) -> None:
        self.client = client
        self.location = location
        self.generation = generation
        self.held = False
        self.taken_over: dict[str, Any] | None = None

    def acquire(self, timeout: float = 0) -> None:
        """Take the lock, waiting up to ``timeout`` seconds for another live run to let it go;
        ObjectStoreError (kind ``busy``) if it does not."""
        body = json.dumps(
            {
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "generation": self.generation,
                "since": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            }
        ).encode("utf-8")
        key = self.location.key(LOCK_NAME)
        deadline = time.monotonic() + timeout
        takeovers = 0
        while True:
            with translated(self.location, f"taking {LOCK_NAME}"):
                if self._create(key, body):
                    self.held = True
                    return
                holder = self._holder()
                if _is_dead_here(holder) and takeovers < 3:
                    # A killed run of this host: its lock is stale.
                    self.taken_over = holder
                    takeovers += 1
                    self.client.delete_object(Bucket=self.location.bucket, Key=key)
                    continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ObjectStoreError(
                    f"Another document_exporter is writing into {self.location.url} (host "
                    f"{holder.get('host')}, process {holder.get('pid')}, since "
                    f"{holder.get('since')}). Wait for it to finish, or pass --lock-timeout "
                    f"SECONDS to wait for it; if it was stopped on another host, remove "
                    f"{self.location.url}/{LOCK_NAME}.",
                    "busy",
                )
            time.sleep(min(1.0, remaining))

    def _create(self, key: str, body: bytes) -> bool:
        """Create the lock object unless it exists; whether it was created."""
        from botocore.exceptions import ClientError

        try:
            self.client.put_object(Bucket=self.location.bucket, Key=key, Body=body, IfNoneMatch="*")
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in ("PreconditionFailed", "ConditionalRequestConflict"):
                return False
            raise
        return True

    def release(self) -> None:
        """Remove the lock; best effort (a lock of a dead process here is taken over)."""
        if not self.held:
            return
        self.held = False
        try:
            with translated(self.location, f"removing {LOCK_NAME}"):
                self.client.delete_object(
                    Bucket=self.location.bucket, Key=self.location.key(LOCK_NAME)
                )
        except Exception:  # noqa: S110 - the next run on this host takes the lock over
            pass

    def _holder(self) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        try:
            answer = self.client.get_object(
                Bucket=self.location.bucket, Key=self.location.key(LOCK_NAME)
            )
            value = json.loads(answer["Body"].read())
            return value if isinstance(value, dict) else {}
        except ClientError:
            return {"host": socket.gethostname(), "pid": None}  # gone meanwhile: retry
        except ValueError:
            return {}


def _is_dead_here(holder: dict[str, Any]) -> bool:
    """Whether the lock's holder is a process of this host that no longer runs."""
    if holder.get("host") != socket.gethostname():
        return False
    pid = holder.get("pid")
    if not isinstance(pid, int):
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return pid == os.getpid()
