"""Export names: safe components, byte budgets, filename formats and the on-disk registry."""

from __future__ import annotations

import datetime
import os
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
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
from exporter.export.unique_names import UniqueNameRegistry, claim_document_names, name_key

FORMAT = "{created_year}/{correspondent}/{title}"
NO_SURROGATES = st.characters(exclude_categories=["Cs"])


def utf8(text: str) -> int:
    return len(text.encode("utf-8"))


def assert_safe_component(component: str, max_bytes: int = MAX_NAME_BYTES) -> None:
    assert component
    assert component not in (".", "..")
    assert "/" not in component and "\\" not in component and "\x00" not in component
    assert utf8(component) <= max_bytes
    assert utf8(unicodedata.normalize("NFD", component)) <= max_bytes
    assert component == component.strip(" ")
    assert not component.endswith(".") and not component.startswith(".")


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


# -- the registry ------------------------------------------------------------------------------


@pytest.fixture
def registry():
    with UniqueNameRegistry() as registry:
        yield registry


def claims(registry, *stems):
    return [registry.claim(stem) for stem in stems]


def test_first_claim_keeps_the_name_then_counters(registry):
    assert claims(registry, "x", "x", "x", "y", "x") == ["x", "x_01", "x_02", "y", "x_03"]


def test_counters_go_past_99(registry):
    names = claims(registry, *["x"] * 120)
    assert names[:3] == ["x", "x_01", "x_02"]
    assert names[99:102] == ["x_99", "x_100", "x_101"]
    assert len(set(names)) == 120


def test_uniqueness_is_case_insensitive(registry):
    assert claims(registry, "Invoice", "INVOICE", "invoice", "iNVOICE_01") == [
        "Invoice",
        "INVOICE_01",
        "invoice_02",
        "iNVOICE_01_01",
    ]


def test_uniqueness_ignores_unicode_normalisation_and_full_case_folding(registry):
    nfc, nfd = "caf\u00e9", "cafe\u0301"
    assert claims(registry, nfc, nfd, "CAFÉ") == [nfc, nfd + "_01", "CAFÉ_02"]
    assert claims(registry, "Straße", "STRASSE") == ["Straße", "STRASSE_01"]


def test_a_title_that_looks_like_a_counter(registry):
    # The lowest free counter, exactly as a loop over a set of taken names would find it.
    assert claims(registry, "x", "x_01", "x", "x_01", "x", "x_02") == [
        "x",
        "x_01",
        "x_02",
        "x_01_01",
        "x_03",
        "x_02_01",
    ]


def test_a_counter_taken_later_is_skipped(registry):
    assert claims(registry, "x", "x", "x_03", "x", "x", "x") == [
        "x",
        "x_01",
        "x_03",
        "x_02",
        "x_04",
        "x_05",
    ]


def test_a_literal_counter_title_before_its_base(registry):
    assert claims(registry, "x_01", "x_02", "x", "x", "x") == ["x_01", "x_02", "x", "x_03", "x_04"]


def test_paths_are_unique_case_insensitively(registry):
    assert claims(registry, "2024/ACME/x", "2024/acme/X", "2024/other/x") == [
        "2024/ACME/x",
        "2024/acme/X_01",
        "2024/other/x",
    ]


def test_long_titles_cut_to_the_same_stem_get_counters(registry):
    first = default_stem("2024-01-31", None, "a" * 300 + " one")
    second = default_stem("2024-01-31", None, "a" * 300 + " two")
    assert first == second
    names = [claim_document_names(registry, stem, ".pdf") for stem in (first, second)]
    assert names[1]["original"] == first + "_01.pdf"
    for name in names[1].values():
        assert utf8(name) <= MAX_NAME_BYTES


def test_reserved_names():
    with UniqueNameRegistry(reserved=["manifest.json", "metadata.json"]) as registry:
        assert claim_document_names(registry, "manifest", ".json")["original"] == (
            "manifest_01.json"
        )
        assert claim_document_names(registry, "metadata", ".pdf")["original"] == "metadata.pdf"
        assert registry.claim("MANIFEST.JSON") == "MANIFEST.JSON_01"


def test_document_names_never_collide_across_kinds(registry):
    taken = [
        claim_document_names(registry, "x", ".pdf"),
        # Its original would be x's archived version...
        claim_document_names(registry, "x-archive", ".pdf"),
        # ...its original x's original, and the next x's thumbnail its thumbnail...
        claim_document_names(registry, "x.pdf", ""),
        claim_document_names(registry, "x", ".png"),
        claim_document_names(registry, "x-thumbnail", ".webp"),
        # ...while these share no name with anything claimed.
        claim_document_names(registry, "x-archive.pdf", ".pdf"),
        claim_document_names(registry, "y", ".pdf"),
    ]
    assert [names["original"] for names in taken] == [
        "x.pdf",
        "x-archive_01.pdf",
        "x.pdf_01",
        "x_01.png",
        "x-thumbnail_01.webp",
        "x-archive.pdf.pdf",
        "y.pdf",
    ]
    files = [name.casefold() for names in taken for name in names.values()]
    assert len(files) == len(set(files))


