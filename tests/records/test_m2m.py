"""Many-to-many ids for a batch: one reused through-table query, in the related model's order."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from documents.models import Document, Tag
from exporter.batches import serialize_queryset_batched
from exporter.records.m2m import BatchedM2MQuery, M2MPlan

pytestmark = pytest.mark.django_db

ARCHIVE = {"documents": 150, "seed": 11, "with_files": False}


# --- many-to-many queries ---------------------------------------------------------------------


def test_reused_m2m_sql_gives_the_same_ids(archive):
    plan = M2MPlan(Document._meta.get_field("tags"))
    pks = list(Document.global_objects.order_by("pk").values_list("pk", flat=True))
    fetcher = BatchedM2MQuery(plan, "default")
    expected = plan.group(plan.queryset("default", pks))
    for size in (1, 10, 25):
        for start in range(0, len(pks), size):
            batch = pks[start : start + size]
            assert fetcher.ids_for(batch) == {
                pk: ids for pk, ids in expected.items() if pk in set(batch)
            }
    # In another order, with duplicates, and ids that have no row: the same sets.
    batch = [pks[3], pks[1], pks[3], 10**9, pks[0]]
    assert fetcher.ids_for(batch) == plan.group(plan.queryset("default", batch))
    assert fetcher.ids_for(batch[:4] + [pks[2]]) == plan.group(
        plan.queryset("default", batch[:4] + [pks[2]])
    )


def test_reused_m2m_sql_runs_one_query_per_batch(archive):
    plan = M2MPlan(Document._meta.get_field("tags"))
    pks = list(Document.global_objects.order_by("pk").values_list("pk", flat=True))
    fetcher = BatchedM2MQuery(plan, "default")
    fetcher.ids_for(pks[:10])
    with CaptureQueriesContext(connection) as queries:
        for start in range(10, 100, 10):
            fetcher.ids_for(pks[start : start + 10])
    assert len(queries.captured_queries) == 9


def test_m2m_ids_follow_the_related_ordering(media):
    doc = Document.global_objects.create(pk=1, checksum="c", created="2024-01-01")
    tags = [Tag.objects.create(name=name) for name in ("b", "c", "a")]
    doc.tags.set(tags)
    [record] = next(serialize_queryset_batched(Document.global_objects.all(), for_manifest=True))
    assert record["fields"]["tags"] == [tags[2].pk, tags[0].pk, tags[1].pk]
