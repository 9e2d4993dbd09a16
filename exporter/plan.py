"""What an export contains: the plan a site hands to the engine.

The engine knows no domain model. A site describes its archive once, in a function named by the
``EXPORTER_PLAN`` setting (a dotted path) that returns an :class:`ExportPlan`: the manifest
sections in order, which fields are secrets, which section holds the documents and how to find
their files, and which sections are split per document.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

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
class ExportPlan:
    sections: tuple[Section, ...]
    #: model label ("documents.mailaccount") -> names of fields encrypted with --passphrase.
    secrets: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: The key of the section that holds the documents.
    documents_key: str = "documents"
    #: Section key -> name of its foreign key to the document, for per-document split manifests.
    split_by_document: dict[str, str] = field(default_factory=dict)

    def section(self, key: str) -> Section:
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
