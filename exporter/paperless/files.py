"""Where a paperless-ngx document's files are, and what its export name is made of.

paperless-ngx keeps a document's original under ``ORIGINALS_DIR`` (at its ``filename``, or
``<pk, 7 digits><file type>`` when it has none), its thumbnail at
``THUMBNAIL_DIR/<pk, 7 digits>.webp`` and its archived PDF under ``ARCHIVE_DIR`` (when
``archive_filename`` is set). The *file type* is the extension of the document's mime type,
as paperless's parsers declare it; its exporter names exported files ``<created>
<correspondent> <title><file type>``.
"""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from django.conf import settings

from exporter.plan import AttachedFile, DocumentFileInfo, DocumentFiles

__all__ = [
    "BUNDLE_FOLDER",
    "BUNDLE_NAME_KEY",
    "DOCUMENT_COLUMNS",
    "FILE_TYPES",
    "bundle_destinations",
    "bundle_files",
    "default_name",
    "describe_document",
    "document_files",
    "file_destinations",
    "file_type",
]

#: The extension paperless-ngx's parsers declare for each mime type they handle.
FILE_TYPES = {
    "application/pdf": ".pdf",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/tiff": ".tif",
    "image/gif": ".gif",
    "image/bmp": ".bmp",
    "image/webp": ".webp",
    "image/heic": ".heic",
    "text/plain": ".txt",
    "text/csv": ".csv",
    "application/csv": ".csv",
    "message/rfc822": ".eml",
}

#: The document columns read with each document record (one join each, no query).
DOCUMENT_COLUMNS = (
    "filename", "archive_filename", "mime_type", "checksum", "archive_checksum", "created",
    "title", "correspondent__name", "document_type__name", "storage_path__path",
    "owner__username", "archive_serial_number",
)

#: The record key of a share link bundle's file, and the export folder that holds them.
BUNDLE_NAME_KEY = "__exported_share_link_bundle_name__"
BUNDLE_FOLDER = "share_link_bundles"



def file_type(mime_type: str | None) -> str:
    """The extension paperless-ngx gives a document of ``mime_type`` ("" when none)."""
    if not mime_type:
        return ""
    return FILE_TYPES.get(mime_type) or mimetypes.guess_extension(mime_type) or ""


def _media(name: str) -> Path:
    return Path(getattr(settings, name))


def source_path(pk: Any, filename: str | None, mime_type: str | None) -> Path:
    """The document's original file."""
    if filename:
        return _media("ORIGINALS_DIR") / filename
    return _media("ORIGINALS_DIR") / f"{pk:07}{file_type(mime_type)}"


def thumbnail_path(pk: Any) -> Path:
    """The document's thumbnail, whether or not it exists."""
    return _media("THUMBNAIL_DIR") / f"{pk:07}.webp"


def archive_path(archive_filename: str | None) -> Path | None:
    """The document's archived version, or None when it has none."""
    if archive_filename is None:
        return None
    return _media("ARCHIVE_DIR") / archive_filename


def _media_file(setting: str, name: str) -> str:
    # A plain string: building a Path for every file of every document costs more than the
    # rest of the document's description.
    return os.path.join(getattr(settings, setting), name)


def default_name(created: Any, correspondent: str | None, title: str | None) -> str:
    """paperless-ngx's name of a document (``str(document)``): the created date, then the
    correspondent's name if it has one (an empty name still adds its space), then the title
    if it is not empty."""
    name = created.isoformat()
    if correspondent is not None:
        name += f" {correspondent}"
    if title:
        name += f" {title}"
    return name


def describe_document(pk: Any, row: Mapping[str, Any]) -> DocumentFileInfo:
    """A document's files and the values of its export name, from its ``DOCUMENT_COLUMNS``."""
    created = row["created"]
    filename, archive_filename = row["filename"], row["archive_filename"]
    return DocumentFileInfo(
        # source_path(), thumbnail_path() and archive_path(), as strings.
        source=_media_file("ORIGINALS_DIR", filename or f"{pk:07}{file_type(row['mime_type'])}"),
        thumbnail=_media_file("THUMBNAIL_DIR", f"{pk:07}.webp"),
        archive=None if archive_filename is None else _media_file("ARCHIVE_DIR", archive_filename),
        # sha256 in 3.x, md5 in 2.x (and where a 3.x migration could not read a file again):
        # copies are checked against either.
        checksum=row["checksum"] or None,
        archive_checksum=row["archive_checksum"] or None,
        # paperless names the export by the mime type's extension, not the file's.
        original_extension=file_type(row["mime_type"]),
        name_values={
            "default_name": default_name(created, row["correspondent__name"], row["title"]),
            "created": created.isoformat(),
            "created_year": f"{created.year:04}",
            "created_month": f"{created.month:02}",
            "created_day": f"{created.day:02}",
            "correspondent": row["correspondent__name"],
            "document_type": row["document_type__name"],
            "storage_path": row["storage_path__path"],
            "owner_username": row["owner__username"],
            "asn": row["archive_serial_number"],
            "title": row["title"],
            "doc_pk": f"{pk:07}",
        },
    )


def file_destinations(pk: Any, fields: Mapping[str, Any]) -> tuple[Path, Path, Path | None]:
    """Where an imported document's original, thumbnail and archived version belong."""
    return (
        source_path(pk, fields.get("filename"), fields.get("mime_type")),
        thumbnail_path(pk),
        archive_path(fields.get("archive_filename")),
    )


def document_files() -> DocumentFiles:
    """How the engine finds a paperless-ngx document's files and names them."""
    return DocumentFiles(
        columns=DOCUMENT_COLUMNS, describe=describe_document, destinations=file_destinations
    )


def bundle_files(record: dict[str, Any]) -> Sequence[AttachedFile]:
    """The zip file of a share link bundle record (none while it is not built).

    As paperless-ngx does, the record's ``file_path`` becomes portable (relative; an absolute
    path keeps only its file name) and the file goes to ``share_link_bundles/<file_path>``.
    """
    fields = record["fields"]
    stored = fields.get("file_path")
    if not stored:
        return ()
    folder = _media("SHARE_LINK_BUNDLE_DIR")
    path = Path(stored)
    portable = PurePosixPath(path.as_posix() if not path.is_absolute() else path.name)
    fields["file_path"] = portable.as_posix()
    source = path if path.is_absolute() else folder / path
    return (AttachedFile(BUNDLE_NAME_KEY, f"{BUNDLE_FOLDER}/{portable.as_posix()}", source),)


def bundle_destinations(pk: Any, fields: Mapping[str, Any]) -> dict[str, Path]:
    """Where an imported share link bundle's zip belongs: ``SHARE_LINK_BUNDLE_DIR/<file_path>``
    (none while the bundle is not built)."""
    stored = fields.get("file_path")
    if not stored:
        return {}
    return {BUNDLE_NAME_KEY: _media("SHARE_LINK_BUNDLE_DIR") / stored}
