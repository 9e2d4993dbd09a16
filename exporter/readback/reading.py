"""Reading an export back: its manifests' records as a stream, its metadata, and the problems
it recorded. What ``verify_export`` and ``document_importer`` both read with; nothing of the
export run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import ijson

from exporter.format import METADATA, FileProblem
from exporter.readback.classic_layout import READ_SIZE, read_float_records
from exporter.readback.source import ExportSource

__all__ = [
    "LEGACY_VERSION",
    "RecordedProblem",
    "describe_json_error",
    "read_metadata",
    "read_records",
    "recorded_problems",
]


#: What older paperless-ngx exports have instead of metadata.json: ``{"version": "1.17.4"}``.
LEGACY_VERSION = "version.json"


@dataclass(frozen=True)
class RecordedProblem(FileProblem):
    """A document file the export could not export, as its ``metadata.json`` records it (the
    exporter's :class:`~exporter.format.FileProblem`, read back); ``export_name`` is absent
    from the export unless ``kept_previous_copy``."""

    def describe(self) -> str:
        """The problem in one line, and whether the export holds a copy of the file."""
        text = f"document {self.document} ({self.title!r}): {self.file} {self.export_name} "
        text += self.problem
        if self.detail:
            text += f": {self.detail.rstrip('.')}"
        if self.kept_previous_copy:
            return text + "; the export holds the previous export's copy of it."
        return text + "; the export has no copy of it."


def recorded_problems(metadata: dict[str, Any]) -> list[RecordedProblem]:
    """The problems ``metadata.json`` records ([] if none); ValueError if they are malformed."""
    entries = metadata.get("problems") or []
    if not isinstance(entries, list):
        raise ValueError(f'{METADATA}: "problems" is not a list.')
    problems = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("export_name"), str):
            raise ValueError(f'{METADATA}: problem {index} is not an object with an "export_name".')
        problems.append(
            RecordedProblem(
                document=entry.get("document"),
                title=str(entry.get("title", "")),
                file=str(entry.get("file", "file")),
                export_name=entry["export_name"],
                source=str(entry.get("source", "")),
                problem=str(entry.get("problem", "not exported")),
                detail=str(entry.get("detail", "")),
                kept_previous_copy=entry.get("kept_previous_copy") is True,
            )
        )
    return problems


def read_records(stream, *, use_float: bool = False) -> Iterator[Any]:
    """The items of a manifest's top-level array, one at a time.

    Non-integer numbers come as Decimal, as ijson reads them, or with ``use_float`` as float:
    then a manifest in the classic layout is parsed record by record with orjson, about twice
    as fast, and any other by ijson, to the same records and errors
    (:mod:`exporter.readback.classic_layout`). Read 1 MB at a time, not ijson's 64 kB.
    """
    if use_float:
        return read_float_records(stream)
    return ijson.items(stream, "item", buf_size=READ_SIZE)


# NaN and Infinity are not JSON, but Python's json module (and so the classic exporter, and
# --stream byte for byte) writes them for a float column holding one; ijson cannot read them.
_NON_JSON_NUMBER = re.compile(r"[:\[,]\s*(-?Infinity|NaN)\b")


def describe_json_error(exc: Exception) -> str:
    """Why a manifest does not parse, with the fix when the cause is a NaN or Infinity."""
    text = str(exc)
    found = _NON_JSON_NUMBER.search(text)
    if found:
        return (
            f"it holds the number {found.group(1)}, which is not JSON (a float column of the "
            "database holds it, and the exporter writes it as Python's json module does). "
            "Replace that value in the database (with NULL or a finite number) and export again"
        )
    return " ".join(text.split())


def announced_counts(metadata: dict[str, Any]) -> dict[str, int] | None:
    """The records the export says it holds, by section (its metadata's "counts"), for the
    progress bars' totals; None when it does not say (paperless-ngx's own exports) or says
    something that is not a count."""
    counts = metadata.get("counts")
    if not isinstance(counts, dict):
        return None
    if not all(type(v) is int and v >= 0 for v in counts.values()):
        return None
    return counts


def read_metadata(source: ExportSource) -> dict[str, Any]:
    """The export's ``metadata.json``, or the ``version.json`` of older paperless-ngx exports
    (only its "version"); ValueError, saying why, if both are missing or not an export's."""
    name = METADATA
    if not source.exists(METADATA):
        if not source.exists(LEGACY_VERSION):
            raise ValueError(f"{METADATA} is missing from {source.location}.")
        name = LEGACY_VERSION
    with source.open(name) as stream:
        try:
            metadata = json.load(stream)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValueError(f"{name} is not valid JSON: {exc}") from None
    if not isinstance(metadata, dict) or "version" not in metadata:
        raise ValueError(f"{name} has no version: it is not an export's metadata.")
    if name == LEGACY_VERSION:
        return {"version": metadata["version"]}
    return metadata
