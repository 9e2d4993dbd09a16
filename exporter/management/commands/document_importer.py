"""manage.py document_importer: restore an export (directory or zip) into an empty archive."""

from __future__ import annotations

import getpass
import os
import sys
import zipfile
from typing import Any

from django.core.management.base import CommandError, CommandParser

from exporter.batches import DEFAULT_BATCH_SIZE
from exporter.encryption import encryption_parameters
from exporter.management.cli import (
    EXIT_PROBLEMS,
    PASSPHRASE_ENV,
    ArchiveCommand,
    add_passphrase_arguments,
    batch_size_option,
    resolve_passphrase,
)
from exporter.management.json_output import JsonOutput, add_json_argument
from exporter.management.progress_bars import StageBars, bars_wanted
from exporter.readback.importing import ArchiveImporter, ImportOptions
from exporter.readback.opening import open_export
from exporter.readback.post_import import run_post_import
from exporter.readback.reading import read_metadata
from exporter.readback.source import ExportSource
from exporter.site_plan import load_plan


def passphrase_origin(options: dict[str, Any]) -> str:
    """Where the passphrase of this run came from, for messages."""
    if options.get("passphrase") is not None:
        return "--passphrase"
    if options.get("passphrase_file"):
        return f"--passphrase-file {options['passphrase_file']}"
    if options.get("ask_passphrase"):
        return "--ask-passphrase"
    return f"the {PASSPHRASE_ENV} environment variable"


def is_encrypted(source: ExportSource) -> bool:
    """Whether the export's metadata says its secrets are encrypted (False if unreadable:
    the importer then says what is wrong with it)."""
    try:
        return encryption_parameters(read_metadata(source)) is not None
    except (ValueError, OSError, zipfile.BadZipFile, AttributeError):
        return False


