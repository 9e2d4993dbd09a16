"""The names a sink has written are kept on disk (exporter.sinks.ledger): memory stays flat."""

import os
import pathlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.sinks import DirectorySink, ZipSink
from exporter.sinks.ledger import FILE, NAME_FILTER_BITS, Ledger
from tests.helpers.files import make


@pytest.mark.parametrize("kind", ["directory", "zip"])
def test_memory_stays_flat_with_many_entries(tmp_path, monkeypatch, kind):
    tracemalloc = pytest.importorskip("tracemalloc")
    monkeypatch.setattr(os, "fsync", lambda fd: None)  # speed: durability is not under test
    small = make(tmp_path / "small.txt", b"x")
    out = tmp_path / "out"
    out.mkdir()
    sink = DirectorySink(out) if kind == "directory" else ZipSink(out, "export")

    def add(first, count):
        for number in range(first, first + count):
            sink.add_file(f"d{number % 7}/{number:07d}-a-longish-document-file-name.txt", small)

    add(0, 200)  # warm up caches and the ledger's page cache
    # pathlib interns every name part; the interpreter's intern table then resizes now and then,
    # a one-off allocation that depends on what ran before, not on the sink.
    not_interning = [tracemalloc.Filter(False, pathlib.__file__)]
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot().filter_traces(not_interning)
        add(200, 2_000)
        after = tracemalloc.take_snapshot().filter_traces(not_interning)
        grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    finally:
        tracemalloc.stop()
    sink.commit()
    # Kept per entry, 2,000 entries would take about a megabyte.
    assert grown < 200_000


def reference_conflict(written: list[str], relpath: str) -> str | None:
    """What clashes with ``relpath``, from the list of names written: the rule itself."""
    parts = relpath.split("/")
    if relpath in written:
        return relpath
    for depth in range(1, len(parts)):
        if "/".join(parts[:depth]) in written:
            return "/".join(parts[:depth])
    if any(name.startswith(relpath + "/") for name in written):
        return f"{relpath}/..."
    return None


NAME_PARTS = st.sampled_from(["a", "b", "ab", "a0", "a.b", "a-", "é"])
RELPATHS = st.lists(NAME_PARTS, min_size=1, max_size=4).map("/".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(RELPATHS, max_size=30), st.sampled_from([8, 64, NAME_FILTER_BITS]))
def test_conflicts_are_found_whatever_the_filters_say(relpaths, filter_bits):
    ledger = Ledger(filter_bits)
    written: list[str] = []
    try:
        for relpath in relpaths:
            clash = ledger.conflict(relpath, tuple(relpath.split("/")))
            assert clash == reference_conflict(written, relpath)
            if clash is None:
                ledger.record(relpath, FILE, True)
                written.append(relpath)
        assert [name for name, _, _ in ledger.names()] == written
    finally:
        ledger.close()


def test_a_name_never_written_costs_no_query():
    ledger = Ledger()
    try:
        for number in range(500):
            ledger.record(f"originals/{number:07d}.pdf", FILE, True)
        statements = []
        ledger.db.set_trace_callback(statements.append)
        for number in range(500, 1000):
            assert (
                ledger.conflict(f"originals/{number:07d}.pdf", ("originals", f"{number:07d}.pdf"))
                is None
            )
        # Neither the names nor "originals" as a name nor anything under the names: the filters
        # answer all three questions of each (a rare false "maybe" is asked).
        assert len(statements) < 10
        assert ledger.conflict("originals", ("originals",)) == "originals/..."
    finally:
        ledger.close()


@pytest.mark.parametrize("filter_bits", [8, NAME_FILTER_BITS])
def test_thousands_of_names_are_all_found(filter_bits):
    ledger = Ledger(filter_bits)
    try:
        names = [f"d{number % 3}/{number:05d}.pdf" for number in range(2_500)]
        for name in names:
            ledger.record(name, FILE, False)
            assert ledger.contains(name)
        assert all(ledger.conflict(name, tuple(name.split("/"))) == name for name in names)
        assert ledger.conflict("d1", ("d1",)) == "d1/..."
        rows = ledger.db.execute("SELECT count(*) FROM names").fetchone()
        assert rows == (2_500,)
        assert [name for name, _, _ in ledger.names()] == names
    finally:
        ledger.close()
