"""Records -> database rows in batches: a raw INSERT per batch, M2M through rows in bulk.

Each record becomes the row Django's own "python" deserializer and a raw save would write
(:mod:`exporter.readback.record_rows`: every field gets its ``to_python``), but nothing is saved
one by one: rows of one model are collected until the batch is full or the model changes, then
inserted with one plain INSERT (:func:`insert_batch`), and their many-to-many ids with one plain
INSERT of through rows per field (:func:`insert_through_rows`).

Raw, as ``loaddata`` saves: no field's ``pre_save`` runs, so ``auto_now`` and ``auto_now_add``
columns keep the exported values instead of taking the import's time (``bulk_create`` would
replace every one of them).

On MariaDB/MySQL one INSERT must also fit in the server's ``max_allowed_packet`` (16 MB by
default on MariaDB): there a batch is cut early when its rows' escaped values would exceed it,
and a single row that cannot fit stops the load with :class:`RowTooLarge`, which says how far to
raise the setting.

The load runs in one :class:`CommitThen`: a transaction whose commit a signal cannot separate
from the importer's note that it is done.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

from django.apps import apps
from django.db import connections, models, transaction

from exporter import interrupts
from exporter.readback.record_rows import RecordRows

MB = 1024 * 1024
#: Room left in a packet for the INSERT's own text (table and column names, placeholders).
STATEMENT_OVERHEAD = 64 * 1024
#: Bytes the MySQL client escapes with a backslash in a string literal.
ESCAPED_BYTES = (b"\\", b"'", b'"', b"\x00", b"\n", b"\r", b"\x1a")


class RowTooLarge(ValueError):
    """One record's INSERT cannot fit in the server's max_allowed_packet."""


def refresh_planner_statistics(using: str, models_loaded: Iterable[type[models.Model]]) -> None:
    """
    Let the query planner see the rows just bulk-loaded into ``models_loaded``.

    PostgreSQL plans from statistics that only ``ANALYZE`` (or, some time later, autovacuum)
    gathers. Right after a bulk load it takes the tables for nearly empty and reads a whole
    many-to-many table for each batch of an export, which makes the export quadratic
    (measured: 100,000 documents exported in 13 s instead of 7.6 s, and worse with more).
    ``ANALYZE`` samples a bounded number of rows, so it costs well under a second per table.
    MariaDB's InnoDB recomputes its statistics by itself, and SQLite needs none for these plans.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    tables: dict[str, None] = {}
    for model in models_loaded:
        tables[model._meta.db_table] = None
        for field in model._meta.local_many_to_many:
            tables[field.remote_field.through._meta.db_table] = None
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")


def max_insert_bytes(using: str) -> int | None:
    """How many bytes of values one INSERT may carry on this connection; None: no such limit."""
    connection = connections[using]
    if connection.vendor != "mysql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT @@max_allowed_packet")
        (packet,) = cursor.fetchone()
    return int(packet) - STATEMENT_OVERHEAD


def literal_bytes(value: Any) -> int:
    """About how many bytes ``value`` takes in an INSERT's text, as the MySQL client escapes it
    (an upper bound but for exotic types)."""
    if type(value) is str:
        data = value.encode("utf-8", "surrogatepass")
        return len(data) + sum(data.count(byte) for byte in ESCAPED_BYTES) + 4
    if isinstance(value, list | dict):
        # JSON columns (and many-to-many ids, which are not in the row: counted all the same).
        return 2 * len(json.dumps(value)) + 4
    return 32


@cache
def known_field_names(model: type[models.Model]) -> frozenset[str]:
    """The field names a record of ``model`` may carry: what Django's serializers write."""
    meta = model._meta
    return frozenset([f.name for f in meta.concrete_fields] + [f.name for f in meta.many_to_many])


def unknown_fields(model: type[models.Model], fields: dict[str, Any]) -> list[str]:
    """The names in a record's ``fields`` that ``model`` has no field for, in order."""
    known = known_field_names(model)
    return [name for name in fields if name not in known]


def describe_unknown_fields(model: type[models.Model], names: list[str]) -> str:
    """The problem of a record with fields its model does not have, and what to do."""
    label = model._meta.label_lower
    listed = ", ".join(repr(name) for name in names)
    kind = "field" if len(names) == 1 else "fields"
    return (
        f"unknown {kind} {listed}: {label} has no such field here. The export was made by "
        "another version of the archive's models: import it into the version that made it "
        "(then upgrade), or remove the field from the record."
    )


def insert_batch(rows: RecordRows, batch: list, using: str) -> None:
    """INSERT one batch of a model's rows (with their primary keys) as they are: what
    ``loaddata``'s raw saves write, without ``pre_save`` or signals.

    The rows go to the driver's ``executemany`` with one plain statement, which every backend
    runs in bulk; a model with a field of its own SQL placeholder has instances in its batch,
    which go through Django's insert.
    """
    if not batch:
        return
    if not rows.needs_instances:
        execute_insert(rows.model, rows.fields, batch, using)
        return
    connection = connections[using]
    size = max(connection.ops.bulk_batch_size(rows.fields, batch), 1)
    queryset = rows.model._base_manager.using(using)
    for start in range(0, len(batch), size):
        queryset._insert(batch[start : start + size], fields=rows.fields, using=using, raw=True)