def test_same_stem_with_disjoint_suffixes(registry):
    assert registry.claim("x", [".pdf"]) == "x"
    assert registry.claim("x", [".png"]) == "x"
    assert registry.claim("x", [".png", ".pdf"]) == "x_01"


def test_many_claims_of_one_stem_cost_constant_lookups(registry):
    statements = []
    registry._db.set_trace_callback(statements.append)
    for _ in range(2000):
        registry.claim("same")
    lookups = [s for s in statements if s.startswith("SELECT key")]
    # One for the stem itself and one for the counter; no probing from _01.
    assert len(lookups) <= 2 * 2000


def test_max_counter():
    with UniqueNameRegistry(max_counter=2) as registry:
        assert claims(registry, "x", "x", "x") == ["x", "x_01", "x_02"]
        with pytest.raises(OverflowError, match="More than 2"):
            registry.claim("x")
        assert registry.claim("y") == "y"


@pytest.mark.parametrize(
    ("stem", "suffixes", "message"),
    [
        ("", ("",), "empty"),
        ("x", (), "at least one suffix"),
        ("x", ("\u0301x",), "ASCII"),
    ],
)
def test_invalid_claims(registry, stem, suffixes, message):
    with pytest.raises(ValueError, match=message):
        registry.claim(stem, suffixes)


def test_claim_document_names_refuses_an_overlong_stem(registry):
    with pytest.raises(ValueError, match="longer than"):
        claim_document_names(registry, "x" * (STEM_MAX_BYTES + 1), ".pdf")


def test_the_database_is_a_temporary_file_removed_on_close(tmp_path):
    registry = UniqueNameRegistry(directory=tmp_path)
    path = Path(registry.path)
    assert path.parent == tmp_path and path.is_file()
    registry.claim("x")
    registry.close()
    assert not path.exists()
    registry.close()
    with pytest.raises(ValueError, match="closed"):
        registry.claim("x")
    with UniqueNameRegistry(directory=tmp_path) as registry:
        pass
    assert os.listdir(tmp_path) == []


# -- properties --------------------------------------------------------------------------------


def reference_claims(requests):
    """The classic rule, over an in-memory set of every taken file name."""
    taken: set[str] = set()
    results = []
    for stem, suffixes in requests:
        candidate, counter = stem, 0
        while any(name_key(candidate + suffix) in taken for suffix in suffixes):
            counter += 1
            candidate = f"{stem}_{counter:02}"
        taken.update(name_key(candidate + suffix) for suffix in suffixes)
        results.append(candidate)
    return results


# Stems and suffixes built from pieces that collide with one another in every way known.
STEM_PIECES = st.sampled_from(["x", "X", "_01", "_02", "_1", "-archive", ".pdf", "é", "e\u0301"])
SUFFIX_SETS = st.sampled_from(
    [
        ("",),
        (".pdf",),
        export_suffixes(".pdf"),
        export_suffixes(".PNG"),
        export_suffixes(""),
        export_suffixes(".webp"),
        ("_01", ".pdf"),
    ]
)


@settings(max_examples=300)
@given(
    st.lists(
        st.tuples(st.lists(STEM_PIECES, min_size=1, max_size=3).map("".join), SUFFIX_SETS),
        max_size=40,
    )
)
def test_registry_follows_the_lowest_free_counter_rule(requests):
    with UniqueNameRegistry() as registry:
        results = [registry.claim(stem, suffixes) for stem, suffixes in requests]
    assert results == reference_claims(requests)


TITLES = st.text(alphabet=NO_SURROGATES, max_size=300) | st.sampled_from(
    ["", ".", "..", "CON", "nul.txt", "a/b", "x" * 300, "😀" * 80, "\u0390" * 100, "x_01"]
)
DOCUMENTS = st.lists(
    st.fixed_dictionaries(
        {
            "pk": st.integers(min_value=1, max_value=10**6),
            "created": st.dates(min_value=datetime.date(1900, 1, 1)),
            "title": TITLES,
            "correspondent": st.none() | TITLES,
            "ext": st.sampled_from(["", ".pdf", ".PDF", ".png", ".tar.gz", ".x" * 20]),
        }
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=150, deadline=None)
@given(DOCUMENTS, st.sampled_from([None, FORMAT, "{title}", "{correspondent}/{title}/{doc_pk}"]))
def test_every_produced_name_is_safe_and_unique(documents, filename_format):
    files: list[str] = []
    with UniqueNameRegistry() as registry:
        # Twice over, so that every stem also gets a counter.
        for document in documents + documents:
            stem = document_stem(
                pk=document["pk"],
                created=document["created"],
                title=document["title"],
                correspondent=document["correspondent"],
                filename_format=filename_format,
            )
            names = claim_document_names(registry, stem, document["ext"])
            assert set(names) == {"original", "thumbnail", "archive", "manifest"}
            for name in names.values():
                for component in name.split("/"):
                    assert_safe_component(component)
            files.extend(names.values())
    assert len({name.casefold() for name in files}) == len(files)
    assert len({name_key(name) for name in files}) == len(files)
