"""An interrupted commit, seen by verify_export, document_importer and the next export.

The exporter is stopped inside its commit (after the journal and one rename) with an exception
that no code catches, so that nothing but the sink's own reaction runs: once the journal is in
place the commit goes forward, so the journal and the staged files stay. The kill -9 version of
this, in real processes at random renames, is in ``tests/management/test_kill.py``.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from documents.models import Document
from exporter.sinks import DirectorySink
from exporter.sinks.journal import JOURNAL_NAME
from tests.helpers.archives import wipe
from tests.helpers.exports import export, verify_outcome
from tests.helpers.stop_points import kill, spawn_export, wait_stopped

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.one_database]

COMPLETED = "half-way through its commit"


class Killed(BaseException):
    """Stands for a kill: no ``except Exception`` catches it."""


ARCHIVE = {"documents": 6, "seed": 7}


def change_a_file_in_place() -> Document:
    """One document's original gets new bytes under the same name."""
    document = Document.global_objects.order_by("pk").first()
    data = document.source_path.read_bytes() + b"changed in place\n"
    document.source_path.write_bytes(data)
    document.checksum = hashlib.sha256(data).hexdigest()
    document.save()
    return document


def interrupted_export(target: Path, monkeypatch) -> None:
    """An export stopped after its journal's rename and one document file's."""
    real_replace = os.replace
    calls = []

    def replace(src, dst):
        if len(calls) == 2:
            raise Killed
        calls.append(dst)
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(Killed):
        export(target)
    monkeypatch.setattr(os, "replace", real_replace)
    assert (target / JOURNAL_NAME).is_file()
    assert Path(calls[0]).name == JOURNAL_NAME


@pytest.fixture
def interrupted(archive, tmp_path, monkeypatch):
    """An export whose second run was stopped inside its commit; the changed document."""
    target = tmp_path / "export"
    target.mkdir()
    export(target)
    old_manifest = (target / "manifest.json").read_bytes()
    document = change_a_file_in_place()
    interrupted_export(target, monkeypatch)
    assert (target / "manifest.json").read_bytes() == old_manifest
    assert list(target.rglob(".*.tmp"))
    return target, document


def test_verify_completes_an_interrupted_commit_and_says_so(interrupted):
    target, document = interrupted
    ok, out, err = verify_outcome(target)
    assert ok, err
    assert f"Warning: a document_exporter writing into {target} had been stopped" in err
    assert COMPLETED in err and "renames were left, and were completed now" in err
    assert not (target / JOURNAL_NAME).exists() and not list(target.rglob(".*.tmp"))
    manifest = (target / "manifest.json").read_text()
    assert document.checksum in manifest
    # Completed once: the next verify has nothing to say about it.
    ok, out, err = verify_outcome(target)
    assert ok and COMPLETED not in err, err


def test_the_next_export_completes_it_first_and_says_so(interrupted):
    target, _ = interrupted
    messages = io.StringIO()
    export(target, verbosity=1, stdout=io.StringIO(), stderr=messages)
    err = messages.getvalue()
    assert f"Warning: The previous run into {target} was stopped {COMPLETED}" in err
    assert not (target / JOURNAL_NAME).exists()
    ok, _, err = verify_outcome(target)
    assert ok and COMPLETED not in err, err


def test_the_importer_completes_it_and_imports_the_new_export(interrupted, archive):
    target, document = interrupted
    wipe(archive)
    err = io.StringIO()
    call_command(
        "document_importer", str(target), "--no-progress-bar", stdout=io.StringIO(), stderr=err
    )
    assert COMPLETED in err.getvalue()
    imported = Document.global_objects.get(pk=document.pk)
    assert imported.checksum == document.checksum
    assert hashlib.sha256(imported.source_path.read_bytes()).hexdigest() == document.checksum


@pytest.fixture
def read_only(tmp_path):
    """Make a directory read-only for this process: a read-only bind mount, as root."""
    mounted: list[Path] = []

    def make(path: Path) -> Path:
        if os.geteuid() != 0:
            for directory in [path, *(p for p in path.rglob("*") if p.is_dir())]:
                directory.chmod(0o555)
            return path
        view = tmp_path / f"read-only-{len(mounted)}"
        view.mkdir()
        for command in (
            ["mount", "--bind", str(path), str(view)],
            ["mount", "-o", "remount,bind,ro", str(view)],
        ):
            result = subprocess.run(command, capture_output=True, text=True)
            if result.returncode != 0:
                if mounted or command[1] != "--bind":
                    subprocess.run(["umount", str(view)], check=False)
                pytest.skip(f"no read-only bind mount here: {result.stderr.strip()}")
            if command[1] == "--bind":
                mounted.append(view)
        return view

    yield make
    for view in mounted:
        subprocess.run(["umount", str(view)], check=True)


def test_verify_on_a_read_only_export_fails_clearly(interrupted, read_only):
    target, _ = interrupted
    view = read_only(target)
    ok, out, err = verify_outcome(view)
    assert not ok
    assert "Problem: interrupted commit" in err, err
    assert "run document_exporter (or verify_export with write access) to complete it" in err
    assert (target / JOURNAL_NAME).exists()  # nothing changed
    ok, out, err = verify_outcome(target)  # with write access
    assert ok and COMPLETED in err, err


def test_verify_and_import_refuse_an_export_being_written(archive, tmp_path):
    target = tmp_path / "export"
    target.mkdir()
    export(target)
    # A real exporter frozen at its first manifest write: it holds the target's locks.
    process = spawn_export(target, ("--stream",), archive.parent, "manifest:1")
    try:
        assert wait_stopped(process)
        ok, _, err = verify_outcome(target)
        assert not ok and f"an export is being written into {target}; wait for it" in err, err
        with pytest.raises(CommandError, match="an export is being written into"):
            call_command("document_importer", str(target), "--no-progress-bar", verbosity=0)
    finally:
        kill(process)
    assert verify_outcome(target)[0]
    # The directory's own lock (a sink used without the exporter's lock file) is honoured too.
    sink = DirectorySink(target)
    try:
        ok, _, err = verify_outcome(target)
        assert not ok and "an export is being written into" in err, err
    finally:
        sink.abort()
    assert verify_outcome(target)[0]
    # And an exporter waits for a verify_export: reading holds the same locks.
    from exporter.readback.opening import open_export

    with open_export(target), pytest.raises(CommandError, match="verify_export or"):
        export(target)


def test_a_torn_journal_on_a_read_only_export_is_ignored(archive, tmp_path, read_only):
    target = tmp_path / "export"
    target.mkdir()
    export(target)
    # Torn: no end line, so no rename had begun; it cannot be removed on a read-only view.
    (target / JOURNAL_NAME).write_bytes(b'document_exporter commit journal 1\n["rena')
    ok, _, err = verify_outcome(read_only(target))
    assert ok, err
    assert JOURNAL_NAME not in err  # not reported as a file no record names
    assert (target / JOURNAL_NAME).exists()
    ok, _, err = verify_outcome(target)  # with write access it goes
    assert ok and not (target / JOURNAL_NAME).exists(), err
