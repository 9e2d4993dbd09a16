"""
The commit journal of a directory export: it makes the renames of a commit all or nothing.

:class:`exporter.sinks.directory.DirectorySink` commits by renaming its staged temporary files
into place, document files first and ``manifest.json`` last. A process killed (or a machine
losing power) between two of those renames would leave a mix of the new export and the old one:
a document file that changed in place under the previous manifest. So, once every staged file is
synced and before the first rename, the sink writes the journal ``TARGET/`` :data:`JOURNAL_NAME`
(:func:`write_journal`): every rename in commit order, and every split manifest
(``*-manifest.json``) of an earlier export that the new one no longer has, since the commit ends
by removing them (readers take every one as part of the export: a stale one would repeat
records). A journal of the earlier format lists instead the split manifests to keep. The
sink removes the journal once that is done (:func:`remove_journal`). A journal found later means
a commit that had begun and not ended: :func:`roll_forward` completes it. The next export does
that first thing, and so do ``verify_export`` and ``document_importer`` before they read a
directory.

The format is UTF-8 text, one record per line::

    document_exporter commit journal 1
    ["rename", ".0001.pdf.0a1b2c3d4e5f.tmp", "0001.pdf"]
    ["rename", "json/.0001-manifest.json.5f4e3d2c1b0a.tmp", "json/0001-manifest.json"]
    ["remove", "json/0002-old-title-manifest.json"]
    end 3 <sha256 of the entry lines, in hex>

A rename names the temporary file and its final path, relative to TARGET, in the same
directory. The journal is written to a temporary name, synced and renamed into place, so
whenever it exists it is complete; one without its end line is torn all the same (then no rename
had begun) and is ignored. The journal is input from disk: every path is checked before anything
is renamed, and one that would lead outside TARGET is refused.

The name starts with a dot, which no export name does (the exporter strips leading dots from
document names), is not a temporary file's name (:func:`exporter.sinks.files.is_temp_name`),
and the directory sink refuses it as an export path.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from exporter.sinks.files import (
    create_temp,
    fsync_directory,
    is_temp_name,
    remove_quietly,
    validate_relpath,
)
from exporter.sinks.sweep import sweep_tree

__all__ = [
    "JOURNAL_NAME",
    "SPLIT_MANIFEST_SUFFIX",
    "JournalError",
    "RollForward",
    "remove_journal",
    "roll_forward",
    "write_journal",
]

#: The journal's name, at the top of TARGET.
JOURNAL_NAME = ".document_exporter-commit.journal"
#: The name ending of split manifests, which readers of an export take as manifests.
SPLIT_MANIFEST_SUFFIX = "-manifest.json"
_HEADER = b"document_exporter commit journal 1\n"
_END = re.compile(rb"end (\d+) ([0-9a-f]{64})\n")
# How many checked directories to remember before starting over.
_KNOWN_DIRS_MAX = 4096


class JournalError(ValueError):
    """A commit journal that is damaged, or names a path it must not: nothing was renamed."""


@dataclass(frozen=True)
class RollForward:
    """What :func:`roll_forward` found and did."""

    #: The renames the journal lists.
    entries: int
    #: The renames that were still to do, and were done now.
    renamed: int
    #: Split manifests of the previous export, not of the new one, removed now.
    removed: int = 0
    #: True if the journal was torn (no end line): no rename had begun, nothing was done.
    torn: bool = False


def write_journal(
    target: Path, renames: Iterable[tuple[str, str]], *, removals: Iterable[str] = ()
) -> int:
    """
    Write the journal of a commit into ``target``, durably; return its number of entries.

    ``renames`` are ``(temp relpath, final relpath)`` in commit order; ``split_manifests`` the
    split manifests of earlier exports that the commit removes. Both are
    consumed as streams (the sink reads them from its ledger). The journal is written to a
    temporary file, synced, renamed into place, and ``target`` is synced: when this returns,
    the commit has begun. If this raises before the rename, nothing of the journal is left.
    """
    journal = target / JOURNAL_NAME
    made: list[Path] = []
    try:
        temp, fd = create_temp(journal, 0o644, register=made.append)
        with open(fd, "wb") as file:
            file.write(_HEADER)
            digest = hashlib.sha256()
            count = 0
            records = itertools.chain(
                (["rename", temp, final] for temp, final in renames),
                (["remove", relpath] for relpath in removals),
            )
            for record in records:
                line = json.dumps(record).encode("ascii") + b"\n"
                digest.update(line)
                file.write(line)
                count += 1
            file.write(f"end {count} {digest.hexdigest()}\n".encode("ascii"))
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, journal)
    except BaseException:
        for path in made:
            remove_quietly(path)
        raise
    fsync_directory(target)
    return count


def remove_journal(target: Path) -> None:
    """Remove the journal of a completed commit from ``target``, durably."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(target / JOURNAL_NAME)
    fsync_directory(target)


