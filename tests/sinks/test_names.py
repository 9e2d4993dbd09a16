"""Names in a sink: the relative paths it refuses or accepts, and names that clash."""

import io

import pytest

from exporter.sinks import DirectorySink, ZipSink, validate_relpath

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
