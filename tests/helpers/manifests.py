"""Manifests in memory: records written by ManifestStreamWriter, odd values, and strategies of
records that the streamed manifest must encode exactly as the classic encoder does."""

from __future__ import annotations

import collections
import datetime
import enum
import io
import math

import orjson
from django.apps import apps
from django.core import serializers
from django.utils.functional import lazy
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from exporter.batches import serialize_queryset_batched
from exporter.stream_writer import ManifestStreamWriter
from exporter.writing import encoding
from exporter.writing.encoding import classic_dumps

# Deterministic runs, no example database: the suite must give the same verdict every time.
FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


UTC = datetime.UTC


class Colour(enum.Enum):
    """A plain enum: neither encoder can write it."""

    RED = 1


class Number(enum.IntEnum):
    """An int enum, written as its value."""

    ONE = 1


class Letter(enum.StrEnum):
    """A str enum, written as its value."""

    A = "a"


class MyStr(str):
    """A str subclass."""


class MyInt(int):
    """An int subclass."""


class MyFloat(float):
    """A float subclass."""


class ReversedDict(dict):
    """The classic encoder asks items(); orjson reads the dict's storage."""

    def items(self):
        return reversed(list(super().items()))


class ReversedList(list):
    """The classic encoder iterates; orjson reads the list's storage."""

    def __iter__(self):
        return reversed(list(super().__iter__()))


Pair = collections.namedtuple("Pair", "left right")


# A lazy string that needs no settings, unlike gettext_lazy.
lazy_str = lazy(str, str)


def orjson_alone(record):
    """What E(r) would be without the walk and the fallback, or the exception orjson raises."""
    try:
        encoded = orjson.dumps(
            record, default=encoding._DJANGO_DEFAULT, option=encoding._ORJSON_OPTIONS
        )
    except orjson.JSONEncodeError as error:
        return error
    return b"  " + encoded.replace(b"\n", b"\n  ")


def outcome(function, *args):
    """The bytes ``function`` returns, or the type of exception it raises."""
    try:
        return function(*args)
    except Exception as error:  # noqa: BLE001 - comparing failures is the point
        return type(error)


class CountingSink(io.BytesIO):
    """A binary sink in memory that keeps the size of every write in ``writes``."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[int] = []

    def write(self, data) -> int:
        self.writes.append(len(data))
        return super().write(data)


def stream(records, *, batch_bytes=None) -> tuple[bytes, ManifestStreamWriter]:
    """The manifest ``write_many(records)`` writes (runs of ``batch_bytes``), and the writer."""
    sink = io.BytesIO()
    writer = ManifestStreamWriter(sink)
    if batch_bytes is not None:
        writer.batch_bytes = batch_bytes
    writer.write_many(records)
    writer.close()
    return sink.getvalue(), writer


def streamed(records) -> bytes:
    """The manifest ``write_many(records)`` writes."""
    return stream(records)[0]


def nest(value, depth: int):
    """``value`` inside ``depth`` levels of lists and dicts, in turn."""
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


#: Every model of the project but the auto-created through tables.
ALL_MODELS = [m for m in apps.get_models() if not m._meta.auto_created]


def manifest_bytes(queryset, batch_size: int = 500) -> bytes:
    """The queryset's records read for the manifest, as ManifestStreamWriter writes them."""
    return streamed(
        record
        for batch in serialize_queryset_batched(queryset, batch_size=batch_size, for_manifest=True)
        for record in batch
    )


def django_bytes(queryset) -> bytes:
    """The queryset's records by Django's own serializer, as the classic encoder writes them."""
    # A fresh clone: iterating a QuerySet caches its rows, which later changes would not reach.
    return classic_dumps(serializers.serialize("python", queryset.all()))


# --- strategies -----------------------------------------------------------------------------

SPECIAL_CHARACTERS = (
    "\x00\x01\x07\x08\t\n\x0b\x0c\r\x1b\x1c\x1d\x1e\x1f \"'\\/<>&\x7f\x80\x85\x9f\xa0\xad"
    "\u00e9\u0301\u0308\u0338\u200b\u200d\u2028\u2029\u202e\ufeff\ufffd\uffff"
    "\u4e2d\U0001f600\U0001f1e9\U0001f3fd\U0001d11e\U000e0001\U0010ffff"
)


# Every code point but the surrogates, which make both encoders raise (see raising_leaves).
characters = st.one_of(
    st.characters(exclude_categories=["Cs"]), st.sampled_from(SPECIAL_CHARACTERS)
)