def roll_forward(target: Path) -> RollForward | None:
    """
    Complete the commit that the journal in ``target`` describes; None if there is no journal.

    Every entry whose temporary file is still there is renamed into place, in the journal's
    order (an entry whose temporary file is gone was renamed before the interruption); then the
    directories renamed into are synced, the split manifests the journal removes are
    removed (never following a symlink), and the journal is removed. A torn journal is removed
    (best effort) and nothing is renamed. Call it holding the target's lock.

    Raise :class:`JournalError`, renaming nothing, if the journal is damaged or names a path
    that is not safe: absolute, with ``..``, leading outside ``target`` through a symlink, or a
    temporary file that is not next to its destination. An ``OSError`` of a rename (a read-only
    file system) propagates and leaves the journal for a later attempt.
    """
    journal = target / JOURNAL_NAME
    try:
        file = open(journal, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return None
    with file:
        count = _check(target, file)
        if count is None:
            file.close()
            with contextlib.suppress(OSError):
                os.unlink(journal)
                fsync_directory(target)
            return RollForward(entries=0, renamed=0, torn=True)
        # The names wait on disk, not in memory: an export may have a million.
        db = sqlite3.connect("", isolation_level=None)
        try:
            db.execute("CREATE TABLE keep (relpath TEXT PRIMARY KEY)")
            db.execute("CREATE TABLE remove (relpath TEXT PRIMARY KEY)")
            renamed = _rename(target, file, db)
            removed = sweep_tree(target, _condemn_split_manifests(db), db, prune="none")
        finally:
            db.close()
    remove_journal(target)
    return RollForward(entries=count, renamed=renamed, removed=removed["stale"])


def _rename(target: Path, file, db: sqlite3.Connection) -> int:
    """Do the renames still to do of a checked journal; note the names it keeps in ``db``."""
    file.seek(0)
    file.readline()
    parents: set[str] = set()
    renamed = 0
    for line in file:
        if not line.startswith(b"["):
            break
        record = json.loads(line)
        if record[0] in ("keep", "remove"):
            db.execute(f"INSERT OR IGNORE INTO {record[0]} VALUES (?)", (record[1],))
            continue
        temp, final = record[1:]
        try:
            os.replace(target / temp, target / final)
        except FileNotFoundError:
            continue  # renamed before the interruption
        renamed += 1
        parents.add(final.rpartition("/")[0])
    # The directories an export has are few next to its files.
    for parent in sorted(parents):
        fsync_directory(target / parent if parent else target)
    return renamed


def _condemn_split_manifests(db: sqlite3.Connection):
    """The sweep's verdict: a split manifest the journal removes goes; so, in a journal of the
    earlier format, which lists the split manifests to keep, does every one it does not keep."""
    keeps = db.execute("SELECT 1 FROM keep LIMIT 1").fetchone() is not None

    def condemn(relpath: str, is_link: bool) -> str | None:
        if not relpath.endswith(SPLIT_MANIFEST_SUFFIX):
            return None
        if keeps:
            kept = db.execute("SELECT 1 FROM keep WHERE relpath = ?", (relpath,)).fetchone()
            return None if kept else "stale"
        query = "SELECT 1 FROM remove WHERE relpath = ?"
        return "stale" if db.execute(query, (relpath,)).fetchone() else None

    return condemn


def _check(target: Path, file) -> int | None:
    """
    Read the whole journal; return its number of entries, or None if it is torn.

    A complete journal must be whole (its digest and count match) and every entry safe; the
    first problem found raises :class:`JournalError` once the journal is known to be complete
    (a torn journal's last entry may well be cut in the middle).
    """
    where = f"The commit journal {target / JOURNAL_NAME}"
    advice = (
        "nothing was renamed. If no document_exporter wrote it, remove it; then run "
        "document_exporter, which writes the export again."
    )
    header = file.readline()
    digest = hashlib.sha256()
    count = 0
    problem: str | None = None
    end: re.Match[bytes] | None = None
    real_target = os.path.realpath(target)
    known_dirs: set[str] = set()
    for number, line in enumerate(file, start=2):
        if end is not None:
            problem = problem or f"line {number} follows the end line"
            continue
        end = _END.fullmatch(line)
        if end is not None:
            continue
        digest.update(line)
        count += 1
        if problem is None and line.endswith(b"\n"):
            problem = _check_entry(line, real_target, known_dirs)
            if problem is not None:
                problem = f"line {number}: {problem}"
    if end is None:
        return None
    if header != _HEADER:
        raise JournalError(f"{where} does not start with {_HEADER.decode().strip()!r}; {advice}")
    if int(end.group(1)) != count or end.group(2).decode() != digest.hexdigest():
        raise JournalError(f"{where} is damaged (its end line does not match it); {advice}")
    if problem is not None:
        raise JournalError(f"{where} is refused, {problem}; {advice}")
    return count


def _check_entry(line: bytes, real_target: str, known_dirs: set[str]) -> str | None:
    """Why the journal line ``line`` is not a safe rename inside the target; None if it is."""
    try:
        value = json.loads(line)
    except ValueError:
        return "not a JSON entry"
    if not (isinstance(value, list) and value and all(isinstance(v, str) for v in value)):
        return "not a list of strings"
    if value[0] in ("keep", "remove") and len(value) == 2:
        try:
            validate_relpath(value[1])
        except ValueError as error:
            return f"it names {value[1]!r}: {error}"
        return None
    if value[0] != "rename" or len(value) != 3:
        return "neither a rename nor a name to keep"
    temp, final = value[1:]
    try:
        validate_relpath(final)
    except ValueError as error:
        return f"it names {final!r}: {error}"
    parent = final.rpartition("/")[0]
    name = temp.rpartition("/")[2]
    # Rebuilt from the checked final path: an absolute or "../" temporary path cannot match.
    expected = f"{parent}/{name}" if parent else name
    if temp != expected or not is_temp_name(name) or "\\" in name or "\x00" in name:
        return f"{temp!r} is not a temporary file next to {final!r}"
    if final == JOURNAL_NAME:
        return f"it names the journal itself ({final!r})"
    if parent and parent not in known_dirs:
        resolved = os.path.realpath(os.path.join(real_target, parent))
        if resolved != real_target and not resolved.startswith(real_target.rstrip("/") + "/"):
            return f"{final!r} leads outside the export (to {resolved}) through a symlink"
        if len(known_dirs) >= _KNOWN_DIRS_MAX:
            known_dirs.clear()
        known_dirs.add(parent)
    return None
