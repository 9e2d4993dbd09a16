"""Many-to-many ids for a batch of rows, in the order Django's serializer lists them.

Django's serializer runs, per object, ``getattr(obj, field.name).only("pk")``: the related
model's default manager and its ``Meta.ordering``. We get the same lists for a whole batch from
the auto-created through table, ordered by source, then the related model's ordering, then the
related key. Where two related rows tie under that ordering, Django's order is the query
plan's, which a batched query cannot reproduce: such a row's list is read again with Django's
own query (``BatchedM2MQuery``), so that it is exactly the serializer's.

Two strategies, one interface (``ids_for(batch_pks) -> {pk: [ids]}``):

* ``BatchedM2MQuery``: one through-table query per batch (PostgreSQL, SQLite).
* ``SpilledM2M``: MariaDB cannot run a second statement while the unbuffered row cursor is open,
  so every through row of the QuerySet is streamed first into a temporary SQLite file and looked
  up per batch from there. Memory stays flat; the disk holds a few integers per link (keys
  that SQLite cannot store as they are, as pickles: see :mod:`exporter.records.spill`).
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import groupby, pairwise
from operator import itemgetter
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import QuerySet

from exporter.records.fields import NotReproducible, value_converter
from exporter.records.rows import iter_row_batches
from exporter.records.spill import KeyedSpill

#: The fewest links :class:`SpilledM2M` reads per fetch, whatever the batch size. A link is two
#: ids, so a thousand cost a few kilobytes; ``batch_size`` bounds rows that carry documents'
#: text, and a small one would only make the spill's many fetches slower.
SPILL_MIN_FETCH_ROWS = 1000


class M2MPlan:
    """How to read one auto-created many-to-many field from its through table."""

    def __init__(self, field: models.ManyToManyField) -> None:
        through = field.remote_field.through
        if not through._meta.auto_created:
            raise NotReproducible(f"{field} has an explicit through model")
        related = field.remote_field.model
        manager = related._default_manager
        if type(manager).get_queryset is not models.Manager.get_queryset:
            raise NotReproducible(f"{related.__name__}'s default manager filters its rows")
        self.name = field.name
        self.model = field.model
        self.through = through
        self.source = field.m2m_field_name()
        self.target = field.m2m_reverse_field_name()
        self.convert = value_converter(related._meta.pk)
        ordering = []
        #: The related model's ordering values, read with each link to find ties.
        self.order_values: list[str] = []
        for item in related._meta.ordering:
            if not isinstance(item, str) or item == "?":
                raise NotReproducible(f"{related.__name__}'s ordering {item!r} is an expression")
            descending = item.startswith("-")
            name = item.lstrip("-")
            if name == "pk":
                name = related._meta.pk.name
            ordering.append(f"{'-' if descending else ''}{self.target}__{name}")
            self.order_values.append(f"{self.target}__{name}")
        self.ordering = [f"{self.source}_id", *ordering, f"{self.target}_id"]

    def queryset(
        self, using: str, sources: Iterable[Any] | QuerySet, *, order_values: bool = False
    ) -> QuerySet:
        """The (source id, target id) links of ``sources``, in the serializer's order; with
        ``order_values``, each followed by the related row's ordering values."""
        extra = self.order_values if order_values else ()
        return (
            self.through._base_manager.using(using)
            .filter(**{f"{self.source}__in": sources})
            .order_by(*self.ordering)
            .values_list(f"{self.source}_id", f"{self.target}_id", *extra)
        )

    def serializer_ids(self, source_pk: Any, using: str) -> list:
        """The target ids of one source row, by the query Django's serializer runs."""
        instance = self.model(pk=source_pk)
        instance._state.db = using
        related = getattr(instance, self.name).select_related(None).only("pk")
        ids = [obj.pk for obj in related.iterator()]
        return ids if self.convert is None else list(map(self.convert, ids))

    def group(self, rows: Iterable[tuple[Any, Any]]) -> dict[Any, list]:
        """Target ids by source, in row order. The rows come sorted by source, so each source's
        links form one run, taken in C; setdefault().extend() keeps it right even if not."""
        grouped: dict[Any, list] = {}
        convert = self.convert
        for source, links in groupby(rows, _source):
            targets = map(_target, links)
            if convert is not None:
                targets = map(convert, targets)
            grouped.setdefault(source, []).extend(targets)
        return grouped


_source = itemgetter(0)
_target = itemgetter(1)


