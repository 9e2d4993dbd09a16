"""Datetime and date columns read as the text the manifest carries: the bytes stay Django's."""

from __future__ import annotations

import datetime

import pytest
from django.core import serializers
from django.db import connection, connections
from hypothesis import given, settings
from hypothesis import strategies as st

from documents.generator import generate_archive
from documents.models import Document
from exporter.batches import serialize_queryset_batched
from exporter.records.date_columns import manifest_column
from tests.helpers.manifests import FUZZ, django_bytes, manifest_bytes, outcome

pytestmark = pytest.mark.django_db

ARCHIVE = {"documents": 150, "seed": 11, "with_files": False}

sqlite_only = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="stored text is read as is on SQLite only"
)


@sqlite_only
def test_sqlite_datetimes_become_encoded_strings(archive):
    first = Document.global_objects.order_by("pk")[:1]
    [theirs] = serializers.serialize("python", first)
    [default] = next(serialize_queryset_batched(first))
    [manifest] = next(serialize_queryset_batched(first, for_manifest=True))
    assert default == theirs
    added = theirs["fields"]["added"]
    assert added.microsecond
    assert manifest["fields"]["added"] == added.isoformat()[:23] + "Z"
    assert manifest["fields"]["created"] == theirs["fields"]["created"].isoformat()
    assert manifest["fields"]["deleted_at"] is None


@sqlite_only
def test_no_shortcut_where_the_chain_differs(archive, monkeypatch, settings):
    added = Document._meta.get_field("added")
    created = Document._meta.get_field("created")
    assert manifest_column(added, connection) is not None
    # A database time zone other than UTC: Django's datetimes carry its offset.
    wrapper = connections["default"]
    monkeypatch.setitem(wrapper.settings_dict, "TIME_ZONE", "Europe/Paris")
    wrapper.__dict__.pop("timezone", None)
    try:
        assert manifest_column(added, connection) is None
        assert manifest_column(created, connection) is not None
        queryset = Document.global_objects.order_by("pk")
        assert manifest_bytes(queryset) == django_bytes(queryset)
    finally:
        monkeypatch.undo()
        wrapper.__dict__.pop("timezone", None)
    # Naive datetimes: no "Z".
    settings.USE_TZ = False
    column = manifest_column(added, connection)
    assert column is not None
    queryset = Document.global_objects.order_by("pk")
    assert manifest_bytes(queryset) == django_bytes(queryset)
    assert b'Z"' not in manifest_bytes(queryset.only("pk")[:5])


def test_other_backends_keep_django_values(archive):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite has the shortcut")
    assert manifest_column(Document._meta.get_field("added"), connection) is None


# --- stored values that Django did not write --------------------------------------------------

DIGITS = "0123456789"
aware_stored = st.datetimes(
    min_value=datetime.datetime(1, 1, 1), max_value=datetime.datetime(9999, 12, 31, 23, 59, 59)
).map(str)


class _Drawer:
    """Lets mutate() draw from inside a composite strategy."""

    def __init__(self, draw) -> None:
        self.draw = draw


def mutate(text: str, data: _Drawer) -> str:
    """One random edit of a stored text: a character replaced, inserted or removed."""
    position = data.draw(st.integers(0, len(text)))
    edit = data.draw(st.sampled_from(["replace", "insert", "delete"]))
    character = data.draw(st.sampled_from([*DIGITS, "-", ":", " ", "T", ".", "Z", "+", "\n", "٣"]))
    if edit == "insert":
        return text[:position] + character + text[position:]
    if edit == "delete" or position == len(text):
        return text[:position] + text[position + 1 :]
    return text[:position] + character + text[position + 1 :]


