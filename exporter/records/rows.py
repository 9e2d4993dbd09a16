"""One ordered, streaming cursor over a QuerySet's rows, in bounded memory on every backend.

* PostgreSQL: Django's ``iterator()`` uses a server-side cursor.
* SQLite: ``iterator()`` fetches with ``fetchmany``; the rows stay in the database file.
* MariaDB/MySQL: Django's mysqlclient backend buffers the whole result set in the client, so
  ``iterator()`` would hold every row. We run the same compiled SQL on an unbuffered
  ``SSCursor`` and apply Django's converters to each chunk. While such a cursor is open the
  connection cannot run another statement, so callers must do their other reads before.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import QuerySet


def iter_row_batches(queryset: QuerySet, batch_size: int) -> Iterator[list[tuple]]:
    """Yield the rows of a values_list() QuerySet in lists of at most ``batch_size``."""
    connection = connections[queryset.db]
    if connection.vendor == "mysql":
        rows = _unbuffered_mysql_rows(queryset, batch_size)
    else:
        rows = queryset.iterator(chunk_size=batch_size)
    while batch := list(islice(rows, batch_size)):
        yield batch


def needs_exclusive_connection(queryset: QuerySet) -> bool:
    """True when no other query may run on the connection while the rows stream."""
    return connections[queryset.db].vendor == "mysql"


def _unbuffered_mysql_rows(queryset: QuerySet, batch_size: int) -> Iterator[tuple]:
    from MySQLdb.cursors import SSCursor

    connection = connections[queryset.db]
    compiler = queryset.query.get_compiler(using=queryset.db)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:
        return
    connection.ensure_connection()
    cursor = connection.connection.cursor(SSCursor)
    try:
        cursor.execute(sql, params)
        chunks = iter(lambda: cursor.fetchmany(batch_size), ())
        # results_iter applies the same from_db_value converters iterator() would.
        yield from compiler.results_iter(results=chunks, tuple_expected=True)
    finally:
        cursor.close()
