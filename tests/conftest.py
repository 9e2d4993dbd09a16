"""Shared fixtures. Every test runs against the real database named by DATABASE_URL
(SQLite when unset); `scripts/test_databases.py` runs the suite once per database.

The helpers the test modules share are in :mod:`tests.helpers`."""

from __future__ import annotations

from pathlib import Path

import pytest
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


@pytest.fixture
def archive(request, media: Path) -> Path:
    """The archive the test module describes in ``ARCHIVE`` (options of ``generate_archive``),
    generated into the test database and ``media``; ``media``."""
    from documents.generator import generate_archive

    generate_archive(**request.module.ARCHIVE)
    return media


@pytest.fixture
def target(tmp_path: Path) -> Path:
    """An empty export directory beside (never inside) the media directory."""
    path = tmp_path / "export"
    path.mkdir()
    return path


@pytest.fixture
def source(tmp_path: Path) -> dict[str, Path]:
    """The files of a small media directory by their export names: a PDF of several read
    chunks, a thumbnail and a text file."""
    import os

    from tests.helpers.files import BIG, OLD_NS, make

    root = tmp_path / "media"
    return {
        "originals/0001.pdf": make(root / "o1.pdf", os.urandom(BIG), mode=0o640),
        "thumbnails/0001.webp": make(root / "t1.webp", b"RIFF....WEBP" * 50),
        "originals/0002.txt": make(root / "o2.txt", b"plain text\n" * 100, OLD_NS + 123),
    }


def pytest_collection_modifyitems(config, items):
    """On PostgreSQL and MariaDB run only the tests whose outcome can depend on the database.

    Those are the tests that touch the database (``django_db``), less those marked
    ``one_database``: their subject is files, signals or processes, and the database only
    supplies something to export. The rest (encoder, sinks, naming, secrets, the benchmarks'
    smoke test) already ran in the SQLite pass; running them three times proves nothing more.
    """
    import os

    url = os.environ.get("DATABASE_URL", "")
    if not url or url.startswith("sqlite"):
        return
    keep, drop = [], []
    for item in items:
        backend_bound = item.get_closest_marker("django_db") and not item.get_closest_marker(
            "one_database"
        )
        (keep if backend_bound else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
