"""The walk of encode_record: what goes to orjson and what falls back to the classic encoder,
trigger by trigger."""

import collections
import datetime
import decimal
import math
import uuid

import orjson
import pytest

from exporter.writing import encoding
from exporter.writing.encoding import classic_dumps, classic_encode_record, encode_record
from tests.helpers.manifests import (
    UTC,
    Colour,
    Letter,
    MyFloat,
    MyInt,
    MyStr,
    Number,
    Pair,
    ReversedDict,
    ReversedList,
    lazy_str,
    nest,
    orjson_alone,
    streamed,
)

# --- the fallback, trigger by trigger -------------------------------------------------------


def assert_fallback_needed(value):
    """The walk sends ``value`` to the classic encoder, and orjson alone would get it wrong."""
    assert not encoding._is_plain(value, 0)
    expected = classic_encode_record(value)
    assert orjson_alone(value) != expected
    assert encode_record(value) == expected
    assert streamed([value]) == classic_dumps([value])


def assert_fast_path(value):
    """The walk lets ``value`` through to orjson, which encodes it like the classic encoder."""
    assert encoding._is_plain(value, 0)
    assert orjson_alone(value) == classic_encode_record(value) == encode_record(value)
    assert streamed([value]) == classic_dumps([value])


@pytest.mark.parametrize("value", [2**64, -(2**63) - 1, 10**40, -(10**40)])
def test_ints_beyond_64_bits_fall_back(value):
    assert_fallback_needed(value)
    assert_fallback_needed({"n": [value]})


@pytest.mark.parametrize("value", [0, 2**63 - 1, 2**63, 2**64 - 1, -(2**63), True, False])
def test_64_bit_ints_and_bools_take_the_fast_path(value):
    assert_fast_path({"n": value})


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_nan_and_infinity_fall_back(value):
    # orjson writes null, silently: catching its errors would not be enough.
    assert orjson.dumps(value) == b"null"
    assert_fallback_needed(value)
    assert_fallback_needed({"x": value})
    assert_fallback_needed([value])


@pytest.mark.parametrize(
    "value",
    [1e-9, 1.0000000000000002e-9, 1e-7, 1.5e-6, 1e-5, 2.5e-5, 9.999999999999999e-05],
)
def test_small_floats_in_exponent_range_fall_back(value):
    # "1e-07" against "1e-7", "1e-05" against "0.00001".
    assert_fallback_needed(value)
    assert_fallback_needed(-value)
    assert_fallback_needed({"x": [value]})


@pytest.mark.parametrize(
    "value",
    [
        0.0,
        -0.0,
        5e-324,
        1e-300,
        9.999999999999999e-10,
        1e-10,
        1e-4,
        0.00010000000000000002,
        0.1,
        1 / 3,
        1e15,
        9999999999999998.0,
        1e16,
        1.0000000000000002e16,
        1e22,
        1.5e300,
        1.7976931348623157e308,
    ],
)
def test_other_floats_take_the_fast_path(value):
    assert_fast_path({"x": value})
    assert_fast_path([-value])


def test_float_boundaries_are_exact():
    below_low = math.nextafter(1e-9, 0.0)
    below_high = math.nextafter(1e-4, 0.0)
    assert encoding._is_plain(below_low, 0) and encoding._is_plain(1e-4, 0)
    assert not encoding._is_plain(1e-9, 0) and not encoding._is_plain(below_high, 0)
    assert orjson_alone(below_low) == classic_encode_record(below_low)
    assert orjson_alone(below_high) != classic_encode_record(below_high)


@pytest.mark.parametrize("key", [1, -5, 1.5, math.nan, True, False, None])
def test_non_str_keys_fall_back(key):
    assert_fallback_needed({key: "value"})
    assert_fallback_needed({"a": {key: 1, "b": 2}})


def test_reordered_ordered_dict_falls_back():
    ordered = collections.OrderedDict(a=1, b=2)
    ordered.move_to_end("a")
    assert_fallback_needed(ordered)
    assert_fallback_needed({"x": ordered})
    # Even in insertion order an OrderedDict is sent to the fallback: the walk is by exact type.
    assert not encoding._is_plain(collections.OrderedDict(a=1), 0)
    assert encode_record(collections.OrderedDict(a=1)) == classic_encode_record({"a": 1})


def test_dict_and_list_subclasses_fall_back():
    assert_fallback_needed(ReversedDict(a=1, b=2))
    assert_fallback_needed(ReversedList([1, 2]))
    assert_fallback_needed(Pair(1, 2))


def test_float_subclass_falls_back():
    assert_fallback_needed(MyFloat(1.5))


