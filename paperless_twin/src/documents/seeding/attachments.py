"""What hangs off documents: notes, custom field values, share links and bundles, object
permissions, trash, and the audit-log entries that edits leave.
"""

from __future__ import annotations

import datetime
import uuid

from guardian.shortcuts import assign_perm

from documents.auditing import acting_as
from documents.models import (
    CustomFieldInstance,
    Document,
    Note,
    ShareLink,
    ShareLinkBundle,
    WorkflowRun,
)
from documents.seeding import files
from documents.seeding.objects import Catalogue
from documents.seeding.people import EXCLUDED, People
from documents.seeding.text import AWKWARD_FLOATS, Texts

__all__ = [
    "fix_deletion_times",
    "seed_bundles",
    "seed_custom_values",
    "seed_notes",
    "seed_permissions",
    "seed_share_links",
    "trash_and_edit",
]

_MONEY = ("EUR12.50", "12.50", "USD0.10", "GBP1234567.89", "CHF-5.00", "0.01", "JPY100")


def _token(texts: Texts, length: int) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
    return "".join(texts.rng.choice(alphabet) for _ in range(length))


def _txid(texts: Texts) -> uuid.UUID:
    return uuid.UUID(int=texts.rng.getrandbits(128), version=4)


def seed_notes(texts: Texts, people: People, documents: list[Document]) -> None:
    """Notes on documents, two without a document, some soft-deleted on live documents."""
    rng = texts.rng
    for document in documents:
        for _ in range(rng.choice([0, 0, 1, 2, 3])):
            Note.objects.create(note=texts.sentence(rng.randint(1, 8)), document=document,
                                user=rng.choice([None, *people.users]), created=texts.moment())
    for text in ("orphan note 🫥", "another\u2028orphan \"note\""):
        Note.objects.create(note=text, document=None, user=people.by_name("alice"),
                            created=texts.moment())
    for note in Note.objects.order_by("pk")[::7]:
        note.delete(transaction_id=_txid(texts))


def _value(texts: Texts, data_type: str, field_extra: dict | None, documents: list) -> dict:
    rng = texts.rng
    if data_type == "string":
        return {"value_text": texts.fragment()}
    if data_type == "url":
        return {"value_url": rng.choice(["https://example.org/ü?q=1&x=\"", "http://a.b/c"])}
    if data_type == "date":
        return {"value_date": texts.day()}
    if data_type == "boolean":
        return {"value_bool": rng.choice([True, False, None])}
    if data_type == "integer":
        return {"value_int": rng.choice([0, -1, 2147483647, -2147483648, 42])}
    if data_type == "float":
        return {"value_float": rng.choice(AWKWARD_FLOATS)}
    if data_type == "monetary":
        return {"value_monetary": rng.choice(_MONEY)}
    if data_type == "documentlink":
        linked = rng.sample(documents, k=min(3, len(documents)))
        return {"value_document_ids": [d.pk for d in linked]}
    if data_type == "select":
        options = (field_extra or {}).get("select_options") or []
        return {"value_select": rng.choice(options)["id"] if options else None}
    return {"value_long_text": texts.content()}


def seed_custom_values(texts: Texts, cat: Catalogue, documents: list[Document]) -> None:
    """Values of every data type; both monetary spellings; some soft-deleted on live documents."""
    rng = texts.rng
    for index, document in enumerate(documents):
        fields = cat.custom_fields if index == 0 else rng.sample(cat.custom_fields,
                                                                  k=rng.randint(0, 4))
        for field in fields:
            values = _value(texts, field.data_type, field.extra_data, documents)
            if index == 0 and field.data_type == "monetary":
                # Both spellings on the first document, whatever the draw.
                values = {"value_monetary": "EUR12.50" if "€" in field.name else "12.50"}
            CustomFieldInstance.objects.create(document=document, field=field,
                                               created=texts.moment(), **values)
    for instance in CustomFieldInstance.objects.order_by("pk")[3::9]:
        instance.delete(transaction_id=_txid(texts))


