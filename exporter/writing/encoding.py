"""
Encode manifest records to exactly the bytes of the classic exporter, but fast.

The classic manifest is one ``json.dumps(records, cls=DjangoJSONEncoder, indent=2,
ensure_ascii=False)`` of the whole record list. Given the indent, a record's text in that array is
independent of its neighbours, so each record can be encoded on its own and the array framed
around it (see :mod:`exporter.stream_writer`).

:func:`encode_record` uses orjson for the records it is known to encode byte-identically and
falls back to the classic encoder, one record at a time, for everything else.
"""

import datetime
import decimal
import json
import math
import uuid
from typing import Any

import orjson
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.functional import Promise

__all__ = [
    "classic_dumps",
    "classic_encode_record",
    "encode_plain_records",
    "encode_record",
    "floats_as_fragments",
    "is_orjson_safe",
    "orjson_safe_size",
]

# One shared instance: its ``default`` keeps no state, and building an encoder per record would
# cost more than encoding a small record.
_DJANGO_DEFAULT = DjangoJSONEncoder().default

# The passthrough options send datetimes and dataclasses to DjangoJSONEncoder.default, which is
# what the classic encoder does; orjson's native datetime format differs (microseconds, "+00:00").
_ORJSON_OPTIONS = (
    orjson.OPT_INDENT_2 | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
)

# orjson serialises only 64-bit integers; it raises outside this range.
_INT_MIN = -(2**63)
_INT_MAX = 2**64 - 1

# float.__repr__ writes a zero-padded two-digit exponent ("1e-07", "9.9e-05") for magnitudes in
# [1e-9, 1e-4), where orjson 3.13 writes "1e-7" or "0.000099". Both bounds are the exact floats
# the literals denote: 9.999999999999999e-10 and 1e-4 already come out identical, and so does
# everything from 1e16 up to the largest finite float (both write "1e+16"). orjson writes NaN and
# the infinities as null while the classic encoder writes NaN/Infinity, so those must fall back
# too; the single "abs(x) < inf" test below is False for all three of them.
_FLOAT_EXPONENT_LOW = 1e-9
_FLOAT_EXPONENT_HIGH = 1e-4
_INF = math.inf

# orjson raises at 255 nested containers; stay below so that the fast path never trips it.
_MAX_DEPTH = 250

# Types that orjson and the classic encoder turn into the same text: natively (str, bool, None,
# UUID) or through DjangoJSONEncoder.default. Exact types only: a subclass may override __str__,
# __repr__ or isoformat() and be encoded differently by the two.
_LEAF_TYPES = frozenset(
    {
        str,
        bool,
        type(None),
        datetime.datetime,
        datetime.date,
        datetime.time,
        datetime.timedelta,
        decimal.Decimal,
        uuid.UUID,
    }
)


# The leaves :func:`is_orjson_safe` lets through without a look: those of the exact walk, plus
# every int, since orjson raises on the ints it cannot write and the caller then falls back.
_SAFE_LEAF_TYPES = _LEAF_TYPES | {int}
# What orjson_safe_size() counts per value besides string characters: indentation, a short
# key, punctuation, a number.
_VALUE_BYTES = 16


class UnencodableRecord(UnicodeEncodeError):
    """A record with a lone surrogate in a string, which UTF-8 cannot encode.

    Its message names the record (model and pk) and the value's place in it, so that an export
    stops with something a user can fix rather than a position in a megabyte of JSON.
    """

    def __init__(self, error: UnicodeEncodeError, record: Any) -> None:
        super().__init__(error.encoding, error.object, error.start, error.end, error.reason)
        self.record = record

    def __str__(self) -> str:
        record = self.record
        label = "a record"
        if isinstance(record, dict):
            label = f"{record.get('model')} pk={record.get('pk')}"
        found = _surrogate_in(record, "")
        where = f"its value {found[0]}" if found else "a value"
        char = f" ({found[1]!r})" if found else ""
        return (
            f"{label}: {where} holds a lone surrogate{char}, which is not valid Unicode and "
            "cannot be written as UTF-8. Fix the value in the database and export again."
        )


def _surrogate_in(value: Any, path: str, depth: int = 0) -> tuple[str, str] | None:
    """The path (``fields.settings.key``) and the character of the first lone surrogate."""
    if depth > 200:
        return None
    if isinstance(value, str):
        for char in value:
            if "\ud800" <= char <= "\udfff":
                return path or "(the record)", char
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _surrogate_in(key, f"{path}.{key!r}", depth + 1) or _surrogate_in(
                item, f"{path}.{key}".lstrip("."), depth + 1
            )
            if found:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _surrogate_in(item, f"{path}[{index}]", depth + 1)
            if found:
                return found
    return None


