"""manage.py verify_export: read an export back as a stream and check every part of it."""

from __future__ import annotations

import zipfile
from typing import Any

from django.core.management.base import CommandError, CommandParser

from exporter.management.cli import (
    EXIT_USAGE,
    ArchiveCommand,
    add_passphrase_arguments,
    resolve_passphrase,
)
from exporter.management.json_output import JsonOutput, add_json_argument, verify_body
from exporter.management.progress_bars import StageBars, bars_wanted
from exporter.management.verify_output import print_verification, verification_failure
from exporter.readback.opening import open_export
from exporter.readback.verify import ExportVerifier
from exporter.site_plan import load_plan

#: verify_export's exit status when the export cannot be verified at all.
EXIT_CANNOT_VERIFY = EXIT_USAGE


class Command(JsonOutput, ArchiveCommand):
    """``manage.py verify_export``: its options, the verification, and its exit status."""

    help = (
        "Verify an export (a directory or a .zip): JSON, records, references, files and their "
        "checksums, and secrets, reading manifests as a stream in flat memory."
    )
    exit_status_help = (
        "Exit status: 0 verified; 1 problems found (each listed); 2 could not verify (SOURCE "
        "missing, unreadable or not an export) or bad usage; 3 verified, except for problems "
        "the export itself recorded (document files it could not export, listed); 130 or 143 "
        "stopped by SIGINT or SIGTERM."
    )
    failure_note = "Nothing was changed."

    def needs_database(self, options: dict[str, Any]) -> bool:
        """Only ``--against-db`` reads the database."""
        return bool(options.get("against_db"))

    def add_arguments(self, parser: CommandParser) -> None:
        """The command's options; each one's help says what it does."""
        parser.add_argument("source", help="The export directory, zip file, or s3://bucket/prefix.")
        add_passphrase_arguments(parser, "Check that every encrypted secret decrypts with it.")
        parser.add_argument(
            "--against-db",
            action="store_true",
            help="Also compare each record with the database's current row.",
        )
        parser.add_argument(
            "--no-checksums",
            action="store_true",
            help="Check that files exist, without hashing them.",
        )
        parser.add_argument(
            "--no-progress-bar", action="store_true", help="Do not show progress bars."
        )
        add_json_argument(parser)

    def handle(self, *args, **options) -> None:
        """Open the export, verify it, print the report, and exit with its status."""
        warnings: list[str] = []
        passphrase = resolve_passphrase(options, confirm=False, warnings=warnings)
        for warning in warnings:
            self.stderr.write(f"Warning: {warning}")
        try:
            source = open_export(options["source"])
        except (ValueError, OSError, zipfile.BadZipFile) as exc:
            raise CommandError(f"Cannot verify: {exc}", returncode=EXIT_CANNOT_VERIFY) from None
        progress = StageBars(bars_wanted(options, stdout_too=True), bytes_label="hashed")
        self.json_durations = progress.durations
        self.json_body = {"source": source.location}
        with source:
            report = ExportVerifier(
                source,
                load_plan(),
                passphrase=passphrase,
                against_db=options["against_db"],
                checksums=not options["no_checksums"],
                progress=progress,
            ).run()
        self.json_body = verify_body(report, source.location)
        print_verification(
            self,
            report,
            source.location,
            options["verbosity"],
            out=self.summary_stream(self.stdout),
        )
        if report.unverifiable:
            raise CommandError(
                f"Cannot verify {source.location}: see the problem above.",
                returncode=EXIT_CANNOT_VERIFY,
            )
        failure = verification_failure(report, source.location)
        if failure is not None:
            raise failure
