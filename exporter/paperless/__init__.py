"""The export plan of paperless-ngx, shipped with the engine.

In a paperless-ngx site (``exporter`` added through ``PAPERLESS_APPS``) that sets no
``EXPORTER_PLAN``, :func:`exporter.site_plan.load_plan` picks :func:`build_plan`: the sections,
filters and order of the running paperless-ngx version's own exporter, its secrets, its file
locations and its manifest layout and ``metadata.json`` format, so that an export of ours
imports into paperless-ngx and one of paperless-ngx into ours. :func:`build_plan_3x` and
:func:`build_plan_2x` pin a version's rules (``EXPORTER_PLAN = "exporter.paperless.
build_plan_2x"``).
"""

from __future__ import annotations

import importlib
from pathlib import Path

from django.apps import apps
from django.conf import settings

from exporter.paperless.files import document_files
from exporter.paperless.sections import EXCLUDED_USERNAMES, sections_2x, sections_3x
from exporter.plan import ExportPlan, PostImportStep

__all__ = [
    "SECRETS",
    "build_plan",
    "build_plan_2x",
    "build_plan_3x",
    "is_paperless_site",
    "paperless_version",
]

#: The fields paperless-ngx encrypts with ``--passphrase``, by model label.
SECRETS = {
    "paperless_mail.mailaccount": ("password", "refresh_token"),
    "socialaccount.socialtoken": ("token", "token_secret"),
}
_APPS = ("documents", "paperless", "paperless_mail")
#: What paperless-ngx's own importer runs when it is done, also after --data-only: its search
#: index holds every document's text and is not in the export.
REINDEX = PostImportStep("document_index", ("reindex",), "rebuild the search index")


def is_paperless_site() -> bool:
    """Whether the running Django site is paperless-ngx: its apps are installed and it has
    its version module."""
    if not all(apps.is_installed(name) for name in _APPS):
        return False
    return paperless_version() is not None


def paperless_version() -> str | None:
    """The running paperless-ngx's version string (``"3.0.5"``), or None outside one."""
    try:
        module = importlib.import_module("paperless.version")
    except ImportError:
        return None
    version = getattr(module, "__full_version_str__", None)
    return version if isinstance(version, str) else None


def build_plan() -> ExportPlan:
    """The plan of the running paperless-ngx: 2.x rules before version 3, else 3.x rules."""
    version = paperless_version() or ""
    major = version.split(".", 1)[0]
    if major.isdigit() and int(major) < 3:
        return build_plan_2x()
    return build_plan_3x()


def _plan(sections, layout: str, version: str) -> ExportPlan:
    return ExportPlan(
        sections=sections,
        secrets=dict(SECRETS),
        documents_key="documents",
        split_by_document={"notes": "document", "custom_field_instances": "document"},
        document_files=document_files(),
        media_root=Path(settings.MEDIA_ROOT),
        media_lock=Path(settings.MEDIA_LOCK),
        manifest_layout=layout,
        site_version=version,
        encryption_format="paperless",
        # What `migrate` creates: content types, permissions and the configuration singleton
        # are replaced by the export's; paperless's own users (not exported) stay.
        replace_on_import=(
            "contenttypes.contenttype",
            "auth.permission",
            "paperless.applicationconfiguration",
        ),
        kept_on_import={"auth.user": {"username__in": EXCLUDED_USERNAMES}},
        post_import=(REINDEX,),
    )


def build_plan_3x() -> ExportPlan:
    """paperless-ngx 3.x: its sections (trash and share link bundles included), the flat
    manifest layout it streams, its metadata.json."""
    return _plan(sections_3x(), "flat", paperless_version() or "3.0.5")


def build_plan_2x() -> ExportPlan:
    """paperless-ngx 2.x: its sections (live rows only), the classic layout, its metadata."""
    return _plan(sections_2x(), "classic", paperless_version() or "2.20.9")
