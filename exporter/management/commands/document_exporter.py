"""manage.py document_exporter: export the archive's database and files to a directory or zip.

The command only parses options and reports; the work is the library's
(``exporter.export.streaming.StreamingExporter`` with --stream, else ``exporter.export.classic``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from django.core.management.base import CommandError, CommandParser

from exporter import interrupts
from exporter.batches import DEFAULT_BATCH_SIZE
from exporter.errors import UsageError
from exporter.export.classic import ClassicExporter
from exporter.export.options import ExportOptions, default_zip_name
from exporter.export.streaming import StreamingExporter
from exporter.management.cli import (
    EXIT_PROBLEMS,
    ArchiveCommand,
    add_passphrase_arguments,
    batch_size_option,
    resolve_passphrase,
    seconds_option,
    whole_number_option,
)
from exporter.management.json_output import JsonOutput, add_json_argument, verify_body
from exporter.management.progress_bars import StageBars, bars_wanted
from exporter.management.verify_output import print_verification, verification_failure
from exporter.readback.opening import open_export
from exporter.readback.report import VerifyReport
from exporter.readback.verify import ExportVerifier
from exporter.sinks.s3_client import is_s3_url
from exporter.site_plan import load_plan
from exporter.writing.layouts import LAYOUTS


class Command(JsonOutput, ArchiveCommand):
    """``manage.py document_exporter``: its options, the export run, and the final report."""

    help = (
        "Export every document, its files and the rest of the archive's database into TARGET "
        "(a directory, or '-' for a zip on standard output). Use --stream for flat memory at "
        "any archive size."
    )
    exit_status_help = (
        "Exit status: 0 exported; 1 failed (the previous export is left as it was); 2 bad "
        "usage; 3 exported, but some documents' files could not be (listed in the summary and "
        "in metadata.json); 130 or 143 stopped by SIGINT or SIGTERM."
    )
    failure_note = "The previous export was left as it was."

    def add_arguments(self, parser: CommandParser) -> None:
        """The command's options; each one's help says what it does."""
        parser.add_argument(
            "target",
            help="The export directory, s3://bucket/prefix (object storage, see docs/s3.md), "
            "or - for standard output.",
        )
        parser.add_argument(
            "--stream",
            action="store_true",
            help="Stream batches straight to disk in flat memory (recommended). Without it, "
            "the classic in-memory exporter runs.",
        )
        parser.add_argument(
            "--batch-size",
            type=batch_size_option,
            default=DEFAULT_BATCH_SIZE,
            help=f"Rows read and written per batch with --stream (default {DEFAULT_BATCH_SIZE}).",
        )
        parser.add_argument(
            "--manifest-layout",
            choices=sorted(LAYOUTS),
            default=None,
            help="How manifest.json frames its records: classic (indented inside the array, "
            "as paperless-ngx 2.x and Django's dumpdata write it) or flat (at the top level, as "
            "paperless-ngx 3.x writes it). Default: the export plan's (the paperless-ngx "
            "version's own layout in a paperless-ngx site).",
        )
        parser.add_argument(
            "-c",
            "--compare-checksums",
            action="store_true",
            help="Decide whether to copy a file by its sha256 rather than its size and mtime.",
        )
        parser.add_argument(
            "-cj",
            "--compare-json",
            action="store_true",
            help="Leave a manifest untouched (mtime kept) when its content has not changed.",
        )
        parser.add_argument(
            "-d",
            "--delete",
            action="store_true",
            help="Remove the files of earlier exports that this one did not write again (never "
            "a file no export of ours wrote). With --zip: remove this tool's older zips.",
        )
        parser.add_argument(
            "--keep",
            type=whole_number_option,
            default=None,
            metavar="N",
            help="With --zip: keep the N newest zips this tool wrote in TARGET, the new one "
            "included, and remove the older ones. Into s3://: keep the N newest generations.",
        )
        parser.add_argument(
            "--allow-shrink",
            action="store_true",
            help="Export even when the database holds no documents, or fewer than half of "
            "those of the export being replaced, or the media directory is missing.",
        )
        parser.add_argument(
            "--strict",
            action="store_true",
            help="Stop at the first document file that is missing or damaged, instead of "
            "exporting everything else and listing it (exit status 3).",
        )
        parser.add_argument(
            "-f",
            "--use-filename-format",
            action="store_true",
            help="Name exported files with EXPORTER_FILENAME_FORMAT instead of "
            "'<created> <correspondent> <title>'.",
        )
        parser.add_argument(
            "-p",
            "--use-folder-prefix",
            action="store_true",
            help="Put originals, thumbnails, archive versions and split manifests in folders.",
        )
        parser.add_argument(
            "-sm",
            "--split-manifest",
            action="store_true",
            help="Write each document's record, notes and custom fields to its own manifest.",
        )
        parser.add_argument(
            "-na",
            "--no-archive",
            action="store_true",
            help="Leave out the archived (OCRed PDF) versions.",
        )
        parser.add_argument(
            "-nt", "--no-thumbnail", action="store_true", help="Leave out the thumbnails."
        )
        parser.add_argument(
            "--data-only", action="store_true", help="Export the database only, no files."
        )
        parser.add_argument(
            "-z",
            "--zip",
            action="store_true",
            help="Write one zip file into TARGET instead of a directory tree.",
        )
        parser.add_argument(
            "-zn",
            "--zip-name",
            default=None,
            help="Name of the zip, without .zip (default export-<date>).",
        )
        add_passphrase_arguments(
            parser, "Encrypt secrets (mail passwords, tokens) with this passphrase."
        )
        parser.add_argument(
            "--no-progress-bar", action="store_true", help="Do not show progress bars."
        )
        parser.add_argument(
            "--verify",
            action="store_true",
            help="With --stream: read the finished export back and verify it (as verify_export).",
        )
        parser.add_argument(
            "--lock-timeout",
            type=seconds_option,
            default=0,
            help="With --stream: seconds to wait for another exporter writing into TARGET "
            "(default 0: fail at once).",
        )
        add_json_argument(parser)

    def handle(self, *args, **options) -> None:
        """Refuse options that cannot work together, run the export, and report it."""
        to_stdout = options["target"] == "-"
        if not options["stream"]:
            if to_stdout:
                raise UsageError("TARGET - (standard output) needs --stream and --zip.")
            for name in ("lock_timeout", "verify"):
                if options[name]:
                    raise UsageError(f"--{name.replace('_', '-')} needs --stream.")
        if to_stdout and options["verify"]:
            raise UsageError("--verify needs a TARGET directory; verify the saved zip instead.")
        if to_stdout and options["json"]:
            raise UsageError(
                "--json writes to standard output, which TARGET - gives the zip: export into a "
                "directory, or leave out --json."
            )
        if to_stdout and sys.stdout.isatty():
            raise UsageError(
                "TARGET - writes a zip to standard output, which is a terminal here: redirect "
                "it (> backup.zip, or | ssh host 'cat > backup.zip')."
            )
        warnings: list[str] = []
        passphrase = resolve_passphrase(options, confirm=True, warnings=warnings)
        export_options = ExportOptions(
            target=None if to_stdout or is_s3_url(options["target"]) else Path(options["target"]),
            remote=options["target"] if is_s3_url(options["target"]) else None,
            batch_size=options["batch_size"],
            compare_checksums=options["compare_checksums"],
            compare_json=options["compare_json"],
            delete=options["delete"],
            use_filename_format=options["use_filename_format"],
            use_folder_prefix=options["use_folder_prefix"],
            split_manifest=options["split_manifest"],
            no_archive=options["no_archive"],
            no_thumbnail=options["no_thumbnail"],
            data_only=options["data_only"],
            zip=options["zip"],
            zip_name=options["zip_name"] or default_zip_name(),
            passphrase=passphrase,
            lock_timeout=options["lock_timeout"],
            stdout=sys.stdout.buffer if to_stdout else None,
            allow_shrink=options["allow_shrink"],
            strict=options["strict"],
            keep=options["keep"],
            manifest_layout=options["manifest_layout"],
        )
        verbosity = options["verbosity"]
        # Reports go to stderr when stdout carries the zip.
        report = self.summary_stream(self.stderr if to_stdout else self.stdout)
        progress = StageBars(bars_wanted(options, stdout_too=not to_stdout))
        kind = StreamingExporter if options["stream"] else ClassicExporter
        exporter = kind(load_plan(), export_options, progress)
        for warning in warnings:
            self.stderr.write(f"Warning: {warning}")
        self.json_body = {"target": options["target"], "mode": kind_name(options)}
        self.json_durations = progress.durations
        summary = exporter.run()
        self.json_body.update(export_body(summary, exporter.plan.documents_key))
        signum = interrupts.pending()
        if signum is not None:
            raise CommandError(
                f"Stopped by {interrupts.Interrupted(signum)} after the export was committed: "
                f"{summary.output} holds the new, complete export.",
                returncode=128 + signum,
            )
        verification = None
        if options["verify"]:
            started = time.monotonic()
            verification = self.verify(summary.output, passphrase)
            progress.durations["verifying"] = time.monotonic() - started
            self.json_body["verification"] = verify_body(*verification)
        if verbosity > 0:
            self.report(summary, options, report, exporter.plan.documents_key)
        for problem in summary.problems:
            self.stderr.write(f"Problem: {problem.describe()}")
        if verification is not None:
            # After the export's own summary: the export is done, this is what it holds.
            verified, location = verification
            if verbosity > 0 or not verified.ok:
                print_verification(
                    self, verified, location, verbosity, show_recorded=False, out=report
                )
            failure = verification_failure(verified, location, show_recorded=False)
            if failure is not None:
                raise CommandError(
                    f"{failure} The export was written, but does not verify.",
                    returncode=failure.returncode,
                )
        if summary.problems:
            raise CommandError(
                f"Exported with problems: {len(summary.problems)} document files could not be "
                f"exported (listed above and in {summary.output}'s metadata.json); everything "
                "else was.",
                returncode=EXIT_PROBLEMS,
            )

    def report(self, summary, options, report, documents_key: str) -> None:
        """Write what the run did to ``report`` (standard output, or error when the zip goes
        to standard output), and its warnings to standard error."""
        verbosity = options["verbosity"]
        for warning in summary.warnings:
            self.stderr.write(f"Warning: {warning}")
        documents = summary.records.get(documents_key, 0)
        report.write(
            f"Exported {documents} documents to {summary.output} "
            f"({'stream' if options['stream'] else 'classic'}, {summary.elapsed:.1f} s)."
        )
        report.write(
            "  records: " + ", ".join(f"{key} {count}" for key, count in summary.records.items())
        )
        report.write(
            f"  files: {summary.files_copied} copied ({summary.bytes_copied / 1e6:.1f} MB), "
            f"{summary.files_skipped} unchanged, {summary.files_deleted} deleted"
        )
        # Only what this run changed: with -cj an unchanged manifest is left as it was.
        report.write(
            f"  manifests: {summary.json_written} written ({summary.json_bytes / 1e6:.1f} MB), "
            f"{summary.json_unchanged} unchanged"
        )
        if summary.files_kept:
            report.write(
                f"  kept: {summary.files_kept} files of the previous export, in place of "
                "sources that could not be copied"
            )
        if verbosity > 1:
            listings = [
                ("deleted", summary.files_deleted, summary.removed_names),
                ("kept from the previous export", summary.files_kept, summary.kept_names),
                ("unchanged", summary.files_skipped, summary.skipped_names),
            ]
            for title, count, names in listings:
                list_names(report, f"  {title}:", count, names)
        if summary.temps_removed:
            report.write(f"  leftovers of interrupted runs removed: {summary.temps_removed}")
        if summary.foreign_files:
            listing = "" if verbosity > 1 else " (-v 2 lists them)"
            report.write(
                f"  not ours: {summary.foreign_files} files in {summary.output} that no export "
                f"of ours wrote were left alone{listing}"
            )
            if verbosity > 1:
                list_names(report, None, summary.foreign_files, summary.foreign_names)

    def verify(self, output: Path | str, passphrase: str | None) -> tuple[VerifyReport, str]:
        """``--verify``: read the new export back; its report and its location."""
        try:
            source = open_export(output)
        except ValueError as exc:
            raise CommandError(f"Cannot verify: {exc}") from exc
        with source:
            report = ExportVerifier(source, load_plan(), passphrase=passphrase).run()
        return report, source.location


def list_names(report, title: str | None, count: int, names: list[str]) -> None:
    """``-v 2``'s list of files: ``title`` (if any) and the names, with how many more there are
    than the run kept the names of."""
    if not count:
        return
    if title is not None:
        report.write(title)
    for name in names:
        report.write(f"    {name}")
    if count > len(names):
        report.write(f"    ... and {count - len(names)} more")


def kind_name(options: dict) -> str:
    """Which exporter runs: "stream" or "classic"."""
    return "stream" if options["stream"] else "classic"


def export_body(summary, documents_key: str) -> dict:
    """What the export did, as ``--json`` gives it (see docs/json-output.md)."""
    return {
        "output": summary.output,
        "documents": summary.records.get(documents_key, 0),
        "records": dict(summary.records),
        "records_total": sum(summary.records.values()),
        "files": {
            "copied": summary.files_copied,
            "unchanged": summary.files_skipped,
            "deleted": summary.files_deleted,
            "kept_previous": summary.files_kept,
            "not_ours": summary.foreign_files,
            "bytes_copied": summary.bytes_copied,
        },
        "manifests": {
            "written": summary.json_written,
            "unchanged": summary.json_unchanged,
            "bytes_written": summary.json_bytes,
        },
        "problems": [problem.as_json() for problem in summary.problems],
        "warnings": list(summary.warnings),
    }
