"""What an export contains: the plan a site hands to the engine.

The engine knows no domain model. A site describes its archive once, in a function named by the
``EXPORTER_PLAN`` setting (a dotted path) that returns an :class:`ExportPlan`: the manifest
sections in order, which fields are secrets, which section holds the documents and how to find
their files, and which sections are split per document.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db.models import QuerySet


@dataclass(frozen=True)
class AttachedFile:
    """A file that a record of a section other than the documents carries into the export
    (a share link bundle's zip): what :attr:`Section.files` returns."""

    #: The record key that holds the file's export name (``"__exported_..._name__"``).
    key: str
    #: Its relative posix path in the export, before it is made unique.
    export_name: str
    #: The file in the archive's media.
    source: Path


@dataclass(frozen=True)
class Section:
    """One manifest section: a key and a function returning its QuerySet, in export order.

    The rows are written in the QuerySet's order, exactly as the database returns them. Give
    it a total ordering (ending with the primary key) unless the export must reproduce another
    exporter's SQL, ties included.
    """

    key: str
    queryset: Callable[[], QuerySet]
    #: For sections whose records carry files: the record's files, from the record (whose
    #: fields it may rewrite, e.g. to a portable path). None for sections without files.
    files: Callable[[dict[str, Any]], Sequence[AttachedFile]] | None = None
    #: Where an import copies those files back: from a record's pk and fields, the media path
    #: of each file by its record key. None: the import loads the rows and copies no file.
    file_destinations: Callable[[Any, Mapping[str, Any]], Mapping[str, Path]] | None = None


@dataclass(frozen=True)
class DocumentFiles:
    """Where a document's files are and what its export name is made of.

    ``columns`` are values_list() lookups read in the same row as the document record (so a
    correspondent's name costs a join, not a query); ``describe`` turns the document's pk and
    those values (a dict by lookup) into a :class:`DocumentFileInfo`.
    """

    columns: tuple[str, ...]
    describe: Callable[[Any, Mapping[str, Any]], DocumentFileInfo]
    #: Where an imported document's files go: (original, thumbnail, archive or None), from the
    #: record's pk and fields.
    destinations: Callable[[Any, Mapping[str, Any]], tuple[Path, Path, Path | None]] | None = None


@dataclass(frozen=True)
class DocumentFileInfo:
    """One document's files in the media directory, their checksums, and the values its
    export name is made of: what :attr:`DocumentFiles.describe` returns for each document."""

    #: The original file (a plain string is cheapest to build for every document).
    source: str | os.PathLike[str]
    thumbnail: str | os.PathLike[str]
    #: None when the document has no archived version.
    archive: str | os.PathLike[str] | None
    #: The sha256 of the original and of the archived version, as the database records them.
    checksum: str | None
    archive_checksum: str | None
    #: Extension of the original, with its dot (".pdf").
    original_extension: str
    #: Values of the default export name: "created", "correspondent", "title"; or, when it
    #: holds a "default_name", that text (sanitised) instead of "<created> <correspondent>
    #: <title>". With --use-filename-format every key is a placeholder of the format.
    name_values: Mapping[str, Any]


@dataclass(frozen=True)
class PostImportStep:
    """A management command the site needs run after an import (paperless-ngx rebuilds its
    search index): ``manage.py <command> <args>``."""

    command: str
    args: tuple[str, ...] = ()
    #: Why the site needs it, for the importer's messages ("rebuild the search index").
    purpose: str = ""

    def describe(self) -> str:
        """The step as a user would type it: ``manage.py document_index reindex``."""
        return " ".join(["manage.py", self.command, *self.args])


@dataclass(frozen=True)
class ExportPlan:
    """Everything the engine knows of a site's archive: what to export, in which order, which
    fields are secrets, where the documents' files are, and how an import treats the rows
    migrations create. The exporters, ``verify_export`` and ``document_importer`` all work from
    one; :func:`exporter.site_plan.load_plan` returns the site's.
    """

    #: The manifest's sections, in export order.
    sections: tuple[Section, ...]
    #: model label ("documents.mailaccount") -> names of fields encrypted with --passphrase.
    secrets: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: The key of the section that holds the documents.
    documents_key: str = "documents"
    #: Section key -> name of its foreign key to the document, for per-document split manifests.
    split_by_document: dict[str, str] = field(default_factory=dict)
    #: How to find the documents' files and what to name them in the export.
    document_files: DocumentFiles | None = None
    #: The media directory: an export into it is refused.
    media_root: Path | None = None
    #: A filelock path the exporter holds for its run, so no one moves files under it.
    media_lock: Path | None = None
    #: The --use-filename-format template, e.g. "{created_year}/{correspondent}/{title}".
    filename_format: str | None = None
    #: Models whose rows migrations create (content types, permissions): an import replaces
    #: them with the export's rows instead of refusing a database that has them.
    replace_on_import: tuple[str, ...] = ("contenttypes.contenttype", "auth.permission")
    #: Rows migrations create that an import keeps, and that do not make a database count as
    #: not empty: model label -> filter() arguments selecting them (paperless-ngx's own users,
    #: which its exports leave out).
    kept_on_import: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: The manifest layout an export uses unless told otherwise: "classic" or "flat" (see
    #: :mod:`exporter.writing.layouts`).
    manifest_layout: str = "classic"
    #: The version the site's own exporter writes as metadata.json's "version", for sites
    #: whose importer reads it (paperless-ngx); the engine's version then goes under
    #: "exporter_version". None: "version" is the engine's.
    site_version: str | None = None
    #: How metadata.json describes the encryption of secrets: "exporter" (an "encryption"
    #: object) or "paperless" (paperless-ngx's "__crypto__" object).
    encryption_format: str = "exporter"
    #: Commands ``document_importer`` runs, in order, after a successful import (unless told
    #: not to with --skip-post-import).
    post_import: tuple[PostImportStep, ...] = ()

    def main_manifest_rows(self, section: Section, *, split: bool) -> QuerySet:
        """The rows of ``section`` that ``manifest.json`` holds: all of them; with split
        manifests (``split``), of a split section only those that point at no document, which
        no document's manifest holds. The documents themselves are the caller's to leave out."""
        queryset = section.queryset()
        fk_name = self.split_by_document.get(section.key)
        if split and fk_name is not None:
            return queryset.filter(**{f"{fk_name}__isnull": True})
        return queryset

    def section(self, key: str) -> Section:
        """The section with ``key``; KeyError if the plan has none."""
        for section in self.sections:
            if section.key == key:
                return section
        raise KeyError(key)
