"""serialize_queryset_batched against Django's own serializer, on the database under test."""

from __future__ import annotations

import tracemalloc

import pytest
from django.core import serializers
from django.db import connection
from django.test.utils import CaptureQueriesContext

from documents.generator import generate_archive
from documents.models import Document, Tag
from exporter.batches import serialize_queryset_batched
from tests.helpers.manifests import ALL_MODELS

pytestmark = pytest.mark.django_db

ARCHIVE = {"documents": 150, "seed": 11, "with_files": False}


def flatten(batches) -> list[dict]:
    return [record for batch in batches for record in batch]


def test_every_model_matches_djangos_serializer_at_every_batch_size(archive):
    checked = 0
    for model in ALL_MODELS:
        queryset = model._base_manager.order_by("pk")
        expected = serializers.serialize("python", queryset)
        for batch_size in (1, 7, 500, 10_000):
            assert flatten(serialize_queryset_batched(queryset, batch_size=batch_size)) == (
                expected
            ), f"{model._meta.label} at batch size {batch_size}"
        checked += len(expected)
    assert checked > 150 * 5


def test_model_ordering_and_trashed_documents_are_kept(archive):
    # The default manager hides the trash; the queryset decides what is exported. Two queries
    # agree on the order of rows only where the ordering is total, hence the pk.
    queryset = Document.global_objects.order_by("-created", "pk")
    assert queryset.filter(deleted_at__isnull=False).exists()
    assert flatten(serialize_queryset_batched(queryset, batch_size=13)) == (
        serializers.serialize("python", queryset)
    )
    tags = Tag.objects.all()
    assert flatten(serialize_queryset_batched(tags)) == serializers.serialize("python", tags)


def test_tag_ids_follow_tag_names_not_ids(media):
    doc = Document.global_objects.create(pk=1, checksum="c", created="2024-01-01")
    later_but_first = [Tag.objects.create(name=name) for name in ("b", "c", "a")]
    doc.tags.set(later_but_first)
    [record] = flatten(serialize_queryset_batched(Document.global_objects.all()))
    assert record["fields"]["tags"] == [
        later_but_first[2].pk,
        later_but_first[0].pk,
        later_but_first[1].pk,
    ]


def test_filtered_and_empty_querysets(archive):
    subset = Document.global_objects.filter(title__icontains="a").order_by("-added", "pk")
    assert flatten(serialize_queryset_batched(subset, batch_size=4)) == (
        serializers.serialize("python", subset)
    )
    assert list(serialize_queryset_batched(Document.global_objects.none())) == []


@pytest.mark.parametrize("bad", [0, -3, 2.5, "10", True])
def test_batch_size_must_be_a_positive_whole_number(bad):
    with pytest.raises(ValueError, match="batch_size"):
        next(serialize_queryset_batched(Tag.objects.all(), batch_size=bad))


def count_queries(queryset, batch_size: int) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as ctx:
        batches = sum(1 for _ in serialize_queryset_batched(queryset, batch_size=batch_size))
    return len(ctx.captured_queries), batches


def test_queries_do_not_grow_per_row(media):
    generate_archive(documents=2000, seed=5, with_files=False)
    queryset = Document.global_objects.order_by("pk")
    small_queries, small_batches = count_queries(queryset.filter(pk__lte=200), batch_size=50)
    large_queries, large_batches = count_queries(queryset, batch_size=500)
    # Same number of batches, same number of queries, though ten times the rows.
    assert small_batches == large_batches == 4
    assert small_queries == large_queries
    # One main cursor plus one through-table query per batch (MariaDB reads links up front).
    assert large_queries <= 2 + large_batches


def peak_while_streaming(queryset, batch_size: int) -> tuple[int, int]:
    tracemalloc.start()
    try:
        rows = 0
        for batch in serialize_queryset_batched(queryset, batch_size=batch_size):
            rows += len(batch)
        return tracemalloc.get_traced_memory()[1], rows
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_archive(media):
    generate_archive(documents=20_000, seed=2, with_files=False, batch_size=5000)
    queryset = Document.global_objects.order_by("pk")
    peak_warmup, _ = peak_while_streaming(queryset.filter(pk__lte=500), batch_size=500)
    peak_small, small = peak_while_streaming(queryset.filter(pk__lte=2000), batch_size=500)
    peak_large, large = peak_while_streaming(queryset, batch_size=500)
    assert (small, large) == (2000, 20_000)
    assert peak_large - peak_small < 2 * 1024 * 1024, (peak_warmup, peak_small, peak_large)
