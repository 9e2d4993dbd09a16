"""Django settings of the paperless-ngx 3.0.5 schema twin.

Only what the data model, its migrations and the file layout need: the database (``DATABASE_URL``,
default SQLite in ``PAPERLESS_DATA_DIR``), the media directories paperless derives from
``PAPERLESS_MEDIA_ROOT``, the audit log switch and the third-party apps whose models paperless
exports. Extra apps come from ``PAPERLESS_APPS`` (comma separated).
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

SRC_DIR = Path(__file__).resolve().parent.parent
TWIN_DIR = SRC_DIR.parent


def _env_bool(name: str, default: bool) -> bool:
    """Read a yes/no environment variable the way paperless does (``true``/``1``/``yes``...)."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "y", "t", "on"}


def _env_path(name: str, default: Path) -> Path:
    """An absolute directory from the environment, else ``default``."""
    return Path(os.environ.get(name) or default).resolve()


def _env_list(name: str) -> list[str]:
    """A comma-separated environment variable as a list; empty items are dropped."""
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


SECRET_KEY = os.environ.get("PAPERLESS_SECRET_KEY", "paperless-twin-not-a-secret")
DEBUG = False
ALLOWED_HOSTS = ["*"]

# --- Files (facts §2.1) --------------------------------------------------------------------------
DATA_DIR = _env_path("PAPERLESS_DATA_DIR", TWIN_DIR / "data")
MEDIA_ROOT = _env_path("PAPERLESS_MEDIA_ROOT", DATA_DIR / "media")
ORIGINALS_DIR = MEDIA_ROOT / "documents" / "originals"
ARCHIVE_DIR = MEDIA_ROOT / "documents" / "archive"
THUMBNAIL_DIR = MEDIA_ROOT / "documents" / "thumbnails"
SHARE_LINK_BUNDLE_DIR = MEDIA_ROOT / "documents" / "share_link_bundles"
MEDIA_LOCK = MEDIA_ROOT / "media.lock"
INDEX_DIR = DATA_DIR / "index"
MEDIA_URL = "/media/"
STATIC_URL = "/static/"

# --- Database ------------------------------------------------------------------------------------
_DEFAULT_DB = f"sqlite:///{DATA_DIR / 'db.sqlite3'}"
DATABASES = {"default": dj_database_url.config(default=_DEFAULT_DB, conn_max_age=0)}
_ENGINE = DATABASES["default"]["ENGINE"]
if _ENGINE.endswith("mysql"):
    # paperless requires utf8mb4 on MariaDB/MySQL so that emoji and other 4-byte text survive.
    DATABASES["default"].setdefault("OPTIONS", {})["charset"] = "utf8mb4"
    # paperless's schema has conditional unique constraints and long unique names, which
    # MariaDB cannot enforce; the warnings would repeat on every command.
    SILENCED_SYSTEM_CHECKS = ["models.W036", "mysql.W003"]
elif _ENGINE.endswith("sqlite3"):
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)

DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

# --- Apps ----------------------------------------------------------------------------------------
AUDIT_LOG_ENABLED = _env_bool("PAPERLESS_AUDIT_LOG_ENABLED", True)

# documents comes first: its document_exporter/document_importer win over any later app's, as
# paperless's own commands do in a real paperless site.
INSTALLED_APPS = [
    "documents.apps.DocumentsConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "guardian",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.mfa",
    "treenode",
    "multiselectfield",
    "paperless.apps.PaperlessConfig",
    "paperless_mail.apps.PaperlessMailConfig",
]
if AUDIT_LOG_ENABLED:
    INSTALLED_APPS.append("auditlog")
INSTALLED_APPS += _env_list("PAPERLESS_APPS")
# paperless-ngx has no such setting; the twin takes one from the environment so that tests can
# pin the exporter's plan (EXPORTER_PLAN=exporter.paperless.build_plan_2x). Unset: no setting.
if os.environ.get("EXPORTER_PLAN"):
    EXPORTER_PLAN = os.environ["EXPORTER_PLAN"]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]
if AUDIT_LOG_ENABLED:
    MIDDLEWARE.append("auditlog.middleware.AuditlogMiddleware")

ROOT_URLCONF = "paperless.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

AUTHENTICATION_BACKENDS = [
    "guardian.backends.ObjectPermissionBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
# guardian creates this user after every migrate (facts §1.8).
ANONYMOUS_USER_NAME = "AnonymousUser"

ACCOUNT_EMAIL_VERIFICATION = "none"
SOCIALACCOUNT_PROVIDERS: dict[str, dict] = {}
MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]

# --- Time ----------------------------------------------------------------------------------------
USE_TZ = True
TIME_ZONE = os.environ.get("PAPERLESS_TIME_ZONE", "UTC")
LANGUAGE_CODE = "en-us"
USE_I18N = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