class Command(JsonOutput, ArchiveCommand):
    """``manage.py document_importer``: its options, the import run, and the final report."""

    help = (
        "Import an export made by document_exporter (a directory or a .zip) into an empty "
        "database and media directory, in one transaction and in flat memory."
    )
    exit_status_help = (
        "Exit status: 0 imported; 1 failed (the message says why and what was left as it was); "
        "2 bad usage; 3 imported with problems (files the export recorded as problems, listed "
        "as warnings, were not imported); 4 imported, but a post-import step of the site "
        "failed (the message says what to run by hand); 130 or 143 stopped by SIGINT or "
        "SIGTERM."
    )
    failure_note = "Nothing was changed."

    def add_arguments(self, parser: CommandParser) -> None:
        """The command's options; each one's help says what it does."""
        parser.add_argument("source", help="The export directory, zip file, or s3://bucket/prefix.")
        parser.add_argument(
            "--data-only", action="store_true", help="Load the database only; copy no files."
        )
        parser.add_argument(
            "--files-only",
            action="store_true",
            help="Copy the files only (resume after a failed or interrupted file stage).",
        )
        add_passphrase_arguments(parser, "The passphrase the export's secrets were encrypted with.")
        parser.add_argument(
            "--batch-size",
            type=batch_size_option,
            default=DEFAULT_BATCH_SIZE,
            help=f"Rows inserted per INSERT statement (default {DEFAULT_BATCH_SIZE}).",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Import even into a database that already holds rows (content types and "
            "permissions aside) or a media directory that already holds files; files of the "
            "same name are overwritten.",
        )
        parser.add_argument(
            "--skip-post-import",
            action="store_true",
            help="Do not run the site's post-import steps after the import (paperless-ngx: "
            "manage.py document_index reindex); run them yourself later.",
        )
        parser.add_argument(
            "--no-progress-bar", action="store_true", help="Do not show progress bars."
        )
        add_json_argument(parser)

    def handle(self, *args, **options) -> None:
        """Open the export, get its passphrase if it needs one, import it, and report."""
        if options["data_only"] and options["files_only"]:
            raise CommandError(
                "--data-only and --files-only exclude each other: pick one.", returncode=2
            )
        warnings: list[str] = []
        passphrase = resolve_passphrase(options, confirm=False, warnings=warnings)
        for warning in warnings:
            self.stderr.write(f"Warning: {warning}")
        try:
            source = open_export(options["source"])
        except (ValueError, OSError, zipfile.BadZipFile) as exc:
            raise CommandError(f"Cannot import: {exc}") from None
        if source.unfinished is not None:
            source.close()
            raise CommandError(f"Cannot import: {source.unfinished}")
        for note in source.notes:
            self.stderr.write(f"Warning: {note}")
        progress = StageBars(bars_wanted(options))
        self.json_durations = progress.durations
        self.json_body = {"source": source.location}
        out = self.summary_stream(self.stdout)
        with source:
            if passphrase is None and is_encrypted(source) and stdin_is_a_terminal():
                passphrase = getpass.getpass("Passphrase of the export's secrets: ")
            import_options = ImportOptions(
                data_only=options["data_only"],
                files_only=options["files_only"],
                passphrase=passphrase,
                batch_size=options["batch_size"],
                force=options["force"],
                passphrase_origin=passphrase_origin(options) if passphrase is not None else "",
            )
            plan = load_plan()
            importer = ArchiveImporter(source, plan, import_options, progress)
            try:
                summary = importer.run()
            except BaseException:
                # What a failure or an interruption leaves depends on where it landed.
                self.failure_note = importer.failure_note
                raise
        self.failure_note = importer.failure_note
        self.json_body.update(import_body(summary, data_only=options["data_only"]))
        if options["verbosity"] > 0:
            out.write(
                f"Imported {sum(summary.records.values())} records from {source.location} "
                f"in {summary.elapsed:.1f} s."
            )
            if summary.records:
                out.write(
                    "  records: "
                    + ", ".join(f"{k} {v}" for k, v in sorted(summary.records.items()))
                )
            if not options["data_only"]:
                not_imported = (
                    f", {summary.files_not_imported} not imported (recorded as problems)"
                    if summary.files_not_imported
                    else ""
                )
                out.write(
                    f"  files: {summary.files_copied} copied "
                    f"({summary.bytes_copied / 1e6:.1f} MB), "
                    f"{summary.files_skipped} already in place{not_imported}"
                )
        if summary.temps_removed:
            self.stderr.write(
                f"Warning: removed {summary.temps_removed} temporary files an earlier, "
                "stopped import had left in the media directory."
            )
        if plan.post_import and not options["skip_post_import"]:
            self.failure_note = "The import is complete."
            self.json_body["post_import"] = []
            progress.stage("post-import step")
            try:
                for step in run_post_import(
                    plan.post_import,
                    verbosity=options["verbosity"],
                    stdout=out,
                    stderr=self.stderr,
                ):
                    self.json_body["post_import"].append(step.describe())
                    if options["verbosity"] > 0:
                        out.write(f"  post-import: ran {step.describe()}")
            finally:
                progress.finish()
        if summary.problems:
            for problem in summary.problems:
                self.stderr.write(f"Warning: {problem}")
            raise CommandError(
                f"Imported with problems: the export recorded {len(summary.problems)} document "
                f"files as problems ({summary.files_not_imported} not imported), listed above. "
                "Restore those files from an older backup if you have one.",
                returncode=EXIT_PROBLEMS,
            )


def stdin_is_a_terminal() -> bool:
    """Whether standard input is a terminal a passphrase can be asked on."""
    try:
        return sys.stdin is not None and os.isatty(sys.stdin.fileno())
    except (OSError, ValueError, AttributeError):
        return False


def import_body(summary, *, data_only: bool) -> dict:
    """What the import did, as ``--json`` gives it (see docs/json-output.md)."""
    return {
        "records": dict(sorted(summary.records.items())),
        "records_total": sum(summary.records.values()),
        "files": None
        if data_only
        else {
            "copied": summary.files_copied,
            "unchanged": summary.files_skipped,
            "not_imported": summary.files_not_imported,
            "bytes_copied": summary.bytes_copied,
        },
        "problems": list(summary.problems),
        "warnings": (
            [f"removed {summary.temps_removed} temporary files of an earlier, stopped import"]
            if summary.temps_removed
            else []
        ),
    }
