"""Shared fixtures. Every test runs against the real database named by DATABASE_URL
(SQLite when unset); `scripts/test_databases.py` runs the suite once per database."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from django.core import serializers
from django.db import connection


@pytest.fixture
def media(settings, tmp_path: Path) -> Path:
    """A private, empty media directory for the test."""
    root = tmp_path / "media"
    settings.MEDIA_ROOT = root
    settings.ORIGINALS_DIR = root / "originals"
    settings.ARCHIVE_DIR = root / "archive"
    settings.THUMBNAIL_DIR = root / "thumbnails"
    settings.MEDIA_LOCK = root / "media.lock"
    root.mkdir()
    return root


@pytest.fixture
def db_vendor() -> str:
    return connection.vendor


def tree_digest(root: Path) -> dict[str, str]:
    """sha256 of every file under root, by relative path."""
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def serialize_all(models) -> list[dict]:
    """Django's own python serialization of every row of the given models, by pk."""
    records: list[dict] = []
    for model in models:
        records.extend(serializers.serialize("python", model._base_manager.order_by("pk")))
    return records


def database_url() -> str:
    """A DATABASE_URL for the database the tests run on (the test database, not the real one)."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    scheme = "postgres" if connection.vendor == "postgresql" else "mysql"
    password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
    port = f":{settings['PORT']}" if settings["PORT"] else ""
    return f"{scheme}://{settings['USER']}{password}@{settings['HOST']}{port}/{settings['NAME']}"


ROOT = Path(__file__).resolve().parent.parent


def run_manage(*args: str, data_dir: Path, check: bool = True, **kwargs):
    """Run manage.py in a real subprocess against the test database and data_dir's media."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, ARCHIVE_DATA_DIR=str(data_dir), DATABASE_URL=database_url())
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=check,
        capture_output=True,
        **kwargs,
    )


def pytest_collection_modifyitems(config, items):
    """On PostgreSQL and MariaDB run only the tests that touch the database.

    The rest (encoder, sinks, naming, secrets, benchmarks smoke test) do not depend on the
    database and already ran in the SQLite pass; running them three times proves nothing more.
    """
    import os

    url = os.environ.get("DATABASE_URL", "")
    if not url or url.startswith("sqlite"):
        return
    keep, drop = [], []
    for item in items:
        (keep if item.get_closest_marker("django_db") else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
