"""A paperless-ngx 3.0.5 schema twin for the tests, run in real subprocesses.

The pytest process runs Django with the reference site, so the twin (its own ``documents``
app, ``paperless.settings``) only ever runs as ``manage.py`` or ``python -m`` in
``paperless_twin/src``, with the repository on PYTHONPATH for ``exporter`` and ``tests``.

Its database is a fresh one on the server the test pass runs on (the pass's DATABASE_URL):
an SQLite file beside the twin's data, or a uniquely named PostgreSQL or MariaDB database that
is dropped afterwards. A server that does not answer fails the test: it is never skipped.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.helpers.processes import ROOT

#: The twin's ``src`` folder, laid out like paperless-ngx's.
TWIN_SRC = ROOT / "paperless_twin" / "src"
#: What the seeded twin holds, as ``seed_twin`` options.
SEED = ("--documents", "40", "--seed", "7")
#: Variables of the test run that must not reach the twin.
_NOT_INHERITED = (
    "DATABASE_URL",
    "DJANGO_SETTINGS_MODULE",
    "DOCUMENT_EXPORTER_PASSPHRASE",
    "STOP_AT",
    "ARCHIVE_DATA_DIR",
    "EXPORTER_PLAN",
)


def _server() -> dict:
    """The pass's database server, from the reference site's connection settings."""
    from django.db import connection

    return {"vendor": connection.vendor, **connection.settings_dict}


@contextlib.contextmanager
def fresh_database(folder: Path) -> Iterator[str]:
    """A DATABASE_URL of an empty database on the pass's server; dropped at the end."""
    server = _server()
    if server["vendor"] == "sqlite":
        folder.mkdir(parents=True, exist_ok=True)
        yield f"sqlite:///{folder / 'twin.sqlite3'}"
        return
    name = f"twin_{uuid.uuid4().hex[:16]}"
    user, host = server["USER"], server["HOST"] or "127.0.0.1"
    password = server["PASSWORD"] or ""
    auth = f"{user}:{password}" if password else user
    if server["vendor"] == "postgresql":
        port = int(server["PORT"] or 5432)
        _postgres(server, port, f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0")
        try:
            yield f"postgres://{auth}@{host}:{port}/{name}"
        finally:
            _postgres(server, port, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    elif server["vendor"] == "mysql":
        port = int(server["PORT"] or 3306)
        _mysql(
            server,
            port,
            f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
        )
        try:
            yield f"mysql://{auth}@{host}:{port}/{name}"
        finally:
            _mysql(server, port, f"DROP DATABASE IF EXISTS `{name}`")
    else:
        raise AssertionError(f"no twin database for vendor {server['vendor']!r}")


def _postgres(server: dict, port: int, statement: str) -> None:
    import psycopg

    with psycopg.connect(
        host=server["HOST"] or "127.0.0.1",
        port=port,
        user=server["USER"],
        password=server["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
        connect_timeout=10,
    ) as connection:
        connection.execute(statement)


def _mysql(server: dict, port: int, statement: str) -> None:
    import MySQLdb

    connection = MySQLdb.connect(
        host=server["HOST"] or "127.0.0.1",
        port=port,
        user=server["USER"],
        password=server["PASSWORD"] or "",
        connect_timeout=10,
    )
    try:
        connection.cursor().execute(statement)
    finally:
        connection.close()


@dataclass
class Twin:
    """One twin site: its data and media folders and its database."""

    data_dir: Path
    database_url: str
    env: dict[str, str] = field(default_factory=dict)

    @property
    def media_root(self) -> Path:
        """The twin's MEDIA_ROOT."""
        return self.data_dir / "media"

    def environment(self, **extra: str) -> dict[str, str]:
        """The twin's process environment, with ``extra`` on top."""
        env = {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED}
        env = {k: v for k, v in env.items() if not k.startswith("PAPERLESS_")}
        pythonpath = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        env.update(
            PYTHONPATH=pythonpath,
            DJANGO_SETTINGS_MODULE="paperless.settings",
            PAPERLESS_APPS="exporter",
            PAPERLESS_DATA_DIR=str(self.data_dir),
            PAPERLESS_MEDIA_ROOT=str(self.media_root),
            DATABASE_URL=self.database_url,
        )
        env.update(self.env)
        env.update(extra)
        return env

    def run(
        self,
        *argv: str,
        env: dict[str, str] | None = None,
        timeout: float = 300,
        check: bool = False,
    ) -> subprocess.CompletedProcess:
        """``python *argv`` in the twin's ``src``; text output captured, stdin closed."""
        done = subprocess.run(
            [sys.executable, *argv],
            cwd=TWIN_SRC,
            env=self.environment(**(env or {})),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        if check:
            assert done.returncode == 0, (argv, done.stdout, done.stderr)
        return done

    def manage(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        """``manage.py *args`` in the twin."""
        return self.run("manage.py", *args, **kwargs)

    def module(self, name: str, *args: str, **kwargs) -> subprocess.CompletedProcess:
        """``python -m name *args`` in the twin (e.g. the oracle)."""
        return self.run("-m", name, *args, **kwargs)

    def oracle(self, output: Path, *args: str, **kwargs) -> Path:
        """The oracle's expected export of this twin, written into ``output``; ``output``."""
        self.module("tests.paperless.oracle", str(output), *args, check=True, **kwargs)
        return output


@contextlib.contextmanager
def twin_site(folder: Path, seed: bool = True) -> Iterator[Twin]:
    """A migrated twin in ``folder`` on a fresh database (seeded unless ``seed`` is false)."""
    assert TWIN_SRC.joinpath("manage.py").is_file(), f"no paperless twin at {TWIN_SRC}"
    data_dir = folder / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    with fresh_database(folder / "db") as url:
        twin = Twin(data_dir, url)
        twin.manage("migrate", "-v", "0", check=True, timeout=600)
        if seed:
            twin.manage("seed_twin", *SEED, check=True, timeout=600)
        try:
            yield twin
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)
