"""A directory export with ``delete_stale``: exactly the stale files of earlier exports go, and
the temporary files a killed run left."""

import errno
import os

import pytest

from exporter.format import is_tool_file
from exporter.sinks import DirectorySink
from tests.helpers.files import as_earlier_exports_wrote, make, run, snapshot, temporaries


def test_delete_stale_removes_exactly_the_stale_files(target, source, tmp_path):
    outside = tmp_path / "outside"
    make(outside / "precious.txt", b"keep me")
    elsewhere = tmp_path / "elsewhere"
    make(elsewhere / "other.txt", b"not ours either")
    make(target / "stale.pdf", b"old")
    make(target / "old/dir/file.txt", b"old")
    make(target / "originals/9999.pdf", b"old document")
    (target / "empty").mkdir()  # not emptied by the deletion: kept
    (target / "link_dir").symlink_to(outside, target_is_directory=True)
    (target / "link_file").symlink_to(outside / "precious.txt")
    (target / "via_link").symlink_to(elsewhere, target_is_directory=True)
    make(target / ".stale.pdf.abc.tmp", b"killed run")
    make(target / "users-own.txt", b"no export wrote it")
    as_earlier_exports_wrote(
        target,
        *("stale.pdf", "old/dir/file.txt", "originals/9999.pdf", "link_dir", "link_file"),
        "via_link",
    )

    with DirectorySink(target, delete_stale=True) as sink:
        for relpath, path in source.items():
            sink.add_file(relpath, path)
        sink.add_file("via_link/written.txt", source["originals/0002.txt"])
        with sink.open_json("manifest.json") as manifest:
            manifest.write(b"[]")
    summary = sink.summary

    assert sorted(name for name in snapshot(target) if not is_tool_file(name)) == [
        "empty",
        "manifest.json",
        "originals",
        "originals/0001.pdf",
        "originals/0002.txt",
        "thumbnails",
        "thumbnails/0001.webp",
        "users-own.txt",
        "via_link",
    ]
    assert summary.foreign_files == 1 and summary.foreign_names == ["users-own.txt"]
    assert (outside / "precious.txt").read_bytes() == b"keep me"
    assert (elsewhere / "other.txt").exists()  # never followed
    assert (elsewhere / "written.txt").exists()
    assert (summary.files_deleted, summary.dirs_deleted, summary.temps_removed) == (5, 2, 1)


def test_without_delete_stale_only_leftover_temporaries_go(target, source):
    make(target / "stale.pdf", b"old")
    make(target / ".x.abc.tmp", b"killed run")
    make(target / "originals/.0001.pdf.0123456789ab.tmp", b"killed run")
    make(target / "originals/notes.tmp", b"not ours")
    summary = run(target, source)
    assert (target / "stale.pdf").exists() and (target / "originals/notes.tmp").exists()
    assert temporaries(target) == ["originals/notes.tmp"]
    assert summary.temps_removed == 2


def test_stale_file_that_cannot_be_removed_fails_after_the_commit(target, source, monkeypatch):
    make(target / "stale.pdf", b"old")
    as_earlier_exports_wrote(target, "stale.pdf")
    real_unlink = os.unlink

    def refuse(path, *, dir_fd=None):
        if path == "stale.pdf":
            raise PermissionError(errno.EACCES, "Permission denied", path)
        real_unlink(path, dir_fd=dir_fd)

    monkeypatch.setattr(os, "unlink", refuse)
    with pytest.raises(PermissionError):
        run(target, source, delete_stale=True)
    monkeypatch.undo()
    # The new export is complete; only the cleanup stopped.
    assert (target / "manifest.json").read_bytes() == b'[{"pk": 1}]'
    assert (target / "originals/0001.pdf").exists() and (target / "stale.pdf").exists()


def test_a_file_name_that_is_not_valid_unicode_is_kept_and_reported(target, source):
    # A byte that does not decode (a name from another system's encoding): none of ours.
    make(target / "stale.pdf", b"old")
    as_earlier_exports_wrote(target, "stale.pdf")
    with open(os.path.join(os.fsencode(target), b"scan-\xe9t\xe9.pdf"), "wb") as file:
        file.write(b"the user's")

    with DirectorySink(target, delete_stale=True) as sink:
        for relpath, path in source.items():
            sink.add_file(relpath, path)
        with sink.open_json("manifest.json") as manifest:
            manifest.write(b"[]")
    summary = sink.summary

    assert (target / "scan-\udce9t\udce9.pdf").read_bytes() == b"the user's"
    assert not (target / "stale.pdf").exists()
    assert summary.foreign_files == 1
    assert summary.foreign_names == ["scan-\\udce9t\\udce9.pdf"]
    # The file list names only what exports of ours wrote.
    with DirectorySink(target, delete_stale=True) as sink, sink.open_json("manifest.json") as out:
        out.write(b"[]")
    assert (target / "scan-\udce9t\udce9.pdf").exists()
    assert sink.summary.foreign_files == 1
