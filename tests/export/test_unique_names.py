"""The on-disk registry of export names: unique case-insensitively, counters by the lowest free
rule."""

from __future__ import annotations

import datetime
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.export.naming import (
    MAX_NAME_BYTES,
    STEM_MAX_BYTES,
    default_stem,
    document_stem,
    export_suffixes,
)
from exporter.export.unique_names import UniqueNameRegistry, claim_document_names, name_key
from exporter.key_filter import FILTER_BITS
from tests.helpers.names import FORMAT, NO_SURROGATES, assert_safe_component, utf8

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
    ),
    st.sampled_from([8, 64, FILTER_BITS]),
)
def test_registry_follows_the_lowest_free_counter_rule(requests, filter_bits):
    with UniqueNameRegistry(filter_bits=filter_bits) as registry:
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


def test_free_document_claims_cost_no_lookup(registry):
    claim_document_names(registry, "first", ".pdf")
    statements = []
    registry._db.set_trace_callback(statements.append)
    for number in range(100):
        claim_document_names(registry, f"document {number}", ".pdf")
    # The filter of claimed keys settles every one; their rows wait to be inserted together.
    assert statements == []
    assert claim_document_names(registry, "document 7", ".pdf")["original"] == "document 7_01.pdf"
    lookups = [s for s in statements if s.startswith("SELECT key")]
    inserts = [s for s in statements if s.startswith("INSERT INTO claimed")]
    # The taken name is looked up, after the rows held back went in; its _01 is certainly free.
    assert len(lookups) == 1 and len(inserts) == 101


def test_a_new_suffix_is_looked_for_in_earlier_suffix_sets(registry):
    assert registry.claim("z", (".pdf",)) == "z"
    # "a.pdf" is new: "qa" + ".pdf" is now taken by "q" + "a.pdf".
    assert registry.claim("q", ("a.pdf",)) == "q"
    assert registry.claim("qa", (".pdf",)) == "qa_01"


@pytest.mark.parametrize("filter_bits", [8, 1 << 12, FILTER_BITS])
def test_thousands_of_claims_follow_the_rule_whatever_the_filter(filter_bits):
    # Past the rows held back, and with a filter that knows nothing (8 bits: always "maybe"),
    # or little, or enough.
    requests = [(f"Stem {number % 2500}", export_suffixes(".pdf")) for number in range(5000)]
    requests += [(f"stem {number}_01", export_suffixes(".pdf")) for number in range(0, 2500, 7)]
    with UniqueNameRegistry(filter_bits=filter_bits) as registry:
        results = [registry.claim(stem, suffixes) for stem, suffixes in requests]
    assert results == reference_claims(requests)


@pytest.mark.parametrize("filter_bits", [0, 7, 12, 1000])
def test_the_filter_size_is_a_power_of_two(filter_bits):
    with pytest.raises(ValueError, match="power of two"):
        UniqueNameRegistry(filter_bits=filter_bits)
