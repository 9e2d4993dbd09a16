"""QuerySet -> batches of Django "python"-serializer records, built from rows, in flat memory.

Each record is exactly what ``django.core.serializers.serialize("python", rows)`` returns for
the same rows: ``{"model": ..., "pk": ..., "fields": {...}}`` with the fields in model order, raw
foreign key ids, many-to-many id lists in the related model's ordering, and ``value_to_string``
applied where Django applies it. Building records from ``values_list`` rows instead of model
instances, with one through-table query per batch instead of one per object, is what makes the
exporter fast; one ordered cursor per QuerySet is what keeps it linear.

Models with a field whose value needs a model instance fall back to Django's own serializer,
one batch of instances at a time.

Two kinds of records come out, each from functions named for it:

* :func:`django_record_batches`: records equal to Django's, to compare or to transform.
* :func:`manifest_record_batches` and :func:`manifest_record_batches_with_extras`: records
  that go straight to a manifest, whose values may be *manifest values* (see
  :func:`iter_record_batches`): they encode to Django's bytes, faster, but do not compare equal.

:func:`iter_record_batches` is the general form underneath, and
:func:`serialize_queryset_batched` the form of the first two with a flag.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from functools import partial
from itertools import islice, repeat
from typing import Any

from django.core import serializers
from django.db import connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import QuerySet

from exporter.records.date_columns import ColumnConverter, django_column, manifest_column
from exporter.records.fields import NotReproducible, convert_column, value_converter
from exporter.records.m2m import BatchedM2MQuery, M2MPlan, SpilledM2M
from exporter.records.rows import iter_row_batches, needs_exclusive_connection

#: One record: ``{"model": label, "pk": pk, "fields": {...}}``.
Record = dict[str, Any]
#: The batch size of every reader and writer of records that is not given one: rows read,
#: encoded and written, or inserted, per batch.
DEFAULT_BATCH_SIZE = 500
#: The largest batch: past it a batch of documents with their OCR text no longer fits in the
#: memory of the small hosts archives run on, and SQLite refuses the ``IN`` lists of a batch.
MAX_BATCH_SIZE = 10_000


def validate_batch_size(value: object) -> int:
    """Return ``value`` if it is a batch size (an int from 1 to :data:`MAX_BATCH_SIZE`), or
    raise ValueError saying what a batch size must be."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_BATCH_SIZE:
        raise ValueError(_batch_size_message(value))
    return value


def _batch_size_message(value: object) -> str:
    return (
        f"batch_size must be a whole number, at least 1 and at most {MAX_BATCH_SIZE}; got {value!r}"
    )


# values_list() names of the manifest columns' annotations; see RecordLayout.
_ALIAS_PREFIX = "exporter_manifest_column_"


class RecordLayout:
    """The shape of one model's records, and the row columns that fill it.

    With ``manifest_on`` (a connection), the fields :func:`exporter.records.date_columns.
    manifest_column` knows how to shortcut are read as manifest values (strings that encode
    like Django's values), except the fields named in ``keep_native``.
    """

    def __init__(
        self,
        model: type[models.Model],
        *,
        manifest_on: BaseDatabaseWrapper | None = None,
        keep_native: Collection[str] = (),
    ) -> None:
        meta = model._meta.concrete_model._meta
        # str(obj._meta) of the instances: the proxy's own label for proxy models.
        self.label = str(model._meta)
        fields = [f for f in meta.local_fields if f.serialize]
        # Django's serializer leaves out the many-to-many fields with a through model of
        # their own: that model's rows are records of their own.
        self.m2m = [
            M2MPlan(f)
            for f in meta.local_many_to_many
            if f.serialize and f.remote_field.through._meta.auto_created
        ]
        # Local fields, then many-to-many fields: the serializer's order.
        self.names = [f.name for f in fields] + [plan.name for plan in self.m2m]
        self.pk_converter = value_converter(meta.pk)
        #: values_list() arguments: attnames, or aliases of ``annotations``. Index 0 is the pk.
        self.columns: list[str] = [meta.pk.attname]
        self.annotations: dict[str, Any] = {}
        #: Per local field, in order: its row column and the function applied to that column
        #: of a batch, if any.
        self._fields: list[tuple[int, ColumnConverter | None]] = []
        for index, field in enumerate(fields, start=1):
            converter = value_converter(field)
            convert = None if converter is None else partial(convert_column, converter)
            column = None
            if manifest_on is not None and field.name not in keep_native:
                column = manifest_column(field, manifest_on)
                if column is not None:
                    # The manifest values replace Django's values and their serialization.
                    convert = column.convert_column
                else:
                    column = django_column(field, manifest_on)
                    if column is not None:
                        # Django's values, converted a column at a time, then serialized.
                        convert = _chain(column.convert_column, convert)
            if column is None:
                self.columns.append(field.attname)
            else:
                alias = f"{_ALIAS_PREFIX}{index}"
                self.columns.append(alias)
                self.annotations[alias] = column.expression
            self._fields.append((index, convert))

    @property
    def width(self) -> int:
        """The number of row columns the records are made of (extras follow them)."""
        return len(self.columns)

    def values_list(self, queryset: QuerySet, extra: Sequence[str] = ()) -> QuerySet:
        """The rows for ``records``: ``columns`` then ``extra``, in the QuerySet's order."""
        if self.annotations:
            queryset = queryset.annotate(**self.annotations)
        return queryset.values_list(*self.columns, *extra)

    def records(self, rows: Sequence[tuple], m2m_ids: list[dict[Any, list]]) -> list[Record]:
        """The records of a batch of rows, with the many-to-many ids of each row's pk.

        Works column by column, so that the per-value work runs in C wherever no value changes.
        """
        if not rows:
            return []
        columns: list[Sequence[Any]] = list(zip(*rows, strict=True))
        pks = columns[0]
        values = [
            columns[index] if convert is None else convert(columns[index])
            for index, convert in self._fields
        ]
        for ids in m2m_ids:
            # A list of its own per record, as Django gives: a caller may change one.
            values.append([ids.get(pk) or [] for pk in pks])
        if values:
            field_dicts = map(dict, map(zip, repeat(self.names), zip(*values, strict=True)))
        else:
            field_dicts = ({} for _ in pks)
        if self.pk_converter is not None:
            pks = list(map(self.pk_converter, pks))
        label = self.label
        return [
            {"model": label, "pk": pk, "fields": fields}
            for pk, fields in zip(pks, field_dicts, strict=True)
        ]


