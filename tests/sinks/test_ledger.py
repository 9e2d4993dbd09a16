"""The names a sink has written are kept on disk (exporter.sinks.ledger): memory stays flat."""

import os
import pathlib

import pytest

from exporter.sinks import DirectorySink, ZipSink
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
