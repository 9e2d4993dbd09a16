"""The records of the split sections (notes, custom field values) for a batch of documents.

With ``--split-manifest`` each document gets its own manifest: its record, then the records of
every split section that point at it, each section in its QuerySet's order. Fetching them must
cost a query per batch, not per document:

* ``BatchedSplitQuery``: one query per batch and section (PostgreSQL, SQLite).
* ``SpilledSplitSection``: on MariaDB no statement may run while the document cursor streams,
  so the section is read once before, into a temporary SQLite file keyed by document.
"""

from __future__ import annotations

import pickle
from typing import Any

from django.db.models import QuerySet

from exporter.batches import Record, manifest_record_batches
from exporter.records.spill import KeyedSpill

__all__ = ["BatchedSplitQuery", "SpilledSplitSection", "SplitSection"]


class SplitSection:
    """Base class: ``records_for(document_pks)`` -> {document pk: [records, in order]}."""

    def __init__(self, queryset: QuerySet, fk_name: str, batch_size: int) -> None:
        self.queryset = queryset
        self.fk_name = fk_name
        self.batch_size = batch_size

    def records_for(self, document_pks: list) -> dict[Any, list[Record]]:
        """The section's records that point at each of ``document_pks``, by document pk."""
        raise NotImplementedError

    def close(self) -> None:
        """Free what the section holds (a temporary file)."""

    def _group(self, records) -> dict[Any, list[Record]]:
        grouped: dict[Any, list[Record]] = {}
        for record in records:
            grouped.setdefault(record["fields"][self.fk_name], []).append(record)
        return grouped


class BatchedSplitQuery(SplitSection):
    """A split section read with one query per batch of documents."""

    def records_for(self, document_pks: list) -> dict[Any, list[Record]]:
        """The records of one query for ``document_pks``, by document pk."""
        subset = self.queryset.filter(**{f"{self.fk_name}__in": document_pks})
        return self._group(
            record
            for batch in manifest_record_batches(subset, batch_size=self.batch_size)
            for record in batch
        )


class SpilledSplitSection(SplitSection):
    """A split section read whole at once into a temporary file keyed by document."""

    def __init__(self, queryset: QuerySet, fk_name: str, batch_size: int) -> None:
        super().__init__(queryset, fk_name, batch_size)
        self._spill = KeyedSpill("exporter-split-", native_values=True)
        for batch in manifest_record_batches(queryset, batch_size=batch_size):
            self._spill.extend((r["fields"][fk_name], pickle.dumps(r, protocol=5)) for r in batch)
        self._spill.seal()

    def records_for(self, document_pks: list) -> dict[Any, list[Record]]:
        """The spilled records of ``document_pks``, by document pk."""
        return self._group(pickle.loads(data) for _, data in self._spill.lookup(document_pks))

    def close(self) -> None:
        """Remove the temporary file."""
        self._spill.close()
