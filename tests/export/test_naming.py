"""Export names: safe components, byte budgets, and filename formats."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exporter.export.naming import (
    EXPORT_SUFFIXES,
    MAX_COUNTER,
    MAX_EXTENSION_BYTES,
    MAX_NAME_BYTES,
    STEM_MAX_BYTES,
    default_stem,
    document_file_names,
    document_placeholders,
    document_stem,
    export_suffixes,
    format_document_path,
    format_stem,
    name_bytes,
    normalize_extension,
    sanitize_component,
    shorten,
)
from tests.helpers.names import FORMAT, NO_SURROGATES, utf8

# -- sanitising --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Invoice 2024", "Invoice 2024"),
        ('a/b\\c:d*e?f"g<h>i|j', "a-b-c-d-e-f-g-h-i-j"),
        ("tab\there\nnewline\x00nul\x1fus\x7fdel", "tab-here-newline-nul-us-del"),
        ("lone \ud800 surrogate", "lone - surrogate"),
        ("  padded  ", "padded"),
        ("trailing dots...", "trailing dots"),
        ("dots and spaces . . ", "dots and spaces"),
        (".hidden", "hidden"),
        ("..", "document"),
        (".", "document"),
        ("", "document"),
        ("   ", "document"),
        ("/", "-"),
        ("ünïcödé 😀 日本語", "ünïcödé 😀 日本語"),
        ("a.b.c", "a.b.c"),
    ],
)
def test_sanitize_component(text, expected):
    assert sanitize_component(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CON", "CON-"),
        ("con", "con-"),
        ("Nul", "Nul-"),
        ("PRN.txt", "PRN-.txt"),
        ("aux.tar.gz", "aux-.tar.gz"),
        ("COM1", "COM1-"),
        ("lpt9", "lpt9-"),
        ("COM0", "COM0-"),
        ("COM\u00b9", "COM\u00b9-"),
        ("CONOUT$", "CONOUT$-"),
        ("CON .txt", "CON- .txt"),
        ("CON.", "CON-"),
        ("CONSOLE", "CONSOLE"),
        ("COM10", "COM10"),
        ("xCON", "xCON"),
        ("CON-", "CON-"),
    ],
)
def test_windows_device_names_are_marked(text, expected):
    assert sanitize_component(text) == expected


def test_fallback_is_used_and_sanitised():
    assert sanitize_component("..", fallback="my/doc") == "my-doc"
    assert sanitize_component("..", fallback="..") == "document"


@pytest.mark.parametrize(
    ("text", "max_bytes", "expected"),
    [
        ("abcdef", 3, "abc"),
        ("éé", 3, "é"),  # never half of a two-byte character
        ("a😀", 4, "a"),  # nor of a four-byte one
        ("a😀", 5, "a😀"),
        ("日本語", 8, "日本"),
        # NFD "e" + U+0301 takes three bytes although NFC "é" takes two.
        ("\u00e9\u00e9\u00e9", 6, "\u00e9\u00e9"),
        # A combining mark may be cut off its base character.
        ("ae\u0301", 2, "ae"),
        ("short", 255, "short"),
    ],
)
def test_shorten(text, max_bytes, expected):
    assert shorten(text, max_bytes) == expected
    assert name_bytes(shorten(text, max_bytes)) <= max_bytes


@given(st.text(alphabet=NO_SURROGATES, max_size=400), st.integers(min_value=0, max_value=300))
def test_shorten_is_the_longest_fitting_prefix(text, max_bytes):
    short = shorten(text, max_bytes)
    assert text.startswith(short)
    assert name_bytes(short) <= max_bytes
    if short != text:
        assert name_bytes(text[: len(short) + 1]) > max_bytes


def test_long_names_are_cut_to_the_budget():
    assert utf8(sanitize_component("x" * 1000)) == 255
    assert sanitize_component("é" * 200) == "é" * 85  # 85 * 3 bytes in NFD
    assert sanitize_component("x" * 250 + " " * 10 + "y") == "x" * 250
    assert sanitize_component("x" * 254 + ".pdf") == "x" * 254


def test_budget_too_small_is_refused():
    with pytest.raises(ValueError, match="at least"):
        sanitize_component("x", max_bytes=4)


@pytest.mark.parametrize(
    ("ext", "expected"),
    [
        ("", ""),
        (".pdf", ".pdf"),
        (".PDF", ".PDF"),
        (".", ""),
        (".pdf. ", ".pdf"),
        (".p/d:f", ".p-d-f"),
        ("." + "x" * 40, "." + "x" * (MAX_EXTENSION_BYTES - 1)),
    ],
)
def test_normalize_extension(ext, expected):
    assert normalize_extension(ext) == expected


def test_extension_must_start_with_a_dot():
    with pytest.raises(ValueError, match="start with '.'"):
        normalize_extension("pdf")


# -- stems -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("created", "correspondent", "title", "expected"),
    [
        ("2024-01-31", "ACME", "Invoice", "2024-01-31 ACME Invoice"),
        ("2024-01-31", None, "Invoice", "2024-01-31 Invoice"),
        ("2024-01-31", "", "Invoice", "2024-01-31 Invoice"),
        ("2024-01-31", "ACME", "", "2024-01-31 ACME"),
        ("2024-01-31", None, "", "2024-01-31"),
        (datetime.date(2024, 1, 31), None, "a/b", "2024-01-31 a-b"),
        ("2024-01-31", "A/B: C", "Re: what?", "2024-01-31 A-B- C Re- what-"),
        (None, None, "", "document"),
    ],
)
def test_default_stem(created, correspondent, title, expected):
    assert default_stem(created, correspondent, title) == expected


def test_default_stem_leaves_room_for_suffix_and_counter():
    stem = default_stem("2024-01-31", "ACME", "t" * 1000)
    assert utf8(stem) == STEM_MAX_BYTES == 232
    names = document_file_names(stem + f"_{MAX_COUNTER}", ".x" * 7 + "x")
    assert max(utf8(name) for name in names.values()) == MAX_NAME_BYTES


VALUES = {
    "created_year": "2024",
    "correspondent": "ACME",
    "title": "Invoice",
    "asn": None,
    "document_type": "",
}


@pytest.mark.parametrize(
    ("fmt", "values", "expected"),
    [
        (FORMAT, {}, "2024/ACME/Invoice"),
        (FORMAT, {"title": "a/b/../c"}, "2024/ACME/a-b-..-c"),
        (FORMAT, {"correspondent": None}, "2024/none/Invoice"),
        (FORMAT, {"correspondent": ".."}, "2024/Invoice"),
        (FORMAT, {"correspondent": ""}, "2024/Invoice"),
        (FORMAT, {"correspondent": "  "}, "2024/Invoice"),
        (FORMAT, {"title": "CON"}, "2024/ACME/CON-"),
        (FORMAT, {"correspondent": "nul"}, "2024/nul-/Invoice"),
        ("/{title}/", {}, "Invoice"),
        ("{created_year}//{title}", {}, "2024/Invoice"),
        ("{created_year}\\{title}", {}, "2024-Invoice"),
        ("{asn}-{title}", {}, "none-Invoice"),
        ("{title} ({asn})", {"asn": 12}, "Invoice (12)"),
        ("{{literal}} {title}", {}, "{literal} Invoice"),
        ("archive/{document_type}/{title}", {}, "archive/Invoice"),
        ("{document_type}", {}, "document"),
        ("../../{title}", {}, "Invoice"),
        ("{created_year}/{title}", {"title": "x" * 300}, "2024/" + "x" * STEM_MAX_BYTES),
        ("{title}/x", {"title": "y" * 300}, "y" * 255 + "/x"),
    ],
)
def test_format_document_path(fmt, values, expected):
    assert format_document_path(fmt, {**VALUES, **values}) == expected


def test_format_falls_back():
    assert format_document_path("{title}", {"title": ""}, fallback="2024 x") == "2024 x"
    assert format_stem("{title}", {"created": "2024-01-31", "title": "", "correspondent": "A"}) == (
        "2024-01-31 A"
    )
    assert format_stem("{title}", {"title": "t/u"}) == "t-u"


def test_unknown_placeholder_is_named_with_the_known_ones():
    with pytest.raises(ValueError) as info:
        format_document_path("{created_year}/{tittle}", VALUES)
    message = str(info.value)
    assert "{tittle}" in message
    assert "{asn}, {correspondent}, {created_year}, {document_type}, {title}" in message


@pytest.mark.parametrize(
    ("fmt", "message"),
    [
        ("{}", "Invalid placeholder"),
        ("{0}", "Invalid placeholder"),
        ("{title.upper}", "Invalid placeholder"),
        ("{title[0]}", "Invalid placeholder"),
        ("{title!r}", "conversion or format spec"),
        ("{title:>10}", "conversion or format spec"),
        ("{title", "Invalid filename format"),
        ("title}", "Invalid filename format"),
    ],
)
def test_unsupported_templates_are_refused(fmt, message):
    with pytest.raises(ValueError, match=message):
        format_document_path(fmt, VALUES)


def test_document_placeholders():
    assert document_placeholders(
        pk=42, created=datetime.date(2024, 3, 5), title="T", correspondent=None
    ) == {
        "created": "2024-03-05",
        "created_year": "2024",
        "created_month": "03",
        "created_day": "05",
        "correspondent": None,
        "title": "T",
        "doc_pk": "0000042",
    }
    assert document_placeholders(pk=1, created="2024-03-05", title="")["created_month"] == "03"
    aware = datetime.datetime(2024, 3, 5, 23, 0, tzinfo=datetime.UTC)
    assert document_placeholders(pk=1, created=aware, title="")["created_day"] == "05"


def test_document_stem():
    values = {"pk": 42, "created": "2024-03-05", "title": "Tax/2023", "correspondent": "ACME"}
    assert document_stem(**values) == "2024-03-05 ACME Tax-2023"
    assert document_stem(**values, filename_format=FORMAT) == "2024/ACME/Tax-2023"
    assert document_stem(**values, filename_format="{doc_pk} {title}") == "0000042 Tax-2023"
    assert (
        document_stem(
            **values, filename_format="{document_type}/{title}", extra={"document_type": "Bill"}
        )
        == "Bill/Tax-2023"
    )
    assert document_stem(**{**values, "title": ""}, filename_format="{title}") == (
        "2024-03-05 ACME"
    )


def test_document_file_names():
    assert EXPORT_SUFFIXES == {
        "thumbnail": "-thumbnail.webp",
        "archive": "-archive.pdf",
        "manifest": "-manifest.json",
    }
    assert document_file_names("2024/ACME/x_01", ".pdf") == {
        "original": "2024/ACME/x_01.pdf",
        "thumbnail": "2024/ACME/x_01-thumbnail.webp",
        "archive": "2024/ACME/x_01-archive.pdf",
        "manifest": "2024/ACME/x_01-manifest.json",
    }
    assert document_file_names("x", "")["original"] == "x"
    assert export_suffixes(".png") == (".png", "-thumbnail.webp", "-archive.pdf", "-manifest.json")
