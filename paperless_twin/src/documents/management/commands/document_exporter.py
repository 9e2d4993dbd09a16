"""Stands for paperless-ngx's own ``document_exporter`` command, and does not implement it.

In a real paperless site, paperless's ``documents`` app provides ``document_exporter``, and
because ``documents`` comes first in INSTALLED_APPS it shadows any later app's command of the
same name. This command exists only so that the shadowing can be shown: it refuses to run, with
exit status 1, and points to the streaming command that other apps register under another name.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    """paperless's own exporter (not implemented by the schema twin)."""

    help = "paperless-ngx's own document_exporter (not implemented in this schema twin)."

    def add_arguments(self, parser: CommandParser) -> None:
        """Accept any arguments, as the real command's would be."""
        parser.add_argument("args", nargs="*")

    def handle(self, *args: Any, **options: Any) -> None:
        """Refuse: the twin has only paperless's schema, not its exporter."""
        raise CommandError(
            "document_exporter: this schema twin does not implement paperless-ngx's own exporter; "
            "use streaming_exporter",
        )
