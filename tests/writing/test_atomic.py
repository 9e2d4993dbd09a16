"""
Atomic replacement of the manifest: the old file survives every failure, and no temporary file is
left behind.
"""

import errno
import hashlib
import os
import stat

import pytest

from exporter.writing import atomic
from exporter.writing.atomic import AtomicFile, CommitResult, ManifestResult, write_manifest
from exporter.writing.encoding import classic_dumps

OLD_MTIME_NS = 1_000_000_000 * 10**9

RECORDS = [
    {"model": "documents.tag", "pk": pk, "fields": {"name": f"tag {pk} 😀"}} for pk in range(5)
]


def listing(directory):
    return sorted(path.name for path in directory.iterdir())


def age(path):
    os.utime(path, ns=(OLD_MTIME_NS, OLD_MTIME_NS))


def big_records(count):
    # Several MiB, so that the writer has flushed batches to the temporary file before failing.
    for pk in range(count):
        yield {"pk": pk, "content": "x" * 8_000}


class Boom(Exception):
    pass


def failing(records, after):
    for index, record in enumerate(records):
        if index == after:
            raise Boom
        yield record


def test_new_target_is_created(tmp_path):
    target = tmp_path / "manifest.json"
    result = write_manifest(target, RECORDS)
    expected = classic_dumps(RECORDS)
    assert target.read_bytes() == expected
    assert result == ManifestResult(
        path=target,
        sha256=hashlib.sha256(expected).hexdigest(),
        bytes_written=len(expected),
        changed=True,
        records=len(RECORDS),
    )
    assert listing(tmp_path) == ["manifest.json"]


def test_empty_record_list_writes_empty_array(tmp_path):
    target = tmp_path / "manifest.json"
    result = write_manifest(target, iter([]))
    assert target.read_bytes() == b"[]"
    assert (result.records, result.bytes_written, result.changed) == (0, 2, True)
    assert result.sha256 == hashlib.sha256(b"[]").hexdigest()


def test_generator_of_batches_streams(tmp_path):
    target = tmp_path / "manifest.json"
    batches = [RECORDS[:2], RECORDS[2:], []]
    result = write_manifest(target, (record for batch in batches for record in batch))
    assert target.read_bytes() == classic_dumps(RECORDS)
    assert result.records == len(RECORDS)


@pytest.mark.parametrize("after", [0, 3, 700])
def test_exception_mid_stream_keeps_previous_file(tmp_path, after):
    target = tmp_path / "manifest.json"
    target.write_bytes(b"previous manifest")
    age(target)
    with pytest.raises(Boom):
        write_manifest(target, failing(big_records(1_000), after))
    assert target.read_bytes() == b"previous manifest"
    assert target.stat().st_mtime_ns == OLD_MTIME_NS
    assert listing(tmp_path) == ["manifest.json"]


def test_unencodable_record_keeps_previous_file(tmp_path):
    target = tmp_path / "manifest.json"
    target.write_bytes(b"previous manifest")
    records = [*big_records(300), {"bad": object()}]
    with pytest.raises(TypeError):
        write_manifest(target, records)
    assert target.read_bytes() == b"previous manifest"
    assert listing(tmp_path) == ["manifest.json"]


def test_failure_without_previous_file_leaves_nothing(tmp_path):
    with pytest.raises(Boom):
        write_manifest(tmp_path / "manifest.json", failing(big_records(500), 400))
    assert listing(tmp_path) == []


def test_compare_unchanged_keeps_file_and_mtime(tmp_path):
    target = tmp_path / "manifest.json"
    first = write_manifest(target, RECORDS)
    age(target)
    inode = target.stat().st_ino
    second = write_manifest(target, RECORDS, compare=True)
    assert second.changed is False
    assert second.sha256 == first.sha256
    assert second.bytes_written == first.bytes_written
    assert target.stat().st_mtime_ns == OLD_MTIME_NS
    assert target.stat().st_ino == inode
    assert listing(tmp_path) == ["manifest.json"]


def test_compare_changed_replaces(tmp_path):
    target = tmp_path / "manifest.json"
    write_manifest(target, RECORDS)
    age(target)
    changed = [*RECORDS, {"pk": 99}]
    result = write_manifest(target, changed, compare=True)
    assert result.changed is True
    assert target.read_bytes() == classic_dumps(changed)
    assert target.stat().st_mtime_ns != OLD_MTIME_NS
    assert listing(tmp_path) == ["manifest.json"]


def test_compare_same_size_different_bytes_replaces(tmp_path):
    target = tmp_path / "manifest.json"
    write_manifest(target, [{"name": "aaaa"}])
    age(target)
    result = write_manifest(target, [{"name": "bbbb"}], compare=True)
    assert result.changed is True
    assert target.read_bytes() == classic_dumps([{"name": "bbbb"}])


