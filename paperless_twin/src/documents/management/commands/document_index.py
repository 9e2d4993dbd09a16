"""Stands for paperless-ngx's ``document_index`` command: ``reindex`` records that it ran.

paperless-ngx rebuilds its full-text index with ``document_index reindex`` after an import.
The schema twin has no index; its ``reindex`` appends one line to ``INDEX_DIR/reindex.log``
with the number of documents it would index, so that tests can see that (and when) an import
ran it. ``PAPERLESS_TWIN_INDEX_FAILS=1`` makes it fail, as a broken index would.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from documents.models import Document


class Command(BaseCommand):
    """paperless's index command, reduced to recording ``reindex`` runs."""

    help = "Record a reindex of the (absent) search index in INDEX_DIR/reindex.log."

    def add_arguments(self, parser: CommandParser) -> None:
        """``reindex`` or ``optimize``, as the real command takes."""
        parser.add_argument("command", choices=["reindex", "optimize"])

    def handle(self, *args: Any, **options: Any) -> None:
        """Append the run to the log, or fail when told to."""
        if os.environ.get("PAPERLESS_TWIN_INDEX_FAILS") == "1":
            raise CommandError("the search index is not writable")
        folder = Path(settings.INDEX_DIR)
        folder.mkdir(parents=True, exist_ok=True)
        count = Document.global_objects.count()
        with open(folder / "reindex.log", "a", encoding="utf-8") as log:
            log.write(f"{options['command']} {count}\n")
        self.stdout.write(f"Indexed {count} documents.")