def _chain(first: ColumnConverter, then: ColumnConverter | None) -> ColumnConverter:
    if then is None:
        return first
    return lambda values: then(first(values))


def iter_record_batches(
    queryset: QuerySet,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    extra: Sequence[str] = (),
    for_manifest: bool = False,
    keep_native: Collection[str] = (),
) -> Iterator[tuple[list[Record], list[tuple]]]:
    """Yield ``(records, extras)`` per batch, in the QuerySet's order.

    ``extra`` names further values_list() lookups (``"correspondent__name"``) read in the same
    row; ``extras[i]`` holds them for ``records[i]``. They cost no query of their own.

    With ``for_manifest``, a record's values may be *manifest values* instead of Django's: the
    string ``DjangoJSONEncoder`` writes for a datetime or date (SQLite only, see
    :mod:`exporter.records.date_columns`). Encoded with
    :mod:`exporter.writing.encoding`, such records give
    exactly the bytes of Django's records, faster; but they no longer compare equal to them, so
    use it only for records that go straight to a manifest. Fields named in ``keep_native`` keep
    Django's values: name those that a later step reads or transforms by type (secrets, which
    are encrypted only when they are strings). The pk and ``extras`` are always Django's.
    """
    validate_batch_size(batch_size)
    manifest_on = connections[queryset.db] if for_manifest else None
    try:
        layout = RecordLayout(queryset.model, manifest_on=manifest_on, keep_native=keep_native)
    except NotReproducible:
        yield from _django_batches(queryset, batch_size, extra)
        return
    width = layout.width
    rows_qs = layout.values_list(queryset, extra)
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


def django_record_batches(
    queryset: QuerySet, *, batch_size: int = DEFAULT_BATCH_SIZE
) -> Iterator[list[Record]]:
    """Yield lists of at most ``batch_size`` records, equal to Django's python serializer's."""
    for records, _ in iter_record_batches(queryset, batch_size=batch_size):
        yield records


def manifest_record_batches(
    queryset: QuerySet,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    keep_native: Collection[str] = (),
) -> Iterator[list[Record]]:
    """Yield lists of at most ``batch_size`` records to write to a manifest.

    They encode to the bytes of Django's records, but may hold manifest values, as
    :func:`iter_record_batches` explains, except in the fields named in ``keep_native``.
    """
    for records, _ in iter_record_batches(
        queryset, batch_size=batch_size, for_manifest=True, keep_native=keep_native
    ):
        yield records


def manifest_record_batches_with_extras(
    queryset: QuerySet,
    *,
    extra: Sequence[str],
    batch_size: int = DEFAULT_BATCH_SIZE,
    keep_native: Collection[str] = (),
) -> Iterator[tuple[list[Record], list[tuple]]]:
    """Yield ``(records, extras)`` per batch: the records of :func:`manifest_record_batches`,
    and the ``extra`` values of each, read in the same row (see :func:`iter_record_batches`)."""
    return iter_record_batches(
        queryset, batch_size=batch_size, extra=extra, for_manifest=True, keep_native=keep_native
    )


def serialize_queryset_batched(
    queryset: QuerySet,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    for_manifest: bool = False,
    keep_native: Collection[str] = (),
) -> Iterator[list[Record]]:
    """Yield lists of at most ``batch_size`` records: :func:`django_record_batches`'s, or with
    ``for_manifest`` :func:`manifest_record_batches`'s (``keep_native`` applies to those)."""
    if for_manifest:
        return manifest_record_batches(queryset, batch_size=batch_size, keep_native=keep_native)
    return django_record_batches(queryset, batch_size=batch_size)


def _django_batches(
    queryset: QuerySet, batch_size: int, extra: Sequence[str]
) -> Iterator[tuple[list[Record], list[tuple]]]:
    """Django's serializer over model instances, a batch at a time.

    Without prefetching: a prefetched many-to-many list is one query for the batch, whose order
    for rows that tie under the related ordering is not the serializer's own query's.
    """
    instances = queryset.iterator(chunk_size=batch_size)
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
