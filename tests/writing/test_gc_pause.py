"""fewer_collections: the garbage collector's thresholds raised for a block, then restored."""

import gc
import threading

import pytest

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
