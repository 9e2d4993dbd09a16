"""What a sink raises when a write fails: a SinkWriteError naming the export's file, with the
OSError as its cause; a missing source and a changed one as themselves."""

import errno
import hashlib
import io
import os

import pytest

from exporter.errors import UsageError
from exporter.export.options import ExportOptions
from exporter.sinks import DirectorySink, SinkWriteError, SourceChanged, ZipSink
from tests.helpers.files import BIG, make


class FullDisk(io.RawIOBase):
    """A file, or an output stream, whose disk fills up after ``room`` bytes."""

    def __init__(self, room: int = 0) -> None:
        self.room = room

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        if len(data) > self.room:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= len(data)
        return len(data)


def test_a_failed_json_write_names_the_entry(target):
    with DirectorySink(target) as sink:
        entry = sink.open_json("json/0001-manifest.json")
        real_file, entry.file = entry.file, FullDisk()
        with pytest.raises(SinkWriteError) as raised:
            entry.write(b"[]")
        real_file.close()
        sink.abort()
    error = raised.value
    assert error.export_name == "json/0001-manifest.json"
    assert isinstance(error, OSError) and error.errno == errno.ENOSPC
    assert isinstance(error.__cause__, OSError) and error.__cause__ is not error
    assert str(error) == "No space left on device while writing json/0001-manifest.json"


def test_a_failed_zip_entry_names_the_archive_and_the_entry(tmp_path):
    pdf = make(tmp_path / "in/a.pdf", os.urandom(BIG))
    sink = ZipSink(None, "export", stream=FullDisk(room=BIG // 2))
    with pytest.raises(SinkWriteError) as raised:
        sink.add_file("originals/a.pdf", pdf)
    assert raised.value.export_name == "standard output (entry originals/a.pdf)"
    assert raised.value.errno == errno.ENOSPC


def test_a_missing_source_is_not_a_write_error(target, tmp_path):
    with DirectorySink(target) as sink:
        with pytest.raises(FileNotFoundError) as raised:
            sink.add_file("originals/missing.pdf", tmp_path / "missing.pdf")
        assert not isinstance(raised.value, SinkWriteError)
        sink.abort()


@pytest.mark.parametrize("zipped", [False, True], ids=["directory", "zip"])
def test_a_source_without_its_checksum_is_refused(target, tmp_path, zipped):
    data = os.urandom(BIG)
    pdf = make(tmp_path / "in/a.pdf", data)
    wrong = hashlib.sha256(data + b"x").hexdigest().upper()
    sink = ZipSink(target, "export") if zipped else DirectorySink(target)
    with sink:
        with pytest.raises(SourceChanged) as raised:
            sink.add_file("originals/a.pdf", pdf, sha256=wrong)
        if not zipped:
            # Refused before anything of it is staged: the sink goes on.
            assert sink.add_file("originals/b.pdf", pdf) == "copied"
        sink.abort()
    assert raised.value.source == pdf
    assert raised.value.expected == wrong.lower()
    assert raised.value.actual == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"batch_size": 0}, "--batch_size must be a whole number"),
        ({"zip": True, "compare_json": True}, "--compare-json mean nothing"),
        ({"passphrase": ""}, "The passphrase is empty"),
        ({"zip": True, "zip_name": ".hidden"}, "is not a plain file name"),
        ({"keep": 2}, "--keep counts zips"),
        ({"zip": True, "keep": 0}, "--keep must be at least 1"),
        ({"stdout": io.BytesIO()}, "needs --zip"),
        ({"stdout": io.BytesIO(), "zip": True, "delete": True}, "need a TARGET directory"),
        ({"target": None}, "No TARGET given"),
    ],
)
def test_options_that_cannot_work_are_refused_on_their_own(tmp_path, changes, fragment):
    options = ExportOptions(**{"target": tmp_path, **changes})
    with pytest.raises(UsageError, match=fragment):
        options.validate()


def test_options_that_can_work_pass(tmp_path):
    ExportOptions(target=tmp_path).validate()
    ExportOptions(target=None, stdout=io.BytesIO(), zip=True).validate()
