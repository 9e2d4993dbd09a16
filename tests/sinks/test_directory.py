"""
The directory sink: incremental, atomic directory exports, on real files.
"""

import errno
import hashlib
import io
import os
import stat
from pathlib import Path

import pytest

from exporter.sinks import DirectorySink, JsonEntry, SinkSummary
from exporter.sinks.base import SourceChanged
from exporter.sinks.file_list import FILE_LIST_NAME
from exporter.sinks.unchanged import UnchangedCheck
from tests.helpers.files import BIG, OLD_NS, Boom, make, run, snapshot, temporaries


def umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Directory: first and repeated runs.


def test_first_run_copies_everything(target, source):
    progress = []
    with DirectorySink(target, on_bytes=progress.append) as sink:
        with sink.open_json("manifest.json") as manifest:
            manifest.write(b"[")
            manifest.write(b"]")
        outcomes = [sink.add_file(relpath, path) for relpath, path in source.items()]
        assert not (target / "manifest.json").exists()  # nothing visible before commit
        assert not (target / "originals" / "0001.pdf").exists()
        summary = sink.commit()
    assert outcomes == ["copied"] * 3
    assert (target / "manifest.json").read_bytes() == b"[]"
    for relpath, path in source.items():
        copy = target / relpath
        assert copy.read_bytes() == path.read_bytes()
        assert copy.stat().st_mtime_ns == path.stat().st_mtime_ns
    assert stat.S_IMODE((target / "originals/0001.pdf").stat().st_mode) == 0o640 & ~umask()
    total = sum(path.stat().st_size for path in source.values())
    assert sum(progress) == total and len(progress) >= 5
    assert summary == SinkSummary(
        files_copied=3, bytes_copied=total, json_written=1, json_bytes=2, location=target
    )
    assert sorted(sink.written()) == [
        ("manifest.json", "written"),
        ("originals/0001.pdf", "copied"),
        ("originals/0002.txt", "copied"),
        ("thumbnails/0001.webp", "copied"),
    ]
    assert temporaries(target) == []


def test_permissions_are_no_wider_than_the_source(target, tmp_path):
    private = make(tmp_path / "private.pdf", b"secret", mode=0o600)
    with DirectorySink(target) as sink:
        sink.add_file("private.pdf", private)
    assert stat.S_IMODE((target / "private.pdf").stat().st_mode) == 0o600


def test_identical_second_run_skips_everything_and_keeps_json_mtime(target, source):
    run(target, source, compare=True)
    for name in ("manifest.json", "json/0001-manifest.json"):
        os.utime(target / name, ns=(OLD_NS, OLD_NS))
    before = snapshot(target)
    summary = run(target, source, compare=True)
    assert snapshot(target) == before  # same inodes and mtimes: nothing was rewritten
    assert (summary.files_copied, summary.files_skipped) == (0, 3)
    assert (summary.json_written, summary.json_unchanged, summary.bytes_copied) == (0, 2, 0)

    # Without compare mode the JSON is rewritten, with the same bytes.
    summary = run(target, source)
    assert (summary.json_written, summary.files_skipped) == (2, 3)
    assert (target / "manifest.json").stat().st_mtime_ns != OLD_NS
    assert (target / "manifest.json").read_bytes() == b'[{"pk": 1}]'


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda path: make(path, path.read_bytes() + b"!"), id="size"),
        pytest.param(lambda path: os.utime(path, ns=(OLD_NS, OLD_NS + 1)), id="mtime-by-1ns"),
        pytest.param(lambda path: make(path, path.read_bytes().upper(), OLD_NS + 10**9), id="both"),
    ],
)
def test_changed_source_is_recopied(target, source, change):
    run(target, source)
    path = source["originals/0002.txt"]
    change(path)
    summary = run(target, source)
    assert (summary.files_copied, summary.files_skipped) == (1, 2)
    copy = target / "originals/0002.txt"
    assert copy.read_bytes() == path.read_bytes()
    assert copy.stat().st_mtime_ns == path.stat().st_mtime_ns
    assert temporaries(target) == []


def test_checksums_catch_same_size_and_mtime_with_other_bytes(target, source):
    run(target, source)
    path = source["originals/0002.txt"]
    old = path.read_bytes()
    mtime = path.stat().st_mtime_ns
    make(path, old.upper(), mtime)  # same size, same mtime, other bytes

    summary = run(target, source)
    assert summary.files_copied == 0  # size and mtime cannot tell
    assert (target / "originals/0002.txt").read_bytes() == old

    summary = run(target, source, compare_checksums=True)
    assert (summary.files_copied, summary.files_skipped) == (1, 2)
    assert (target / "originals/0002.txt").read_bytes() == old.upper()


