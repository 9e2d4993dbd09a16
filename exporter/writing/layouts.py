"""
How a manifest frames its records: the two layouts of a JSON array of records.

Both hold the same records, encoded the same way; only the framing and the indentation of the
records differ:

* ``classic``: one ``json.dumps(records, indent=2)`` of the whole list. Records sit at depth 1
  (indented by two spaces), the array opens with ``[`` and a line break, and an empty manifest
  is ``[]``. Django's ``dumpdata`` and paperless-ngx up to 2.x write this.
* ``flat``: records written one by one, each a ``json.dumps(record, indent=2)`` at depth 0,
  joined by ``,`` and a line break: the file starts ``[{`` and ends with a line break and ``]``;
  an empty manifest is ``[``, a line break, ``]``. paperless-ngx 3.x writes this.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from exporter.writing.encoding import classic_dumps, classic_encode_record

__all__ = ["CLASSIC", "FLAT", "LAYOUTS", "ManifestLayout", "layout_named"]


@dataclass(frozen=True)
class ManifestLayout:
    """The framing of a manifest's array and the depth of its records."""

    #: The name users give (``--manifest-layout``).
    name: str
    #: What comes before the first record, between two records, after the last; and the whole
    #: file when there is no record.
    opening: bytes
    separator: bytes
    closing: bytes
    empty: bytes
    #: Whether records are indented as elements of the array (depth 1) or not (depth 0).
    nested: bool

    def frame(self, record: bytes) -> bytes:
        """``record``, encoded at depth 1 (two leading spaces on every line), at this layout's
        depth. Every line break of an encoded record is structure (the encoders escape those
        in strings), so removing two spaces after each one moves the whole record."""
        if self.nested:
            return record
        return record[2:].replace(b"\n  ", b"\n")

    def dumps(self, records: list[Any]) -> bytes:
        """The manifest of ``records`` in this layout, with Python's json and Django's encoder
        (:mod:`exporter.writing.encoding`'s classic functions, which raise what they raise):
        the reference the streaming writer reproduces."""
        if self.nested:
            return classic_dumps(records)
        if not records:
            return self.empty
        parts = (self.frame(classic_encode_record(record)) for record in records)
        return self.opening + self.separator.join(parts) + self.closing


#: One json.dumps of the whole list: Django's dumpdata, paperless-ngx up to 2.x.
CLASSIC = ManifestLayout("classic", b"[\n", b",\n", b"\n]", b"[]", nested=True)
#: Records at depth 0, joined by ",\n": paperless-ngx 3.x.
FLAT = ManifestLayout("flat", b"[", b",\n", b"\n]", b"[\n]", nested=False)
#: Every layout by name.
LAYOUTS = {layout.name: layout for layout in (CLASSIC, FLAT)}


def layout_named(name: str) -> ManifestLayout:
    """The layout called ``name``; ValueError naming the layouts there are."""
    try:
        return LAYOUTS[name]
    except KeyError:
        raise ValueError(
            f"Unknown manifest layout {name!r}: use one of {', '.join(sorted(LAYOUTS))}."
        ) from None
