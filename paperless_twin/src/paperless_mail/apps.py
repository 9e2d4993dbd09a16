"""App configuration of ``paperless_mail``."""

from django.apps import AppConfig


class PaperlessMailConfig(AppConfig):
    """The mail app (label ``paperless_mail``)."""

    name = "paperless_mail"
    label = "paperless_mail"
    verbose_name = "Paperless mail"
