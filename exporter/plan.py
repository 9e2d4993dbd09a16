"""What an export contains: the plan a site hands to the engine.

The engine knows no domain model. A site describes its archive once, in a function named by the
``EXPORTER_PLAN`` setting (a dotted path) that returns an :class:`ExportPlan`: the manifest
sections in order, which fields are secrets, which section holds the documents and how to find
their files, and which sections are split per document.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class Section:
    """One manifest section: a key and a function returning its QuerySet, in export order.

    The QuerySet's ordering must be total (end with the primary key) so that every path that
    reads it, classic or streaming, sees the rows in the same order.
    """

    key: str
    queryset: Callable[[], QuerySet]


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

    #: The original file.
    source: Path
    thumbnail: Path
    #: None when the document has no archived version.
    archive: Path | None
    #: The sha256 of the original and of the archived version, as the database records them.
    checksum: str | None
    archive_checksum: str | None
    #: Extension of the original, with its dot (".pdf").
    original_extension: str
    #: Values of the default export name: "created", "correspondent", "title".
    #: With --use-filename-format every key is a placeholder of the format.
    name_values: Mapping[str, Any]


@dataclass(frozen=True)
class ExportPlan:
    """Everything the engine knows of a site's archive: what to export, in which order, which
    fields are secrets, where the documents' files are, and how an import treats the rows
    migrations create. The exporters, ``verify_export`` and ``document_importer`` all work from
    one; :func:`load_plan` returns the site's.
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

    def section(self, key: str) -> Section:
        """The section with ``key``; KeyError if the plan has none."""
        for section in self.sections:
            if section.key == key:
                return section
        raise KeyError(key)


def load_plan() -> ExportPlan:
    """The site's plan, from the EXPORTER_PLAN setting."""
    path = getattr(settings, "EXPORTER_PLAN", None)
    if not path:
        raise ImproperlyConfigured(
            "Set EXPORTER_PLAN to the dotted path of a function returning an ExportPlan."
        )
    plan = import_string(path)()
    if not isinstance(plan, ExportPlan):
        raise ImproperlyConfigured(f"{path} returned {type(plan).__name__}, not an ExportPlan.")
    return plan
