"""SIGINT and SIGTERM as exceptions, so that a stopped run goes through its clean-up.

A command installs :func:`signals_raise` around its work: a signal then raises
:class:`Interrupted` (a ``KeyboardInterrupt``) in the main thread, and every ``with`` block and
``except BaseException`` clean-up on the way out runs, so that temporary files are removed and
locks released. Code that must not be cut half-way (the renames of a commit) runs under
:func:`deferred`: a signal that arrives there is kept and raised by the next :func:`check`, and
a second signal raises at once (the commit journal makes that safe). The library installs no
handler itself; without :func:`signals_raise` nothing changes.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["Interrupted", "check", "deferred", "pending", "signals_raise"]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_depth = 0
_pending: int | None = None


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal; ``exit_code`` is the shell's 128 + signal number."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.exit_code = 128 + signum


def _raise(signum: int, frame: object) -> None:
    global _pending
    if _depth and _pending is None:
        _pending = signum
        return
    raise Interrupted(signum)


@contextmanager
def signals_raise() -> Iterator[None]:
    """Make SIGINT and SIGTERM raise :class:`Interrupted` inside the block (main thread only)."""
    global _pending
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.signal(number, _raise) for number in _SIGNALS}
    _pending = None
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


@contextmanager
def deferred() -> Iterator[None]:
    """Hold a signal that arrives inside the block until the next :func:`check`."""
    global _depth
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1


def pending() -> int | None:
    """The number of a signal held by :func:`deferred` and not raised yet, or None."""
    return _pending


def check() -> None:
    """Raise :class:`Interrupted` for a signal held by :func:`deferred`, outside of one."""
    global _pending
    if _pending is not None and not _depth:
        signum, _pending = _pending, None
        raise Interrupted(signum)
