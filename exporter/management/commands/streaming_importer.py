"""manage.py streaming_importer: ``document_importer`` under a name of its own.

In a site whose own app has a ``document_importer`` command and comes first in
``INSTALLED_APPS`` (paperless-ngx), Django runs that app's command by that name; this alias
always reaches ours.
"""

from exporter.management.commands.document_importer import Command as DocumentImporter

__all__ = ["Command"]


class Command(DocumentImporter):
    """The same command as ``document_importer``: the same options, the same run."""
