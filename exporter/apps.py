"""The Django app of the exporter: its management commands."""

from django.apps import AppConfig


class ExporterConfig(AppConfig):
    """The streaming export engine. It has no models and knows no domain app."""

    name = "exporter"
    verbose_name = "Streaming exporter"
