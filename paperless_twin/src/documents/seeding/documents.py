"""Documents with real files: originals, archive PDFs and thumbnails under MEDIA_ROOT.

Default titles are chosen so that paperless's export names (facts §3.4) and a careful exporter
agree: each name is unique except a few exact duplicates of the same extension (which get
``_01`` counters), no two names differ only in extension or case, and none is near 255 bytes.
``name_clashes`` adds the two hazards of facts §7 items 1–2.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from pathvalidate import sanitize_filename

from documents.auditing import acting_as
from documents.models import Correspondent, Document
from documents.seeding import files
from documents.seeding.objects import Catalogue
from documents.seeding.people import People
from documents.seeding.text import Texts

__all__ = ["Planned", "plan_documents", "seed_documents"]

# How far below the 255-byte file-name limit default names stay ("-thumbnail.webp" is 15 bytes).
_NAME_BUDGET = 200
_CJK = "文書請求領収契約報告通知保険税金家族東京大阪銀行"


@dataclass
class Planned:
    """What decides a document's export name, planned before the row exists."""

    title: str
    created: datetime.date
    correspondent: Correspondent | None
    mime_type: str

    def export_name(self) -> str:
        """The base name paperless's exporter derives (before any ``_NN`` counter)."""
        parts = [self.created.isoformat()]
        if self.correspondent is not None:
            parts.append(self.correspondent.name)
        if self.title:
            parts.append(self.title)
        return sanitize_filename(" ".join(parts) + files.EXTENSIONS[self.mime_type],
                                 replacement_text="-")


def _stem_key(name: str, mime_type: str) -> str:
    return name[: len(name) - len(files.EXTENSIONS[mime_type])].casefold()


def plan_documents(texts: Texts, cat: Catalogue, count: int, name_clashes: bool) -> list[Planned]:
    """Titles, dates, correspondents and mime types for ``count`` documents (plus hazards)."""
    rng = texts.rng
    plans: list[Planned] = []
    stems: dict[str, str] = {}  # casefolded stem -> the exact name that claimed it
    for index in range(count):
        if index % 23 == 7 and plans:
            # An exact duplicate: same date, correspondent, title and type, so a counter appears.
            plans.append(Planned(**vars(rng.choice(plans))))
            continue
        correspondent = rng.choice([None, *cat.correspondents]) if index % 5 else None
        plan = Planned(
            title="" if index == 3 else texts.title(index),
            created=texts.day(), correspondent=correspondent,
            mime_type=rng.choice(files.MIME_TYPES),
        )
        name = plan.export_name()
        key = _stem_key(name, plan.mime_type)
        # Different text can sanitise to one name ("a/b", "a:b"); keep such a pair apart.
        while key in stems and stems[key] != name or len(name.encode()) > _NAME_BUDGET:
            plan.title = f"{plan.title[:60].rstrip(' .')} #{index}-{rng.randrange(10**6)}"
            name = plan.export_name()
            key = _stem_key(name, plan.mime_type)
        stems[key] = name
        plans.append(plan)
    if name_clashes and plans:
        first = plans[0]
        other = "image/png" if first.mime_type != "image/png" else "application/pdf"
        # facts §7 item 1: the same stem with a different extension.
        plans.append(Planned(first.title, first.created, first.correspondent, other))
        # facts §7 item 2: a 126-character CJK title, 378 bytes of UTF-8 on its own.
        plans.append(Planned("".join(rng.choice(_CJK) for _ in range(126)), texts.day(), None,
                             "application/pdf"))
    return plans


def _filename(texts: Texts, index: int, pk: int, extension: str) -> str | None:
    """The stored original name: NULL (pk fallback), one "", flat, or in sub-folders."""
    if index == 2:
        return ""
    choice = texts.rng.random()
    if choice < 0.2:
        return None
    if choice < 0.6:
        return f"{pk:07}{extension}"
    return f"{1990 + pk % 40}/Ümlaut \"{pk % 3}\"/{pk:07} 📄{extension}"


def seed_documents(texts: Texts, people: People, cat: Catalogue, plans: list[Planned],
                   ) -> list[Document]:
    """Create one document per plan with its files, tags and versions."""
    rng = texts.rng
    documents: list[Document] = []
    # 2147483647: the largest ASN every backend stores (PostgreSQL integers are signed 32-bit).
    asns = iter([0, 2147483647, 1, 42, 100000, *range(7, 10**6, 37)])
    for index, plan in enumerate(plans):
        owner = rng.choice([None, *people.users])
        content = "" if index % 11 == 4 else texts.content()
        added = texts.moment()
        with acting_as(owner if index % 3 else None):
            document = Document.objects.create(
                owner=owner, correspondent=plan.correspondent,
                storage_path=rng.choice([None, *cat.storage_paths]), title=plan.title,
                document_type=rng.choice([None, *cat.document_types]), content=content,
                mime_type=plan.mime_type, page_count=rng.choice([None, 1, 2, 17, 500]),
                created=plan.created, added=added,
                original_filename=rng.choice([None, "scan 😀.pdf", 'in "quotes".PDF',
                                              "C:\\Users\\x\\file.pdf", f"{plan.title}.bin"]),
                archive_serial_number=next(asns) if index % 4 == 1 else None,
            )
            document.tags.set(rng.sample(cat.tags, k=rng.randint(0, 4)))
        _write_files(texts, document, index)
        documents.append(document)
    _make_versions(documents)
    return documents


def _write_files(texts: Texts, document: Document, index: int) -> None:
    """Write the original, maybe an archive, and the thumbnail; store names and checksums."""
    rng = texts.rng
    pk = document.pk
    extension = files.EXTENSIONS[document.mime_type]
    color = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
    filename = _filename(texts, index, pk, extension)
    original = files.file_bytes(document.mime_type, f"{document.title} {pk}", color)
    files.write(files.original_path(pk, filename, extension), original)
    archive_filename = archive_checksum = None
    if rng.random() < 0.55:
        archive_filename = rng.choice([f"{pk:07}.pdf", f"{1990 + pk % 40}/{pk:07} archive.pdf"])
        archive = files.pdf_bytes(f"archive of {document.title} {pk}")
        files.write(files.archive_path(archive_filename), archive)
        archive_checksum = files.sha256(archive)
    files.write(files.thumbnail_path(pk), files.thumbnail_bytes(color))
    # A queryset update: these columns are not editable, and modified must not become "now".
    Document.global_objects.filter(pk=pk).update(
        filename=filename, archive_filename=archive_filename, checksum=files.sha256(original),
        archive_checksum=archive_checksum, modified=document.added + datetime.timedelta(
            seconds=rng.uniform(0, 10**7)),
    )
    document.refresh_from_db()


def _make_versions(documents: list[Document]) -> None:
    """Make the documents right after the second one versions of it (3.x versions)."""
    if len(documents) < 4:
        return
    root = documents[1]
    for version_index, version in enumerate(documents[2:4], start=1):
        Document.global_objects.filter(pk=version.pk).update(
            root_document=root, version_index=version_index,
            version_label=None if version_index == 2 else "v1 ✓ \"first\"",
        )
        version.refresh_from_db()
