"""manage.py verify_export: read an export back as a stream and check every part of it."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from exporter.plan import load_plan
from exporter.source import open_export
from exporter.verify import ExportVerifier, VerifyReport


def print_report(command: BaseCommand, report: VerifyReport, location: str) -> None:
    """The summary and every problem of a verification, as the commands show them."""
    for warning in report.warnings:
        command.stderr.write(f"Warning: {warning}")
    for problem in report.problems:
        command.stderr.write(f"Problem: {problem}")
    if report.more_problems:
        command.stderr.write(f"... and {report.more_problems} more problems.")
    counts = ", ".join(f"{label} {count}" for label, count in sorted(report.records.items()))
    command.stdout.write(
        f"Verified {location}: {report.manifests} manifests, {sum(report.records.values())} "
        f"records ({counts}); {report.files_checked} files checked, "
        f"{report.bytes_hashed / 1e6:.1f} MB hashed."
    )


class Command(BaseCommand):
    help = (
        "Verify an export (a directory or a .zip): JSON, records, references, files and their "
        "checksums, and secrets, reading manifests as a stream in flat memory."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("source", help="The export directory or zip file.")
        parser.add_argument(
            "--passphrase", default=None, help="Check that every encrypted secret decrypts with it."
        )
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

    def handle(self, *args, **options) -> None:
        try:
            source = open_export(Path(options["source"]))
        except ValueError as exc:
            raise CommandError(f"Cannot verify: {exc}") from exc
        with source:
            report = ExportVerifier(
                source,
                load_plan(),
                passphrase=options["passphrase"],
                against_db=options["against_db"],
                checksums=not options["no_checksums"],
            ).run()
        print_report(self, report, source.location)
        if not report.ok:
            total = len(report.problems) + report.more_problems
            raise CommandError(f"Verification failed: {total} problems in {source.location}.")
