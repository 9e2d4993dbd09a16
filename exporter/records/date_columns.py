"""Datetime and date columns read as the very text the manifest will carry.

The classic manifest writes a datetime column as ``DjangoJSONEncoder().default(value)`` of the
value Django read. On SQLite that value takes a long way: sqlite3 parses the stored text
(``parse_datetime``), Django makes it aware (``make_aware``), and the encoder formats it again
(``isoformat``, microseconds cut to milliseconds, ``"+00:00"`` written ``"Z"``): about 3 µs per
value, most of the cost of building a document record. The stored text already holds every
character of the result.

:func:`manifest_column` returns, for a field, a select expression that reads the stored value
as the very bytes sqlite3 hands to Django's converter, and a function from a batch's column of
them to the field's *manifest values*:
the strings the encoder would write for Django's values. Text of the exact shape Django stores
(``YYYY-MM-DD HH:MM:SS[.ffffff]`` for a datetime, ``YYYY-MM-DD`` for a date) that denotes a
valid date is rewritten by slicing, a whole column at a time in C. Any other text goes through
Django's own chain of conversions and yields Django's value itself, or Django's exception. The
shortcut is taken only when each step of that chain is Django's stock one; PostgreSQL and
MariaDB keep Django's values (their drivers build datetimes in C, with no stored text to reuse).
"""

from __future__ import annotations

import datetime
import re
import sqlite3
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import itemgetter
from typing import Any

from django.conf import settings
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Expression, ExpressionWrapper, F, Func, TextField
from django.utils.dateparse import parse_date, parse_datetime

__all__ = ["ColumnConverter", "ManifestColumn", "django_column", "manifest_column"]

ColumnConverter = Callable[[Sequence[Any]], Sequence[Any]]

# The text Django's SQLite backend stores: str() of a naive datetime or of a date. "[0-9]", not
# "\d", which matches other scripts' digits too. The ranges keep out what fromisoformat would
# read with another meaning or reject later (hour 24, a leap second); the day of the month is
# left to fromisoformat, which also rejects year 0.
_DATE = r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
_DATETIME = _DATE + r" (?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{6})?"
# A batch's column joined with "\n"; the caller also counts the "\n", which no value may hold.
_DATE_COLUMN = re.compile(rf"(?:{_DATE}\n)*{_DATE}").fullmatch
_DATETIME_COLUMN = re.compile(rf"(?:{_DATETIME}\n)*{_DATETIME}").fullmatch
_DATE_TEXT = re.compile(_DATE).fullmatch
_DATETIME_TEXT = re.compile(_DATETIME).fullmatch
_DAY = itemgetter(slice(0, 10))
# Up to the milliseconds; a text without microseconds ends before.
_TIME_TO_MS = itemgetter(slice(11, 23))


class StoredBytes(Func):
    """A SQLite column's stored value as the bytes sqlite3 hands to a converter.

    sqlite3 passes a converter ``sqlite3_column_blob()`` of the value: a text's bytes, a
    number written out as text, a blob as it is. ``CAST(... AS BLOB)`` is that same value; as
    an expression it has no declared type, so sqlite3 converts nothing, and Django, seeing a
    TextField, converts nothing either.
    """

    template = "CAST(%(expressions)s AS BLOB)"
    output_field = TextField()


@dataclass(frozen=True)
class ManifestColumn:
    """How to read one field for the manifest: what to select instead of the field's column,
    and the function from a batch's column of it to the field's manifest values."""

    expression: Expression
    convert_column: ColumnConverter


