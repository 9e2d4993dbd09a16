"""The run encoding of ManifestStreamWriter.write_many and its walk, against the classic encoder.

write_many() encodes runs of records with one orjson call, after a walk (is_orjson_safe) that
is looser than the exact one only where orjson raises. These tests hold both to the classic
bytes, whatever the mix of records, run lengths and batch sizes.
"""

import hashlib
import io
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.stream_writer import ManifestStreamWriter
from exporter.writing import encoding
from exporter.writing.encoding import (
    classic_dumps,
    classic_encode_record,
    encode_plain_records,
    encode_record,
    is_orjson_safe,
)
from tests.helpers.manifests import (
    FUZZ,
    Colour,
    CountingSink,
    MyFloat,
    MyInt,
    MyStr,
    document_records,
    nest,
    outcome,
    records,
    risky_records,
    stream,
)


@settings(FUZZ, max_examples=250)
@given(
    st.lists(st.one_of(records, document_records), max_size=20),
    st.sampled_from([1, 64, 600, 4096, 1 << 20]),
)
def test_runs_match_classic(record_list, batch_bytes):
    expected = classic_dumps(record_list)
    data, writer = stream(record_list, batch_bytes=batch_bytes)
    assert data == expected
    assert writer.hexdigest() == hashlib.sha256(expected).hexdigest()
    assert (writer.records, writer.bytes_written) == (len(record_list), len(expected))


@settings(FUZZ, max_examples=200)
@given(st.lists(st.one_of(records, risky_records), max_size=10), st.sampled_from([1, 200, 1 << 20]))
def test_runs_fail_like_classic(record_list, batch_bytes):
    expected = outcome(classic_dumps, record_list)
    actual = outcome(lambda: stream(record_list, batch_bytes=batch_bytes)[0])
    if isinstance(expected, bytes):
        assert actual == expected
    else:
        assert isinstance(actual, type)


@settings(FUZZ, max_examples=600)
@given(st.one_of(records, risky_records, document_records))
def test_safe_walk_is_looser_only_where_orjson_raises(record):
    if encoding._is_plain(record, 0):
        assert is_orjson_safe(record)
    if is_orjson_safe(record):
        array = encode_plain_records([record])
        if array is not None:
            # orjson took it: it must be the classic text.
            assert array == b"[\n" + classic_encode_record(record) + b"\n]"
    assert outcome(encode_record, record) == outcome(classic_encode_record, record)


@settings(FUZZ, max_examples=150)
@given(st.lists(st.one_of(records, document_records).filter(is_orjson_safe), max_size=8))
def test_one_call_for_a_run_equals_record_by_record(record_list):
    array = encode_plain_records(record_list)
    if array is None:
        return
    if not record_list:
        assert array == b"[]"
        return
    assert array == b"[\n" + b",\n".join(map(encode_record, record_list)) + b"\n]"


@pytest.mark.parametrize(
    "value",
    [2**64, -(2**63) - 1, {1: "a"}, {"a": {None: 1}}, "\ud800", MyInt(3), MyStr("s")],
)
def test_what_orjson_refuses_falls_back_inside_a_run(value):
    record_list = [{"a": 1}, {"v": value}, {"b": 2}]
    assert outcome(lambda: stream(record_list, batch_bytes=1 << 20)[0]) == outcome(
        classic_dumps, record_list
    )


@pytest.mark.parametrize(
    "value", [math.nan, math.inf, 1e-7, 2.5e-5, MyFloat(1.5), Colour.RED, nest(1, 260)]
)
def test_what_orjson_would_write_otherwise_never_reaches_it(value):
    assert not is_orjson_safe({"v": [value]})
    record_list = [{"a": 1}, {"v": [value]}, {"b": 2}]
    assert outcome(lambda: stream(record_list, batch_bytes=1 << 20)[0]) == outcome(
        classic_dumps, record_list
    )


def test_iterable_failing_mid_run_writes_what_came_before():
    def generate():
        yield from ({"n": n} for n in range(5))
        raise RuntimeError("database went away")

    sink = io.BytesIO()
    writer = ManifestStreamWriter(sink)
    with pytest.raises(RuntimeError):
        writer.write_many(generate())
    assert writer.records == 5
    writer.close()
    assert sink.getvalue() == classic_dumps([{"n": n} for n in range(5)])


def test_bad_record_in_a_run_writes_the_ones_before_it():
    sink = io.BytesIO()
    writer = ManifestStreamWriter(sink)
    with pytest.raises(UnicodeEncodeError):
        writer.write_many([{"n": 1}, {"n": 2}, {"s": "\udc00"}, {"n": 3}])
    assert writer.records == 2
    writer.write({"n": 4})
    writer.close()
    assert sink.getvalue() == classic_dumps([{"n": 1}, {"n": 2}, {"n": 4}])


