"""A separate writer process for ``tests/export/test_concurrent_export.py``.

``python -m tests.helpers.concurrent_writer rows --log LOG [--transactions N] [--stop-file PATH]``
changes the archive the way its users do, in many small transactions: it inserts, edits and
deletes documents, tags and notes and moves tags from one document to another. Each
transaction also stamps its generation number into the ``match`` column of the first
correspondent (the "marker"), and counts the documents, tags, notes and document-tag links it
leaves; after the commit it appends ``{"generation", "op", "counts", "committed_at"}`` to LOG as
one JSON line. It stops after N transactions, or once the stop file exists.

``python -m tests.helpers.concurrent_writer replace-file --document PK --log LOG`` is a cooperating
file writer, as a paperless consumer is: it takes the media lock (``settings.MEDIA_LOCK``), then
replaces the document's original with new bytes and updates its checksum column, and logs
``waiting``, ``acquired`` and ``done`` with their times.

The database and media come from ``DATABASE_URL`` and ``ARCHIVE_DATA_DIR``, as for manage.py.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

MARKER_PREFIX = "generation "


def counts() -> dict[str, int]:
    """The counts the test compares with the export's manifest."""
    from documents.models import Document, Note, Tag

    return {
        "documents": Document.global_objects.count(),
        "tags": Tag.objects.count(),
        "notes": Note.objects.count(),
        "document_tags": Document.tags.through.objects.count(),
    }


def marker_pk() -> int:
    """The primary key of the correspondent whose ``match`` carries the generation."""
    from documents.models import Correspondent

    return Correspondent.objects.order_by("pk").values_list("pk", flat=True)[0]


def pick(model: Any, rng: random.Random, manager: str = "objects") -> Any:
    """A random row of ``model`` (None if there is none), without ORDER BY RANDOM()."""
    rows = getattr(model, manager)
    last = rows.order_by("-pk").values_list("pk", flat=True).first()
    if last is None:
        return None
    return rows.filter(pk__gte=rng.randint(1, last)).order_by("pk").first()


class RowWriter:
    """One writer's operations on documents, tags and notes, each inside the caller's
    transaction."""

    def __init__(self, rng: random.Random, name: str) -> None:
        self.rng = rng
        self.name = name
        self.created = 0

    def unique(self, what: str) -> str:
        self.created += 1
        return f"{self.name} {what} {self.created}"

    def add_document(self) -> None:
        from documents.models import Document, Note, Tag

        title = self.unique("document")
        document = Document.global_objects.create(
            title=title,
            content=f"Written while an export runs: {title}. Ünïcödé ✅",
            mime_type="application/pdf",
            checksum=hashlib.sha256(title.encode()).hexdigest(),
        )
        tags = [pick(Tag, self.rng) for _ in range(self.rng.randint(1, 3))]
        document.tags.add(*[t for t in tags if t is not None])
        Note.objects.create(document=document, note=f"Note of {title}")

    def edit_document(self) -> None:
        from documents.models import Document

        document = pick(Document, self.rng, "global_objects")
        if document is not None:
            document.title = self.unique("edited")
            document.content += "\nEdited while an export runs."
            document.save()

    def delete_document(self) -> None:
        from documents.models import Document

        document = pick(Document, self.rng, "global_objects")
        if document is not None:
            document.delete()

    def add_tag(self) -> None:
        from documents.models import Document, Tag

        tag = Tag.objects.create(name=self.unique("tag"), parent=pick(Tag, self.rng))
        for _ in range(self.rng.randint(1, 3)):
            document = pick(Document, self.rng, "global_objects")
            if document is not None:
                document.tags.add(tag)

    def delete_tag(self) -> None:
        from documents.models import Tag

        tag = pick(Tag, self.rng)
        if tag is not None:
            tag.delete()

    def move_tag(self) -> None:
        """Take one tag off a document and put it on another one."""
        from documents.models import Document

        link = pick(Document.tags.through, self.rng)
        target = pick(Document, self.rng, "global_objects")
        if link is None or target is None or target.tags.filter(pk=link.tag_id).exists():
            return
        Document.tags.through.objects.filter(pk=link.pk).delete()
        target.tags.add(link.tag_id)

    def add_note(self) -> None:
        from documents.models import Document, Note

        document = pick(Document, self.rng, "global_objects")
        if document is not None:
            Note.objects.create(document=document, note=self.unique("note"))

    def delete_note(self) -> None:
        from documents.models import Note

        note = pick(Note, self.rng)
        if note is not None:
            note.delete()

    def operations(self) -> list[tuple[str, Callable[[], None], int]]:
        """(name, operation, weight): more inserts than deletes, so the counts drift."""
        return [
            ("add_document", self.add_document, 4),
            ("edit_document", self.edit_document, 2),
            ("delete_document", self.delete_document, 2),
            ("add_tag", self.add_tag, 2),
            ("delete_tag", self.delete_tag, 1),
            ("move_tag", self.move_tag, 3),
            ("add_note", self.add_note, 2),
            ("delete_note", self.delete_note, 1),
        ]


