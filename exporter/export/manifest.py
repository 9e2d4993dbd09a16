"""Writing a whole manifest: the classic in-memory path and the streaming path, one interface.

``ManifestBuilder.write(path, querysets)`` writes the manifest of the QuerySets, in order,
atomically at ``path``. The subclasses differ only in how records reach the file:

* ``ClassicManifestBuilder`` is the seed's algorithm, kept as the oracle and the benchmark
  baseline: serialize every QuerySet with Django's "python" serializer, keep all the records,
  one ``json.dumps`` at the end. Memory grows with the archive. Do not improve it.
* ``StreamingManifestBuilder`` reads batches of records and hands each to the stream writer as
  it comes; nothing outlives its batch.

Both produce the same bytes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

from django.core import serializers
from django.db.models import QuerySet

from exporter.batches import DEFAULT_BATCH_SIZE, Record, serialize_queryset_batched
from exporter.writing.atomic import AtomicFile, ManifestResult, write_manifest
from exporter.writing.encoding import classic_dumps


class ManifestBuilder:
    """Base class: turn QuerySets into one manifest file. Subclasses implement ``write``."""

    def write(
        self, path: str | os.PathLike[str], querysets: Iterable[QuerySet], *, compare: bool = False
    ) -> ManifestResult:
        raise NotImplementedError


class ClassicManifestBuilder(ManifestBuilder):
    """Collect every record in memory, then one json.dumps."""

    def records(self, querysets: Iterable[QuerySet]) -> list[Record]:
        manifest: list[Record] = []
        for queryset in querysets:
            manifest.extend(serializers.serialize("python", queryset))
        return manifest

    def write(
        self, path: str | os.PathLike[str], querysets: Iterable[QuerySet], *, compare: bool = False
    ) -> ManifestResult:
        records = self.records(querysets)
        content = classic_dumps(records)
        with AtomicFile(path, compare=compare) as sink:
            sink.write(content)
        result = sink.result
        return ManifestResult(
            path=result.path,
            sha256=result.sha256,
            bytes_written=result.bytes_written,
            changed=result.changed,
            records=len(records),
        )


class StreamingManifestBuilder(ManifestBuilder):
    """Batches of records straight to disk through orjson, in flat memory."""

    def __init__(self, *, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a whole number of at least 1, got {batch_size!r}")
        self.batch_size = batch_size

    def records(self, querysets: Iterable[QuerySet]) -> Iterator[Record]:
        for queryset in querysets:
            for batch in serialize_queryset_batched(
                queryset, batch_size=self.batch_size, for_manifest=True
            ):
                yield from batch

    def write(
        self, path: str | os.PathLike[str], querysets: Iterable[QuerySet], *, compare: bool = False
    ) -> ManifestResult:
        return write_manifest(path, self.records(querysets), compare=compare)
