"""manage.py document_exporter: export the archive's database and files to a directory or zip.

The command only parses options and reports; the work is the library's
(``exporter.streaming.StreamingExporter`` with --stream, else ``exporter.classic``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from exporter.classic import ClassicExporter
from exporter.management.commands.verify_export import print_report
from exporter.options import ExportError, ExportOptions, ExportProgress, default_zip_name
from exporter.plan import load_plan
from exporter.source import open_export
from exporter.streaming import StreamingExporter
from exporter.verify import ExportVerifier


def batch_size(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise CommandError(f"--batch-size must be a whole number, got {value!r}.") from None
    if number < 1:
        raise CommandError(f"--batch-size must be at least 1, got {number}.")
    return number


def seconds(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise CommandError(f"--lock-timeout must be a number of seconds, got {value!r}.") from None
    if number < 0:
        raise CommandError("--lock-timeout cannot be negative.")
    return number


class BarProgress(ExportProgress):
    """Two tqdm bars on standard error: documents (with their total) and bytes copied."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.documents: tqdm | None = None
        self.bytes: tqdm | None = None

    def start(self, documents: int) -> None:
        if not self.enabled:
            return
        self.documents = tqdm(total=documents, unit="doc", desc="documents", position=0)
        self.bytes = tqdm(
            unit="B", unit_scale=True, unit_divisor=1024, desc="files copied", position=1
        )

    def document_done(self) -> None:
        if self.documents is not None:
            self.documents.update()

    def bytes_copied(self, count: int) -> None:
        if self.bytes is not None:
            self.bytes.update(count)

    def finish(self) -> None:
        for bar in (self.documents, self.bytes):
            if bar is not None:
                bar.close()


class Command(BaseCommand):
    help = (
        "Export every document, its files and the rest of the archive's database into TARGET "
        "(a directory, or '-' for a zip on standard output). Use --stream for flat memory at "
        "any archive size."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("target", help="The export directory, or - for standard output.")
        parser.add_argument(
            "--stream",
            action="store_true",
            help="Stream batches straight to disk in flat memory (recommended). Without it, "
            "the classic in-memory exporter runs.",
        )
        parser.add_argument(
            "--batch-size",
            type=batch_size,
            default=500,
            help="Rows read and written per batch with --stream (default 500).",
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
            help="Remove files in TARGET that this export did not write (stale files).",
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
        parser.add_argument(
            "--passphrase",
            default=None,
            help="Encrypt secrets (mail passwords, tokens) with this passphrase.",
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
            type=seconds,
            default=0,
            help="With --stream: seconds to wait for another exporter writing into TARGET "
            "(default 0: fail at once).",
        )

    def handle(self, *args, **options) -> None:
        to_stdout = options["target"] == "-"
        if not options["stream"]:
            if to_stdout:
                raise CommandError("TARGET - (standard output) needs --stream and --zip.")
            for name in ("lock_timeout", "verify"):
                if options[name]:
                    raise CommandError(f"--{name.replace('_', '-')} needs --stream.")
        if to_stdout and options["verify"]:
            raise CommandError("--verify needs a TARGET directory; verify the saved zip instead.")
        export_options = ExportOptions(
            target=None if to_stdout else Path(options["target"]),
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
            passphrase=options["passphrase"],
            lock_timeout=options["lock_timeout"],
            stdout=sys.stdout.buffer if to_stdout else None,
        )
        verbosity = options["verbosity"]
        # Reports go to stderr when stdout carries the zip.
        report = self.stderr if to_stdout else self.stdout
        show_bars = (
            not options["no_progress_bar"]
            and verbosity > 0
            and sys.stderr.isatty()
            and (to_stdout or sys.stdout.isatty())
        )
        kind = StreamingExporter if options["stream"] else ClassicExporter
        exporter = kind(load_plan(), export_options, BarProgress(show_bars))
        try:
            summary = exporter.run()
        except ExportError as exc:
            raise CommandError(str(exc)) from exc
        if options["verify"]:
            self.verify(Path(summary.output), options["passphrase"], verbosity)
        if verbosity == 0:
            return
        for warning in summary.warnings:
            self.stderr.write(f"Warning: {warning}")
        documents = summary.records.get(exporter.plan.documents_key, 0)
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
        report.write(
            f"  manifests: {summary.bytes_written / 1e6:.1f} MB written, "
            f"{summary.json_unchanged} unchanged"
        )

    def verify(self, output: Path, passphrase: str | None, verbosity: int) -> None:
        try:
            source = open_export(output)
        except ValueError as exc:
            raise CommandError(f"Cannot verify: {exc}") from exc
        with source:
            report = ExportVerifier(source, load_plan(), passphrase=passphrase).run()
        if verbosity > 0 or not report.ok:
            print_report(self, report, source.location)
        if not report.ok:
            raise CommandError(
                f"The export in {output} was written but does not verify: see the problems above."
            )