SPECIAL_DATETIMES = [
    "2023-02-29 10:00:00",
    "2024-02-29 10:00:00.000001",
    "1900-02-29 00:00:00",
    "2000-02-29 00:00:00",
    "2024-04-31 10:00:00",
    "2024-12-31 23:59:59.999999",
    "0000-01-01 00:00:00",
    "0001-01-01 00:00:00",
    "9999-12-31 23:59:59.999999",
    "2024-01-01 24:00:00",
    "2024-01-01 23:60:00",
    "2024-01-01 23:59:60",
    "2024-00-10 10:00:00",
    "2024-13-10 10:00:00",
    "2024-01-00 10:00:00",
    "2024-01-01T10:00:00",
    "2024-01-01 10:00:00Z",
    "2024-01-01 10:00:00+02:00",
    "2024-01-01 10:00:00.123",
    "2024-01-01 10:00:00.000000",
    "2024-01-01 10:00:00.000999",
    "2024-01-01 10:00:00.1234567",
    "2024-01-01 10:00:00,123456",
    " 2024-01-01 10:00:00",
    "2024-01-01 10:00:00\n",
    "2024-01-01 10:00",
    "2024-01-01",
    "20240101T100000",
    "٢٠٢٤-01-01 10:00:00",
    "",
    20240101,
    1.5,
    b"2024-01-01 10:00:00",
    b"\xff\xfe",
]
SPECIAL_DATES = [
    "2023-02-29",
    "2024-02-29",
    "0000-01-01",
    "0001-01-01",
    "9999-12-31",
    "2024-06-31",
    "2024-1-1",
    "20240101",
    "2024-W01-1",
    "2024-01-01 00:00:00",
    "2024-01-01\n",
    "",
    20240101,
    b"2024-01-01",
    b"\xff",
]


@st.composite
def stored_datetimes(draw, nullable: bool = True):
    kind = draw(st.sampled_from(["django", "mutated", "special", "null"][: 4 if nullable else 3]))
    if kind == "django":
        return draw(aware_stored)
    if kind == "mutated":
        return mutate(draw(aware_stored), _Drawer(draw))
    if kind == "special":
        return draw(st.sampled_from(SPECIAL_DATETIMES))
    return None


@st.composite
def stored_dates(draw, nullable: bool = True):
    kind = draw(st.sampled_from(["django", "mutated", "special", "null"][: 4 if nullable else 3]))
    date = draw(st.dates(min_value=datetime.date(1, 1, 1))).isoformat()
    if kind == "django":
        return date
    if kind == "mutated":
        return mutate(date, _Drawer(draw))
    if kind == "special":
        return draw(st.sampled_from(SPECIAL_DATES))
    return None


def _store(pks, column: str, values) -> None:
    with connection.cursor() as cursor:
        for pk, value in zip(pks, values, strict=True):
            cursor.execute(
                f'UPDATE "documents_document" SET "{column}" = %s WHERE "id" = %s', [value, pk]
            )


@sqlite_only
def test_stored_datetimes_and_dates_encode_like_django(media):
    generate_archive(documents=4, seed=3, with_files=False)
    queryset = Document.global_objects.order_by("pk")
    pks = list(queryset.values_list("pk", flat=True))

    @settings(FUZZ, max_examples=250)
    @given(
        st.lists(stored_datetimes(nullable=False), min_size=4, max_size=4),
        st.lists(stored_datetimes(), min_size=4, max_size=4),
        st.lists(stored_dates(nullable=False), min_size=4, max_size=4),
        st.sampled_from([1, 3, 4]),
    )
    def check(added, deleted_at, created, batch_size):
        # NOT NULL columns (added, created) and a nullable one, in one record.
        _store(pks, "added", added)
        _store(pks, "deleted_at", deleted_at)
        _store(pks, "created", created)
        expected = outcome(django_bytes, queryset)
        actual = outcome(manifest_bytes, queryset, batch_size)
        if isinstance(expected, bytes):
            assert actual == expected, (added, deleted_at, created)
        else:
            # Several bad values: Django converts a row at a time, the shortcut a column at a
            # time, so each may meet another one first. Both must refuse the batch.
            assert isinstance(actual, type), (added, deleted_at, created)

    check()


@sqlite_only
@pytest.mark.parametrize(
    ("column", "strategy"),
    [("added", stored_datetimes(nullable=False)), ("created", stored_dates(nullable=False))],
)
def test_one_stored_value_fails_like_django(media, column, strategy):
    generate_archive(documents=3, seed=4, with_files=False)
    queryset = Document.global_objects.order_by("pk")
    pk = queryset.values_list("pk", flat=True)[1]

    @settings(FUZZ, max_examples=150)
    @given(strategy)
    def check(value):
        _store([pk], column, [value])
        assert outcome(manifest_bytes, queryset) == outcome(django_bytes, queryset), value

    check()
