"""
The streamed manifest must be byte-identical to the classic one.

The oracle is :func:`exporter.writing.encoding.classic_dumps`. The differential tests throw
adversarial records at both; the framing tests hold the writer to its contract. The route of each
value to the classic encoder is in ``tests/writing/test_encoding.py``.
"""

import collections
import datetime
import decimal
import enum
import hashlib
import io
import math
import tracemalloc

import orjson
import pytest
from django.utils.functional import lazy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exporter.stream_writer import ManifestStreamWriter
from exporter.writing import encoding
from exporter.writing.encoding import classic_dumps, classic_encode_record, encode_record

# Deterministic runs, no example database: the suite must give the same verdict every time.
FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

UTC = datetime.UTC


class Colour(enum.Enum):
    RED = 1


class Number(enum.IntEnum):
    ONE = 1


class Letter(enum.StrEnum):
    A = "a"


class MyStr(str):
    pass


class MyInt(int):
    pass


class MyFloat(float):
    pass


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


def stream(records, *, batch_bytes=None) -> tuple[bytes, ManifestStreamWriter]:
    sink = io.BytesIO()
    writer = ManifestStreamWriter(sink)
    if batch_bytes is not None:
        writer.batch_bytes = batch_bytes
    writer.write_many(records)
    writer.close()
    return sink.getvalue(), writer


def streamed(records) -> bytes:
    return stream(records)[0]


def nest(value, depth: int):
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


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
    ordered = collections.OrderedDict(pairs)
    if ordered:
        ordered.move_to_end(next(iter(ordered)))
    return ordered


def containers(children):
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


# --- differential tests ---------------------------------------------------------------------


@settings(FUZZ, max_examples=2500)
@given(st.one_of(records, risky_records, document_records))
def test_one_record_matches_classic(record):
    # Same bytes, or the same exception.
    assert outcome(streamed, [record]) == outcome(classic_dumps, [record])
    assert outcome(encode_record, record) == outcome(classic_encode_record, record)


