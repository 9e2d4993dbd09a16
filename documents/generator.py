"""A deterministic synthetic archive: the same seed gives the same rows and the same file bytes.

The archive is shaped like a real one: users and groups with object permissions, correspondents,
a tag hierarchy, custom fields of every data type, mail accounts with secrets, saved views, and
documents with multilingual OCR text, notes, custom field values, share links, a few in the trash,
and files on disk whose sha256 matches their checksum columns.

Memory stays bounded at any size: documents are built and inserted one batch at a time, and
nothing of a batch survives it. Every random choice comes from one ``random.Random(seed)`` stream
consumed in primary-key order, so the batch size does not change the result.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.core.management.color import no_style
from django.db import connection, transaction
from guardian.models import GroupObjectPermission, UserObjectPermission

from documents.models import (
    Correspondent,
    CustomField,
    CustomFieldInstance,
    Document,
    DocumentType,
    MailAccount,
    MailRule,
    Note,
    SavedView,
    SavedViewFilterRule,
    ShareLink,
    StoragePath,
    Tag,
    UiSettings,
    archive_path_for,
    source_path_for,
    thumbnail_path_for,
)
from exporter.readback.loader import refresh_planner_statistics

ProgressCallback = Callable[[int], None]

EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
DAYS_SPAN = 26 * 365

INSERT_ROWS = 500
N_USERS = 6
N_GROUPS = 3
N_CORRESPONDENTS = 50
N_TAG_ROOTS = 20
N_TAGS = 200
N_DOCUMENT_TYPES = 15
N_STORAGE_PATHS = 8

# Short multilingual OCR-ish sentences. Quotes, backslashes, tabs, form feeds (OCR page breaks),
# RTL text with its marks, combining characters, U+2028 and emoji are all on purpose: they are
# what the manifest encoder must get byte-for-byte right.
SENTENCES = [
    "Rechnung Nr. {n} – bitte überweisen Sie den Betrag bis zum Fälligkeitsdatum.",
    "Facture n° {n} : « montant dû » à régler sous 30 jours.",
    "Счёт № {n}: оплатить до конца месяца.",
    "Τιμολόγιο {n} — παρακαλώ πληρώστε εντός 14 ημερών.",
    "請求書番号 {n}：お支払い期限は月末です。",
    "发票编号 {n}，请于本月底前付款。",
    "\u200fفاتورة رقم {n} يرجى الدفع خلال أسبوعين\u200f",
    "\u200fחשבונית מס' {n} לתשלום תוך 30 יום\u200f",
    'Path: C:\\Users\\scan\\inbox\\{n}.pdf and a "quoted" word.',
    "Tab\tseparated\tcolumns\t{n}",
    "Zeile mit Emoji 📄🧾✅ und Nummer {n}.",
    "Café, naïve, coöperate, e\u0301 (combining) {n}.",
    "Line\u2028separator and paragraph\u2029separator {n}.",
    "Total due: $1,234.{n:02} (incl. 19% VAT)",
    "Page break follows\f{n}",
    "ASCII only sentence number {n} with some plain words.",
]

TITLE_WORDS = [
    "Invoice",
    "Contract",
    "Letter",
    "Receipt",
    "Tax",
    "Insurance",
    "Bank statement",
    "Rechnung",
    "Vertrag",
    "Kündigung",
    "Facture",
    "Reçu",
    "Договор",
    "Счёт",
    "請求書",
    "Quittung",
    "Policy",
    "Payslip",
    "Warranty",
    "Übersicht",
]
# Characters that are illegal or awkward in file names on some system.
AWKWARD = ["/", "\\", ":", "*", "?", '"', "<", ">", "|", "\t", ".", " "]
CORRESPONDENT_NAMES = [
    "ACME Corp",
    "Stadtwerke München",
    "Société Générale",
    "Deutsche Bahn",
    "Finanzamt",
    "Dr. Müller",
    "O'Brien & Sons",
    "Сбербанк",
    "株式会社テスト",
    "Ελληνικά Ταχυδρομεία",
]


@dataclass
class GenerationSummary:
    """What one generate_archive() call created."""

    documents: int = 0
    trashed: int = 0
    files_written: int = 0
    bytes_written: int = 0
    rows: dict[str, int] = field(default_factory=dict)


class ArchiveNotEmpty(Exception):
    """The target database already holds documents."""


def generate_archive(
    *,
    documents: int,
    seed: int = 0,
    content_kb: int = 4,
    with_files: bool = True,
    batch_size: int = 2000,
    progress: ProgressCallback | None = None,
) -> GenerationSummary:
    """Fill an empty archive with ``documents`` synthetic documents and everything around them.

    ``progress`` is called with the number of documents created since the last call.
    """
    if documents < 0:
        raise ValueError("documents must be 0 or more")
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if content_kb < 0:
        raise ValueError("content_kb must be 0 or more")
    if Document.global_objects.exists() or User.objects.exists():
        raise ArchiveNotEmpty(
            f"the archive already holds {Document.global_objects.count()} documents and "
            f"{User.objects.count()} users"
        )

    rng = random.Random(seed)
    world = _World(rng, content_kb)
    summary = GenerationSummary()
    with transaction.atomic():
        world.create_base(summary)
    for start in range(0, documents, batch_size):
        stop = min(documents, start + batch_size)
        with transaction.atomic():
            world.create_documents(range(start + 1, stop + 1), with_files, summary)
        if progress is not None:
            progress(stop - start)
    _reset_sequences()
    return summary


def _reset_sequences() -> None:
    """Rows were inserted with explicit primary keys; PostgreSQL's sequences must catch up."""
    models = [
        User,
        Group,
        Correspondent,
        Tag,
        DocumentType,
        StoragePath,
        CustomField,
        MailAccount,
        MailRule,
        SavedView,
        SavedViewFilterRule,
        UiSettings,
        Document,
        Note,
        CustomFieldInstance,
        ShareLink,
        UserObjectPermission,
        GroupObjectPermission,
        Document.tags.through,
        MailRule.assign_tags.through,
        User.groups.through,
        Group.permissions.through,
    ]
    statements = connection.ops.sequence_reset_sql(no_style(), models)
    if statements:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
    # As a restore does: an archive whose planner knows nothing of its rows exports slowly.
    refresh_planner_statistics(connection.alias, models)


