"""The reference models, their migrations and their file paths, on the database under test."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from documents.models import (
    Correspondent,
    CustomField,
    CustomFieldInstance,
    Document,
    MailAccount,
    Note,
    ShareLink,
    Tag,
)

pytestmark = pytest.mark.django_db


def make_document(pk: int, **extra) -> Document:
    fields = dict(
        pk=pk,
        title=f"doc {pk}",
        checksum=f"{pk:064x}",
        mime_type="application/pdf",
        created=dt.date(2024, 1, pk % 28 + 1),
        filename=f"{pk:07}.pdf",
    )
    fields.update(extra)
    return Document.global_objects.create(**fields)


def test_models_match_committed_migrations():
    out = StringIO()
    # --check exits non-zero when a model change has no migration.
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def test_all_migrations_are_applied():
    executor = MigrationExecutor(connection)
    assert executor.migration_plan(executor.loader.graph.leaf_nodes()) == []


def test_tags_of_a_document_come_in_name_order():
    zebra, alpha = Tag.objects.create(name="zebra"), Tag.objects.create(name="alpha")
    doc = make_document(1)
    doc.tags.set([zebra, alpha])
    assert zebra.pk < alpha.pk
    assert list(doc.tags.values_list("name", flat=True)) == ["alpha", "zebra"]


def test_tag_hierarchy():
    root = Tag.objects.create(name="root")
    child = Tag.objects.create(name="child", parent=root)
    assert list(root.children.all()) == [child]


def test_trashed_documents_are_hidden_from_objects_but_not_global_objects():
    make_document(1)
    make_document(2, deleted_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    assert list(Document.objects.values_list("pk", flat=True)) == [1]
    assert sorted(Document.global_objects.values_list("pk", flat=True)) == [1, 2]
    assert Document.global_objects.get(pk=2).is_trashed


def test_checksum_and_serial_number_are_unique():
    make_document(1, archive_serial_number=7)
    with pytest.raises(IntegrityError), transaction.atomic():
        make_document(2, checksum=f"{1:064x}")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_document(3, archive_serial_number=7)


def test_file_paths_follow_the_media_settings(media):
    doc = make_document(12, archive_filename="0000012.pdf")
    assert doc.source_path == media / "originals" / "0000012.pdf"
    assert doc.archive_path == media / "archive" / "0000012.pdf"
    assert doc.thumbnail_path == media / "thumbnails" / "0000012.webp"
    assert doc.has_archive_version
    bare = make_document(13)
    assert not bare.has_archive_version and bare.archive_path is None


def test_typed_custom_field_values_round_trip_through_the_database():
    doc = make_document(1)
    values = {
        "value_text": "Grüße 📄",
        "value_bool": False,
        "value_url": "https://example.org/ü",
        "value_date": dt.date(2020, 2, 29),
        "value_int": -(2**31),
        "value_float": 1.5e-5,
        "value_monetary": Decimal("12345.67"),
        "value_document_ids": [1, 2, 3],
        "value_select": "opt1",
    }
    field = CustomField.objects.create(name="f", data_type="string", extra_data={"a": [1]})
    CustomFieldInstance.objects.create(document=doc, field=field, **values)
    stored = CustomFieldInstance.objects.values(*values).get()
    assert stored == values


def test_uuid_duration_and_secrets_are_stored():
    user = User.objects.create(username="u")
    doc = make_document(1, owner=user)
    link = ShareLink.objects.create(
        document=doc, uuid=uuid.UUID(int=5), validity=dt.timedelta(days=2, microseconds=3)
    )
    link.refresh_from_db()
    assert link.uuid == uuid.UUID(int=5)
    assert link.validity == dt.timedelta(days=2, microseconds=3)
    account = MailAccount.objects.create(
        name="m", imap_server="imap", username="u", password="p4ss", refresh_token="tok"
    )
    account.refresh_from_db()
    assert (account.password, account.refresh_token) == ("p4ss", "tok")


def test_notes_cascade_with_their_document():
    doc = make_document(1)
    Note.objects.create(document=doc, note="n")
    doc.delete()
    assert Note.objects.count() == 0


def test_matching_names_are_unique_per_owner():
    Correspondent.objects.create(name="ACME")
    owner = User.objects.create(username="o")
    Correspondent.objects.create(name="ACME", owner=owner)
    with pytest.raises(IntegrityError), transaction.atomic():
        Correspondent.objects.create(name="ACME", owner=owner)
