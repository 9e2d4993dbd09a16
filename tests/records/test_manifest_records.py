"""Records read ``for_manifest`` must encode to exactly the bytes of Django's own records.

On SQLite, datetime and date columns arrive as the strings the encoder would write (see
exporter.records.date_columns); elsewhere, and for every other column, the values are Django's,
converted a column at a time. Whatever the stored value, the bytes (or the exception) must be
those of ``serializers.serialize("python", ...)`` encoded by the classic encoder.
"""

from __future__ import annotations

import datetime
import io

import pytest
from django.apps import apps
from django.core import serializers
from django.db import connection
from hypothesis import HealthCheck, settings

from documents.models import CustomFieldInstance, Document
from exporter.batches import iter_record_batches, serialize_queryset_batched
from exporter.stream_writer import ManifestStreamWriter
from exporter.writing.encoding import classic_dumps

pytestmark = pytest.mark.django_db

ALL_MODELS = [m for m in apps.get_models() if not m._meta.auto_created]

FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

sqlite_only = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="stored text is read as is on SQLite only"
)


def streamed(records) -> bytes:
    sink = io.BytesIO()
    writer = ManifestStreamWriter(sink)
    writer.write_many(records)
    writer.close()
    return sink.getvalue()


def manifest_bytes(queryset, batch_size: int = 500) -> bytes:
    return streamed(
        record
        for batch in serialize_queryset_batched(queryset, batch_size=batch_size, for_manifest=True)
        for record in batch
    )


def django_bytes(queryset) -> bytes:
    # A fresh clone: iterating a QuerySet caches its rows, which later changes would not reach.
    return classic_dumps(serializers.serialize("python", queryset.all()))


def outcome(function, *args):
    try:
        return function(*args)
    except Exception as error:  # noqa: BLE001 - comparing failures is the point
        return type(error)


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
