"""The oracle's export names follow paperless-ngx's naming rules (facts §3.4), on cases the
seeded twin may not hold: sanitising, the counter, ``Path.stem`` and the folder prefixes."""

from __future__ import annotations

import datetime
from types import SimpleNamespace

import pytest

from tests.paperless.oracle import Names, document_string, file_type, frame

pytestmark = pytest.mark.one_database


def document(
    title: str,
    mime: str = "application/pdf",
    correspondent: str | None = None,
    archive: str | None = None,
):
    """A stand-in Document with what naming reads."""
    return SimpleNamespace(
        created=datetime.date(2024, 3, 9),
        correspondent_id=None if correspondent is None else 1,
        correspondent=SimpleNamespace(name=correspondent),
        title=title,
        mime_type=mime,
        archive_filename=archive,
    )


def test_document_string_keeps_an_empty_correspondent_space():
    assert document_string(document("Bill", correspondent="ACME")) == "2024-03-09 ACME Bill"
    assert document_string(document("", correspondent="")) == "2024-03-09 "
    assert document_string(document("")) == "2024-03-09"


def test_file_types_from_the_parser_table_then_mimetypes():
    assert file_type("image/tiff") == ".tif"
    assert file_type("image/jpeg") == ".jpg"
    assert file_type("application/octet-stream") == ".bin"
    assert file_type("application/x-never-heard-of") == ""


def test_counter_sanitising_and_case_sensitive_set():
    names = Names(folder_prefix=False)
    assert names.base(document("a/b: c?")) == "2024-03-09 a-b- c-.pdf"
    assert names.base(document("a/b: c?")) == "2024-03-09 a-b- c-_01.pdf"
    assert names.base(document("a|b: c?")) == "2024-03-09 a-b- c-_02.pdf"
    assert names.base(document("A/b: c?")) == "2024-03-09 A-b- c-.pdf"
    assert names.base(document("x", mime="image/png")) == "2024-03-09 x.png"
    assert names.base(document("x")) == "2024-03-09 x.pdf"


def test_thumbnail_and_archive_from_the_stem_with_prefixes():
    plain = Names(folder_prefix=False).document(
        document("v1.2", mime="x/none", archive=""), True, True
    )
    assert plain == {
        "__exported_file_name__": "2024-03-09 v1.2",
        "__exported_thumbnail_name__": "2024-03-09 v1-thumbnail.webp",
        "__exported_archive_name__": "2024-03-09 v1-archive.pdf",
    }
    prefixed = Names(folder_prefix=True).document(document("T"), True, True)
    assert prefixed == {
        "__exported_file_name__": "originals/2024-03-09 T.pdf",
        "__exported_thumbnail_name__": "thumbnails/2024-03-09 T-thumbnail.webp",
    }
    assert list(Names(False).document(document("T", archive="a.pdf"), False, False)) == [
        "__exported_file_name__"
    ]


def test_truncation_to_255_bytes_can_cut_the_extension():
    name = Names(False).base(document("é" * 200))
    assert len(name.encode("utf-8")) <= 255 and not name.endswith(".pdf")


def test_framing_of_both_layouts():
    records = [{"model": "m.a", "pk": 1, "fields": {}}, {"model": "m.b", "pk": 2, "fields": {}}]
    assert frame([], "flat") == b"[\n]"
    assert frame([], "classic") == b"[]"
    assert frame(records, "flat").startswith(b'[{\n  "model": "m.a",')
    assert b'},\n{\n  "model": "m.b"' in frame(records, "flat")
    assert frame(records, "classic").startswith(b'[\n  {\n    "model": "m.a",')