def manifest_column(field: models.Field, connection: BaseDatabaseWrapper) -> ManifestColumn | None:
    """The shortcut for ``field`` on ``connection``, or None where Django's values must be kept.

    Only SQLite, only stock DateTimeField and DateField columns, only with Django's own sqlite3
    converters and backend conversions, and for datetimes only when Django makes them aware in
    UTC or leaves them naive (``USE_TZ = False``): those are the cases whose result is proven
    equal.
    """
    if not _stock_sqlite(connection) or field.is_relation:
        return None
    if field.get_db_converters(connection) or hasattr(field, "from_db_value"):
        return None
    internal_type = field.get_internal_type()
    db_type = field.db_type(connection)
    if internal_type == "DateTimeField" and db_type == "datetime":
        suffix = _utc_suffix(connection)
        decode = sqlite3.converters.get("DATETIME")
        if suffix is None or not _is_django_decoder(decode, parse_datetime):
            return None
        convert = _datetime_column(_django_chain(field, connection, decode), suffix)
    elif internal_type == "DateField" and db_type == "date":
        decode = sqlite3.converters.get("DATE")
        if not _is_django_decoder(decode, parse_date):
            return None
        convert = _date_column(_django_chain(field, connection, decode))
    else:
        return None
    return ManifestColumn(StoredBytes(field.attname), convert)


def django_column(field: models.Field, connection: BaseDatabaseWrapper) -> ManifestColumn | None:
    """``field``'s column with Django's conversions applied a batch column at a time.

    Django converts a row at a time in Python (``apply_converters``): per row a list, a loop
    over the converted columns, a call per value. This selects the same column, unconverted,
    and calls the same converters with the same arguments over the whole column, skipping a
    converter where Django's own code returns every value of the column unchanged (a column
    of NULLs, booleans read as booleans). None when Django converts nothing here.
    """
    column = field.get_col(field.model._meta.db_table)
    converters = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
    if not converters:
        return None
    # The bare column in SQL (SQLite's converter for its declared type still runs), with an
    # output type that Django converts nothing for.
    expression = ExpressionWrapper(F(field.attname), output_field=_UNCONVERTED)
    if connection.ops.get_db_converters(expression) + expression.get_db_converters(connection):
        return None
    steps = [
        (converter, _unchanged_types(converter, column, connection)) for converter in converters
    ]

    def convert(values: Sequence[Any]) -> Sequence[Any]:
        for converter, unchanged in steps:
            if unchanged is not None and unchanged.issuperset(map(type, values)):
                continue
            values = list(map(converter, values, repeat(column), repeat(connection)))
        return values

    return ManifestColumn(expression, convert)


# Neither Django (BaseExpression.convert_value) nor a backend converts a TextField's values.
_UNCONVERTED = TextField()


def _unchanged_types(
    converter: Callable, column: Expression, connection: BaseDatabaseWrapper
) -> frozenset[type] | None:
    """The value types Django's ``converter`` is known to return as they are, if any.

    Only Django's own converters, read from their code: each returns None for None, and the
    backends' boolean converters return a bool as it is.
    """
    if not getattr(converter, "__module__", "").startswith("django."):
        return None
    if converter(None, column, connection) is not None:
        return None
    if getattr(converter, "__name__", "") == "convert_booleanfield_value":
        return frozenset({type(None), bool})
    return frozenset({type(None)})


def _datetime_column(django_value: Callable[[bytes], Any], suffix: str) -> ColumnConverter:
    fromisoformat = datetime.datetime.fromisoformat
    encode = ("{}T{}" + suffix).format

    def one(stored: bytes | None) -> Any:
        """One value; what the column function falls back to."""
        if stored is None:
            return None
        text = _decoded(stored)
        if text is not None and _DATETIME_TEXT(text) and _valid(fromisoformat, text):
            # DjangoJSONEncoder: isoformat(), microseconds cut to milliseconds when there
            # are any, "+00:00" written as the suffix.
            if text.endswith(".000000"):
                return encode(_DAY(text), text[11:19])
            return encode(_DAY(text), _TIME_TO_MS(text))
        return django_value(stored)

    def column(stored: Sequence[bytes | None]) -> Sequence[Any]:
        texts = _stored_texts(stored, _DATETIME_COLUMN, fromisoformat)
        if texts is None:
            return [one(value) for value in stored]
        # Every text has its microseconds cut or none at all: slice them all in C.
        return _with_nulls(stored, list(map(encode, map(_DAY, texts), map(_TIME_TO_MS, texts))))

    return column


