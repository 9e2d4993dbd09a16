"""The manifest sections of paperless-ngx's own exporter, version by version.

Each section is the QuerySet paperless-ngx's ``document_exporter`` reads, in the order it
writes them, with the same filters and the same ordering (its models' ``Meta.ordering``, no
tie-breaker): on the same database the same SQL returns the same rows in the same order, which
is what makes the manifests byte-identical. The models are imported when a plan is built, so
that this module imports in any site.
"""

from __future__ import annotations

from collections.abc import Callable

from django.apps import apps
from django.conf import settings
from django.db.models import QuerySet

from exporter.paperless.files import bundle_destinations, bundle_files
from exporter.plan import Section

__all__ = ["EXCLUDED_USERNAMES", "sections_2x", "sections_3x"]

#: Users paperless-ngx creates for itself, whose own rows its exporter leaves out.
EXCLUDED_USERNAMES = ("consumer", "AnonymousUser")


def _all(label: str, manager: str = "objects") -> Callable[[], QuerySet]:
    return lambda: getattr(apps.get_model(label), manager).all()


def _without_excluded_users(label: str, lookup: str) -> Callable[[], QuerySet]:
    return lambda: apps.get_model(label).objects.exclude(
        **{f"{lookup}__in": EXCLUDED_USERNAMES}
    )


def _by_id(label: str, manager: str = "objects") -> Callable[[], QuerySet]:
    return lambda: getattr(apps.get_model(label), manager).order_by("id")


def _head() -> list[Section]:
    """Correspondents to saved view filter rules: the same in every version."""
    return [
        Section("correspondents", _all("documents.Correspondent")),
        Section("tags", _all("documents.Tag")),
        Section("document_types", _all("documents.DocumentType")),
        Section("storage_paths", _all("documents.StoragePath")),
        Section("mail_accounts", _all("paperless_mail.MailAccount")),
        Section("mail_rules", _all("paperless_mail.MailRule")),
        Section("saved_views", _all("documents.SavedView")),
        Section("saved_view_filter_rules", _all("documents.SavedViewFilterRule")),
        Section("groups", _all("auth.Group")),
        Section("users", _without_excluded_users("auth.User", "username")),
    ]


def _workflows() -> list[Section]:
    return [
        Section("group_object_permissions", _all("guardian.GroupObjectPermission")),
        Section("workflow_triggers", _all("documents.WorkflowTrigger")),
        Section("workflow_actions", _all("documents.WorkflowAction")),
        Section("workflow_email_actions", _all("documents.WorkflowActionEmail")),
        Section("workflow_webhook_actions", _all("documents.WorkflowActionWebhook")),
        Section("workflows", _all("documents.Workflow")),
        Section("custom_fields", _all("documents.CustomField")),
    ]


def _audit_log() -> list[Section]:
    # paperless-ngx exports its audit log only when it keeps one.
    if getattr(settings, "AUDIT_LOG_ENABLED", False) and apps.is_installed("auditlog"):
        return [Section("log_entries", _all("auditlog.LogEntry"))]
    return []


def sections_3x() -> tuple[Section, ...]:
    """paperless-ngx 3.x: trashed documents and soft-deleted rows included, the rows of its
    own users left out, documents and share link bundles (with their files) last."""
    return tuple(
        _head()
        + [
            Section(
                "ui_settings", _without_excluded_users("documents.UiSettings", "user__username")
            ),
            Section("content_types", _all("contenttypes.ContentType")),
            Section("permissions", _all("auth.Permission")),
            Section(
                "user_object_permissions",
                _without_excluded_users("guardian.UserObjectPermission", "user__username"),
            ),
        ]
        + _workflows()
        + [
            Section(
                "custom_field_instances", _all("documents.CustomFieldInstance", "global_objects")
            ),
            Section("app_configs", _all("paperless.ApplicationConfiguration")),
            Section("notes", _all("documents.Note", "global_objects")),
            Section("share_links", _all("documents.ShareLink", "global_objects")),
            Section(
                "social_accounts",
                _without_excluded_users("socialaccount.SocialAccount", "user__username"),
            ),
            Section("social_apps", _all("socialaccount.SocialApp")),
            Section(
                "social_tokens",
                _without_excluded_users("socialaccount.SocialToken", "account__user__username"),
            ),
            Section(
                "authenticators",
                _without_excluded_users("mfa.Authenticator", "user__username"),
            ),
        ]
        + _audit_log()
        + [
            Section("documents", _by_id("documents.Document", "global_objects")),
            Section(
                "share_link_bundles",
                _by_id("documents.ShareLinkBundle"),
                files=bundle_files,
                file_destinations=bundle_destinations,
            ),
        ]
    )


def sections_2x() -> tuple[Section, ...]:
    """paperless-ngx 2.x: live rows only, documents after the notes, no share links."""
    return tuple(
        _head()
        + [
            Section("ui_settings", _all("documents.UiSettings")),
            Section("content_types", _all("contenttypes.ContentType")),
            Section("permissions", _all("auth.Permission")),
            Section("user_object_permissions", _all("guardian.UserObjectPermission")),
        ]
        + _workflows()
        + [
            Section("custom_field_instances", _all("documents.CustomFieldInstance")),
            Section("app_configs", _all("paperless.ApplicationConfiguration")),
            Section("notes", _all("documents.Note")),
            Section("documents", _by_id("documents.Document")),
            Section("social_accounts", _all("socialaccount.SocialAccount")),
            Section("social_apps", _all("socialaccount.SocialApp")),
            Section("social_tokens", _all("socialaccount.SocialToken")),
            Section("authenticators", _all("mfa.Authenticator")),
        ]
        + _audit_log()
    )