def classic_dumps(records: list[Any]) -> bytes:
    """
    Return the manifest bytes of the classic exporter for ``records``.

    This is the reference that the streaming path must reproduce byte for byte. A lone
    surrogate raises :class:`UnencodableRecord` naming the record.
    """
    text = json.dumps(records, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        for record in records:
            classic_encode_record(record)  # raises UnencodableRecord for the culprit
        raise


def classic_encode_record(record: Any) -> bytes:
    """
    Return one record as it appears in the classic manifest, with the classic encoder.

    The result starts with the two-space indentation of depth 1 and carries neither the
    separator nor a line break at either end. It raises whatever :func:`classic_dumps` raises for
    the record: ``TypeError`` for an unsupported type, ``ValueError`` for an aware ``time`` or a
    circular reference, ``RecursionError`` for absurd nesting and :class:`UnencodableRecord` (a
    ``UnicodeEncodeError``) for a lone surrogate.
    """
    # "[\n" + record + "\n]": the slice leaves exactly the record at depth 1.
    text = json.dumps([record], cls=DjangoJSONEncoder, indent=2, ensure_ascii=False)
    try:
        return text[2:-2].encode("utf-8")
    except UnicodeEncodeError as error:
        raise UnencodableRecord(error, record) from None


def encode_record(record: Any) -> bytes:
    """
    Return one record as it appears in the classic manifest: the same bytes as
    :func:`classic_encode_record`, usually several times faster.

    Records made only of str keys and plain values (str, bool, None, 64-bit ints, floats that
    print alike, lists, tuples, dicts, datetime/date/time/timedelta, Decimal, UUID and lazy
    translation strings) go through orjson; any other record is encoded by the classic encoder.
    A record the classic exporter cannot encode raises the same exception here.
    """
    encodable: Any = record
    if not is_orjson_safe(record):
        fixed = floats_as_fragments(record)
        if fixed is None:
            return classic_encode_record(record)
        encodable = fixed[0]
    try:
        encoded = orjson.dumps(encodable, default=_DJANGO_DEFAULT, option=_ORJSON_OPTIONS)
    except orjson.JSONEncodeError:
        # Lone surrogates, aware times and errors raised by default(): let the classic
        # encoder raise its own exception, or encode the record if it can.
        return classic_encode_record(record)
    # Every byte of a line break inside a JSON string is escaped, and the raw line
    # separators orjson leaves in strings (U+0085, U+2028, U+2029) contain no 0x0A
    # byte, so every b"\n" here ends a line of structure.
    return b"  " + encoded.replace(b"\n", b"\n  ")


def floats_as_fragments(record: Any, depth: int = 0) -> tuple[Any, int] | None:
    """
    A copy of ``record`` that orjson encodes like the classic encoder, and its rough size; or
    None when something other than floats keeps orjson from it.

    orjson writes some floats otherwise (``1e-7`` for ``1e-07``, ``null`` for NaN): in the copy,
    every float is an :class:`orjson.Fragment` of the classic encoder's text for it, which orjson
    writes as it is. That spares those records the classic encoder, which costs tens of
    microseconds each and leaves reference cycles behind. Only exact floats are replaced; the
    other values are kept as they are and must pass :func:`orjson_safe_size`.
    """
    if depth > _MAX_DEPTH:
        return None
    kind = type(record)
    if kind is float:
        return orjson.Fragment(_classic_float(record)), _VALUE_BYTES
    if kind is not dict and kind is not list and kind is not tuple:
        size = orjson_safe_size(record, depth)
        return None if size < 0 else (record, size)
    items = record.items() if kind is dict else enumerate(record)
    copy: dict[Any, Any] = {}
    size = 0
    for key, value in items:
        inner = floats_as_fragments(value, depth + 1)
        if inner is None:
            return None
        copy[key] = inner[0]
        size += inner[1]
    if kind is dict:
        return copy, size
    return list(copy.values()), size


def _classic_float(value: float) -> bytes:
    # json's floatstr() with allow_nan=True.
    if value != value:
        return b"NaN"
    if value == _INF:
        return b"Infinity"
    if value == -_INF:
        return b"-Infinity"
    return float.__repr__(value).encode()


def is_orjson_safe(record: Any) -> bool:
    """
    Tell whether orjson encodes ``record`` like the classic encoder or raises.

    It never lets through a record that orjson would silently write otherwise: when it says
    yes, encode with orjson and fall back to the classic encoder if orjson raises. It differs
    from the exact walk (``_is_plain``) only where orjson raises: it skips the range check of
    ints, which costs as much as the rest of the walk of a typical record.
    """
    return orjson_safe_size(record) >= 0


def orjson_safe_size(record: Any, depth: int = 0) -> int:
    """
    :func:`is_orjson_safe` and a rough size in one walk: -1 if not safe, else an estimate.

    The estimate counts the characters of the strings and a few bytes per value: enough to
    keep a run of records near a byte budget without encoding it first (escapes and non-ASCII
    text make the real size at most a few times larger).
    """
    if depth > _MAX_DEPTH:
        return -1
    kind = type(record)
    if kind is dict:
        values = record.values()
    elif kind is list or kind is tuple:
        values = record
    elif kind is str:
        return len(record)
    else:
        return _VALUE_BYTES if _safe_leaf(record) else -1
    size = _VALUE_BYTES * len(values)
    for value in values:
        kind = type(value)
        if kind is str:
            size += len(value)
        elif kind in _SAFE_LEAF_TYPES:
            continue
        elif kind is dict or kind is list or kind is tuple:
            inner = orjson_safe_size(value, depth + 1)
            if inner < 0:
                return -1
            size += inner
        elif kind is float:
            magnitude = abs(value)
            if not magnitude < _INF or _FLOAT_EXPONENT_LOW <= magnitude < _FLOAT_EXPONENT_HIGH:
                return -1
        elif not isinstance(value, Promise):
            return -1
    return size


def encode_plain_records(records: list[Any]) -> bytes | None:
    """
    Return ``records`` as a JSON array in the classic layout, with one orjson call, or None.

    The caller has checked each record with :func:`is_orjson_safe`. The result is the classic
    encoding of the list: ``[\n`` + E(r1) + ``,\n`` + E(r2) ... + ``\n]``, where E is
    :func:`encode_record`; None means orjson refused a record, which must then be encoded on
    its own to find it (and fall back, or raise).
    """
    try:
        return orjson.dumps(records, default=_DJANGO_DEFAULT, option=_ORJSON_OPTIONS)
    except orjson.JSONEncodeError:
        return None


def _safe_leaf(obj: Any) -> bool:
    kind = type(obj)
    if kind in _SAFE_LEAF_TYPES:
        return True
    if kind is float:
        magnitude = abs(obj)
        return magnitude < _INF and not _FLOAT_EXPONENT_LOW <= magnitude < _FLOAT_EXPONENT_HIGH
    # Lazy translation strings, as in _is_plain.
    return isinstance(obj, Promise)


def _is_plain(obj: Any, depth: int) -> bool:
    """
    Tell whether orjson is known to encode ``obj`` exactly like the classic encoder.

    This runs for every record, so the common cases are tested inline in the loops rather than
    through a call per value.
    """
    if depth > _MAX_DEPTH:
        return False
    kind = type(obj)
    if kind is dict:
        for key, value in obj.items():
            if type(key) is not str:
                # The classic encoder coerces int/float/bool/None keys; orjson raises.
                return False
            kind = type(value)
            if kind in _LEAF_TYPES:
                continue
            if kind is int:
                if not _INT_MIN <= value <= _INT_MAX:
                    return False
            elif kind is float:
                magnitude = abs(value)
                if not magnitude < _INF or _FLOAT_EXPONENT_LOW <= magnitude < _FLOAT_EXPONENT_HIGH:
                    return False
            elif not _is_plain(value, depth + 1):
                return False
        return True
    if kind is list or kind is tuple:
        for value in obj:
            kind = type(value)
            if kind in _LEAF_TYPES:
                continue
            if kind is int:
                if not _INT_MIN <= value <= _INT_MAX:
                    return False
            elif kind is float:
                magnitude = abs(value)
                if not magnitude < _INF or _FLOAT_EXPONENT_LOW <= magnitude < _FLOAT_EXPONENT_HIGH:
                    return False
            elif not _is_plain(value, depth + 1):
                return False
        return True
    if kind in _LEAF_TYPES:
        return True
    if kind is int:
        return _INT_MIN <= obj <= _INT_MAX
    if kind is float:
        magnitude = abs(obj)
        return magnitude < _INF and not _FLOAT_EXPONENT_LOW <= magnitude < _FLOAT_EXPONENT_HIGH
    # Lazy translation strings: both encoders call DjangoJSONEncoder.default, which returns
    # str(obj). orjson has no native support for the proxy class, so it never bypasses default().
    return isinstance(obj, Promise)
