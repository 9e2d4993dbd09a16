"""A write that fails at a chosen byte offset: ENOSPC or EIO inside each part of the output.

The lowest write the sinks use is the file object they ``open`` on a temporary file's
descriptor (the importer: ``os.fdopen``). It is wrapped here so that the bytes up to the chosen
offset of one kind of output are written and the write crossing it fails, as on a disk that
fills up there: inside the manifest, inside a copied document file, inside a split manifest,
inside the zip, and inside a file the importer copies. The real 1 MiB tmpfs test is in
``test_faults.py``; this one chooses where the failure lands.

Each failure must end in a CommandError naming the error and the file, leave the previous
export byte for byte as it was and no ``*.tmp`` anywhere; an import must leave the database as
it was when the failure comes during its database stage.
"""

from __future__ import annotations

import errno
import io
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from documents.models import Document
from exporter.readback import source as export_source
from exporter.sinks import directory, zipped
from tests.helpers.archives import database_state, wipe
from tests.helpers.exports import export, read_tree
from tests.helpers.stop_point import kind_of

pytestmark = [pytest.mark.django_db, pytest.mark.one_database]

MESSAGES = {
    errno.ENOSPC: "No space left on device while writing",
    errno.EIO: "Input/output error while writing",
}


class Faults:
    """Fail the write that crosses ``offset`` bytes of output of ``kind``; count the rest."""

    def __init__(self, kind: str | None = None, offset: int = 0, code: int = errno.ENOSPC):
        self.kind = kind
        self.offset = offset
        self.code = code
        self.written: Counter[str] = Counter()
        self.fired_in: str | None = None

    def wrap(self, file: Any, path: str, kind: str) -> FaultyFile:
        return FaultyFile(self, file, path, kind)


class FaultyFile:
    """A binary file opened for writing, which fails where its Faults say."""

    def __init__(self, faults: Faults, file: Any, path: str, kind: str) -> None:
        self._faults = faults
        self._file = file
        self._path = path
        self._kind = kind

    def write(self, data: Any) -> int:
        faults, size = self._faults, len(data)
        before = faults.written[self._kind]
        if faults.fired_in is None and faults.kind == self._kind and before + size > faults.offset:
            fits = faults.offset - before
            if fits > 0:
                self._file.write(memoryview(data).cast("B")[:fits])
                faults.written[self._kind] += fits
            faults.fired_in = self._path
            raise OSError(faults.code, os.strerror(faults.code))
        faults.written[self._kind] += size
        return self._file.write(data)

    def __enter__(self) -> FaultyFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)