texts = st.text(characters, max_size=30)


huge_texts = st.builds(
    lambda piece, count: piece * count,
    st.text(characters, min_size=1, max_size=8),
    st.integers(1_000, 20_000),
)


lone_surrogates = st.builds(
    lambda before, surrogate, after: before + surrogate + after,
    texts,
    st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, categories=["Cs"]),
    texts,
)


INT_EDGES = [0, -1, 2**53 + 1, 2**63 - 1, -(2**63), 2**63, 2**64 - 1, 2**64, -(2**63) - 1, 10**40]


integers = st.one_of(st.integers(), st.integers(-(2**70), 2**70), st.sampled_from(INT_EDGES))


FLOAT_EDGES = [
    0.0,
    -0.0,
    5e-324,
    2.2250738585072014e-308,
    9.999999999999999e-10,
    1e-9,
    1.0000000000000002e-9,
    1e-5,
    9.999999999999999e-05,
    1e-4,
    1e15,
    9999999999999998.0,
    1e16,
    1e22,
    1.5e300,
    1.7976931348623157e308,
    math.nan,
    math.inf,
]


floats = st.one_of(
    st.floats(),
    st.floats(min_value=1e-11, max_value=1e-3),
    st.floats(min_value=1e14, max_value=1e24),
    st.sampled_from(FLOAT_EDGES),
).flatmap(lambda x: st.sampled_from([x, -x]))


offsets = st.one_of(
    st.just(UTC),
    st.builds(
        datetime.timezone,
        st.timedeltas(
            min_value=datetime.timedelta(hours=-23), max_value=datetime.timedelta(hours=23)
        ),
    ),
)


naive_or_aware = st.one_of(st.none(), offsets)


# Values that both encoders accept, some only through the fallback.
safe_leaves = st.one_of(
    texts,
    huge_texts,
    integers,
    floats,
    st.booleans(),
    st.none(),
    st.decimals(),
    st.timedeltas(),
    st.datetimes(timezones=naive_or_aware),
    st.dates(),
    st.times(),
    st.uuids(),
    st.sampled_from([Number.ONE, Letter.A]),
    st.builds(lazy_str, texts),
    st.builds(MyStr, texts),
    st.builds(MyInt, integers),
    st.builds(MyFloat, floats),
)


# Values that make both encoders raise.
raising_leaves = st.one_of(
    lone_surrogates,
    st.times(timezones=offsets),
    st.sampled_from([Colour.RED, b"bytes", {1, 2}, object(), 1j]),
)


odd_keys = st.one_of(texts, integers, floats, st.booleans(), st.none())


def reordered(pairs):
    """An OrderedDict of ``pairs`` whose first key was moved to the end."""
    ordered = collections.OrderedDict(pairs)
    if ordered:
        ordered.move_to_end(next(iter(ordered)))
    return ordered


def containers(children):
    """A strategy of every kind of container the encoders meet, holding ``children``."""
    return st.one_of(
        st.lists(children, max_size=5),
        st.lists(children, max_size=5).map(tuple),
        st.dictionaries(texts, children, max_size=5),
        st.dictionaries(odd_keys, children, max_size=4),
        st.lists(st.tuples(texts, children), max_size=4).map(reordered),
        st.dictionaries(texts, children, max_size=4).map(ReversedDict),
        st.lists(children, max_size=4).map(ReversedList),
        st.builds(Pair, children, children),
    )


shallow_records = st.recursive(safe_leaves, containers, max_leaves=20)


# Around orjson's nesting limit, yet well below the recursion limit of the classic encoder, so
# that both encoders succeed whatever the depth of the caller's stack.
deep_records = st.builds(nest, shallow_records, st.integers(240, 300))


records = st.one_of(shallow_records, deep_records)


risky_records = st.recursive(st.one_of(safe_leaves, raising_leaves), containers, max_leaves=10)


# The shape of a Django "python" serialization of a document.
document_records = st.fixed_dictionaries(
    {
        "model": st.just("documents.document"),
        "pk": st.integers(1, 2**31),
        "fields": st.fixed_dictionaries(
            {
                "title": texts,
                "content": st.one_of(texts, huge_texts),
                "created": st.datetimes(timezones=naive_or_aware),
                "added": st.datetimes(timezones=st.just(UTC)),
                "checksum": st.text("0123456789abcdef", min_size=32, max_size=32),
                "archive_serial_number": st.none() | st.integers(0, 2**31),
                "tags": st.lists(st.integers(1, 10_000), max_size=5),
                "score": floats,
            }
        ),
    }
)
