"""Which models the audit log follows, and how (only with ``AUDIT_LOG_ENABLED``)."""

from __future__ import annotations


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
