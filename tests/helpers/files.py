"""Files on disk for the sink and writer tests: made with a chosen age, and listed."""

from __future__ import annotations

import os
from pathlib import Path

from exporter.format import is_tool_file
from exporter.sinks import DirectorySink
from exporter.sinks.file_list import FILE_LIST_NAME

#: An mtime well in the past (2017), in nanoseconds.
OLD_NS = 1_500_000_000 * 10**9

#: A file size of three read chunks.
BIG = 2 * 1024 * 1024 + 12_345


class Boom(Exception):
    """The failure a test raises on purpose."""


def make(path: Path, data: bytes, mtime_ns: int | None = OLD_NS, mode: int | None = None) -> Path:
    """A file of ``data`` at ``path`` (folders made), with ``mode`` and mtime ``mtime_ns``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if mode is not None:
        path.chmod(mode)
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))
    return path


def listing(directory: Path) -> list[str]:
    """The names in ``directory``, but for the tool's own files (its file list)."""
    return sorted(name for name in os.listdir(directory) if not is_tool_file(name))


def as_earlier_exports_wrote(target: Path, *names: str) -> None:
    """Name files in ``target``'s file list, as earlier exports of ours leave it."""
    lines = "".join(f'"{name}"\n' for name in names)
    (target / FILE_LIST_NAME).write_text(f"document_exporter file list 1\n{lines}")


def export_spec(target: Path, spec: dict) -> None:
    """The export a spec describes (``{"json": {relpath: text}, "files": {relpath: source}}``),
    through a DirectorySink that removes stale files."""
    with DirectorySink(target, delete_stale=True) as sink:
        for relpath, data in spec["json"].items():
            with sink.open_json(relpath) as entry:
                entry.write(data.encode())
        for relpath, source in spec["files"].items():
            sink.add_file(relpath, source)