class BatchedM2MQuery:
    """One query per batch and field.

    Building the ``source IN (...)`` filter costs Django a few milliseconds per batch, about as
    much as running it. Its SQL depends only on the number of ids, so it is compiled once per
    batch length and run again with the next batch's ids, where that is provably the same
    query: Django passed the ids themselves as the only parameters and converts nothing in
    the result.
    """

    def __init__(self, plan: M2MPlan, using: str) -> None:
        self.plan = plan
        self.using = using
        self._sql: dict[int, str] = {}

    def ids_for(self, pks: list) -> dict[Any, list]:
        """The target ids of each of ``pks`` that has links, by pk."""
        sql = self._sql.get(len(pks))
        if sql is not None and _all_ints(pks):
            with connections[self.using].cursor() as cursor:
                cursor.execute(sql, pks)
                return self._without_ties(cursor.fetchall())
        queryset = self.plan.queryset(self.using, pks, order_values=True)
        self._remember(queryset, pks)
        return self._without_ties(list(queryset))

    def _without_ties(self, rows: list[tuple]) -> dict[Any, list]:
        """The links grouped by source; a source whose related rows tie under the ordering
        gets its list from the serializer's own query instead."""
        grouped = self.plan.group(rows)
        if not self.plan.order_values:
            return grouped
        tied = {a[0] for a, b in pairwise(rows) if a[0] == b[0] and a[2:] == b[2:]}
        for source in tied:
            grouped[source] = self.plan.serializer_ids(source, self.using)
        return grouped

    def _remember(self, queryset: QuerySet, pks: list) -> None:
        if not _all_ints(pks):
            return
        compiler = queryset.query.get_compiler(using=self.using)
        try:
            sql, params = compiler.as_sql()
        except EmptyResultSet:
            return
        columns = [selected[0] for selected in compiler.select[: compiler.col_count]]
        # IN is a set: any order of the same ids is the same query.
        if (
            len(params) == len(pks)
            and set(params) == set(pks)
            and _all_ints(params)
            and not compiler.get_converters(columns)
        ):
            self._sql[len(pks)] = sql

    def close(self) -> None:
        """Nothing to release: the queries hold no state between batches."""


def _all_ints(values: Iterable[Any]) -> bool:
    # Exact ints: Django prepares them as themselves, and two equal ones are the same value.
    return {int}.issuperset(map(type, values))


#: The integer columns whose every value Django reads as an int.
_INTEGER_TYPES = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "SmallAutoField",
        "IntegerField",
        "BigIntegerField",
        "SmallIntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "PositiveBigIntegerField",
    }
)


def native_column(field: models.Field, connection: BaseDatabaseWrapper) -> bool:
    """Whether every value Django reads from ``field``'s column is an int of 64 bits or a str,
    which a :class:`KeyedSpill` stores as it is without a check."""
    while field.is_relation:
        field = field.target_field
    column = field.get_col(field.model._meta.db_table)
    if connection.ops.get_db_converters(column) or column.get_db_converters(connection):
        return False
    internal_type = field.get_internal_type()
    if internal_type in _INTEGER_TYPES:
        # MariaDB's unsigned big integers reach 2**64 - 1.
        low, high = connection.ops.integer_field_range(internal_type)
        return low is not None and high is not None and low >= -(2**63) and high < 2**63
    return internal_type in {"CharField", "TextField", "SlugField"}


class SpilledM2M:
    """All links of the QuerySet streamed once into a temporary SQLite file, read at least
    :data:`SPILL_MIN_FETCH_ROWS` at a time."""

    def __init__(self, plan: M2MPlan, queryset: QuerySet, batch_size: int) -> None:
        self.plan = plan
        connection = connections[queryset.db]
        self._spill = KeyedSpill(
            "exporter-m2m-",
            native_keys=native_column(plan.model._meta.pk, connection),
            native_values=native_column(plan.through._meta.get_field(plan.target), connection),
        )
        links = plan.queryset(
            queryset.db, queryset.order_by().values("pk"), order_values=bool(plan.order_values)
        )
        tied: set = set()
        previous = None
        for batch in iter_row_batches(links, max(batch_size, SPILL_MIN_FETCH_ROWS)):
            for row in batch:
                if previous is not None and row[0] == previous[0] and row[2:] == previous[2:]:
                    tied.add(row[0])
                previous = row
            self._spill.extend(row[:2] for row in batch)
        self._spill.seal()
        # Read now, before the row cursor streams: sources whose related rows tie under the
        # ordering get the serializer's own lists (see BatchedM2MQuery).
        self._exact = {source: plan.serializer_ids(source, queryset.db) for source in tied}

    def ids_for(self, pks: list) -> dict[Any, list]:
        """The target ids of each of ``pks`` that has links, by pk, read from the spill."""
        grouped = self.plan.group(self._spill.lookup(pks))
        for pk in self._exact.keys() & grouped.keys():
            grouped[pk] = self._exact[pk]
        return grouped

    def close(self) -> None:
        """Remove the spill file."""
        self._spill.close()