@pytest.mark.parametrize("value", [MyStr("text"), MyInt(3), Number.ONE, Letter.A])
def test_str_and_int_subclasses_fall_back(value):
    # orjson happens to agree on these, but the walk is by exact type: anything that may
    # override how it prints goes to the classic encoder.
    assert not encoding._is_plain(value, 0)
    assert not encoding._is_plain({"v": value}, 0)
    assert encode_record(value) == classic_encode_record(value)
    assert streamed([{"v": value}]) == classic_dumps([{"v": value}])


def test_plain_enum_raises_like_classic():
    # orjson would happily write the value; the classic encoder refuses.
    assert orjson_alone(Colour.RED) == b"  1"
    assert not encoding._is_plain(Colour.RED, 0)
    with pytest.raises(TypeError):
        classic_dumps([Colour.RED])
    with pytest.raises(TypeError):
        encode_record(Colour.RED)


def test_tuples_take_the_fast_path():
    assert_fast_path((1, "a", (), ({"b": (2.5,)},)))


def test_nesting_beyond_orjson_limit_falls_back():
    assert_fast_path(nest(1, 251))
    # The walk keeps a margin below orjson's limit of 255 nested containers.
    for depth in (252, 254):
        assert not encoding._is_plain(nest(1, depth), 0)
        assert encode_record(nest(1, depth)) == classic_encode_record(nest(1, depth))
    for depth in (255, 300):
        assert isinstance(orjson_alone(nest(1, depth)), orjson.JSONEncodeError)
        assert_fallback_needed(nest(1, depth))


def test_absurd_nesting_raises_like_classic():
    value = nest(1, 50_000)
    with pytest.raises(RecursionError):
        classic_dumps([value])
    with pytest.raises(RecursionError):
        encode_record(value)
    with pytest.raises(RecursionError):
        streamed([value])


@pytest.mark.parametrize("value", ["\ud800", "a\udfff b", {"\udc00": 1}, ["ok", "\ud83d"]])
def test_lone_surrogates_raise_like_classic(value):
    # orjson refuses them; the classic json.dumps accepts them and then .encode("utf-8") fails.
    assert encoding._is_plain(value, 0)
    assert isinstance(orjson_alone(value), orjson.JSONEncodeError)
    with pytest.raises(UnicodeEncodeError):
        classic_dumps([value])
    with pytest.raises(UnicodeEncodeError):
        encode_record(value)


def test_aware_time_raises_like_classic():
    value = {"at": datetime.time(12, 30, tzinfo=UTC)}
    assert encoding._is_plain(value, 0)
    with pytest.raises(ValueError, match="timezone-aware times"):
        classic_dumps([value])
    with pytest.raises(ValueError, match="timezone-aware times"):
        encode_record(value)


@pytest.mark.parametrize("value", [b"bytes", {1, 2}, frozenset(), object(), 1j, bytearray()])
def test_unsupported_types_raise_like_classic(value):
    assert not encoding._is_plain({"v": value}, 0)
    with pytest.raises(TypeError):
        classic_dumps([{"v": value}])
    with pytest.raises(TypeError):
        encode_record({"v": value})


@pytest.mark.parametrize(
    "value",
    [
        datetime.datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=UTC),
        datetime.datetime(2024, 5, 1, 12, 30, 15, tzinfo=UTC),
        datetime.datetime(2024, 5, 1, 12, 30, 15, 999),
        datetime.datetime(
            2024, 5, 1, tzinfo=datetime.timezone(datetime.timedelta(hours=5, seconds=30))
        ),
        datetime.date(1, 1, 1),
        datetime.time(23, 59, 59, 999999),
        datetime.timedelta(days=-1, microseconds=5),
        decimal.Decimal("-0.000000001"),
        decimal.Decimal("NaN"),
        decimal.Decimal("1E+30"),
        uuid.UUID("12345678-1234-5678-1234-567812345678"),
        lazy_str("lazy \u2028 text"),
        "line\u2028separator \x85 next \x1c\x1d\x1e fields \x7f",
        "",
        {},
        [],
    ],
)
def test_django_types_take_the_fast_path(value):
    # orjson on its own formats datetimes differently: the passthrough to
    # DjangoJSONEncoder.default is what makes them match.
    assert_fast_path({"value": value})
    assert_fast_path(value)


def test_datetime_formatting_relies_on_passthrough():
    value = datetime.datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=UTC)
    assert orjson.dumps(value) == b'"2024-05-01T12:30:15.123456+00:00"'
    assert encode_record(value) == b'  "2024-05-01T12:30:15.123Z"'


def test_fallback_slice_is_one_record():
    record = {"a": [1, {"b": "\u2028"}], "c": {}}
    assert b"[\n" + classic_encode_record(record) + b"\n]" == classic_dumps([record])
