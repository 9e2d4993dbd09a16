"""KeyedSpill gives back every key and value as it went in, value and type, in order."""

from __future__ import annotations

import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.records.spill import KeyedSpill
from tests.helpers.manifests import FUZZ, INT_EDGES

UTC = datetime.UTC

# What Django reads from key columns: sqlite3 stores none of these but ints and strings as they
# are, and gives dates, datetimes, decimals and booleans back as text or ints.
keys = st.one_of(
    st.integers(),
    st.sampled_from(INT_EDGES),
    st.text(max_size=8),
    st.booleans(),
    st.uuids(),
    st.decimals(allow_nan=False, places=4),
    st.dates(),
    st.datetimes(timezones=st.just(UTC)),
    st.times(),
    st.timedeltas(),
    st.floats(allow_nan=False),
    st.binary(max_size=8),
)


def typed(rows):
    return [tuple((type(value), repr(value)) for value in row) for row in rows]


@settings(FUZZ, max_examples=200)
@given(
    rows=st.lists(st.tuples(keys, keys), max_size=30),
    wanted=st.lists(keys, max_size=5),
    split=st.integers(0, 30),
)
def test_keys_and_values_come_back_as_they_went_in(rows, wanted, split):
    spill = KeyedSpill()
    try:
        spill.extend(rows[:split])
        spill.extend(iter(rows[split:]))
        spill.seal()
        asked = [key for key, _ in rows[::2]] + wanted
        # Equal keys of one type: a key is its type and value (1, 1.0 and True are three).
        chosen = {(type(key), repr(key)) for key in asked}
        expected = [row for row in rows if (type(row[0]), repr(row[0])) in chosen]
        assert typed(spill.lookup(asked)) == typed(expected)
    finally:
        spill.close()


def test_native_columns_are_stored_as_they_are():
    rows = [(2**63 - 1, "b"), (-(2**63), b"\x80\x05bytes"), (2**63 - 1, "")]
    spill = KeyedSpill(native_keys=True, native_values=True)
    try:
        spill.extend(iter(rows))
        spill.seal()
        assert list(spill.lookup([2**63 - 1, -(2**63), 5])) == rows
    finally:
        spill.close()
