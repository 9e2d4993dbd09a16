"""App configuration of the ``paperless`` app (label ``paperless``)."""

from django.apps import AppConfig


class PaperlessConfig(AppConfig):
    """The app holding :class:`paperless.models.ApplicationConfiguration`."""

    name = "paperless"
    label = "paperless"
    verbose_name = "Paperless"
