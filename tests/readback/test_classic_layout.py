"""The classic-layout reader against its oracle, ``ijson.items``, its Decimals made floats.

Every manifest hypothesis makes, in the classic layout or another, whole or cut or damaged,
reads to the same records and fails (if it does) after the same records with the same error.
"""

from __future__ import annotations

import io
import json
from unittest import mock

import ijson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.readback import classic_layout
from exporter.readback.classic_layout import read_float_records
from exporter.readback.reading import read_records

# Text that looks like the layout's own separator, or breaks it.
TRICKY_TEXT = st.sampled_from(["\n  },\n  {", "  },", "}", "{", "\\", '"', "é", "\u2028", "😀"])
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | TRICKY_TEXT
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=12,
)
RECORDS = st.lists(
    st.fixed_dictionaries(
        {
            "model": st.text(max_size=10),
            "pk": SCALARS,
            "fields": st.dictionaries(st.text(max_size=8), VALUES, max_size=5),
        }
    )
    | VALUES,
    max_size=6,
)
LAYOUTS = st.sampled_from(
    [
        lambda records: json.dumps(records, indent=2, ensure_ascii=False),
        lambda records: json.dumps(records, indent=2),
        lambda records: json.dumps(records),
        lambda records: json.dumps(records, indent=4),
        lambda records: json.dumps(records, indent=2) + "\n",
    ]
)


class ShortReads(io.BytesIO):
    """A stream that returns at most ``most`` bytes a read, as a network stream may."""

    def __init__(self, data: bytes, most: int) -> None:
        super().__init__(data)
        self.most = most

    def read(self, size: int = -1) -> bytes:
        if size < 0 or size > self.most:
            size = self.most
        return super().read(size)


def outcome(records_of):
    """The records read, and the error's type and kind ("parse error", "lexical error"...),
    if reading failed (the excerpt of the text it shows depends on where ijson's buffer
    starts)."""
    records = []
    try:
        for record in records_of():
            records.append(record)
    except Exception as exc:  # noqa: BLE001 - the error is what is compared
        return records, type(exc), str(exc).lstrip("b'\"").partition(":")[0]
    return records, None, None


def ijson_floats(data: bytes):
    """The oracle: ijson's records, each Decimal a float (json's own conversion)."""
    for record in ijson.items(io.BytesIO(data), "item"):
        yield json.loads(json.dumps(record, default=float))


def damaged(data: bytes, how: int, where: int) -> bytes:
    """``data`` cut, or with a byte changed or a key repeated, at ``where``."""
    if not data or how == 0:
        return data
    where %= len(data)
    if how == 1:
        return data[:where]
    if how == 2:
        return data[:where] + b"x" + data[where + 1 :]
    if how == 3:
        return data.replace(b'"pk": ', b'"pk": 1, "pk": ', 1)
    return data[:where] + b"\n  },\n  {" + data[where:]


@settings(max_examples=400, deadline=None)
@given(
    RECORDS,
    LAYOUTS,
    st.integers(min_value=0, max_value=4),
    st.integers(min_value=0),
    st.sampled_from([1, 3, 9, 64, 1 << 20]),
)
def test_it_reads_what_ijson_reads(records, layout, how, where, read_size):
    data = damaged(layout(records).encode("utf-8", "surrogatepass"), how, where)
    expected = outcome(lambda: ijson_floats(data))
    with mock.patch.object(classic_layout, "READ_SIZE", read_size):
        got = outcome(lambda: read_float_records(ShortReads(data, read_size)))
    assert got == expected


def test_a_classic_manifest_is_parsed_without_ijson():
    records = [
        {"model": "a.b", "pk": pk, "fields": {"x": 0.5, "n": "\n  },\n  {"}} for pk in range(50)
    ]
    data = json.dumps(records, indent=2, ensure_ascii=False).encode()
    with mock.patch.object(classic_layout.ijson, "items", side_effect=AssertionError("ijson used")):
        assert list(read_records(io.BytesIO(data), use_float=True)) == records


def test_a_record_larger_than_the_reads_is_read_whole():
    big = "x" * 3000
    records = [
        {"model": "a.b", "pk": 1, "fields": {"content": big}},
        {"model": "a.b", "pk": 2, "fields": {}},
    ]
    data = json.dumps(records, indent=2).encode()
    reads = []
    stream = io.BytesIO(data)
    original = stream.read

    def read(size=-1):
        reads.append(size)
        return original(size)

    stream.read = read
    with mock.patch.object(classic_layout, "READ_SIZE", 100):
        assert list(read_float_records(stream)) == records
    # A record past the read size doubles the next read: few reads, linear copies.
    assert len(reads) < 12


@pytest.mark.parametrize("text", ["[]", "[\n]", "", "[\n  {}\n]", "[\n  {},\n  {}\n]"])
def test_small_manifests(text):
    data = text.encode()
    assert outcome(lambda: read_float_records(io.BytesIO(data))) == outcome(
        lambda: ijson_floats(data)
    )


def test_without_use_float_numbers_are_decimals():
    data = json.dumps([{"model": "a.b", "pk": 1, "fields": {"x": 0.5}}], indent=2).encode()
    (record,) = read_records(io.BytesIO(data))
    assert type(record["fields"]["x"]).__name__ == "Decimal"
    (record,) = read_records(io.BytesIO(data), use_float=True)
    assert record["fields"]["x"] == 0.5 and type(record["fields"]["x"]) is float
