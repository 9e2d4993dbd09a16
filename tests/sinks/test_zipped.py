"""The zip sink: entries equal to their inputs, streamed into files or pipes, old zips kept or
removed."""

import io
import os
import stat
import struct
import subprocess
import time
import zipfile
from pathlib import Path

import pytest

from exporter.sinks import ZipSink
from exporter.sinks.file_list import FILE_LIST_NAME
from exporter.sinks.zipped import zip_date_time
from tests.helpers.files import BIG, OLD_NS, Boom, as_earlier_exports_wrote, listing, make

# Zip archives.


def local_header(archive: Path, info: zipfile.ZipInfo) -> tuple[int, dict[int, bytes]]:
    """The version needed and the extra fields of an entry's local header."""
    with open(archive, "rb") as file:
        file.seek(info.header_offset)
        fields = struct.unpack("<4sHHHHHLLLHH", file.read(30))
        assert fields[0] == b"PK\x03\x04"
        file.read(fields[9])
        extra = file.read(fields[10])
    blocks = {}
    while extra:
        tag, size = struct.unpack("<HH", extra[:4])
        blocks[tag] = extra[4 : 4 + size]
        extra = extra[4 + size :]
    return fields[1], blocks


def zip_inputs(tmp_path):
    mtime = time.mktime((2021, 6, 7, 8, 9, 10, 0, 0, -1))
    ns = int(mtime) * 10**9
    return {
        "originals/0001.pdf": make(tmp_path / "in/a.pdf", os.urandom(BIG), ns, 0o640),
        "thumbnails/0001.webp": make(tmp_path / "in/b.webp", b"RIFF" * 1000, ns),
        "originals/0002.tiff": make(tmp_path / "in/c.tiff", b"II*\x00" * 1000, ns),
        "originals/0003.txt": make(tmp_path / "in/d.txt", b"text " * 1000, ns),
    }


def fill(sink, inputs):
    manifest = sink.open_json("manifest.json")
    manifest.write(b"[")
    for index, (relpath, path) in enumerate(inputs.items()):
        with sink.open_json(f"json/{index}.json") as split:
            split.write(b'{"index": %d}' % index)
        assert sink.add_file(relpath, path) == "copied"
        manifest.write(b"%d," % index)
    manifest.write(b"]")
    manifest.close()


def expected_entries(inputs):
    entries = {relpath: path.read_bytes() for relpath, path in inputs.items()}
    entries.update({f"json/{index}.json": b'{"index": %d}' % index for index in range(4)})
    entries["manifest.json"] = b"[0,1,2,3,]"
    return entries


def check_archive(archive, inputs):
    with zipfile.ZipFile(archive) as zf:
        assert zf.testzip() is None
        assert {info.filename: zf.read(info) for info in zf.infolist()} == expected_entries(inputs)
        infos = {info.filename: info for info in zf.infolist()}
    methods = {name: info.compress_type for name, info in infos.items()}
    assert methods["originals/0001.pdf"] == zipfile.ZIP_STORED
    assert methods["thumbnails/0001.webp"] == zipfile.ZIP_STORED
    assert methods["originals/0002.tiff"] == zipfile.ZIP_DEFLATED
    assert methods["originals/0003.txt"] == zipfile.ZIP_DEFLATED
    assert methods["manifest.json"] == methods["json/0.json"] == zipfile.ZIP_DEFLATED
    assert infos["originals/0001.pdf"].date_time == (2021, 6, 7, 8, 9, 10)
    assert stat.S_IMODE(infos["originals/0001.pdf"].external_attr >> 16) == 0o640
    for info in infos.values():
        version, extra = local_header(archive, info)
        assert version >= 45 and 1 in extra, info.filename  # ZIP64 on every entry
    return infos


def test_zip_entries_equal_the_inputs(tmp_path):
    inputs = zip_inputs(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    progress = []
    with ZipSink(out, "export", on_bytes=progress.append) as sink:
        fill(sink, inputs)
        assert not (out / "export.zip").exists()
    assert listing(out) == ["export.zip"]
    check_archive(out / "export.zip", inputs)
    assert (
        sum(progress)
        == sink.summary.bytes_copied
        == sum(path.stat().st_size for path in inputs.values())
    )
    assert (sink.summary.files_copied, sink.summary.json_written) == (4, 5)
    assert sink.summary.location == out / "export.zip"


def test_zip_dates_are_clamped():
    assert zip_date_time(0) == (1980, 1, 1, 0, 0, 0)
    assert zip_date_time(-(10**12)) == (1980, 1, 1, 0, 0, 0)
    assert zip_date_time(7_258_118_400) == (2107, 12, 31, 23, 59, 58)  # 2200
    assert zip_date_time(10**20) == (2107, 12, 31, 23, 59, 58)


def test_zip_entry_of_old_file_gets_earliest_date(tmp_path):
    old = make(tmp_path / "old.txt", b"1970", mtime_ns=0)
    with ZipSink(tmp_path, "export") as sink:
        sink.add_file("old.txt", old)
    with zipfile.ZipFile(tmp_path / "export.zip") as zf:
        assert zf.getinfo("old.txt").date_time == (1980, 1, 1, 0, 0, 0)


def test_zip_abort_keeps_previous_archive(tmp_path):
    inputs = zip_inputs(tmp_path)
    out = tmp_path / "out"
    make(out / "export.zip", b"previous archive")
    with pytest.raises(Boom), ZipSink(out, "export") as sink:
        fill(sink, inputs)
        raise Boom
    assert sorted(os.listdir(out)) == ["export.zip"]
    assert (out / "export.zip").read_bytes() == b"previous archive"


def test_zip_failure_mid_entry_aborts_the_sink(tmp_path):
    inputs = zip_inputs(tmp_path)
    out = tmp_path / "out"
    make(out / "export.zip", b"previous archive")

    def fail(count):
        raise Boom

    sink = ZipSink(out, "export", on_bytes=fail)
    with pytest.raises(FileNotFoundError):  # before the entry: still usable
        sink.add_file("missing.pdf", tmp_path / "missing.pdf")
    entry = sink.open_json("manifest.json")
    with pytest.raises(Boom):
        sink.add_file("originals/0001.pdf", inputs["originals/0001.pdf"])
    assert entry.closed
    with pytest.raises(ValueError, match="aborted"):
        sink.commit()
    assert sorted(os.listdir(out)) == ["export.zip"]
    assert (out / "export.zip").read_bytes() == b"previous archive"


def test_zip_streams_into_a_pipe(tmp_path):
    inputs = zip_inputs(tmp_path)
    archive = tmp_path / "piped.zip"
    with open(archive, "wb") as result:
        cat = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=result)
        with ZipSink(None, "export", stream=cat.stdin) as sink:
            fill(sink, inputs)
        cat.stdin.close()
        assert cat.wait() == 0
    infos = check_archive(archive, inputs)
    assert all(info.flag_bits & 0x08 for info in infos.values())  # data descriptors
    assert sink.summary.location is None


