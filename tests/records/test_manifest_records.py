"""Records read ``for_manifest`` must encode to exactly the bytes of Django's own records.

On SQLite, datetime and date columns arrive as the strings the encoder would write (see
exporter.records.date_columns); elsewhere, and for every other column, the values are Django's,
converted a column at a time. Whatever the stored value, the bytes (or the exception) must be
those of ``serializers.serialize("python", ...)`` encoded by the classic encoder.
"""

from __future__ import annotations

import datetime

import pytest
from django.core import serializers
from django.db import connection

from documents.models import CustomFieldInstance, Document
from exporter.batches import iter_record_batches, serialize_queryset_batched
from exporter.writing.encoding import classic_dumps
from tests.helpers.manifests import ALL_MODELS, django_bytes, manifest_bytes, streamed

pytestmark = pytest.mark.django_db

ARCHIVE = {"documents": 150, "seed": 11, "with_files": False}


def test_every_model_encodes_like_djangos_records(archive):
    checked = 0
    for model in ALL_MODELS:
        queryset = model._base_manager.order_by("pk")
        expected = django_bytes(queryset)
        for batch_size in (1, 7, 500):
            assert manifest_bytes(queryset, batch_size) == expected, (
                f"{model._meta.label} at batch size {batch_size}"
            )
        checked += queryset.count()
    assert checked > 150 * 5


def test_filtered_ordered_and_empty_querysets(archive):
    subset = Document.global_objects.filter(title__icontains="a").order_by("-added", "pk")
    assert manifest_bytes(subset, 4) == django_bytes(subset)
    values = CustomFieldInstance.objects.order_by("field", "pk")
    assert manifest_bytes(values, 9) == django_bytes(values)
    assert manifest_bytes(Document.global_objects.none()) == b"[]"


def test_extras_and_pks_stay_djangos(archive):
    queryset = Document.global_objects.order_by("pk")
    expected = {
        row[0]: row[1:]
        for row in queryset.values_list("pk", "created", "added", "correspondent__name")
    }
    seen = 0
    extra = ("created", "added", "correspondent__name")
    for records, extras in iter_record_batches(
        queryset, batch_size=13, extra=extra, for_manifest=True
    ):
        for record, values in zip(records, extras, strict=True):
            assert type(record["pk"]) is int
            assert values == expected[record["pk"]]
            seen += 1
    assert seen == len(expected)


def test_keep_native_keeps_djangos_values(archive):
    queryset = Document.global_objects.order_by("pk")
    django = serializers.serialize("python", queryset)
    batches = iter_record_batches(queryset, for_manifest=True, keep_native=("added", "created"))
    records = [record for batch, _ in batches for record in batch]
    for mine, theirs in zip(records, django, strict=True):
        assert mine["fields"]["added"] == theirs["fields"]["added"]
        assert type(mine["fields"]["added"]) is datetime.datetime
        assert type(mine["fields"]["created"]) is datetime.date
        if connection.vendor == "sqlite":
            assert type(mine["fields"]["modified"]) is str
    assert streamed(records) == classic_dumps(django)


def test_default_records_are_still_djangos(archive):
    queryset = CustomFieldInstance.objects.order_by("pk")
    records = [r for batch in serialize_queryset_batched(queryset, batch_size=50) for r in batch]
    assert records == serializers.serialize("python", queryset)
