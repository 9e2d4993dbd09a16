"""A manifest's records parsed one by one with orjson, where the manifest has the classic layout.

Every manifest the classic exporter, ``--stream`` and paperless-ngx write is a list of objects
indented by two spaces (``json.dumps(records, indent=2)``): ``[``, then each record opening
with ``{`` and closing with ``}`` after a newline and two spaces, the records separated by
``,``. A JSON string holds no raw newline, so the bytes ``\\n  },\\n  {`` are never inside a
string: they end one element of the array and start the next wherever the bytes between two
of them parse as one JSON value (a value that closed earlier leaves a ``}`` over, which does
not parse). orjson parses such a record about twice as fast as ijson's C parser builds it.

What does not fit goes to ijson from that record on, with the bytes not yet parsed: another
layout, or a record orjson refuses (invalid JSON, NaN, nesting past orjson's limit); a record
with a run of 19 digits or more, which may be an integer that orjson would read as a float,
is parsed by ijson alone. So the records, and the error of a manifest that does not parse, are
ijson's, with its Decimals made floats (:func:`decimals_as_floats`).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, BinaryIO

import ijson
import orjson

__all__ = ["READ_SIZE", "decimals_as_floats", "read_float_records"]

#: Bytes read at a time, and ijson's buffer: yajl lexes a token that spans two chunks again
#: from its start at every chunk, so a 50 MB string took minutes at ijson's 64 kB.
READ_SIZE = 1 << 20

_OPENING = b"[\n  {"
_BETWEEN = b"\n  },\n  {"
# From the separator's start: its record's end (after "}") and the next record's start ("{").
_END, _NEXT = len(b"\n  }"), len(b"\n  },\n  ")
_WHITESPACE = b" \t\r\n"
#: Digits to "0", all else to " ": an integer orjson cannot read exactly has 19 digits or more.
_DIGITS = bytes(b"0"[0] if chr(byte).isdigit() and byte < 128 else b" "[0] for byte in range(256))
_LONG_NUMBER = b"0" * 19
_NOT_PARSED = object()


def read_float_records(stream: BinaryIO) -> Iterator[Any]:
    """The items of the manifest's top-level array, one at a time, as ``ijson.items(stream,
    "item")`` gives them but with non-integer numbers as float, faster."""
    data = _read_at_least(stream, len(_OPENING))
    if not data.startswith(_OPENING):
        yield from _ijson_items(data, stream)
        return
    # The bytes read, every digit a "0" and anything else a space: where a long number may be.
    digits = data.translate(_DIGITS)
    start = scan = len(_OPENING) - 1
    while True:
        found = data.find(_BETWEEN, scan)
        if found < 0:
            more = stream.read(max(READ_SIZE, len(data) - start))
            if not more:
                break
            # Read more at once when a record is larger than a read: the copies stay linear.
            scan = max(0, len(data) - start - len(_BETWEEN) + 1)
            data = data[start:] + more
            digits = digits[start:] + more.translate(_DIGITS)
            start = 0
            continue
        record = _parsed(data, digits, start, found + _END)
        if record is _NOT_PARSED:
            yield from _ijson_items(b"[" + data[start:], stream)
            return
        yield record
        start = scan = found + _NEXT
    # The last record, then "]".
    last = data[start:]
    body = last.rstrip(_WHITESPACE)
    if body.endswith(b"]"):
        record = _parsed(data, digits, start, start + len(body) - 1)
        if record is not _NOT_PARSED:
            yield record
            return
    yield from _ijson_items(b"[" + last, stream)


def _parsed(data: bytes, digits: bytes, start: int, end: int) -> Any:
    """The one JSON value of ``data[start:end]``, or _NOT_PARSED if it is not one."""
    if digits.find(_LONG_NUMBER, start, end) < 0:
        try:
            return orjson.loads(memoryview(data)[start:end])
        except orjson.JSONDecodeError:
            return _NOT_PARSED
    # orjson reads an integer past 64 bits as a float; ijson reads it exactly.
    try:
        values = list(ijson.items(io.BytesIO(b"[" + data[start:end] + b"]"), "item"))
    except ijson.JSONError:
        return _NOT_PARSED
    return decimals_as_floats(values[0]) if len(values) == 1 else _NOT_PARSED


def _read_at_least(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(READ_SIZE)
    while data and len(data) < size:
        more = stream.read(READ_SIZE)
        if not more:
            break
        data += more
    return data


def decimals_as_floats(value: Any) -> Any:
    """``value`` with every Decimal in it (ijson's non-integer numbers) made a float."""
    if type(value) is Decimal:
        return float(value)
    if type(value) is list:
        return [decimals_as_floats(item) for item in value]
    if type(value) is dict:
        return {key: decimals_as_floats(item) for key, item in value.items()}
    return value


def _ijson_items(head: bytes, stream: BinaryIO) -> Iterator[Any]:
    # Not ijson's use_float: it refuses integers past 63 bits, which it reads exactly else.
    records = ijson.items(_Replayed(head, stream), "item", buf_size=READ_SIZE)
    return map(decimals_as_floats, records)


class _Replayed:
    """``head``, then the rest of ``stream``: for ijson, the bytes not parsed yet."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self._head: bytes | None = head
        self._stream = stream

    def read(self, size: int = -1) -> bytes:
        head = self._head
        # ijson reads 0 bytes first, to tell bytes from text.
        if head and size != 0:
            self._head = None
            return head
        return self._stream.read(size)