def log_line(log: TextIO, entry: dict[str, Any]) -> None:
    """Append ``entry`` to the log as one JSON line, flushed."""
    log.write(json.dumps(entry) + "\n")
    log.flush()


def write_rows(log: TextIO, transactions: int, stop_file: Path | None, seed: int) -> None:
    """Run the transactions, logging each commit's state; stop early if ``stop_file`` exists."""
    from django.db import transaction

    from documents.models import Correspondent

    rng = random.Random(seed)
    writer = RowWriter(rng, f"w{seed}")
    names, operations, weights = zip(*writer.operations(), strict=True)
    marker = marker_pk()
    generation = int(Correspondent.objects.get(pk=marker).match.removeprefix(MARKER_PREFIX))
    for _ in range(transactions):
        if stop_file is not None and stop_file.exists():
            break
        index = rng.choices(range(len(operations)), weights)[0]
        generation += 1
        with transaction.atomic():
            operations[index]()
            Correspondent.objects.filter(pk=marker).update(match=f"{MARKER_PREFIX}{generation}")
            state = counts()
        log_line(
            log,
            {
                "generation": generation,
                "op": names[index],
                "counts": state,
                "committed_at": time.time(),
            },
        )


def replace_file(log: TextIO, pk: int) -> None:
    """Replace a document's original and checksum under the media lock, as consumers do."""
    from django.conf import settings
    from django.db import transaction
    from filelock import FileLock

    from documents.models import Document

    log_line(log, {"event": "waiting", "time": time.time()})
    with FileLock(settings.MEDIA_LOCK, timeout=120):
        log_line(log, {"event": "acquired", "time": time.time()})
        document = Document.global_objects.get(pk=pk)
        data = document.source_path.read_bytes() + b"\nreplaced by a cooperating writer\n"
        temp = document.source_path.with_name(document.source_path.name + ".new")
        temp.write_bytes(data)
        with transaction.atomic():
            os.replace(temp, document.source_path)
            document.checksum = hashlib.sha256(data).hexdigest()
            document.save()
        log_line(log, {"event": "done", "time": time.time(), "checksum": document.checksum})


def main(argv: list[str]) -> None:
    """Parse the arguments, set Django up and run the chosen writer."""
    parser = argparse.ArgumentParser(prog="python -m tests.helpers.concurrent_writer")
    sub = parser.add_subparsers(dest="mode", required=True)
    rows = sub.add_parser("rows")
    rows.add_argument("--log", type=Path, required=True)
    rows.add_argument("--transactions", type=int, default=1_000_000)
    rows.add_argument("--stop-file", type=Path)
    rows.add_argument("--seed", type=int, default=1)
    files = sub.add_parser("replace-file")
    files.add_argument("--log", type=Path, required=True)
    files.add_argument("--document", type=int, required=True)
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "archive.settings")
    import django

    django.setup()
    with open(args.log, "a", encoding="utf-8") as log:
        if args.mode == "rows":
            write_rows(log, args.transactions, args.stop_file, args.seed)
        else:
            replace_file(log, args.document)


if __name__ == "__main__":
    main(sys.argv[1:])
