"""
The streamed manifest must be byte-identical to the classic one.

The oracle is :func:`exporter.writing.encoding.classic_dumps`. The differential tests throw
adversarial records at both; the framing tests hold the writer to its contract. The route of each
value to the classic encoder is in ``tests/writing/test_encoding.py``.
"""

import datetime
import decimal
import hashlib
import io
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.stream_writer import ManifestStreamWriter
from exporter.writing.encoding import classic_dumps, classic_encode_record, encode_record
from tests.helpers.manifests import (
    FUZZ,
    UTC,
    CountingSink,
    document_records,
    outcome,
    records,
    risky_records,
    stream,
    streamed,
)

# --- differential tests ---------------------------------------------------------------------


@settings(FUZZ, max_examples=1000)
@given(st.one_of(records, risky_records, document_records))
def test_one_record_matches_classic(record):
    # Same bytes, or the same exception.
    assert outcome(streamed, [record]) == outcome(classic_dumps, [record])
    assert outcome(encode_record, record) == outcome(classic_encode_record, record)


@settings(FUZZ, max_examples=200)
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


@settings(FUZZ, max_examples=150)
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
    sink = CountingSink()
    writes = sink.writes
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