def test_checksum_mode_uses_given_checksum_and_ignores_mtime(target, source):
    run(target, source)
    path = source["originals/0002.txt"]
    os.utime(path, ns=(OLD_NS + 5 * 10**9, OLD_NS + 5 * 10**9))
    with DirectorySink(target, compare_checksums=True) as sink:
        # Same bytes, other mtime: skipped.
        assert sink.add_file("originals/0002.txt", path) == "skipped"
        # The given checksum is trusted instead of hashing the source.
        thumbnail = source["thumbnails/0001.webp"]
        exported = hashlib.sha256(thumbnail.read_bytes()).hexdigest()
        make(thumbnail, b"X" * 600)  # same size
        assert sink.add_file("thumbnails/0001.webp", thumbnail, sha256=exported) == "skipped"
        # A copy is hashed on the way: bytes that do not have the given checksum (the file
        # changed since the checksum was read) are refused, and nothing of them is staged.
        document = source["originals/0001.pdf"]
        with pytest.raises(SourceChanged, match="expected 0000"):
            sink.add_file("originals/0001.pdf", document, sha256="0" * 64)
        assert not [p for p in target.rglob("*.tmp")]
        make(document, b"new bytes")
        actual = hashlib.sha256(b"new bytes").hexdigest()
        assert sink.add_file("originals/0001.pdf", document, sha256=actual.upper()) == "copied"


def test_coarse_file_system_times_count_as_equal(target, source, monkeypatch):
    run(target, source)
    source_ns = source["originals/0002.txt"].stat().st_mtime_ns
    assert source_ns % 1_000 != 0
    kept = source_ns - source_ns % 1_000  # what a microsecond file system would have kept
    os.utime(target / "originals/0002.txt", ns=(kept, kept))
    monkeypatch.setattr(UnchangedCheck, "granularity", lambda self: 1_000)
    assert run(target, source).files_copied == 0
    monkeypatch.setattr(UnchangedCheck, "granularity", lambda self: 0)
    assert run(target, source).files_copied == 1


def test_mtime_probe_leaves_nothing_behind(target):
    sink = DirectorySink(target)
    assert sink.unchanged.granularity() in (0, 1, 10, 100, 1_000, 10**9, 2 * 10**9)
    sink.abort()
    assert list(target.iterdir()) == []


# Directory: failures leave the previous export as it was.


def second_run(target, source, tmp_path, *, close_manifest=True):
    """A run that changes a file, adds one in new directories and rewrites the manifest."""
    make(source["originals/0002.txt"], b"changed", OLD_NS + 7)
    new = make(tmp_path / "new.pdf", os.urandom(BIG))
    sink = DirectorySink(target, delete_stale=True)
    manifest = sink.open_json("manifest.json")
    manifest.write(b"[new]")
    for relpath, path in source.items():
        sink.add_file(relpath, path)
    sink.add_file("new/deep/new.pdf", new)
    if close_manifest:
        manifest.close()
    return sink


def test_exception_in_with_block_keeps_previous_export(target, source, tmp_path):
    run(target, source, delete_stale=True)
    before = snapshot(target)
    with pytest.raises(Boom), second_run(target, source, tmp_path, close_manifest=False) as sink:
        with sink.open_json("json/0002-manifest.json") as split:
            split.write(b"[2]")
        raise Boom
    assert snapshot(target) == before
    assert temporaries(target) == []
    with pytest.raises(ValueError, match="aborted"):
        sink.add_file("x.txt", source["originals/0002.txt"])


def test_explicit_abort_keeps_previous_export(target, source, tmp_path):
    run(target, source)
    before = snapshot(target)
    sink = second_run(target, source, tmp_path)
    sink.abort()
    sink.abort()
    assert snapshot(target) == before
    assert temporaries(target) == []


def test_failure_mid_copy_removes_the_partial_file(target, source, tmp_path):
    run(target, source)
    before = snapshot(target)

    def fail_after_first_chunk(count):
        raise Boom

    big = make(tmp_path / "big.pdf", os.urandom(BIG))
    with DirectorySink(target, on_bytes=fail_after_first_chunk) as sink:
        with pytest.raises(Boom):
            sink.add_file("new/big.pdf", big)
        assert temporaries(target) == []
        # The sink stays usable after a failed file.
        with pytest.raises(FileNotFoundError):
            sink.add_file("new/missing.pdf", tmp_path / "missing.pdf")
        sink.abort()
    assert snapshot(target) == before


def test_failure_at_first_rename_keeps_previous_export(target, source, tmp_path, monkeypatch):
    run(target, source)
    before = snapshot(target)
    sink = second_run(target, source, tmp_path)

    def fail(src, dst):
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="I/O error"):
        sink.commit()
    monkeypatch.undo()
    assert snapshot(target) == before
    assert temporaries(target) == []


