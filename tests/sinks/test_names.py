"""Names in a sink: the relative paths it refuses or accepts, and names that clash."""

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.sinks import DirectorySink, ZipSink, validate_relpath
from exporter.sinks.files import _checked_parts, plainly_safe

BAD_RELPATHS = [
    "",
    "/etc/passwd",
    "../escape.pdf",
    "a/../../b",
    "a/./b",
    "a//b",
    "a/",
    "./a",
    "a\\..\\b",
    "C:\\x.pdf",
    "nul\x00byte",
    "x" * 256,
    "é" * 128,  # 256 bytes
    "surrogate\udcff",
    ".x.abc.tmp",
    "dir/.a.pdf.0123456789ab.tmp",
]


@pytest.mark.parametrize("relpath", BAD_RELPATHS)
def test_bad_relpaths_are_rejected(target, source, relpath):
    for sink in (DirectorySink(target), ZipSink(None, "x", stream=io.BytesIO())):
        with pytest.raises(ValueError):
            sink.add_file(relpath, source["originals/0002.txt"])
        with pytest.raises(ValueError):
            sink.open_json(relpath)
        sink.abort()
    assert list(target.iterdir()) == []


def test_longest_names_are_accepted(target, source):
    name = "x" * 251 + ".pdf"
    assert validate_relpath(f"a/{name}") == ("a", name)
    with DirectorySink(target) as sink:
        sink.add_file(f"a/{name}", source["originals/0002.txt"])
        with sink.open_json(f"a/{'j' * 250}.json") as entry:
            entry.write(b"[]")
    assert (target / "a" / name).exists()


def test_clashing_names_are_rejected(target, source):
    path = source["originals/0002.txt"]
    with DirectorySink(target) as sink:
        sink.add_file("a/b.txt", path)
        with pytest.raises(ValueError, match="clashes"):
            sink.add_file("a/b.txt", path)
        with pytest.raises(ValueError, match="clashes"):
            sink.add_file("a/b.txt/c.txt", path)
        with pytest.raises(ValueError, match="clashes"):
            sink.add_file("a", path)
        entry = sink.open_json("m.json")
        with pytest.raises(ValueError, match="clashes"):
            sink.open_json("m.json")
        with pytest.raises(ValueError, match="clashes"):
            sink.add_file("m.json/x", path)
        entry.close()


_NAME_PIECES = st.sampled_from(
    ["a", "b9", "/", ".", "..", "é", "請" * 40, "\udcff", "\\", "\x00", ".tmp", "0f", "x" * 120]
)


@settings(max_examples=2000, deadline=None)
@given(st.one_of(st.lists(_NAME_PIECES, max_size=8).map("".join), st.text(max_size=300)))
def test_the_quick_path_accepts_only_what_the_rule_accepts(relpath):
    """The string tests that let most names through agree with the component-by-component rule."""
    try:
        expected = _checked_parts(relpath)
    except ValueError:
        expected = None
    if plainly_safe(relpath):
        assert expected == tuple(relpath.split("/"))
    if expected is None:
        with pytest.raises(ValueError):
            validate_relpath(relpath)
    else:
        assert validate_relpath(relpath) == expected


def test_the_quick_path_takes_ordinary_names():
    """Not a test that cannot fail: ordinary export names do take the quick path."""
    assert plainly_safe("originals/2024/0001 Invoice.pdf")
    assert plainly_safe("originals/2024 Übersicht 請求書.pdf")
    assert not plainly_safe("originals/.hidden.pdf")