def test_aborted_stream_has_no_central_directory(tmp_path):
    inputs = zip_inputs(tmp_path)
    read, write = os.pipe()
    with open(write, "wb") as stream:
        sink = ZipSink(None, "export", stream=stream)
        sink.add_file("originals/0003.txt", inputs["originals/0003.txt"])
        sink.abort()
    with open(read, "rb") as pipe:
        data = pipe.read()
    assert data.startswith(b"PK\x03\x04")
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(io.BytesIO(data))


def test_zip_delete_stale_removes_only_older_zips_of_ours(tmp_path):
    inputs = zip_inputs(tmp_path)
    out = tmp_path / "out"
    outside = tmp_path / "outside"
    make(outside / "precious.txt", b"keep me")
    make(out / "export.zip", b"previous archive")
    make(out / "export-2020.zip", b"older archive")
    make(out / "someone-elses.zip", b"not ours")
    make(out / "manifest.json", b"[]")
    make(out / "originals/0001.pdf", b"unzipped export")
    (out / "empty").mkdir()
    (out / "link").symlink_to(outside, target_is_directory=True)
    as_earlier_exports_wrote(out, "export.zip", "export-2020.zip", "manifest.json")
    with ZipSink(out, "export", delete_stale=True) as sink:
        fill(sink, inputs)
    assert listing(out) == [
        "empty",
        "export.zip",
        "link",
        "manifest.json",
        "originals",
        "someone-elses.zip",
    ]
    assert (outside / "precious.txt").read_bytes() == b"keep me"
    check_archive(out / "export.zip", inputs)
    assert (sink.summary.files_deleted, sink.summary.dirs_deleted) == (1, 0)
    assert sink.summary.foreign_files == 4  # empty, link, originals, someone-elses.zip
    # The new list names the new zip and the earlier export's manifest, not the removed zip.
    names = (out / FILE_LIST_NAME).read_text().splitlines()[1:]
    assert names == ['"manifest.json"', '"export.zip"']


def test_zip_keep_retains_the_newest_zips_of_ours(tmp_path):
    inputs = zip_inputs(tmp_path)
    out = tmp_path / "out"
    for number in range(1, 5):
        make(out / f"n{number}.zip", b"archive", mtime_ns=OLD_NS + number * 10**9)
    as_earlier_exports_wrote(out, *(f"n{number}.zip" for number in range(1, 5)))
    with ZipSink(out, "n5", keep=3) as sink:
        fill(sink, inputs)
    assert listing(out) == ["n3.zip", "n4.zip", "n5.zip"]
    assert sink.summary.files_deleted == 2


def test_zip_removes_leftover_temporary_archives_only(tmp_path):
    make(tmp_path / ".export.zip.abc.tmp", b"killed run")
    make(tmp_path / ".other.zip.0123456789ab.tmp", b"killed run of another name")
    make(tmp_path / ".notes.txt.0123456789ab.tmp", b"not an archive's")
    make(tmp_path / "keep.txt", b"unrelated")
    with ZipSink(tmp_path, "export") as sink, sink.open_json("manifest.json") as manifest:
        manifest.write(b"[]")
    assert listing(tmp_path) == [".notes.txt.0123456789ab.tmp", "export.zip", "keep.txt"]
    assert sink.summary.temps_removed == 2


def test_zip_arguments_are_checked(tmp_path):
    with pytest.raises(ValueError):
        ZipSink(None, "export")
    with pytest.raises(ValueError):
        ZipSink(tmp_path, "export", stream=io.BytesIO())
    with pytest.raises(ValueError):
        ZipSink(None, "export", stream=io.BytesIO(), delete_stale=True)
    with pytest.raises(ValueError):
        ZipSink(tmp_path, "a/b")
    assert list(tmp_path.iterdir()) == []


def test_seekable_stream_still_gets_data_descriptors(tmp_path):
    inputs = zip_inputs(tmp_path)
    stream = io.BytesIO()
    with ZipSink(None, "export", stream=stream) as sink:
        fill(sink, inputs)
    archive = tmp_path / "streamed.zip"
    archive.write_bytes(stream.getvalue())
    infos = check_archive(archive, inputs)
    assert all(info.flag_bits & 0x08 for info in infos.values())
