"""QuerySet -> batches of Django "python"-serializer records, built from rows, in flat memory.

Each record is exactly what ``django.core.serializers.serialize("python", rows)`` returns for
the same rows: ``{"model": ..., "pk": ..., "fields": {...}}`` with the fields in model order, raw
foreign key ids, many-to-many id lists in the related model's ordering, and ``value_to_string``
applied where Django applies it. Building records from ``values_list`` rows instead of model
instances, with one through-table query per batch instead of one per object, is what makes the
exporter fast; one ordered cursor per QuerySet is what keeps it linear.

Models with a field whose value needs a model instance fall back to Django's own serializer,
one batch of instances at a time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import islice
from typing import Any

from django.core import serializers
from django.db import models
from django.db.models import QuerySet

from exporter.fields import NotReproducible, value_converter
from exporter.m2m import BatchedM2MQuery, M2MPlan, SpilledM2M
from exporter.rows import iter_row_batches, needs_exclusive_connection

Record = dict[str, Any]
DEFAULT_BATCH_SIZE = 500


class RecordLayout:
    """The shape of one model's records, and the row columns that fill it."""

    def __init__(self, model: type[models.Model]) -> None:
        meta = model._meta.concrete_model._meta
        # str(obj._meta) of the instances: the proxy's own label for proxy models.
        self.label = str(model._meta)
        fields = [f for f in meta.local_fields if f.serialize]
        self.names = [f.name for f in fields]
        self.columns = [meta.pk.attname, *(f.attname for f in fields)]
        self.pk_converter = value_converter(meta.pk)
        self.converters = [
            (index, converter)
            for index, field in enumerate(fields)
            if (converter := value_converter(field)) is not None
        ]
        self.m2m = [M2MPlan(f) for f in meta.local_many_to_many if f.serialize]

    def records(self, rows: Sequence[tuple], m2m_ids: list[dict[Any, list]]) -> list[Record]:
        label, names, converters = self.label, self.names, self.converters
        m2m = [(plan.name, ids) for plan, ids in zip(self.m2m, m2m_ids, strict=True)]
        pk_converter = self.pk_converter
        width = len(self.columns)
        records = []
        for row in rows:
            pk = row[0]
            values = row[1:width]
            if converters:
                values = list(values)
                for index, converter in converters:
                    values[index] = converter(values[index])
            fields = dict(zip(names, values, strict=True))
            for name, ids in m2m:
                fields[name] = ids.get(pk) or []
            records.append(
                {
                    "model": label,
                    "pk": pk if pk_converter is None else pk_converter(pk),
                    "fields": fields,
                }
            )
        return records


def iter_record_batches(
    queryset: QuerySet,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    extra: Sequence[str] = (),
) -> Iterator[tuple[list[Record], list[tuple]]]:
    """Yield ``(records, extras)`` per batch, in the QuerySet's order.

    ``extra`` names further values_list() lookups (``"correspondent__name"``) read in the same
    row; ``extras[i]`` holds them for ``records[i]``. They cost no query of their own.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a whole number of at least 1, got {batch_size!r}")
    try:
        layout = RecordLayout(queryset.model)
    except NotReproducible:
        yield from _django_batches(queryset, batch_size, extra)
        return
    width = len(layout.columns)
    rows_qs = queryset.values_list(*layout.columns, *extra)
    if needs_exclusive_connection(queryset):
        fetchers = [SpilledM2M(plan, queryset, batch_size) for plan in layout.m2m]
    else:
        fetchers = [BatchedM2MQuery(plan, queryset.db) for plan in layout.m2m]
    try:
        for rows in iter_row_batches(rows_qs, batch_size):
            pks = [row[0] for row in rows]
            m2m_ids = [fetcher.ids_for(pks) for fetcher in fetchers]
            extras = [row[width:] for row in rows] if extra else []
            yield layout.records(rows, m2m_ids), extras
    finally:
        for fetcher in fetchers:
            fetcher.close()


def serialize_queryset_batched(
    queryset: QuerySet, *, batch_size: int = DEFAULT_BATCH_SIZE
) -> Iterator[list[Record]]:
    """Yield lists of at most ``batch_size`` records, equal to Django's python serializer's."""
    for records, _ in iter_record_batches(queryset, batch_size=batch_size):
        yield records


def _django_batches(
    queryset: QuerySet, batch_size: int, extra: Sequence[str]
) -> Iterator[tuple[list[Record], list[tuple]]]:
    """Django's serializer over model instances, a batch at a time, M2M prefetched per batch."""
    meta = queryset.model._meta.concrete_model._meta
    m2m_names = [f.name for f in meta.local_many_to_many if f.serialize]
    instances = queryset.prefetch_related(*m2m_names).iterator(chunk_size=batch_size)
    while batch := list(islice(instances, batch_size)):
        extras: list[tuple] = []
        if extra:
            by_pk = {
                row[0]: row[1:]
                for row in queryset.model._base_manager.using(queryset.db)
                .filter(pk__in=[obj.pk for obj in batch])
                .values_list("pk", *extra)
            }
            extras = [by_pk[obj.pk] for obj in batch]
        yield serializers.serialize("python", batch), extras
