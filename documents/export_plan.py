"""The reference archive's export plan (named by the EXPORTER_PLAN setting)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from guardian.models import GroupObjectPermission, UserObjectPermission

from documents import models
from exporter.plan import DocumentFileInfo, DocumentFiles, ExportPlan, Section

DOCUMENT_COLUMNS = (
    "filename", "archive_filename", "mime_type", "checksum", "archive_checksum", "created",
    "title", "correspondent__name", "document_type__name", "storage_path__path",
    "owner__username", "archive_serial_number",
)


def file_destinations(pk: Any, fields: Mapping[str, Any]) -> tuple[Path, Path, Path | None]:
    """Where an imported document's original, thumbnail and archived version belong."""
    return (
        models.source_path_for(pk, fields["filename"], fields["mime_type"]),
        models.thumbnail_path_for(pk),
        models.archive_path_for(fields["archive_filename"]),
    )


def describe_document(pk: Any, row: Mapping[str, Any]) -> DocumentFileInfo:
    """A document's files and the values of its export name, from its ``DOCUMENT_COLUMNS``."""
    # Plain strings: a Path per file costs more than the rest of the description.
    source = models.source_file_for(pk, row["filename"], row["mime_type"])
    created = row["created"]
    return DocumentFileInfo(
        source=source,
        thumbnail=models.thumbnail_file_for(pk),
        archive=models.archive_file_for(row["archive_filename"]),
        checksum=row["checksum"],
        archive_checksum=row["archive_checksum"],
        original_extension=_suffix(source),
        name_values={
            "created": created.isoformat(),
            "created_year": f"{created.year:04}",
            "created_month": f"{created.month:02}",
            "created_day": f"{created.day:02}",
            "correspondent": row["correspondent__name"],
            "document_type": row["document_type__name"],
            "storage_path": row["storage_path__path"],
            "owner_username": row["owner__username"],
            "asn": row["archive_serial_number"],
            "title": row["title"],
            "doc_pk": f"{pk:07}",
        },
    )


def _suffix(path: str) -> str:
    """``Path(path).suffix``, without building the Path."""
    name = path.rstrip("/").rpartition("/")[2]
    dot = name.rfind(".")
    return name[dot:] if 0 < dot < len(name) - 1 else ""


def _by_pk(manager):
    return lambda: manager.order_by("pk")


def build_plan() -> ExportPlan:
    """The plan of the reference archive: every model in the classic exporter's order, mail
    passwords and tokens as secrets, notes and custom field values split per document."""
    # The order of the classic exporter: what a document points at comes before the document.
    sections = (
        Section("correspondents", _by_pk(models.Correspondent.objects)),
        Section("tags", _by_pk(models.Tag.objects)),
        Section("document_types", _by_pk(models.DocumentType.objects)),
        Section("storage_paths", _by_pk(models.StoragePath.objects)),
        Section("mail_accounts", _by_pk(models.MailAccount.objects)),
        Section("mail_rules", _by_pk(models.MailRule.objects)),
        Section("saved_views", _by_pk(models.SavedView.objects)),
        Section("saved_view_filter_rules", _by_pk(models.SavedViewFilterRule.objects)),
        Section("groups", _by_pk(Group.objects)),
        Section("users", _by_pk(User.objects)),
        Section("ui_settings", _by_pk(models.UiSettings.objects)),
        Section("content_types", _by_pk(ContentType.objects)),
        Section("permissions", _by_pk(Permission.objects)),
        Section("user_object_permissions", _by_pk(UserObjectPermission.objects)),
        Section("group_object_permissions", _by_pk(GroupObjectPermission.objects)),
        Section("custom_fields", _by_pk(models.CustomField.objects)),
        Section("custom_field_instances", _by_pk(models.CustomFieldInstance.objects)),
        Section("notes", _by_pk(models.Note.objects)),
        # Trashed documents too: a restore must bring back the trash as it was.
        Section("documents", _by_pk(models.Document.global_objects)),
        Section("share_links", _by_pk(models.ShareLink.objects)),
    )
    return ExportPlan(
        sections=sections,
        secrets={"documents.mailaccount": ("password", "refresh_token")},
        documents_key="documents",
        split_by_document={"notes": "document", "custom_field_instances": "document"},
        document_files=DocumentFiles(
            columns=DOCUMENT_COLUMNS, describe=describe_document, destinations=file_destinations
        ),
        media_root=Path(settings.MEDIA_ROOT),
        media_lock=Path(settings.MEDIA_LOCK),
        filename_format=getattr(settings, "EXPORTER_FILENAME_FORMAT", None),
    )