def test_failure_mid_rename_leaves_the_commit_to_roll_forward(
    target, source, tmp_path, monkeypatch
):
    from exporter.sinks.journal import JOURNAL_NAME, roll_forward

    run(target, source)
    old_manifest = (target / "manifest.json").read_bytes()
    sink = second_run(target, source, tmp_path)
    real_replace = os.replace
    calls = []

    def fail_third(src, dst):
        # The journal's rename, one document file's, then an I/O error.
        calls.append(dst)
        if len(calls) == 3:
            raise OSError(errno.EIO, "I/O error")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", fail_third)
    with pytest.raises(OSError):
        sink.commit()
    monkeypatch.undo()
    # The commit had begun: nothing is undone, the journal and the files still to rename stay.
    assert (target / "manifest.json").read_bytes() == old_manifest
    assert (target / JOURNAL_NAME).is_file()
    # The manifest and the file list are still to rename.
    assert len(temporaries(target)) == 3
    done = roll_forward(target)
    # Four renames, and the split manifest the new export no longer has, removed.
    assert done is not None and (done.entries, done.renamed, done.removed) == (5, 3, 1)
    assert (target / "manifest.json").read_bytes() == b"[new]"
    assert (target / "new/deep/new.pdf").is_file()
    assert temporaries(target) == [] and not (target / JOURNAL_NAME).exists()


def test_everything_staged_is_synced_once_before_the_first_rename(
    target, source, tmp_path, monkeypatch
):
    from exporter.sinks import directory

    sink = second_run(target, source, tmp_path)
    seen = []

    def record(root, paths):
        paths = list(paths)
        # Still staged: nothing renamed yet, every staged file there to be synced.
        seen.append((root, sorted(p.name for p in paths), all(p.is_file() for p in paths)))

    monkeypatch.setattr(directory, "sync_files", record)
    staged = temporaries(target)
    sink.commit()
    assert len(seen) == 1
    root, names, all_there = seen[0]
    assert root == target and all_there
    # With the file list, staged at the commit.
    assert [name for name in names if FILE_LIST_NAME not in name] == sorted(
        Path(name).name for name in staged
    )
    assert len(names) == len(staged) + 1


def test_a_failing_sync_keeps_the_previous_export(target, source, tmp_path, monkeypatch):
    from exporter.sinks import directory

    run(target, source)
    before = snapshot(target)
    sink = second_run(target, source, tmp_path)

    def fail(root, paths):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(directory, "sync_files", fail)
    with pytest.raises(OSError, match="Input/output error"):
        sink.commit()
    assert snapshot(target) == before
    assert temporaries(target) == []


@pytest.mark.parametrize("syncfs", [True, False], ids=["syncfs", "fsync-each"])
def test_sync_files_syncs_or_reports(tmp_path, monkeypatch, syncfs):
    from exporter.sinks import files

    paths = [make(tmp_path / f"f{i}", b"x") for i in range(3)]
    if not syncfs:
        monkeypatch.setattr(files, "_syncfs", None)
        synced = []
        real_fsync = os.fsync
        monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
        files.sync_files(tmp_path, paths)
        assert len(synced) == 3
        return
    if files._syncfs is None:
        pytest.skip("this platform has no syncfs")
    files.sync_files(tmp_path, iter(()))  # the whole file system at once: paths unused
    monkeypatch.setattr(files, "_syncfs", lambda fd: -1)
    monkeypatch.setattr(files.ctypes, "get_errno", lambda: errno.EIO)
    with pytest.raises(OSError) as raised:
        files.sync_files(tmp_path, paths)
    assert raised.value.errno == errno.EIO and raised.value.filename == str(tmp_path)


def test_failed_json_write_discards_the_entry(target):
    class FullDisk(io.RawIOBase):
        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    with DirectorySink(target) as sink:
        entry = sink.open_json("manifest.json")
        real_file = entry.file
        entry.file = FullDisk()
        with pytest.raises(OSError, match="No space"):
            entry.write(b"[]")
        real_file.close()
        assert temporaries(target) == []
        with pytest.raises(ValueError, match="discarded"):
            entry.close()
        # The name is free again.
        with sink.open_json("manifest.json") as entry:
            entry.write(b"[]")
    assert (target / "manifest.json").read_bytes() == b"[]"


def test_commit_with_open_entry_is_refused(target):
    sink = DirectorySink(target)
    entry = sink.open_json("manifest.json")
    entry.write(b"[")
    with pytest.raises(ValueError, match="open"):
        sink.commit()
    assert list(target.iterdir()) == []
    assert isinstance(entry, JsonEntry) and entry.closed


def test_one_run_per_target(target):
    first = DirectorySink(target)
    with pytest.raises(BlockingIOError):
        DirectorySink(target)
    first.commit()
    DirectorySink(target).abort()
