"""A paperless-ngx 3.0.5 schema twin for the tests, run in real subprocesses.

The pytest process runs Django with the reference site, so the twin (its own ``documents``
app, ``paperless.settings``) only ever runs as ``manage.py`` or ``python -m`` in
``paperless_twin/src``, with the repository on PYTHONPATH for ``exporter`` and ``tests``.

Its database is a fresh one on the server the test pass runs on (the pass's DATABASE_URL):
an SQLite file beside the twin's data, or a uniquely named PostgreSQL or MariaDB database that
is dropped afterwards. A server that does not answer fails the test: it is never skipped.

Migrating is the slow part of a twin, so a test process migrates one :class:`TwinTemplate`
and each twin starts as a copy of it: the file copied (SQLite), ``CREATE DATABASE ...
TEMPLATE`` (PostgreSQL), or the server's own dump loaded (MariaDB, which has no templates).
A copy holds what ``migrate`` leaves, the ``django_migrations`` rows, content types,
permissions and sequence positions included.
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


@dataclass(frozen=True)
class TwinTemplate:
    """A migrated twin database that each twin's database is copied from."""

    database_url: str
    #: The SQLite file, or the PostgreSQL or MariaDB database's name.
    name: str


@contextlib.contextmanager
def fresh_database(folder: Path, template: TwinTemplate | None = None) -> Iterator[str]:
    """A DATABASE_URL of a new database on the pass's server, empty or a copy of
    ``template``; dropped at the end."""
    server = _server()
    if server["vendor"] == "sqlite":
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "twin.sqlite3"
        if template is not None:
            shutil.copyfile(template.name, path)
        yield f"sqlite:///{path}"
        return
    name = f"twin_{uuid.uuid4().hex[:16]}"
    user, host = server["USER"], server["HOST"] or "127.0.0.1"
    password = server["PASSWORD"] or ""
    auth = f"{user}:{password}" if password else user
    if server["vendor"] == "postgresql":
        port = int(server["PORT"] or 5432)
        source = f'"{template.name}"' if template else "template0 ENCODING 'UTF8'"
        _postgres(server, port, f'CREATE DATABASE "{name}" TEMPLATE {source}')
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
            if template is not None:
                _mysql_copy(server, port, template.name, name)
            yield f"mysql://{auth}@{host}:{port}/{name}"
        finally:
            _mysql(server, port, f"DROP DATABASE IF EXISTS `{name}`")
    else:
        raise AssertionError(f"no twin database for vendor {server['vendor']!r}")


def _mysql_copy(server: dict, port: int, source: str, target: str) -> None:
    """Load the server's dump of database ``source`` (tables, keys, rows) into ``target``."""
    login = ["-h", server["HOST"] or "127.0.0.1", "-P", str(port), "-u", server["USER"]]
    if server["PASSWORD"]:
        login.append(f"-p{server['PASSWORD']}")
    dump = subprocess.run(
        ["mariadb-dump", *login, "--skip-comments", "--single-transaction", source],
        capture_output=True,
        check=True,
        timeout=120,
    )
    subprocess.run(
        ["mariadb", *login, target], input=dump.stdout, capture_output=True, check=True, timeout=120
    )


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
def twin_template(folder: Path) -> Iterator[TwinTemplate]:
    """A twin database migrated in ``folder``, to copy twins from; dropped at the end."""
    assert TWIN_SRC.joinpath("manage.py").is_file(), f"no paperless twin at {TWIN_SRC}"
    data_dir = folder / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    with fresh_database(folder / "db") as url:
        Twin(data_dir, url).manage("migrate", "-v", "0", check=True, timeout=600)
        # A file path for SQLite, a database name on the servers.
        name = url.removeprefix("sqlite:///") if url.startswith("sqlite") else url.rsplit("/", 1)[1]
        yield TwinTemplate(url, name)


@contextlib.contextmanager
def twin_site(folder: Path, template: TwinTemplate, seed: bool = True) -> Iterator[Twin]:
    """A migrated twin in ``folder`` on a fresh copy of ``template`` (seeded unless ``seed``
    is false)."""
    data_dir = folder / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    with fresh_database(folder / "db", template) as url:
        twin = Twin(data_dir, url)
        if seed:
            twin.manage("seed_twin", *SEED, check=True, timeout=600)
        try:
            yield twin
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)
