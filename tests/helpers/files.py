"""Files on disk for the sink tests: made with a chosen age, listed, and written by one sink run."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from exporter.format import is_tool_file
from exporter.sinks import DirectorySink, SinkSummary
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


def snapshot(root: Path) -> dict[str, tuple]:
    """Everything under root, without following links: content, mtime, mode, inode."""
    state = {}
    for directory, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(directory, name)
            status = path.lstat()
            key = str(path.relative_to(root))
            if stat.S_ISLNK(status.st_mode):
                state[key] = ("link", os.readlink(path))
            elif stat.S_ISDIR(status.st_mode):
                state[key] = ("dir", status.st_mode)
            else:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                state[key] = (digest, status.st_mtime_ns, status.st_mode, status.st_ino)
    return state


def temporaries(root: Path) -> list[str]:
    """Every temporary file under root, by relative path, in order."""
    return sorted(str(path.relative_to(root)) for path in root.rglob("*.tmp"))


def run(target, files, *, manifest=b'[{"pk": 1}]', compare=False, **options) -> SinkSummary:
    """One DirectorySink run into ``target``: ``files`` (export name to source) and a manifest,
    with a split manifest written while the main one is open; its summary."""
    sink = DirectorySink(target, **options)
    with sink, sink.open_json("manifest.json", compare=compare) as manifest_entry:
        # A split manifest written while the main one is open.
        with sink.open_json("json/0001-manifest.json", compare=compare) as split:
            split.write(b'[{"split": 1}]')
        manifest_entry.write(manifest[:3])
        for relpath, path in files.items():
            sink.add_file(relpath, path)
        manifest_entry.write(manifest[3:])
    return sink.summary