def test_compare_with_missing_target_creates(tmp_path):
    target = tmp_path / "manifest.json"
    assert write_manifest(target, RECORDS, compare=True).changed is True
    assert target.read_bytes() == classic_dumps(RECORDS)


def test_without_compare_same_content_is_rewritten(tmp_path):
    target = tmp_path / "manifest.json"
    write_manifest(target, RECORDS)
    age(target)
    assert write_manifest(target, RECORDS).changed is True
    assert target.stat().st_mtime_ns != OLD_MTIME_NS


def test_compare_reads_large_targets_in_chunks(tmp_path):
    target = tmp_path / "manifest.json"
    records = list(big_records(400))  # about 3 MiB: several read chunks
    write_manifest(target, records)
    age(target)
    assert write_manifest(target, records, compare=True).changed is False
    assert target.stat().st_mtime_ns == OLD_MTIME_NS


def test_atomic_file_context_manager(tmp_path):
    target = tmp_path / "data.bin"
    with AtomicFile(target) as sink:
        sink.write(b"hello ")
        sink.write(b"world")
        # Nothing is visible at the target before the commit.
        assert not target.exists()
        assert sink.temp_path.name.startswith(".data.bin.")
        assert sink.temp_path.name.endswith(".tmp")
        assert sink.temp_path.parent == tmp_path
    assert target.read_bytes() == b"hello world"
    assert sink.result == CommitResult(
        path=target,
        sha256=hashlib.sha256(b"hello world").hexdigest(),
        bytes_written=11,
        changed=True,
    )


def test_atomic_file_aborts_on_exception(tmp_path):
    target = tmp_path / "data.bin"
    target.write_bytes(b"old")
    with pytest.raises(Boom), AtomicFile(target) as sink:
        sink.write(b"new")
        raise Boom
    assert sink.result is None
    assert target.read_bytes() == b"old"
    assert listing(tmp_path) == ["data.bin"]


def test_abort_is_idempotent_and_final(tmp_path):
    sink = AtomicFile(tmp_path / "data.bin")
    sink.write(b"x")
    sink.abort()
    sink.abort()
    assert listing(tmp_path) == []
    with pytest.raises(ValueError):
        sink.write(b"y")
    with pytest.raises(ValueError):
        sink.commit()


def test_commit_twice_is_refused(tmp_path):
    sink = AtomicFile(tmp_path / "data.bin")
    sink.commit()
    with pytest.raises(ValueError):
        sink.commit()
    # Aborting after a commit does nothing.
    sink.abort()
    assert (tmp_path / "data.bin").read_bytes() == b""


def test_write_error_propagates_and_removes_temp(tmp_path):
    target = tmp_path / "data.bin"
    target.write_bytes(b"old")
    sink = AtomicFile(target)

    class FullDisk:
        closed = False

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        def close(self):
            # Flushing a full disk fails again on close: that must not mask the first error.
            self.closed = True
            raise OSError(errno.ENOSPC, "No space left on device")

    real_file = sink._file
    sink._file = FullDisk()
    try:
        with pytest.raises(OSError) as raised:
            sink.write(b"data")
    finally:
        real_file.close()
    assert raised.value.errno == errno.ENOSPC
    assert target.read_bytes() == b"old"
    assert listing(tmp_path) == ["data.bin"]


@pytest.mark.parametrize("failing_call", ["fsync", "replace"])
def test_commit_error_removes_temp_and_keeps_target(tmp_path, monkeypatch, failing_call):
    target = tmp_path / "manifest.json"
    target.write_bytes(b"old")

    def fail(*args, **kwargs):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(atomic.os, failing_call, fail)
    with pytest.raises(OSError) as raised:
        write_manifest(target, RECORDS)
    monkeypatch.undo()
    assert raised.value.errno == errno.EIO
    assert target.read_bytes() == b"old"
    assert listing(tmp_path) == ["manifest.json"]


def test_compare_read_error_removes_temp(tmp_path, monkeypatch):
    target = tmp_path / "manifest.json"
    write_manifest(target, RECORDS)

    def fail(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(atomic, "_has_content", fail)
    with pytest.raises(PermissionError):
        write_manifest(target, RECORDS, compare=True)
    monkeypatch.undo()
    assert target.read_bytes() == classic_dumps(RECORDS)
    assert listing(tmp_path) == ["manifest.json"]


def test_new_file_gets_default_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        write_manifest(tmp_path / "manifest.json", RECORDS)
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "manifest.json").stat().st_mode) == 0o644


def test_replaced_file_keeps_permissions(tmp_path):
    target = tmp_path / "manifest.json"
    target.write_bytes(b"old")
    target.chmod(0o640)
    write_manifest(target, RECORDS)
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert target.read_bytes() == classic_dumps(RECORDS)
