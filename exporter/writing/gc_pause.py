"""Fewer cyclic garbage collections while a manifest streams.

A streamed batch holds a few thousand fresh containers (records, their ``fields`` dicts, id
lists) until it is written. With CPython's default thresholds that triggers young-generation
collections every few hundred records, promotes the batch to the older generations, and every
few batches a full collection walks every object of the process (Django's included): about 5%
of a streaming export, for garbage that reference counting frees anyway.

:func:`fewer_collections` raises the young-generation threshold for the duration of a block,
so that batches come and go between collections; growth that does outlive the batches is still
collected, just less often. The previous thresholds are restored afterwards.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["fewer_collections"]

# Net new containers before a young collection: well above a batch of records in flight.
_YOUNG_THRESHOLD = 200_000


_lock = threading.Lock()
_depth = 0
_saved: tuple[int, ...] = ()


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Within the block, collect cycles only after ``_YOUNG_THRESHOLD`` new containers.

    Blocks may nest or run in several threads at once: the first to enter saves the
    thresholds, the last to leave restores them.
    """
    global _depth, _saved
    with _lock:
        if _depth == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(max(_saved[0], _YOUNG_THRESHOLD), *_saved[1:])
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                gc.set_threshold(*_saved)
