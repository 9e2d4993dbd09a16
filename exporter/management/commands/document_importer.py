"""manage.py document_importer: restore an export (directory or zip) into an empty archive."""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from exporter.importing import ArchiveImporter, ImportFailed, ImportOptions
from exporter.management.commands.document_exporter import BarProgress, batch_size
from exporter.plan import load_plan
from exporter.source import open_export


class Command(BaseCommand):
    help = (
        "Import an export made by document_exporter (a directory or a .zip) into an empty "
        "database and media directory, in one transaction and in flat memory."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("source", help="The export directory or zip file.")
        parser.add_argument(
            "--data-only", action="store_true", help="Load the database only; copy no files."
        )
        parser.add_argument(
            "--files-only",
            action="store_true",
            help="Copy the files only (resume after a failed file stage).",
        )
        parser.add_argument(
            "--passphrase",
            default=None,
            help="The passphrase the export's secrets were encrypted with.",
        )
        parser.add_argument(
            "--batch-size",
            type=batch_size,
            default=500,
            help="Rows inserted per bulk_create (default 500).",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Load even into a database that already holds rows.",
        )
        parser.add_argument(
            "--no-progress-bar", action="store_true", help="Do not show progress bars."
        )

    def handle(self, *args, **options) -> None:
        if options["data_only"] and options["files_only"]:
            raise CommandError("--data-only and --files-only exclude each other: pick one.")
        try:
            source = open_export(Path(options["source"]))
        except ValueError as exc:
            raise CommandError(f"Cannot import: {exc}") from exc
        if source.unfinished is not None:
            source.close()
            raise CommandError(f"Cannot import: {source.unfinished}")
        for note in source.notes:
            self.stderr.write(f"Warning: {note}")
        show_bars = (
            not options["no_progress_bar"] and options["verbosity"] > 0 and sys.stderr.isatty()
        )
        import_options = ImportOptions(
            data_only=options["data_only"],
            files_only=options["files_only"],
            passphrase=options["passphrase"],
            batch_size=options["batch_size"],
            force=options["force"],
        )
        with source:
            try:
                summary = ArchiveImporter(
                    source, load_plan(), import_options, BarProgress(show_bars)
                ).run()
            except ImportFailed as exc:
                raise CommandError(str(exc)) from exc
        if options["verbosity"] == 0:
            return
        self.stdout.write(
            f"Imported {sum(summary.records.values())} records from {source.location} "
            f"in {summary.elapsed:.1f} s."
        )
        if summary.records:
            self.stdout.write(
                "  records: " + ", ".join(f"{k} {v}" for k, v in sorted(summary.records.items()))
            )
        self.stdout.write(
            f"  files: {summary.files_copied} copied ({summary.bytes_copied / 1e6:.1f} MB), "
            f"{summary.files_skipped} already in place"
        )
