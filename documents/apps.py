"""The Django app of the reference document archive."""

from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    """A reference document archive, shaped like the archives the exporter is built for."""

    name = "documents"
    verbose_name = "Documents"
