"""Comparing an export of ours with what the oracle says paperless-ngx writes."""

from __future__ import annotations

import json
from pathlib import Path

#: The top-level keys of a record that name an exported file.
NAME_KEYS = (
    "__exported_file_name__",
    "__exported_thumbnail_name__",
    "__exported_archive_name__",
    "__exported_share_link_bundle_name__",
)


def first_difference(actual: bytes, expected: bytes, context: int = 120) -> str:
    """Where two byte strings first differ, with ``context`` bytes around it ("" if equal)."""
    if actual == expected:
        return ""
    offset = next(
        (i for i, (a, b) in enumerate(zip(actual, expected, strict=False)) if a != b),
        min(len(actual), len(expected)),
    )
    start = max(0, offset - context)
    line = expected[:offset].count(b"\n") + 1
    return (
        f"first difference at byte {offset} (line {line}); lengths {len(actual)} (ours) "
        f"vs {len(expected)} (oracle)\n"
        f"ours:   {actual[start : offset + context]!r}\n"
        f"oracle: {expected[start : offset + context]!r}"
    )


def assert_same_bytes(actual: bytes, expected: bytes) -> None:
    """``actual`` is ``expected`` byte for byte; otherwise say where they part."""
    difference = first_difference(actual, expected)
    assert not difference, difference


def exported_names(manifest: bytes) -> list[str]:
    """Every file name a manifest's records give, in record order."""
    return [record[key] for record in json.loads(manifest) for key in NAME_KEYS if key in record]


def assert_files_copied(target: Path, names: list[str], sources: dict[str, str]) -> None:
    """Each named file is in ``target`` with the bytes of its media source."""
    assert names, "the export names no file"
    assert sorted(names) == sorted(sources), "the oracle names other files"
    for name in names:
        copied = target / name
        assert copied.is_file(), f"{name} was not exported"
        assert copied.read_bytes() == Path(sources[name]).read_bytes(), f"{name} differs"
