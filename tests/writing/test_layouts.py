"""The flat manifest layout: records at depth 0, as paperless-ngx 3.x streams them.

The oracle is written here from the layout's definition (one ``json.dumps(record, indent=2)``
per record, joined by ``,`` and a line break, inside ``[`` and a line break and ``]``), not
from :mod:`exporter.writing.layouts`.
"""

from __future__ import annotations

import io
import json

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.stream_writer import ManifestStreamWriter
from exporter.writing.encoding import classic_dumps
from exporter.writing.layouts import CLASSIC, FLAT, layout_named
from tests.helpers.manifests import FUZZ, document_records, records


def flat_oracle(record_list: list) -> bytes:
    if not record_list:
        return b"[\n]"
    parts = [
        json.dumps(record, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False)
        for record in record_list
    ]
    return ("[" + ",\n".join(parts) + "\n]").encode("utf-8")


def written(record_list: list, layout, split: bool) -> bytes:
    sink = io.BytesIO()
    writer = ManifestStreamWriter(sink, layout=layout)
    writer.batch_bytes = 64
    half = len(record_list) // 2 if split else len(record_list)
    writer.write_many(record_list[:half])
    for record in record_list[half:]:
        writer.write(record)
    writer.close()
    return sink.getvalue()


@settings(FUZZ, max_examples=150)
@given(st.lists(st.one_of(records, document_records), max_size=10), st.booleans())
def test_flat_layout_matches_its_definition(record_list, split):
    expected = flat_oracle(record_list)
    assert written(record_list, FLAT, split) == expected
    assert FLAT.dumps(record_list) == expected
    # The same records as the classic layout.
    assert json.loads(expected) == json.loads(classic_dumps(record_list))


@settings(FUZZ, max_examples=60)
@given(st.lists(st.one_of(records, document_records), max_size=10))
def test_classic_layout_is_the_classic_dumps(record_list):
    assert written(record_list, CLASSIC, True) == classic_dumps(record_list)
    assert CLASSIC.dumps(record_list) == classic_dumps(record_list)


def test_flat_framing():
    record = {"model": "a.b", "pk": 1, "fields": {"text": "line\nbreak", "list": [1, {}]}}
    assert FLAT.dumps([record]).startswith(b'[{\n  "model": "a.b",\n')
    assert FLAT.dumps([record]).endswith(b"\n}\n]")
    assert FLAT.dumps([]) == b"[\n]"


def test_unknown_layout_names_the_layouts():
    with pytest.raises(ValueError, match="classic, flat"):
        layout_named("nested")
