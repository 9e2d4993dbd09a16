"""manage.py streaming_exporter: ``document_exporter`` under a name of its own.

In a site whose own app has a ``document_exporter`` command and comes first in
``INSTALLED_APPS`` (paperless-ngx), Django runs that app's command by that name; this alias
always reaches ours.
"""

from exporter.management.commands.document_exporter import Command as DocumentExporter

__all__ = ["Command"]


class Command(DocumentExporter):
    """The same command as ``document_exporter``: the same options, the same run."""
