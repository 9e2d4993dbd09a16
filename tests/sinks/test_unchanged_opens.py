"""
An unchanged file costs an incremental run one stat of each side: neither the source nor the
exported copy is opened (audited with Python's "open" audit event, which both ``open()`` and
``os.open()`` raise).
"""

import os
import sys

from exporter.sinks import DirectorySink

_opened: list[str] | None = None


def _audit(event: str, args: tuple) -> None:
    if event == "open" and _opened is not None and isinstance(args[0], str | os.PathLike):
        _opened.append(os.fspath(args[0]))


# Audit hooks cannot be removed: this one records only while a test asks it to.
sys.addaudithook(_audit)


def add_all(target, source) -> tuple[list[str], list[str]]:
    """Add every file of ``source`` to a new run into ``target``; return the outcomes and the
    paths opened while adding them."""
    global _opened
    with DirectorySink(target) as sink:
        _opened = []
        try:
            outcomes = [sink.add_file(relpath, path) for relpath, path in source.items()]
            opened = _opened
        finally:
            _opened = None
    return outcomes, opened


def test_an_unchanged_file_is_settled_without_opening_either_side(target, source):
    outcomes, opened = add_all(target, source)
    assert outcomes == ["copied"] * 3
    sources = {os.fspath(path) for path in source.values()}
    # A first run opens each source once, to copy it.
    assert sorted(path for path in opened if path in sources) == sorted(sources)

    outcomes, opened = add_all(target, source)
    assert outcomes == ["skipped"] * 3
    assert opened == []


def test_a_changed_file_is_opened_and_copied(target, source):
    add_all(target, source)
    changed = source["originals/0002.txt"]
    changed.write_bytes(b"other text\n")
    outcomes, opened = add_all(target, source)
    assert outcomes == ["skipped", "skipped", "copied"]
    assert os.fspath(changed) in opened
    assert (target / "originals/0002.txt").read_bytes() == b"other text\n"