@pytest.fixture
def faults(monkeypatch) -> Faults:
    """Wrap every file the sinks and the importer open for writing."""
    state = Faults()

    def faulty_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        opened = open(file, mode, *args, **kwargs)  # noqa: SIM115 - the caller closes it
        if "w" not in mode or not isinstance(file, int):
            return opened
        path = os.readlink(f"/proc/self/fd/{file}")
        return state.wrap(opened, path, kind_of(path))

    real_fdopen = os.fdopen

    def faulty_fdopen(fd: int, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        opened = real_fdopen(fd, mode, *args, **kwargs)
        if "w" not in mode:
            return opened
        return state.wrap(opened, os.readlink(f"/proc/self/fd/{fd}"), "import")

    monkeypatch.setattr(directory, "open", faulty_open, raising=False)
    monkeypatch.setattr(zipped, "open", faulty_open, raising=False)
    monkeypatch.setattr(os, "fdopen", faulty_fdopen)
    return state


ARCHIVE = {"documents": 25, "seed": 12}


MODES = {
    "manifest": (),
    "file": (),
    "split": ("-sm",),
    "zip": ("-z", "-zn", "backup"),
}
CASES = [
    (kind, fraction, code)
    for kind in MODES
    for fraction, code in ((0.02, errno.ENOSPC), (0.5, errno.EIO), (0.97, errno.ENOSPC))
]


@pytest.mark.parametrize(
    ("kind", "fraction", "code"),
    CASES,
    ids=[f"{k}-{f}-{errno.errorcode[c]}" for k, f, c in CASES],
)
def test_a_write_failing_at_an_offset_keeps_the_previous_export(
    archive, tmp_path, faults, kind, fraction, code
):
    args = MODES[kind]
    # How many bytes of each kind a full run writes, to place the offset inside them.
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    export(scratch, *args)
    total = faults.written[kind]
    assert total > 0, faults.written

    # The previous export: data only, so that the failing run writes every kind of output.
    target = tmp_path / "target"
    target.mkdir()
    export(target, "--data-only", *args)
    before = read_tree(target, None)
    Document.global_objects.filter(pk=1).update(title="Changed since the last export")

    faults.kind, faults.offset, faults.code = kind, int(total * fraction), code
    faults.written.clear()
    with pytest.raises(CommandError) as failure:
        export(target, *args)
    message = str(failure.value)
    assert faults.fired_in is not None
    assert MESSAGES[code] in message, message
    written = message.split(" while writing ", 1)[1]
    if kind == "zip":
        # The file that failed is the archive; the message names it and the entry.
        assert "backup.zip" in written, message
    else:
        # The export's name of the file the bytes were going to.
        fired = Path(faults.fired_in).name
        assert fired.startswith("." + written.split("/")[-1].split(". ")[0][:40]), message
    assert read_tree(target, None) == before
    assert not list(target.rglob("*.tmp"))
    assert not list(tmp_path.rglob(".*.tmp"))


@pytest.mark.parametrize(("fraction", "code"), [(0.1, errno.ENOSPC), (0.8, errno.EIO)])
def test_an_import_copy_failing_at_an_offset_names_the_file_and_resumes(
    archive, tmp_path, faults, fraction, code
):
    target = tmp_path / "export"
    target.mkdir()
    export(target)
    media_before = {
        p.relative_to(archive): p.read_bytes() for p in archive.rglob("*.*") if p.is_file()
    }
    media_before.pop(Path("media.lock"), None)
    total = sum(len(data) for data in media_before.values())
    wipe(archive)

    faults.kind, faults.offset, faults.code = "import", int(total * fraction), code
    with pytest.raises(CommandError) as failure:
        call_command("document_importer", str(target), "--no-progress-bar", verbosity=0)
    message = str(failure.value)
    assert MESSAGES[code] in message, message
    assert str(archive) in message and "--files-only" in message, message
    assert not list(archive.rglob("*.tmp"))
    # The database stage had finished: it stands, and --files-only completes the files.
    assert Document.global_objects.count() == 25
    faults.kind = None
    call_command("document_importer", str(target), "--files-only", "--no-progress-bar", verbosity=0)
    media_after = {
        p.relative_to(archive): p.read_bytes() for p in archive.rglob("*.*") if p.is_file()
    }
    media_after.pop(Path("media.lock"), None)
    assert media_after == media_before


class FailingReader(io.RawIOBase):
    """A manifest that reads fine up to ``offset`` bytes, then fails with EIO."""

    def __init__(self, stream: Any, offset: int) -> None:
        self._stream = stream
        self._left = offset

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._left <= 0:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        data = self._stream.read(min(len(buffer), self._left))
        buffer[: len(data)] = data
        self._left -= len(data)
        return len(data)

    def close(self) -> None:
        self._stream.close()
        super().close()


@pytest.mark.parametrize("fraction", [0.3, 0.9])
def test_an_io_error_during_the_database_stage_rolls_everything_back(
    archive, tmp_path, monkeypatch, fraction
):
    """The importer reads the manifests twice; the load (the first pass, which checks each
    record as it loads it) hits an EIO."""
    target = tmp_path / "export"
    target.mkdir()
    export(target)
    size = (target / "manifest.json").stat().st_size
    wipe(archive)
    before = database_state()
    opened: Counter[str] = Counter()
    real_open = export_source.DirectorySource.open

    def open_failing_on_the_load(self, relpath: str):
        stream = real_open(self, relpath)
        if relpath != "manifest.json":
            return stream
        opened[relpath] += 1
        if opened[relpath] != 1:  # 1: check and load, 2: files
            return stream
        return io.BufferedReader(FailingReader(stream, int(size * fraction)))

    monkeypatch.setattr(export_source.DirectorySource, "open", open_failing_on_the_load)
    with pytest.raises(CommandError) as failure:
        call_command("document_importer", str(target), "--no-progress-bar", verbosity=0)
    message = str(failure.value)
    assert "manifest.json" in message and "Input/output error" in message, message
    assert opened["manifest.json"] == 1
    assert database_state() == before
    assert not [p for p in archive.rglob("*") if p.is_file() and p.name != "media.lock"]