def _date_column(django_value: Callable[[bytes], Any]) -> ColumnConverter:
    fromisoformat = datetime.date.fromisoformat

    def one(stored: bytes | None) -> Any:
        if stored is None:
            return None
        text = _decoded(stored)
        if text is not None and _DATE_TEXT(text) and _valid(fromisoformat, text):
            # date.isoformat() of the parsed date is the stored text itself.
            return text
        return django_value(stored)

    def column(stored: Sequence[bytes | None]) -> Sequence[Any]:
        texts = _stored_texts(stored, _DATE_COLUMN, fromisoformat)
        if texts is None:
            return [one(value) for value in stored]
        return _with_nulls(stored, texts)

    return column


def _stored_texts(
    stored: Sequence[bytes | None], column_pattern: Callable[[str], Any], fromisoformat: Callable
) -> list[str] | None:
    """The texts of a column's non-NULL values if every one takes the shortcut, else None.

    For datetimes, None too if a text has zero microseconds (".000000"): the encoder leaves them
    out, which the column-wide slicing does not.
    """
    present = list(filter(None, stored))
    nulls = stored.count(None)
    if len(present) + nulls != len(stored):
        # An empty value: filter() dropped it; Django reads it as NULL, but by its own way.
        return None
    if not present:
        return []
    try:
        texts = list(map(bytes.decode, present))
    except UnicodeDecodeError:
        return None
    joined = "\n".join(texts)
    if (
        joined.count("\n") != len(texts) - 1
        or ".000000" in joined
        or not column_pattern(joined)
        or not _valid_all(fromisoformat, texts)
    ):
        return None
    return texts


def _decoded(stored: bytes) -> str | None:
    try:
        return stored.decode()
    except UnicodeDecodeError:
        return None


def _with_nulls(stored: Sequence[bytes | None], values: list[str]) -> Sequence[Any]:
    """``values`` for the non-NULL positions of ``stored``, None for the others."""
    if len(values) == len(stored):
        return values
    remaining = iter(values)
    return [None if value is None else next(remaining) for value in stored]


def _valid(fromisoformat: Callable, text: str) -> bool:
    try:
        fromisoformat(text)
    except ValueError:
        return False
    return True


def _valid_all(fromisoformat: Callable, texts: list[str]) -> bool:
    try:
        # Run through in C; only the exception matters.
        deque(map(fromisoformat, texts), maxlen=0)
    except ValueError:
        return False
    return True


def _django_chain(
    field: models.Field, connection: BaseDatabaseWrapper, decode: Callable[[bytes], Any]
) -> Callable[[bytes], Any]:
    """Exactly what Django does to a stored value: sqlite3's converter, then the backend's."""
    column = field.get_col(field.model._meta.db_table)
    converters = connection.ops.get_db_converters(column) + column.get_db_converters(connection)

    def django_value(stored: bytes) -> Any:
        value = decode(stored)
        for converter in converters:
            value = converter(value, column, connection)
        return value

    return django_value


def _stock_sqlite(connection: BaseDatabaseWrapper) -> bool:
    if connection.vendor != "sqlite":
        return False
    from django.db.backends.sqlite3.operations import DatabaseOperations

    ops = type(connection.ops)
    return all(
        getattr(ops, name) is getattr(DatabaseOperations, name)
        for name in (
            "get_db_converters",
            "convert_datetimefield_value",
            "convert_datefield_value",
        )
    )


def _utc_suffix(connection: BaseDatabaseWrapper) -> str | None:
    """What DjangoJSONEncoder appends to the datetimes Django reads here, if it is known."""
    if not settings.USE_TZ:
        return ""
    # make_aware(value, UTC): isoformat() ends in "+00:00", which the encoder writes "Z".
    if connection.timezone is datetime.UTC:
        return "Z"
    return None


def _is_django_decoder(decode: Any, parse: Callable) -> bool:
    """Whether ``decode`` is the converter Django registers: ``lambda s: parse(s.decode())``."""
    from django.db.backends.sqlite3.base import decoder

    code = getattr(decode, "__code__", None)
    closure = getattr(decode, "__closure__", None) or ()
    return (
        code is decoder(parse).__code__ and len(closure) == 1 and closure[0].cell_contents is parse
    )
