"""Which models the audit log follows, and how (only with ``AUDIT_LOG_ENABLED``)."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

from django.conf import settings


def register_audited_models() -> None:
    """Register paperless's audited models with django-auditlog (once per process)."""
    from auditlog.registry import auditlog

    from documents.models import (
        Correspondent,
        CustomField,
        CustomFieldInstance,
        Document,
        DocumentType,
        Note,
        Tag,
    )

    # Content and modification times change on every edit; the log would only repeat them.
    auditlog.register(Document, m2m_fields={"tags"}, exclude_fields=["content", "modified"])
    auditlog.register(Correspondent)
    auditlog.register(Tag)
    auditlog.register(DocumentType)
    auditlog.register(Note)
    auditlog.register(CustomField)
    auditlog.register(CustomFieldInstance)


def acting_as(user: object | None, **request: object) -> AbstractContextManager:
    """Attribute audit-log entries made inside the block to ``user`` (and request details).

    Without the audit log, or without a user, the block runs unattributed.
    """
    if user is None or not getattr(settings, "AUDIT_LOG_ENABLED", False):
        return nullcontext()
    from auditlog.context import set_actor

    return set_actor(user, **request)
