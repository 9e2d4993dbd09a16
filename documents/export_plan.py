"""The reference archive's export plan (named by the EXPORTER_PLAN setting)."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from guardian.models import GroupObjectPermission, UserObjectPermission

from documents import models
from exporter.plan import ExportPlan, Section


def _by_pk(manager):
    return lambda: manager.order_by("pk")


def build_plan() -> ExportPlan:
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
    )