def seed_share_links(texts: Texts, people: People, documents: list[Document]) -> None:
    """Share links on some documents; some expired, some soft-deleted."""
    rng = texts.rng
    for index, document in enumerate(documents):
        if index % 6 and index != 1:
            continue
        link = ShareLink.objects.create(
            slug=_token(texts, rng.choice([16, 50])), document=document,
            expiration=rng.choice([None, texts.moment()]), created=texts.moment(),
            file_version=rng.choice(["archive", "original"]),
            owner=rng.choice([None, *people.users]),
        )
        if index % 4 == 0:
            link.delete(transaction_id=_txid(texts))


def seed_bundles(texts: Texts, people: People, documents: list[Document]) -> None:
    """Three bundles: one built ("<slug>.zip" with its zip), one pending (""), one failed."""
    ready_slug = _token(texts, 40)
    chosen = documents[:: max(1, len(documents) // 4)][:5]
    members = {}
    for document in chosen:
        extension = files.EXTENSIONS[document.mime_type]
        source = files.original_path(document.pk, document.filename, extension)
        members[f"{document.pk:07}{extension}"] = source.read_bytes()
    size = files.write_bundle(f"{ready_slug}.zip", members)
    specs = [
        dict(slug=ready_slug, status="ready", file_path=f"{ready_slug}.zip", size_bytes=size,
             built_at=texts.moment(), file_version="original"),
        dict(slug=_token(texts, 20), status="pending", file_path=""),
        dict(slug=_token(texts, 50), status="failed", file_path="",
             last_error={"message": "disk full 💥", "retries": 3, "backoff": 1.5}),
    ]
    for index, spec in enumerate(specs):
        bundle = ShareLinkBundle.objects.create(
            owner=[people.by_name("alice"), None, people.by_name("consumer")][index],
            expiration=texts.moment() if index else None, created=texts.moment(), **spec,
        )
        bundle.documents.set(chosen if index == 0 else documents[index::7][:4])


def seed_permissions(texts: Texts, people: People, cat: Catalogue,
                     documents: list[Document]) -> None:
    """guardian object permissions for users (the excluded ones too) and groups."""
    rng = texts.rng
    targets = [*documents[:30], *cat.tags[:5], *cat.correspondents[:3], *cat.document_types[:2],
               *cat.storage_paths[:2]]
    for target in targets:
        model = target._meta.model_name
        for user in rng.sample(people.users, k=rng.randint(0, 2)):
            for action in rng.sample(["view", "change", "delete"], k=rng.randint(1, 2)):
                assign_perm(f"documents.{action}_{model}", user, target)
        if rng.random() < 0.4:
            assign_perm(f"documents.view_{model}", rng.choice(people.groups), target)
    # Whatever the draw, both users the exporter leaves out hold permissions of their own.
    for username in EXCLUDED:
        assign_perm("documents.view_tag", people.by_name(username), cat.tags[0])
        assign_perm("documents.change_correspondent", people.by_name(username),
                    cat.correspondents[-1])


def trash_and_edit(texts: Texts, people: People, documents: list[Document]) -> list[Document]:
    """Edit some documents (audit-log updates with an actor) and trash others; return trashed."""
    rng = texts.rng
    alice = people.by_name("alice")
    with acting_as(alice, remote_addr="2001:db8::1", remote_port=443):
        for document in documents[5::8]:
            document.title = document.title  # unchanged: the log records the other edits
            document.page_count = (document.page_count or 0) + 1
            document.save()
            # save() stamps modified with "now"; keep the seeded, reproducible time instead.
            Document.global_objects.filter(pk=document.pk).update(
                modified=document.added + datetime.timedelta(days=rng.randint(1, 900)))
    # The second document is the root of two versions: trashing it trashes them as well.
    trashed = [d for i, d in enumerate(documents)
               if i % 13 == 9 or (i == 1 and len(documents) > 40)]
    for document in trashed:
        # Soft delete: also soft-deletes its notes, values, share links, runs and versions.
        document.delete(transaction_id=_txid(texts))
    return trashed


def fix_deletion_times(texts: Texts) -> None:
    """Give soft-deleted rows seeded deletion times (one per transaction), not "now"."""
    times: dict[uuid.UUID, datetime.datetime] = {}
    for model in (Document, Note, CustomFieldInstance, ShareLink, WorkflowRun):
        deleted = model.deleted_objects.order_by("pk").values_list("pk", "transaction_id")
        for pk, transaction_id in deleted:
            moment = times.setdefault(transaction_id, texts.moment(2025, 2026))
            model.global_objects.filter(pk=pk).update(deleted_at=moment)