@settings(FUZZ, max_examples=400)
@given(st.lists(st.one_of(records, document_records), max_size=12))
def test_record_lists_match_classic(record_list):
    expected = classic_dumps(record_list)
    sink = io.BytesIO()
    writer = ManifestStreamWriter(sink)
    # Both entry points, and batches small enough to split the stream into several writes.
    writer.batch_bytes = 64
    writer.write_many(record_list[: len(record_list) // 2])
    for record in record_list[len(record_list) // 2 :]:
        writer.write(record)
    writer.close()
    assert sink.getvalue() == expected
    assert writer.hexdigest() == hashlib.sha256(expected).hexdigest()
    assert writer.bytes_written == len(expected)
    assert writer.records == len(record_list)


@settings(FUZZ, max_examples=300)
@given(st.lists(st.one_of(records, risky_records), max_size=8))
def test_failing_streams_fail_like_classic(record_list):
    # Classic encodes everything before it encodes to UTF-8, so with several bad records it can
    # raise another type than the stream: only "both raise" is comparable here.
    expected = outcome(classic_dumps, record_list)
    actual = outcome(streamed, record_list)
    if isinstance(expected, bytes):
        assert actual == expected
    else:
        assert isinstance(actual, type)


def test_many_records_in_many_batches():
    record_list = [
        {
            "model": "documents.document",
            "pk": pk,
            "fields": {
                "content": f"page {pk} \u2028 é 😀 " * (pk % 50),
                "created": datetime.datetime(2024, 1, 1, 0, 0, 0, pk, tzinfo=UTC),
                "amount": decimal.Decimal(pk) / 7,
                "ratio": pk / 3,
                "tiny": pk * 1e-6,
                "tags": [pk, pk + 1],
            },
        }
        for pk in range(3_000)
    ]
    expected = classic_dumps(record_list)
    writes = []

    class Sink(io.BytesIO):
        def write(self, data):
            writes.append(len(data))
            return super().write(data)

    sink = Sink()
    writer = ManifestStreamWriter(sink)
    writer.batch_bytes = 16 * 1024
    writer.write_many(iter(record_list[:2_000]))
    writer.write_many(record_list[2_000:])
    writer.close()
    assert sink.getvalue() == expected
    assert writer.hexdigest() == hashlib.sha256(expected).hexdigest()
    assert (writer.records, writer.bytes_written) == (3_000, len(expected))
    # Batched: many records per write, yet no write much beyond the batch size.
    assert 10 < len(writes) < 3_000 // 10
    assert max(writes) < 2 * writer.batch_bytes


def test_records_are_not_kept_in_memory():
    text = "x" * 4_000

    def generate():
        for pk in range(5_000):
            yield {"pk": pk, "content": text + str(pk)}

    class HashingSink:
        def __init__(self):
            self.sha256 = hashlib.sha256()

        def write(self, data):
            self.sha256.update(data)

    tracemalloc.start()
    try:
        writer = ManifestStreamWriter(HashingSink())
        writer.write_many(generate())
        writer.close()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert writer.bytes_written > 5_000 * 4_000
    # About one batch of encoded bytes, not the 20 MB of the whole manifest.
    assert peak < 4 * writer.batch_bytes


# --- framing and writer behaviour -----------------------------------------------------------


def test_empty_manifest():
    data, writer = stream([])
    assert data == b"[]" == classic_dumps([])
    assert writer.hexdigest() == hashlib.sha256(b"[]").hexdigest()
    assert (writer.records, writer.bytes_written) == (0, 2)


def test_framing():
    assert streamed([{}]) == b"[\n  {}\n]" == classic_dumps([{}])
    assert streamed([1, []]) == b"[\n  1,\n  []\n]" == classic_dumps([1, []])


def test_close_is_idempotent_and_final():
    sink = io.BytesIO()
    writer = ManifestStreamWriter(sink)
    writer.write({"a": 1})
    writer.close()
    writer.close()
    assert writer.closed
    assert sink.getvalue() == classic_dumps([{"a": 1}])
    with pytest.raises(ValueError):
        writer.write({"b": 2})
    with pytest.raises(ValueError):
        writer.write_many([{"b": 2}])


def test_context_manager_closes_only_on_success():
    sink = io.BytesIO()
    with ManifestStreamWriter(sink) as writer:
        writer.write(1)
    assert sink.getvalue() == b"[\n  1\n]"

    sink = io.BytesIO()
    with pytest.raises(RuntimeError), ManifestStreamWriter(sink) as writer:
        writer.write(1)
        raise RuntimeError
    assert not writer.closed
    assert sink.getvalue() == b"[\n  1"


def test_unencodable_record_leaves_writer_usable():
    sink = io.BytesIO()
    writer = ManifestStreamWriter(sink)
    writer.write(1)
    with pytest.raises(TypeError):
        writer.write({"bad": object()})
    writer.write(2)
    writer.close()
    assert sink.getvalue() == classic_dumps([1, 2])
    assert writer.hexdigest() == hashlib.sha256(classic_dumps([1, 2])).hexdigest()


def test_write_many_writes_records_before_a_failure():
    sink = io.BytesIO()
    writer = ManifestStreamWriter(sink)
    with pytest.raises(UnicodeEncodeError):
        writer.write_many([1, 2, "\ud800", 3])
    assert writer.records == 2
    assert sink.getvalue() == b"[\n  1,\n  2"
    assert writer.hexdigest() == hashlib.sha256(sink.getvalue()).hexdigest()
    writer.close()
    assert sink.getvalue() == classic_dumps([1, 2])


def test_checksum_can_be_disabled():
    sink = io.BytesIO()
    writer = ManifestStreamWriter(sink, checksum=False)
    writer.write_many([1, 2])
    writer.close()
    assert sink.getvalue() == classic_dumps([1, 2])
    with pytest.raises(ValueError):
        writer.hexdigest()
