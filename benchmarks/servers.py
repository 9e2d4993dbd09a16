"""PostgreSQL and MariaDB administration for benchmark archives: one database per archive.

Each archive lives in its own database (``bench_<size>_s<seed>``) on the server of the
``--database`` URL. A one-row marker table written after generation succeeded says the database
is complete and which generator made it; without it the database is dropped and made again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import dj_database_url

MARKER_TABLE = "benchmarks_archive_marker"
ENGINES = {
    "django.db.backends.postgresql": "postgresql",
    "django.db.backends.mysql": "mysql",
    "django.db.backends.sqlite3": "sqlite",
}


@dataclass(frozen=True)
class Server:
    """A database server named by a URL; ``engine`` is postgresql or mysql."""

    url: str
    engine: str

    @classmethod
    def parse(cls, url: str) -> Server:
        """The server of a PostgreSQL or MariaDB URL; ValueError for any other."""
        engine = ENGINES.get(dj_database_url.parse(url)["ENGINE"])
        if engine not in ("postgresql", "mysql"):
            raise ValueError(f"--database must be a PostgreSQL or MySQL/MariaDB URL, got {url!r}")
        return cls(url=url, engine=engine)

    def url_for(self, database: str) -> str:
        """This server's URL with another database name."""
        if not re.fullmatch(r"[a-z0-9_]+", database):
            raise ValueError(f"unsafe database name {database!r}")
        parts = urlsplit(self.url)
        return urlunsplit(parts._replace(path="/" + database))

    def redacted(self, url: str | None = None) -> str:
        """The URL without its password, for results files and logs."""
        parts = urlsplit(url or self.url)
        if parts.password is None:
            return urlunsplit(parts)
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
        return urlunsplit(parts._replace(netloc=netloc))

    def read_marker(self, database: str) -> dict[str, Any] | None:
        """The marker row of ``database``, or None if the database or its marker is missing."""
        try:
            with self._connect(database) as connection:
                cursor = connection.cursor()
                cursor.execute(f"SELECT fingerprint, documents, seed FROM {MARKER_TABLE}")
                row = cursor.fetchone()
        except Exception:  # noqa: BLE001 - no database, no table: either way not complete
            return None
        if row is None:
            return None
        return {"fingerprint": row[0], "documents": int(row[1]), "seed": int(row[2])}

    def write_marker(self, database: str, fingerprint: str, documents: int, seed: int) -> None:
        """Mark ``database`` as a complete archive of these parameters."""
        with self._connect(database) as connection:
            cursor = connection.cursor()
            cursor.execute(
                f"CREATE TABLE {MARKER_TABLE} "
                "(fingerprint VARCHAR(64), documents BIGINT, seed BIGINT)"
            )
            # Both drivers use the "format" parameter style.
            cursor.execute(
                f"INSERT INTO {MARKER_TABLE} VALUES (%s, %s, %s)", (fingerprint, documents, seed)
            )
            connection.commit()

    def recreate(self, database: str) -> None:
        """Drop ``database`` if it exists and create it empty."""
        self.url_for(database)  # validates the name before it goes into SQL
        with self._connect(None) as connection:
            cursor = connection.cursor()
            cursor.execute(f"DROP DATABASE IF EXISTS {database}")
            if self.engine == "mysql":
                # OCR text holds emoji: MySQL's 3-byte "utf8" cannot store them.
                cursor.execute(
                    f"CREATE DATABASE {database} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
                )
            else:
                cursor.execute(f"CREATE DATABASE {database} ENCODING 'UTF8'")

    def drop(self, database: str) -> None:
        """Drop ``database`` if it exists."""
        self.url_for(database)  # validates the name before it goes into SQL
        with self._connect(None) as connection:
            connection.cursor().execute(f"DROP DATABASE IF EXISTS {database}")

    def _connect(self, database: str | None) -> Any:
        """A DB-API connection; ``None`` for the server's maintenance database."""
        config = dj_database_url.parse(self.url)
        if self.engine == "postgresql":
            import psycopg

            return psycopg.connect(
                host=config["HOST"] or None,
                port=config["PORT"] or 5432,
                user=config["USER"] or None,
                password=config["PASSWORD"] or None,
                dbname=database or "postgres",
                connect_timeout=10,
                # CREATE/DROP DATABASE cannot run inside a transaction.
                autocommit=database is None,
            )
        import MySQLdb

        options = {"db": database} if database else {}
        return MySQLdb.connect(
            host=config["HOST"] or "127.0.0.1",
            port=int(config["PORT"] or 3306),
            user=config["USER"] or "root",
            password=config["PASSWORD"] or "",
            connect_timeout=10,
            charset="utf8mb4",
            **options,
        )
