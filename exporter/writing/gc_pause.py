"""Fewer cyclic garbage collections while a manifest streams.

A streamed batch holds a few thousand fresh containers (records, their ``fields`` dicts, id
lists, the export names of its documents) until it is written. With CPython's default
thresholds that triggers young-generation collections every few hundred records, promotes the
batch to the older generations, and every few batches a full collection walks every object of
the process (Django's included), for garbage that reference counting frees anyway.

:func:`fewer_collections` raises the young-generation threshold while it is held, so that
batches come and go between collections; growth that does outlive the batches is still
collected, just less often. The previous thresholds are restored when the last hold is released.
:class:`exporter.stream_writer.ManifestStreamWriter` holds one from its creation to its close.
"""

from __future__ import annotations

import gc
import threading

__all__ = ["CollectionPause", "fewer_collections"]

# Net new containers before a young collection: well above a batch of records in flight.
_YOUNG_THRESHOLD = 200_000


_lock = threading.Lock()
_depth = 0
_saved: tuple[int, ...] = ()


class CollectionPause:
    """One hold on the raised threshold: taken when created, given back by :meth:`release`.

    Holds may overlap, nest or live in several threads at once: the first taken saves the
    thresholds, the last released restores them. Used as a context manager, the hold is
    released when the block exits, however it exits.
    """

    def __init__(self) -> None:
        global _depth, _saved
        with _lock:
            if _depth == 0:
                _saved = gc.get_threshold()
                gc.set_threshold(max(_saved[0], _YOUNG_THRESHOLD), *_saved[1:])
            _depth += 1
        self._held = True

    def __enter__(self) -> CollectionPause:
        return self

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None:
        self.release()

    @property
    def held(self) -> bool:
        """Whether this hold is still taken."""
        return self._held

    def release(self) -> None:
        """Give the hold back. Releasing again does nothing."""
        global _depth
        with _lock:
            if not self._held:
                return
            self._held = False
            _depth -= 1
            if _depth == 0:
                gc.set_threshold(*_saved)


def fewer_collections() -> CollectionPause:
    """Collect cycles only after ``_YOUNG_THRESHOLD`` new containers until the hold returned
    is released (or, as ``with fewer_collections():``, until the block exits)."""
    return CollectionPause()