def insert_through_rows(
    field: models.ManyToManyField, pairs: list[tuple[Any, Any]], using: str, batch_size: int
) -> None:
    """INSERT the through rows of ``field`` for ``pairs`` of (source pk, target pk), in order,
    ``batch_size`` rows per statement; the through table numbers its own rows.

    What ``bulk_create`` of through instances writes, without building an instance per row
    (or, on PostgreSQL, reading every new id back).
    """
    if not pairs:
        return
    through = field.remote_field.through
    meta = through._meta
    fields = [
        meta.get_field(field.m2m_field_name()),
        meta.get_field(field.m2m_reverse_field_name()),
    ]
    connection = connections[using]
    source, target = (f.get_db_prep_save for f in fields)
    rows = [(source(pk, connection), target(related, connection)) for pk, related in pairs]
    for start in range(0, len(rows), batch_size):
        execute_insert(through, fields, rows[start : start + batch_size], using)


def execute_insert(
    model: type[models.Model], fields: list[models.Field], rows: list, using: str
) -> None:
    """One plain ``INSERT`` of prepared ``rows`` into ``fields`` of ``model``'s table, through
    the driver's ``executemany``."""
    connection = connections[using]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({marks})"
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


class BatchLoader:
    """Collect deserialized records and insert them in batches, in arrival order per model."""

    def __init__(self, using: str, batch_size: int, on_rows: Callable[[int], None] | None = None):
        self.using = using
        self.batch_size = batch_size
        self.on_rows = on_rows
        #: The model of the batch, and how its records become rows.
        self.rows: RecordRows | None = None
        self._rows: dict[str, RecordRows] = {}
        #: The batch: prepared rows (model instances where the model needs Django's insert).
        self.batch: list = []
        self.m2m: list[tuple[Any, dict[str, list]]] = []
        self.counts: Counter = Counter()
        #: The bytes of values one INSERT may carry (MariaDB/MySQL), and those of the batch.
        self.max_bytes = max_insert_bytes(using)
        self.batch_bytes = 0

    def add(self, record: dict[str, Any]) -> None:
        """Deserialize a record and queue it; insert the batch first if it is full, of
        another model, or (on MariaDB/MySQL) too large for one more row."""
        rows = self.rows_of(record["model"])
        row, pk, m2m_data = rows.row(record)
        size = self.row_bytes(record) if self.max_bytes is not None else 0
        if (
            rows is not self.rows
            or len(self.batch) >= self.batch_size
            or (self.max_bytes is not None and self.batch_bytes + size > self.max_bytes)
        ):
            self.flush()
            self.rows = rows
        self.batch.append(row)
        self.batch_bytes += size
        if m2m_data:
            self.m2m.append((pk, m2m_data))

    def rows_of(self, label: str) -> RecordRows:
        """How records of the model ``label`` become rows (unknown models are refused before
        the load)."""
        rows = self._rows.get(label)
        if rows is None:
            rows = self._rows[label] = RecordRows(apps.get_model(label), self.using)
        return rows

    def flush(self) -> None:
        """Insert the queued rows of the batch and their many-to-many rows."""
        if not self.batch:
            return
        model = self.rows.model
        insert_batch(self.rows, self.batch, self.using)
        for field in model._meta.local_many_to_many:
            pairs = [(pk, related) for pk, data in self.m2m for related in data.get(field.name, ())]
            insert_through_rows(field, pairs, self.using, self.batch_size)
        self.counts[model._meta.label_lower] += len(self.batch)
        if self.on_rows is not None:
            self.on_rows(len(self.batch))
        self.batch = []
        self.m2m = []
        self.batch_bytes = 0

    def row_bytes(self, record: dict[str, Any]) -> int:
        """The record's size in an INSERT; RowTooLarge if it can never fit in one."""
        size = 64 + sum(literal_bytes(value) for value in record["fields"].values())
        if self.max_bytes is not None and size > self.max_bytes:
            packet = self.max_bytes + STATEMENT_OVERHEAD
            needed = -(-(size + STATEMENT_OVERHEAD) // MB)
            raise RowTooLarge(
                f"{record['model']} pk={record['pk']} needs an INSERT of about {size / MB:.1f} MB, "
                f"more than the database server's max_allowed_packet of {packet / MB:.1f} MB. "
                f"Raise max_allowed_packet on the server to at least {needed} MB (SET GLOBAL "
                f"max_allowed_packet = {needed * MB}; and max_allowed_packet = {needed}M under "
                "[mysqld] in its configuration to keep it after a restart), then import again."
            )
        return size


class CommitThen:
    """``transaction.atomic`` whose commit and ``then()`` are not cut apart by a signal.

    A SIGINT or SIGTERM that arrives while the transaction commits is held
    (:func:`exporter.interrupts.deferred`) until ``then()`` has recorded that the commit is
    done, and raised right after: what a stopped run reports is then always true.
    """

    def __init__(self, using: str, then) -> None:
        self.atomic = transaction.atomic(using=using)
        self.then = then

    def __enter__(self) -> None:
        self.atomic.__enter__()

    def __exit__(self, kind, value, traceback) -> bool | None:
        if kind is not None:
            return self.atomic.__exit__(kind, value, traceback)
        with interrupts.deferred():
            self.atomic.__exit__(None, None, None)
            self.then()
        interrupts.check()
        return None
