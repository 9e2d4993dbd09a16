"""App configuration of ``documents``; registers the audited models with django-auditlog."""

from django.apps import AppConfig
from django.conf import settings


class DocumentsConfig(AppConfig):
    """The documents app (label ``documents``)."""

    name = "documents"
    label = "documents"
    verbose_name = "Documents"

    def ready(self) -> None:
        """Register the models paperless audits, when the audit log is enabled."""
        if getattr(settings, "AUDIT_LOG_ENABLED", False):
            from documents.auditing import register_audited_models

            register_audited_models()
