"""manage.py generate_archive: fill an empty archive with a deterministic synthetic one."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from documents.generator import ArchiveNotEmpty, generate_archive


def whole_number(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise CommandError(f"expected a whole number, got {value!r}") from None
    return number


class Command(BaseCommand):
    help = (
        "Generate a deterministic synthetic document archive (rows and files) into an empty "
        "database. The same --seed always gives the same rows and file bytes."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--documents", type=whole_number, required=True, help="How many documents to create."
        )
        parser.add_argument(
            "--seed", type=whole_number, default=0, help="Seed of the random stream (default 0)."
        )
        parser.add_argument(
            "--content-kb",
            type=whole_number,
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
            type=whole_number,
            default=2000,
            help="Documents inserted per bulk_create batch (default 2000).",
        )
        parser.add_argument(
            "--no-progress-bar", action="store_true", help="Do not show a progress bar."
        )

    def handle(self, *args, **options) -> None:
        for name in ("documents", "content_kb"):
            if options[name] < 0:
                raise CommandError(f"--{name.replace('_', '-')} must be 0 or more")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
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
            raise CommandError(
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
