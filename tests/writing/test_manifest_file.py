"""A manifest streamed into a file and into a sink's JSON entry: the one write path.

The bytes are the classic encoder's, the digests are those of the bytes, and a stream that fails
leaves the previous manifest whole and no temporary file behind.
"""

import hashlib
import os

import pytest

from exporter.sinks import DirectorySink
from exporter.stream_writer import ManifestStreamWriter
from exporter.writing.encoding import classic_dumps

RECORDS = [
    {"model": "documents.tag", "pk": pk, "fields": {"name": f"tag {pk} 😀"}} for pk in range(5)
]
OLD_NS = 1_000_000_000 * 10**9


class Boom(Exception):
    """The failure of a record source."""


def big_records(count):
    # Several MiB, so that the writer has handed batches to the entry before a failure.
    for pk in range(count):
        yield {"pk": pk, "content": "x" * 8_000}


def failing(records, after):
    for index, record in enumerate(records):
        if index == after:
            raise Boom
        yield record


def stream_into_sink(target, records, *, compare=False):
    """Stream ``records`` as ``manifest.json`` into a directory sink, as the exporter does."""
    with DirectorySink(target) as sink:
        entry = sink.open_json("manifest.json", compare=compare)
        writer = ManifestStreamWriter(entry, checksum=False)
        writer.write_many(records)
        writer.close()
        entry.close()
    return writer, entry


def temporaries(root):
    return sorted(path.name for path in root.rglob("*.tmp"))


@pytest.fixture
def target(tmp_path):
    path = tmp_path / "export"
    path.mkdir()
    return path


def test_file_holds_the_classic_bytes_and_its_digest(tmp_path):
    path = tmp_path / "manifest.json"
    with open(path, "wb") as file, ManifestStreamWriter(file) as writer:
        writer.write_many(iter(RECORDS))
    expected = classic_dumps(RECORDS)
    assert path.read_bytes() == expected
    assert writer.hexdigest() == hashlib.sha256(expected).hexdigest()
    assert (writer.records, writer.bytes_written) == (len(RECORDS), len(expected))


@pytest.mark.parametrize(
    "records", [[], RECORDS, list(big_records(400))], ids=["empty", "small", "big"]
)
def test_sink_entry_holds_the_classic_bytes_and_its_digest(target, records):
    writer, entry = stream_into_sink(target, records)
    expected = classic_dumps(records)
    assert (target / "manifest.json").read_bytes() == expected
    assert entry.hexdigest() == hashlib.sha256(expected).hexdigest()
    assert entry.bytes_written == writer.bytes_written == len(expected)
    assert writer.records == len(records)
    assert temporaries(target) == []


def test_batches_of_a_generator_stream_like_one_list(target):
    batches = [RECORDS[:2], RECORDS[2:], []]
    stream_into_sink(target, (record for batch in batches for record in batch))
    assert (target / "manifest.json").read_bytes() == classic_dumps(RECORDS)


@pytest.mark.parametrize("after", [0, 3, 700])
def test_failing_source_keeps_the_previous_manifest(target, after):
    stream_into_sink(target, RECORDS)
    previous = (target / "manifest.json").read_bytes()
    with pytest.raises(Boom):
        stream_into_sink(target, failing(big_records(1_000), after))
    assert (target / "manifest.json").read_bytes() == previous
    assert temporaries(target) == []


def test_unencodable_record_keeps_the_previous_manifest(target):
    stream_into_sink(target, RECORDS)
    previous = (target / "manifest.json").read_bytes()
    with pytest.raises(TypeError):
        stream_into_sink(target, [*big_records(300), {"bad": object()}])
    assert (target / "manifest.json").read_bytes() == previous
    assert temporaries(target) == []


def test_compare_keeps_an_unchanged_manifest_and_replaces_a_changed_one(target):
    records = list(big_records(400))  # several read chunks to compare
    stream_into_sink(target, records)
    manifest = target / "manifest.json"
    inode = manifest.stat().st_ino
    os.utime(manifest, ns=(OLD_NS, OLD_NS))
    _, entry = stream_into_sink(target, records, compare=True)
    assert entry.changed is False
    assert (manifest.stat().st_mtime_ns, manifest.stat().st_ino) == (OLD_NS, inode)
    changed = [*records[:-1], {"pk": 399, "content": "y" * 8_000}]
    _, entry = stream_into_sink(target, changed, compare=True)
    assert entry.changed is True
    assert manifest.read_bytes() == classic_dumps(changed)
