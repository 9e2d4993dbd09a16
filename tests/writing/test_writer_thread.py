"""AtomicFile(background=True) and its writer thread."""

import errno
import hashlib
import threading

import pytest

from exporter.writing.atomic import AtomicFile, write_manifest
from exporter.writing.encoding import classic_dumps
from exporter.writing.writer_thread import WriterThread

RECORDS = [{"model": "m", "pk": pk, "fields": {"text": "é" * (pk % 300)}} for pk in range(3000)]


def listing(directory):
    return sorted(path.name for path in directory.iterdir())


def test_background_file_has_the_same_bytes_and_digest(tmp_path):
    chunks = [bytes([n % 256]) * (n * 37 % 5000) for n in range(400)]
    with AtomicFile(tmp_path / "a.bin", background=True) as background:
        for chunk in chunks:
            background.write(chunk)
        middle = background.hexdigest()
    with AtomicFile(tmp_path / "b.bin") as plain:
        for chunk in chunks:
            plain.write(chunk)
    content = b"".join(chunks)
    assert (tmp_path / "a.bin").read_bytes() == content
    assert background.result.sha256 == plain.result.sha256 == hashlib.sha256(content).hexdigest()
    assert middle == background.result.sha256
    assert background.result.bytes_written == len(content)


def test_mutable_buffers_are_copied_before_they_wait(tmp_path):
    buffer = bytearray(b"first")
    with AtomicFile(tmp_path / "a.bin", background=True) as sink:
        sink.write(buffer)
        buffer[:] = b"XXXXX"
        sink.write(memoryview(b"second"))
    assert (tmp_path / "a.bin").read_bytes() == b"firstsecond"


def test_write_manifest_streams_through_the_thread(tmp_path):
    result = write_manifest(tmp_path / "manifest.json", iter(RECORDS), background=True)
    expected = classic_dumps(RECORDS)
    assert (tmp_path / "manifest.json").read_bytes() == expected
    assert result.sha256 == hashlib.sha256(expected).hexdigest()
    assert (result.records, result.bytes_written) == (len(RECORDS), len(expected))
    assert not any(t.name == "manifest-writer" for t in threading.enumerate())


class FailingFile:
    """Fails on the nth write, like a disk that fills up."""

    def __init__(self, real, fail_at: int):
        self.real = real
        self.fail_at = fail_at
        self.writes = 0

    def write(self, data):
        self.writes += 1
        if self.writes >= self.fail_at:
            raise OSError(errno.ENOSPC, "No space left on device")
        return self.real.write(data)

    def __getattr__(self, name):
        return getattr(self.real, name)


@pytest.mark.parametrize("fail_at", [1, 3])
def test_background_write_error_surfaces_and_cleans_up(tmp_path, fail_at):
    target = tmp_path / "data.bin"
    target.write_bytes(b"old")
    sink = AtomicFile(target, background=True)
    failing = FailingFile(sink._file, fail_at)
    sink._thread._file = failing
    with pytest.raises(OSError) as raised:
        for _ in range(50):
            sink.write(b"x" * 1000)
        sink.commit()
    assert raised.value.errno == errno.ENOSPC
    assert failing.writes == fail_at  # nothing written after the failure
    assert target.read_bytes() == b"old"
    assert listing(tmp_path) == ["data.bin"]
    with pytest.raises(ValueError):
        sink.write(b"more")


def test_failing_iteration_aborts_with_chunks_in_flight(tmp_path):
    target = tmp_path / "manifest.json"
    target.write_bytes(b"old")

    def generate():
        yield from RECORDS
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        write_manifest(target, generate(), background=True)
    assert target.read_bytes() == b"old"
    assert listing(tmp_path) == ["manifest.json"]
    assert not any(t.name == "manifest-writer" for t in threading.enumerate())


def test_cancel_drops_what_is_queued():
    written = []
    release = threading.Event()

    class Slow:
        def write(self, data):
            release.wait()
            written.append(data)

    thread = WriterThread(Slow(), hashlib.sha256())
    thread.write(b"a")
    thread.write(b"b")
    release.set()
    thread.cancel()
    assert written in ([], [b"a"], [b"a", b"b"])
    thread.cancel()


def test_spare_core_follows_the_load(monkeypatch):
    import os

    from exporter.writing import atomic

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.4, 0.0, 0.0))
    assert atomic.spare_core()
    monkeypatch.setattr(os, "getloadavg", lambda: (1.9, 0.0, 0.0))
    assert not atomic.spare_core()
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert not atomic.spare_core()


@pytest.mark.parametrize("background", [True, False])
def test_write_manifest_same_bytes_with_or_without_thread(tmp_path, background):
    result = write_manifest(tmp_path / "m.json", RECORDS, background=background)
    assert (tmp_path / "m.json").read_bytes() == classic_dumps(RECORDS)
    assert result.sha256 == hashlib.sha256(classic_dumps(RECORDS)).hexdigest()


def test_thread_syncs_as_it_goes_and_reports_a_failing_sync(tmp_path, monkeypatch):
    from exporter.writing import writer_thread

    synced: list[int] = []
    monkeypatch.setattr(writer_thread, "_SYNC_BYTES", 10_000)
    monkeypatch.setattr(writer_thread, "_fdatasync", synced.append)
    with AtomicFile(tmp_path / "a.bin", background=True) as sink:
        for _ in range(10):
            sink.write(b"x" * 4_000)
    assert len(synced) == 3
    assert (tmp_path / "a.bin").read_bytes() == b"x" * 40_000

    def failing(fd):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(writer_thread, "_fdatasync", failing)
    target = tmp_path / "b.bin"
    sink = AtomicFile(target, background=True)
    with pytest.raises(OSError) as raised:
        for _ in range(10):
            sink.write(b"x" * 4_000)
        sink.commit()
    assert raised.value.errno == errno.EIO
    assert listing(tmp_path) == ["a.bin"]