def test_failing_sink_is_not_written_twice():
    class Sink:
        def __init__(self):
            self.calls = 0

        def write(self, data):
            self.calls += 1
            raise OSError("disk full")

    sink = Sink()
    writer = ManifestStreamWriter(sink)
    writer.batch_bytes = 10
    with pytest.raises(OSError):
        writer.write_many({"n": n} for n in range(100))
    assert sink.calls == 1
    assert writer.records == writer.bytes_written == 0


@pytest.mark.parametrize("batch_bytes", [4 * 1024, 64 * 1024, 1 << 20])
def test_runs_follow_the_size_of_their_records(monkeypatch, batch_bytes):
    # Small records, then large ones, in one call: a run is cut by its estimated size, so the
    # first large records do not land in a run sized for small ones.
    record_list = [{"n": n} for n in range(5000)]
    record_list += [{"text": "x" * 10_000 + "é" * 5_000, "n": n} for n in range(100)]
    record_list += [{"n": n, "f": [1.5, "a" * (n % 7)]} for n in range(3000)]
    runs: list[tuple[int, int]] = []
    real = encoding.encode_plain_records

    def spy(batch):
        array = real(batch)
        runs.append((len(batch), len(array)))
        return array

    monkeypatch.setattr("exporter.stream_writer.encode_plain_records", spy)
    sink = CountingSink()
    writes = sink.writes
    writer = ManifestStreamWriter(sink)
    writer.batch_bytes = batch_bytes
    writer.write_many(record_list)
    writer.close()
    assert sink.getvalue() == classic_dumps(record_list)
    # Many records per call, and no run or write much beyond its budget.
    assert len(runs) < len(record_list) / 20
    assert max(size for _, size in runs) < batch_bytes / 2 + 30_000
    assert max(writes) < 2 * batch_bytes + 30_000


# --- floats orjson would write otherwise, as fragments ----------------------------------------

float_values = st.one_of(
    st.floats(),
    st.floats(min_value=1e-10, max_value=1e-3),
    st.sampled_from([math.nan, math.inf, -math.inf, 1e-9, 9.999999999999999e-05, 1e-7, -0.0]),
)
float_records = st.recursive(
    st.one_of(float_values, st.text(max_size=5), st.integers(), st.none()),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=4).map(tuple),
        st.dictionaries(st.text(max_size=5), children, max_size=4),
    ),
    max_leaves=12,
)


@settings(FUZZ, max_examples=400)
@given(float_records)
def test_float_fragments_encode_like_classic(record):
    fixed = encoding.floats_as_fragments(record)
    assert fixed is not None
    assert encode_record(record) == classic_encode_record(record)
    assert stream([record, record], batch_bytes=1 << 20)[0] == classic_dumps([record, record])


@settings(FUZZ, max_examples=200)
@given(st.one_of(records, risky_records))
def test_float_fragments_never_hide_other_problems(record):
    fixed = encoding.floats_as_fragments(record)
    if fixed is not None:
        array = encode_plain_records([fixed[0]])
        if array is not None:
            assert array == b"[\n" + classic_encode_record(record) + b"\n]"
    assert outcome(encode_record, record) == outcome(classic_encode_record, record)


@pytest.mark.parametrize("value", [MyFloat(1e-7), Colour.RED, nest(1e-7, 260)])
def test_float_fragments_refuse_anything_else(value):
    assert encoding.floats_as_fragments({"v": value}) is None


def test_float_fragments_leave_non_str_keys_to_orjson():
    # Kept as they are: orjson refuses them, and the record falls back whole.
    record = {"v": {1: 1e-7, None: math.nan}}
    fixed = encoding.floats_as_fragments(record)
    assert fixed is not None and encode_plain_records([fixed[0]]) is None
    assert encode_record(record) == classic_encode_record(record)


def test_fragment_record_keeps_its_own_fallback_inside_a_run():
    # orjson refuses the run (a lone surrogate); the float record is then encoded as itself.
    record_list = [{"x": 1e-7}, {"s": "\ud800"}]
    sink = io.BytesIO()
    writer = ManifestStreamWriter(sink)
    with pytest.raises(UnicodeEncodeError):
        writer.write_many(record_list)
    assert writer.records == 1
    writer.close()
    assert sink.getvalue() == classic_dumps(record_list[:1])


def test_small_floats_leave_no_garbage():
    import gc

    record_list = [{"pk": n, "fields": {"value": n * 1e-7, "nan": math.nan}} for n in range(1, 200)]
    gc.collect()
    gc.disable()
    try:
        before = gc.get_count()[0]
        data = stream(record_list, batch_bytes=1 << 20)[0]
        assert gc.collect() == 0, before
    finally:
        gc.enable()
    assert data == classic_dumps(record_list)
