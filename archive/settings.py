"""Settings of the reference archive site.

Everything that varies between machines comes from the environment:

* ``ARCHIVE_DATA_DIR``: where the database (SQLite) and the media files live; default ``./data``
  under the project root.
* ``DATABASE_URL``: a dj-database-url URL selecting PostgreSQL or MariaDB instead of SQLite,
  e.g. ``postgres://postgres@127.0.0.1:5432/archive`` or ``mysql://root@127.0.0.1:3306/archive``.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

DATA_DIR = Path(os.environ.get("ARCHIVE_DATA_DIR", BASE_DIR / "data")).resolve()
MEDIA_ROOT = DATA_DIR / "media"
ORIGINALS_DIR = MEDIA_ROOT / "originals"
ARCHIVE_DIR = MEDIA_ROOT / "archive"
THUMBNAIL_DIR = MEDIA_ROOT / "thumbnails"
# The exporter holds this filelock for its whole run so that no consumer moves files under it.
MEDIA_LOCK = MEDIA_ROOT / "media.lock"

SECRET_KEY = os.environ.get("ARCHIVE_SECRET_KEY", "reference-archive-not-for-production")
DEBUG = os.environ.get("ARCHIVE_DEBUG", "") == "1"
ALLOWED_HOSTS = ["localhost", "127.0.0.1"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "guardian",
    "exporter",
    "documents",
]

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
# No implicit anonymous user row: an archive holds only the users somebody created.
ANONYMOUS_USER_NAME = None

ROOT_URLCONF = "archive.urls"

def _database(url: str) -> dict:
    try:
        return dj_database_url.parse(url)
    except (ValueError, dj_database_url.UnknownSchemeError) as exc:
        shown = url.split("@")[-1] if "@" in url else url
        raise ImproperlyConfigured(
            f"DATABASE_URL (...{shown}) cannot be used: {str(exc).splitlines()[0]} Use "
            "sqlite:///PATH, postgres://USER@HOST:PORT/NAME or mysql://USER@HOST:PORT/NAME."
        ) from None


DATABASES = {
    "default": _database(os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'db.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite cannot create the folder its file lives in; a fresh checkout has no ./data yet.
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL lets an export read while the archive is written, and writes each page once instead
    # of journalling it first: generating a million documents writes gigabytes less.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory: tests run the management commands in real subprocesses, which must
    # see the test database.
    # One per test process, so that two test runs in one checkout never share it.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / f"test-{os.getpid()}.sqlite3")}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
    # OCR text is full of emoji: the 3-byte "utf8" of MySQL cannot hold it.
    DATABASES["default"].setdefault("OPTIONS", {})["charset"] = "utf8mb4"
    DATABASES["default"]["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
    # InnoDB's DYNAMIC row format (the default since MariaDB 10.2) indexes up to 3072 bytes,
    # so the unique 256- and 512-character columns are fine there.
    SILENCED_SYSTEM_CHECKS = ["mysql.W003"]

DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
USE_I18N = True

# The export plan of this site: which sections, secrets, files and split manifests an export
# carries. The exporter engine reads it from here and never imports the documents app itself.
EXPORTER_PLAN = "documents.export_plan.build_plan"
# The layout of exported files with `document_exporter --use-filename-format`. Placeholders:
# created, created_year, created_month, created_day, correspondent, document_type,
# storage_path, owner_username, asn, title, doc_pk.
EXPORTER_FILENAME_FORMAT = os.environ.get(
    "ARCHIVE_FILENAME_FORMAT", "{created_year}/{correspondent}/{title}"
)