def _aware(days: float) -> dt.datetime:
    return EPOCH + dt.timedelta(days=days)


class _World:
    """The random stream plus the ids of the shared rows that documents point at."""

    def __init__(self, rng: random.Random, content_kb: int) -> None:
        self.rng = rng
        self.content_chars = content_kb * 1024
        # One pool of text and one of bytes; each document takes a slice at a random offset,
        # which keeps generation fast and every document's text and files distinct.
        pieces: list[str] = []
        length = 0
        while length < 256 * 1024 + self.content_chars:
            sentence = rng.choice(SENTENCES).format(n=rng.randrange(100))
            gap = rng.choice([" ", " ", "\n", "\n\n", "\t"])
            pieces += (sentence, gap)
            length += len(sentence) + len(gap)
        self.text_pool = "".join(pieces)
        self.byte_pool = rng.randbytes(1 << 20)
        self.prev_title: tuple[dt.date, int | None, str] | None = None
        self.next_cfi_id = 1
        self.next_note_id = 1
        self.next_share_id = 1
        self.next_perm_id = 0

    # -- shared rows ---------------------------------------------------------------------------

    def create_base(self, summary: GenerationSummary) -> None:
        rng = self.rng
        document_ct = ContentType.objects.get_for_model(Document)
        perms = list(Permission.objects.filter(content_type=document_ct).order_by("codename"))
        self.view_perm = next(p for p in perms if p.codename == "view_document")
        self.change_perm = next(p for p in perms if p.codename == "change_document")
        self.document_ct = document_ct

        groups = [Group(pk=i, name=f"group-{i}") for i in range(1, N_GROUPS + 1)]
        Group.objects.bulk_create(groups)
        all_perms = list(Permission.objects.order_by("pk").values_list("pk", flat=True))
        Group.permissions.through.objects.bulk_create(
            Group.permissions.through(group_id=g.pk, permission_id=p)
            for g in groups
            for p in rng.sample(all_perms, 5)
        )
        users = []
        for i in range(1, N_USERS + 1):
            users.append(
                User(
                    pk=i,
                    username="admin" if i == 1 else f"user{i}",
                    # An unusable password: deterministic, and no slow hashing.
                    password="!" + rng.randbytes(20).hex(),
                    is_superuser=i == 1,
                    is_staff=i == 1,
                    first_name=rng.choice(["Anna", "Jürgen", "Zoë", "Łukasz", "美咲"]),
                    email=f"user{i}@example.org",
                    date_joined=_aware(rng.uniform(0, 100)),
                )
            )
        User.objects.bulk_create(users)
        User.groups.through.objects.bulk_create(
            User.groups.through(user_id=u.pk, group_id=rng.randint(1, N_GROUPS)) for u in users[1:]
        )
        User.user_permissions.through.objects.bulk_create(
            User.user_permissions.through(user_id=u.pk, permission_id=p)
            for u in users[1:3]
            for p in rng.sample(all_perms, 3)
        )
        self.user_ids = [u.pk for u in users]
        self.group_ids = [g.pk for g in groups]

        UiSettings.objects.bulk_create(
            UiSettings(
                pk=u.pk,
                user_id=u.pk,
                settings={
                    "dark_mode": {"enabled": rng.random() < 0.5},
                    "language": rng.choice(["en-US", "de-DE", "fr-FR"]),
                    "saved_views": {"warn_on_unsaved_change": True},
                    "documentListSize": rng.choice([25, 50, 100]),
                },
            )
            for u in users
        )

        correspondents = [
            Correspondent(
                pk=i,
                name=f"{CORRESPONDENT_NAMES[i % len(CORRESPONDENT_NAMES)]} {i}",
                match=rng.choice(["", "invoice", "rechnung"]),
                matching_algorithm=rng.randrange(7),
                owner_id=rng.choice([None, *self.user_ids]),
            )
            for i in range(1, N_CORRESPONDENTS + 1)
        ]
        Correspondent.objects.bulk_create(correspondents)
        self.correspondent_names = {c.pk: c.name for c in correspondents}

        tags = []
        for i in range(1, N_TAGS + 1):
            # Names are not in id order, so that the Meta.ordering of tags matters.
            name = f"{rng.choice(TITLE_WORDS)} {rng.randrange(10_000):04}-{i}"
            parent = None if i <= N_TAG_ROOTS else rng.randint(1, min(i - 1, N_TAG_ROOTS * 3))
            tags.append(
                Tag(
                    pk=i,
                    name=name,
                    color=f"#{rng.randrange(1 << 24):06x}",
                    is_inbox_tag=i == 1,
                    parent_id=parent,
                    matching_algorithm=rng.randrange(7),
                )
            )
        Tag.objects.bulk_create(tags)
        self.tag_ids = [t.pk for t in tags]

        DocumentType.objects.bulk_create(
            DocumentType(pk=i, name=f"{TITLE_WORDS[i % len(TITLE_WORDS)]} type {i}")
            for i in range(1, N_DOCUMENT_TYPES + 1)
        )
        StoragePath.objects.bulk_create(
            StoragePath(
                pk=i, name=f"path {i}", path=f"{{{{ correspondent }}}}/{{{{ created_year }}}}/{i}"
            )
            for i in range(1, N_STORAGE_PATHS + 1)
        )

        types = CustomField.FieldDataType
        custom_fields = [
            CustomField(
                pk=i + 1,
                name=f"{t.label} field",
                data_type=t.value,
                created=_aware(i),
                extra_data=None,
            )
            for i, t in enumerate(types)
        ]
        for cf in custom_fields:
            if cf.data_type == types.SELECT:
                cf.extra_data = {
                    "select_options": [
                        {"id": f"opt{j}", "label": label}
                        for j, label in enumerate(["rot", "grün", "蓝", "🟡"])
                    ]
                }
            elif cf.data_type == types.MONETARY:
                cf.extra_data = {"default_currency": "EUR"}
        CustomField.objects.bulk_create(custom_fields)
        self.custom_fields = [(cf.pk, cf.data_type) for cf in custom_fields]

        accounts = [
            MailAccount(
                pk=i,
                name=f"mail {i}",
                imap_server=f"imap{i}.example.org",
                imap_port=993,
                username=f"user{i}@example.org",
                password=f"s3cret-{i}-{rng.randbytes(6).hex()}",
                refresh_token=f"refresh-{rng.randbytes(12).hex()}" if i % 2 else None,
                is_token=bool(i % 2),
                expiration=_aware(9000 + i) if i % 2 else None,
                account_type=2 if i % 2 else 1,
            )
            for i in range(1, 4)
        ]
        MailAccount.objects.bulk_create(accounts)
        rules = [
            MailRule(
                pk=i,
                name=f"rule {i}",
                order=rng.randrange(10),
                account_id=1 + i % 3,
                filter_subject=rng.choice([None, "Rechnung", "Invoice"]),
                maximum_age=rng.randrange(1, 90),
                assign_correspondent_id=rng.choice([None, 1, 2]),
                assign_document_type_id=rng.choice([None, 1]),
            )
            for i in range(1, 7)
        ]
        MailRule.objects.bulk_create(rules)
        MailRule.assign_tags.through.objects.bulk_create(
            MailRule.assign_tags.through(mailrule_id=r.pk, tag_id=t)
            for r in rules
            for t in rng.sample(self.tag_ids, 3)
        )

        views = [
            SavedView(
                pk=i,
                name=f"view {i}",
                owner_id=self.user_ids[i % len(self.user_ids)],
                show_on_dashboard=i % 2 == 0,
                sort_field="created",
                sort_reverse=True,
                display_fields=["title", "created", f"custom_field_{i}"],
            )
            for i in range(1, 6)
        ]
        SavedView.objects.bulk_create(views)
        rule_id = 0
        filter_rules = []
        for view in views:
            for _ in range(rng.randint(1, 3)):
                rule_id += 1
                filter_rules.append(
                    SavedViewFilterRule(
                        pk=rule_id,
                        saved_view_id=view.pk,
                        rule_type=rng.choice([0, 1, 3, 6]),
                        value=str(rng.randrange(1, 50)),
                    )
                )
        SavedViewFilterRule.objects.bulk_create(filter_rules)

    # -- documents -----------------------------------------------------------------------------

    def create_documents(self, pks: range, with_files: bool, summary: GenerationSummary) -> None:
        docs: list[Document] = []
        tag_rows = []
        notes: list[Note] = []
        cfis: list[CustomFieldInstance] = []
        shares: list[ShareLink] = []
        user_perms: list[UserObjectPermission] = []
        group_perms: list[GroupObjectPermission] = []
        for pk in pks:
            doc, files = self._document(pk)
            docs.append(doc)
            summary.documents += 1
            summary.trashed += doc.deleted_at is not None
            tag_rows.extend(
                Document.tags.through(document_id=pk, tag_id=t)
                for t in self.rng.sample(self.tag_ids, self.rng.choice((0, 1, 2, 3, 3, 4, 5, 6)))
            )
            notes.extend(self._notes(doc))
            cfis.extend(self._custom_field_instances(doc))
            if self.rng.random() < 0.01:
                shares.append(self._share_link(doc))
            if self.rng.random() < 0.05:
                self.next_perm_id += 1
                user_perms.append(
                    UserObjectPermission(
                        pk=self.next_perm_id,
                        permission=self.view_perm,
                        content_type=self.document_ct,
                        user_id=self.rng.choice(self.user_ids),
                        object_pk=str(pk),
                    )
                )
            if self.rng.random() < 0.02:
                self.next_perm_id += 1
                group_perms.append(
                    GroupObjectPermission(
                        pk=self.next_perm_id,
                        permission=self.change_perm,
                        content_type=self.document_ct,
                        group_id=self.rng.choice(self.group_ids),
                        object_pk=str(pk),
                    )
                )
            if with_files:
                for path, data in files:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(data)
                    summary.files_written += 1
                    summary.bytes_written += len(data)

        # Capped per INSERT: MariaDB rejects statements over max_allowed_packet (16 MB).
        Document.global_objects.bulk_create(docs, batch_size=INSERT_ROWS)
        Document.tags.through.objects.bulk_create(tag_rows)
        Note.objects.bulk_create(notes)
        CustomFieldInstance.objects.bulk_create(cfis)
        ShareLink.objects.bulk_create(shares)
        UserObjectPermission.objects.bulk_create(user_perms)
        GroupObjectPermission.objects.bulk_create(group_perms)
        for model, rows in (
            ("documents.document", docs),
            ("documents.document_tags", tag_rows),
            ("documents.note", notes),
            ("documents.customfieldinstance", cfis),
            ("documents.sharelink", shares),
            ("guardian.userobjectpermission", user_perms),
            ("guardian.groupobjectpermission", group_perms),
        ):
            summary.rows[model] = summary.rows.get(model, 0) + len(rows)

    def _title(self, pk: int, created: dt.date, correspondent_id: int | None):
        """A title, and sometimes the created date and correspondent of the previous document.

        Every 40th document copies its predecessor's date and correspondent and a title that
        sanitises to the same file name, so exported names collide and need ``_01`` suffixes.
        """
        rng = self.rng
        roll = rng.random()
        if pk % 40 == 0 and self.prev_title is not None:
            created, correspondent_id, title = self.prev_title
            if roll < 0.5:
                title = title.replace("/", ":").replace("?", "*")
            return created, correspondent_id, title
        if pk % 997 == 0:
            # 128 four-byte characters: far beyond 255 bytes once used as a file name.
            title = "".join(rng.choice("📄🧾📑🗂️✉️") for _ in range(200))[:128]
        elif pk % 500 == 0:
            title = ""
        else:
            words = [rng.choice(TITLE_WORDS) for _ in range(rng.randint(1, 4))]
            if roll < 0.15:
                words.insert(1, rng.choice(AWKWARD))
            title = f"{' '.join(words)} {rng.randrange(1, 13):02}/{rng.randrange(2000, 2027)}"
            if roll < 0.05:
                title = f" ..{title}?. "
        self.prev_title = (created, correspondent_id, title)
        return created, correspondent_id, title

    def _document(self, pk: int) -> tuple[Document, list[tuple[Path, bytes]]]:
        rng = self.rng
        created = (EPOCH + dt.timedelta(days=rng.randrange(DAYS_SPAN))).date()
        correspondent_id = rng.randint(1, N_CORRESPONDENTS) if rng.random() < 0.9 else None
        created, correspondent_id, title = self._title(pk, created, correspondent_id)
        added = dt.datetime.combine(created, dt.time(), tzinfo=dt.UTC) + dt.timedelta(
            seconds=rng.randrange(86400 * 30), microseconds=rng.randrange(1_000_000)
        )
        modified = added + dt.timedelta(seconds=rng.randrange(86400 * 365))
        mime, ext, magic = rng.choices(
            [
                ("application/pdf", ".pdf", b"%PDF-1.7\n"),
                ("image/png", ".png", b"\x89PNG\r\n\x1a\n"),
                ("image/jpeg", ".jpg", b"\xff\xd8\xff\xe0"),
            ],
            weights=[85, 10, 5],
        )[0]
        original = self._file_bytes(magic, f"original {pk}", rng.randrange(2048, 12288))
        thumbnail = self._file_bytes(b"RIFF\x00\x00\x00\x00WEBPVP8 ", f"thumb {pk}", 1500)
        has_archive = mime != "application/pdf" or rng.random() < 0.45
        archive = (
            self._file_bytes(b"%PDF-1.7\n", f"archive {pk}", rng.randrange(2048, 12288))
            if has_archive
            else None
        )
        offset = rng.randrange(len(self.text_pool) - self.content_chars)
        content = f"{title}\n{self.text_pool[offset : offset + self.content_chars]}"
        doc = Document(
            pk=pk,
            title=title,
            content=content,
            correspondent_id=correspondent_id,
            document_type_id=rng.randint(1, N_DOCUMENT_TYPES) if rng.random() < 0.8 else None,
            storage_path_id=rng.randint(1, N_STORAGE_PATHS) if rng.random() < 0.3 else None,
            owner_id=rng.choice(self.user_ids) if rng.random() < 0.7 else None,
            mime_type=mime,
            checksum=hashlib.sha256(original).hexdigest(),
            archive_checksum=hashlib.sha256(archive).hexdigest() if archive else None,
            page_count=rng.randint(1, 30),
            created=created,
            added=added,
            modified=modified,
            filename=f"{pk:07}{ext}",
            archive_filename=f"{pk:07}.pdf" if archive else None,
            original_filename=f"Scan {rng.choice(TITLE_WORDS)} {pk}{ext}",
            archive_serial_number=pk if rng.random() < 0.3 else None,
            deleted_at=modified + dt.timedelta(days=3) if rng.random() < 0.01 else None,
        )
        files = [
            (source_path_for(pk, doc.filename, mime), original),
            (thumbnail_path_for(pk), thumbnail),
        ]
        if archive is not None:
            files.append((archive_path_for(doc.archive_filename), archive))
        return doc, files

    def _file_bytes(self, magic: bytes, label: str, size: int) -> bytes:
        offset = self.rng.randrange(len(self.byte_pool) - size)
        return magic + label.encode() + b"\n" + self.byte_pool[offset : offset + size]

    def _notes(self, doc: Document) -> list[Note]:
        notes = []
        for _ in range(self.rng.choice((0, 0, 1, 1, 2))):
            notes.append(
                Note(
                    pk=self.next_note_id,
                    document_id=doc.pk,
                    user_id=self.rng.choice(self.user_ids),
                    note=self.rng.choice(SENTENCES).format(n=self.next_note_id),
                    created=doc.added + dt.timedelta(minutes=self.rng.randrange(100_000)),
                )
            )
            self.next_note_id += 1
        return notes

    def _custom_field_instances(self, doc: Document) -> list[CustomFieldInstance]:
        rng = self.rng
        types = CustomField.FieldDataType
        instances = []
        for field_id, data_type in rng.sample(self.custom_fields, rng.choice((0, 1, 1, 2))):
            values: dict = {}
            if data_type == types.STRING:
                values["value_text"] = rng.choice(SENTENCES).format(n=doc.pk)[:128]
            elif data_type == types.URL:
                values["value_url"] = f"https://example.org/doc/{doc.pk}?q=ü"
            elif data_type == types.DATE:
                values["value_date"] = doc.created + dt.timedelta(days=rng.randrange(400))
            elif data_type == types.BOOL:
                values["value_bool"] = rng.random() < 0.5
            elif data_type == types.INT:
                values["value_int"] = rng.randrange(-(2**31), 2**31)
            elif data_type == types.FLOAT:
                # Small magnitudes are written as 1e-05 by json and 1e-5 by orjson.
                values["value_float"] = rng.choice(
                    [rng.uniform(-1e6, 1e6), rng.uniform(1e-7, 1e-4), 0.1 + 0.2, 1e22]
                )
            elif data_type == types.MONETARY:
                values["value_monetary"] = Decimal(rng.randrange(0, 10**9)) / 100
            elif data_type == types.DOCUMENTLINK:
                values["value_document_ids"] = sorted(
                    {rng.randint(1, doc.pk) for _ in range(rng.randint(1, 3))}
                )
            elif data_type == types.SELECT:
                values["value_select"] = f"opt{rng.randrange(4)}"
            instances.append(
                CustomFieldInstance(
                    pk=self.next_cfi_id,
                    document_id=doc.pk,
                    field_id=field_id,
                    created=doc.added + dt.timedelta(seconds=rng.randrange(1000)),
                    **values,
                )
            )
            self.next_cfi_id += 1
        return instances

    def _share_link(self, doc: Document) -> ShareLink:
        rng = self.rng
        link = ShareLink(
            pk=self.next_share_id,
            document_id=doc.pk,
            owner_id=rng.choice(self.user_ids),
            created=doc.added + dt.timedelta(days=1),
            expiration=doc.added + dt.timedelta(days=30) if rng.random() < 0.5 else None,
            uuid=uuid.UUID(int=rng.getrandbits(128), version=4),
            validity=dt.timedelta(
                days=rng.randrange(30),
                seconds=rng.randrange(86400),
                microseconds=rng.randrange(1_000_000),
            ),
            file_version=rng.choice(["archive", "original"]),
        )
        self.next_share_id += 1
        return link
