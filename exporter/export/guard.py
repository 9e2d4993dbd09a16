"""Checks that stop a suspicious export before it touches the last good one.

* :func:`refuse_unsafe_target`: a TARGET inside the media directory, or one that holds the media
  directory or the SQLite database file (``--delete`` there would reach the archive itself).
* :func:`check_not_shrinking`: an export that would hold no documents, or fewer than half of
  those of the export it replaces (an empty or wrong database, a typo in a path), or whose media
  directory has vanished (an unmounted disk), stops unless ``allow_shrink``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import zipfile
from pathlib import Path
from typing import Any

import ijson
from django.db import DEFAULT_DB_ALIAS, connections

from exporter.errors import ExportStopped, UsageError
from exporter.export.options import ExportOptions
from exporter.plan import ExportPlan
from exporter.sinks.file_list import load_file_list

__all__ = [
    "PreviousExport",
    "check_not_shrinking",
    "describe_database",
    "previous_export",
    "refuse_unsafe_target",
]

METADATA = "metadata.json"
MANIFEST = "manifest.json"


def describe_database(using: str = DEFAULT_DB_ALIAS) -> str:
    """The database a run reads or writes, for messages: a path or a URL, no password."""
    connection = connections[using]
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"SQLite database {settings['NAME']}"
    scheme = {"postgresql": "postgres", "mysql": "mysql"}.get(connection.vendor, connection.vendor)
    user = f"{settings.get('USER')}@" if settings.get("USER") else ""
    port = f":{settings['PORT']}" if settings.get("PORT") else ""
    host = settings.get("HOST") or "localhost"
    return f"database {scheme}://{user}{host}{port}/{settings['NAME']}"


def sqlite_file(using: str = DEFAULT_DB_ALIAS) -> Path | None:
    """The SQLite database file, or None for another database or one in memory."""
    connection = connections[using]
    if connection.vendor != "sqlite":
        return None
    name = str(connection.settings_dict["NAME"])
    if name == ":memory:" or "mode=memory" in name:
        return None
    return Path(name.removeprefix("file:").partition("?")[0])


def refuse_unsafe_target(target: Path, plan: ExportPlan) -> None:
    """Refuse a TARGET inside the media directory, or one holding it or the database."""
    resolved = target.resolve()
    media = plan.media_root.resolve() if plan.media_root is not None else None
    if media is not None and (resolved == media or media in resolved.parents):
        raise UsageError(
            f"The target {target} is inside the media directory {media}: export somewhere "
            "else, or the export would copy itself."
        )
    if media is not None and resolved in media.parents:
        raise UsageError(
            f"The target {target} holds the archive's media directory {media}: export into a "
            "directory of its own (for example a new, empty one), so that the export can never "
            "mix with, or remove, the archive's files."
        )
    database = sqlite_file()
    if database is not None and resolved in database.resolve().parents:
        raise UsageError(
            f"The target {target} holds the archive's database file {database}: export into a "
            "directory of its own (for example a new, empty one)."
        )


class PreviousExport:
    """What the export that a run would replace holds, as its metadata.json says."""

    def __init__(self, where: str, counts: dict[str, Any]) -> None:
        self.where = where
        self.counts = counts

    def documents(self, key: str) -> int | None:
        """The count of the section ``key`` it recorded; None if it recorded none."""
        value = self.counts.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None


def previous_export(plan: ExportPlan, options: ExportOptions) -> PreviousExport | None:
    """The export in TARGET this run replaces (for a zip, the newest of ours); None if none."""
    if options.remote is not None:
        # s3://: the committed generation's metadata.json, as the commit object names it.
        from exporter.sinks.s3_client import S3Location, make_client
        from exporter.sinks.s3_commit import committed_json

        metadata = committed_json(make_client(), S3Location.parse(options.remote), METADATA)
        if isinstance(metadata, dict) and isinstance(metadata.get("counts"), dict):
            return PreviousExport(options.remote, metadata["counts"])
        return None
    target = options.target
    if target is None or options.stdout is not None:
        return None
    label = plan.section(plan.documents_key).queryset().model._meta.label_lower
    if not options.zip:
        return _read_directory(target, plan.documents_key, label)
    db = sqlite3.connect("")
    try:
        load_file_list(target, db, "ours")
        names = [name for (name,) in db.execute("SELECT relpath FROM ours")]
    finally:
        db.close()
    names.append(f"{options.zip_name}.zip")
    zips = []
    for name in set(names):
        path = target / name
        if "/" not in name and name.endswith(".zip") and path.is_file():
            zips.append((path.stat().st_mtime_ns, path))
    for _, path in sorted(zips, reverse=True):
        found = _read_zip(path, plan.documents_key, label)
        if found is not None:
            return found
    return None


def check_not_shrinking(plan: ExportPlan, options: ExportOptions) -> None:
    """Stop an export that would replace a good one with far fewer documents, unless told."""
    if options.allow_shrink:
        return
    documents = plan.section(plan.documents_key).queryset().count()
    advice = (
        "Check ARCHIVE_DATA_DIR / DATABASE_URL and that the archive's disk is mounted; if "
        "the archive really shrank, run again with --allow-shrink."
    )
    previous = previous_export(plan, options)
    before = previous.documents(plan.documents_key) if previous is not None else None
    if previous is not None and before and (documents == 0 or documents * 2 < before):
        raise ExportStopped(
            f"Stopped before touching the export in {previous.where}: it holds {before} "
            f"documents, but the {describe_database()} has {documents}. {advice} The "
            "previous export was left as it was."
        )
    media = plan.media_root
    if documents and media is not None and not options.data_only and not _has_files(media, plan):
        raise ExportStopped(
            f"Stopped before touching {options.target or 'the output'}: the "
            f"{describe_database()} has {documents} documents, but the media directory {media} "
            f"is missing or empty. {advice}"
        )


def _has_files(media: Path, plan: ExportPlan) -> bool:
    lock = plan.media_lock.name if plan.media_lock is not None else None
    try:
        with os.scandir(media) as entries:
            return any(entry.name != lock for entry in entries)
    except (FileNotFoundError, NotADirectoryError):
        return False


def _read_directory(target: Path, key: str, label: str) -> PreviousExport | None:
    try:
        metadata = json.loads((target / METADATA).read_bytes())
    except (OSError, ValueError):
        metadata = None
    if isinstance(metadata, dict) and isinstance(metadata.get("counts"), dict):
        return PreviousExport(str(target), metadata["counts"])
    # An export of an earlier version (or of another exporter): count its documents.
    try:
        with open(target / MANIFEST, "rb") as manifest:
            return PreviousExport(str(target), {key: _count_model(manifest, label)})
    except (OSError, ValueError, ijson.JSONError):
        return None


def _read_zip(path: Path, key: str, label: str) -> PreviousExport | None:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if METADATA in names:
                metadata = json.loads(archive.read(METADATA))
                if isinstance(metadata, dict) and isinstance(metadata.get("counts"), dict):
                    return PreviousExport(str(path), metadata["counts"])
            if MANIFEST in names:
                with archive.open(MANIFEST) as manifest:
                    return PreviousExport(str(path), {key: _count_model(manifest, label)})
    except (OSError, ValueError, zipfile.BadZipFile, ijson.JSONError):
        return None
    return None


def _count_model(stream: Any, label: str) -> int:
    return sum(1 for model in ijson.items(stream, "item.model") if model == label)
