"""fewer_collections: the garbage collector's thresholds raised while held, then restored; and
the manifest writer that holds them while it streams."""

import errno
import gc
import io
import threading

import pytest

from exporter.stream_writer import ManifestStreamWriter
from exporter.writing.gc_pause import fewer_collections


def test_fewer_collections_restores_thresholds_even_on_error():
    before = gc.get_threshold()
    with pytest.raises(KeyError), fewer_collections():
        assert gc.get_threshold()[0] >= 200_000
        with fewer_collections():
            assert gc.get_threshold()[0] >= 200_000
        assert gc.get_threshold()[0] >= 200_000
        raise KeyError
    assert gc.get_threshold() == before


def test_fewer_collections_across_threads():
    before = gc.get_threshold()
    inside = threading.Barrier(2)
    leave = threading.Event()

    def hold():
        with fewer_collections():
            inside.wait()
            leave.wait()

    other = threading.Thread(target=hold)
    other.start()
    with fewer_collections():
        inside.wait()
    # The other thread is still inside: the raised threshold stays.
    assert gc.get_threshold()[0] >= 200_000
    leave.set()
    other.join()
    assert gc.get_threshold() == before


def test_release_is_idempotent():
    before = gc.get_threshold()
    first, second = fewer_collections(), fewer_collections()
    first.release()
    first.release()
    # The second hold is still taken: the first's releases must not count for it.
    assert gc.get_threshold()[0] >= 200_000 and second.held and not first.held
    second.release()
    assert gc.get_threshold() == before


def test_a_manifest_writer_holds_the_pause_until_it_closes():
    before = gc.get_threshold()
    main = ManifestStreamWriter(io.BytesIO())
    assert gc.get_threshold()[0] >= 200_000
    # A split manifest written while the main one is open, as the exporter does.
    with ManifestStreamWriter(io.BytesIO()) as split:
        split.write({"pk": 1})
    assert gc.get_threshold()[0] >= 200_000
    main.write_many([{"pk": 2}])
    main.close()
    assert gc.get_threshold() == before
    main.close()
    assert gc.get_threshold() == before


def test_a_failed_or_dropped_writer_gives_the_pause_back():
    before = gc.get_threshold()
    with pytest.raises(KeyError), ManifestStreamWriter(io.BytesIO()) as writer:
        writer.write({"pk": 1})
        raise KeyError
    assert gc.get_threshold() == before
    assert not writer.closed
    # An export that fails drops its writer unfinished, without a with block.
    dropped = ManifestStreamWriter(io.BytesIO())
    dropped.write({"pk": 1})
    del dropped
    assert gc.get_threshold() == before


def test_a_writer_whose_close_fails_gives_the_pause_back():
    class Full(io.BytesIO):
        def write(self, data):
            if data == b"\n]":
                raise OSError(errno.ENOSPC, "No space left on device")
            return super().write(data)

    before = gc.get_threshold()
    writer = ManifestStreamWriter(Full())
    writer.write({"pk": 1})
    with pytest.raises(OSError):
        writer.close()
    assert gc.get_threshold() == before and not writer.closed
