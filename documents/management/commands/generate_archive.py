"""manage.py generate_archive: fill an empty archive with a deterministic synthetic one."""

from __future__ import annotations

import time

from django.core.management.base import CommandParser
from tqdm import tqdm

from documents.generator import ArchiveNotEmpty, generate_archive
from exporter.errors import UsageError
from exporter.management.cli import ArchiveCommand, whole_number_option


class Command(ArchiveCommand):
    """``manage.py generate_archive``: its options, and the generation with a progress bar."""

    help = (
        "Generate a deterministic synthetic document archive (rows and files) into an empty "
        "database. The same --seed always gives the same rows and file bytes."
    )
    failure_note = "If it stopped part-way, empty the database with `manage.py flush` first."

    def add_arguments(self, parser: CommandParser) -> None:
        """The command's options; each one's help says what it does."""
        parser.add_argument(
            "--documents",
            type=whole_number_option,
            required=True,
            help="How many documents to create.",
        )
        parser.add_argument(
            "--seed",
            type=whole_number_option,
            default=0,
            help="Seed of the random stream (default 0).",
        )
        parser.add_argument(
            "--content-kb",
            type=whole_number_option,
            default=4,
            help="Kilobytes (thousands of characters) of OCR text per document.",
        )
        parser.add_argument(
            "--no-files",
            action="store_true",
            help="Create the rows only, no files under the media directory.",
        )
        parser.add_argument(
            "--batch-size",
            type=whole_number_option,
            default=2000,
            help="Documents inserted per bulk_create batch (default 2000).",
        )
        parser.add_argument(
            "--no-progress-bar", action="store_true", help="Do not show a progress bar."
        )

    def handle(self, *args, **options) -> None:
        """Generate the archive into the empty database and media directory."""
        if options["batch_size"] < 1:
            raise UsageError("--batch-size must be at least 1.")
        started = time.monotonic()
        bar = tqdm(
            total=options["documents"],
            unit="doc",
            disable=options["no_progress_bar"] or options["verbosity"] == 0 or None,
        )
        try:
            with bar:
                summary = generate_archive(
                    documents=options["documents"],
                    seed=options["seed"],
                    content_kb=options["content_kb"],
                    with_files=not options["no_files"],
                    batch_size=options["batch_size"],
                    progress=bar.update,
                )
        except ArchiveNotEmpty as exc:
            raise UsageError(
                f"Cannot generate into this database: {exc}. Point ARCHIVE_DATA_DIR (or "
                "DATABASE_URL) at a fresh archive, or empty this one with `manage.py flush`."
            ) from exc
        elapsed = time.monotonic() - started
        if options["verbosity"] > 0:
            self.stdout.write(
                f"Generated {summary.documents} documents ({summary.trashed} in the trash), "
                f"{summary.files_written} files ({summary.bytes_written / 1e6:.1f} MB) "
                f"in {elapsed:.1f} s."
            )
