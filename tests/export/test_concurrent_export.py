"""An export while other processes write: one moment's rows, and files that match their records.

Every writer here is a real process (``tests/helpers/concurrent_writer.py``) on the same
database as a real ``document_exporter --stream`` process; nothing is mocked.

Rows. A writer inserts, edits and deletes documents, tags and notes and moves tags between
documents, in many small transactions; each stamps its generation number into a marker column
(the first correspondent's ``match``) and logs, after its commit, the counts of documents, tags,
notes and document-tag links it left. The export must be the database of one moment: the
marker in its manifest names a generation, and the manifest's counts are exactly that
generation's; ``verify_export`` passes, and every foreign key and many-to-many id points at a
record of the export. On SQLite the export's read transaction (WAL) must not stop the writer's
commits; on PostgreSQL the export reads in REPEATABLE READ, on MariaDB from a consistent
snapshot (``START TRANSACTION WITH CONSISTENT SNAPSHOT``).

Files. The exporter holds the media lock (``settings.MEDIA_LOCK``, a filelock) for its whole
run. A cooperating writer takes that lock before it replaces a document's file and checksum: it
waits until the export is over, and the export holds the file and checksum of its snapshot. A
writer that does not take the lock can replace a file after the export read the document's
checksum and before it copies the file. The sink hashes every file it copies on the way (no
second read) and compares it with the record's checksum: on a mismatch the export fails with a
CommandError naming the document and the file ("changed during the export ... run the export
again") and leaves the previous export as it was, instead of writing a backup whose file
contradicts its manifest. A thumbnail has no checksum column and is copied as it is found.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.core.management import call_command

from documents.generator import generate_archive
from documents.models import Correspondent, Document
from tests.helpers.archives import tree_digest
from tests.helpers.concurrent_writer import MARKER_PREFIX, counts
from tests.helpers.exports import records as manifest_records
from tests.helpers.exports import verify
from tests.helpers.processes import ROOT, command_environment
from tests.helpers.stop_points import spawn_export, wait_stopped

pytestmark = pytest.mark.django_db(transaction=True)


# -- processes -------------------------------------------------------------------------------


def spawn_writer(data_dir: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.helpers.concurrent_writer", *args],
        cwd=ROOT,
        env=command_environment(data_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen, timeout: float = 120) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out or "", err or ""


def read_log(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]


# -- what the export holds -------------------------------------------------------------------


def manifest_state(records: list[dict[str, Any]]) -> tuple[int, dict[str, int]]:
    """The marker's generation and the counts the writer logs, as the manifest has them."""
    by_model: dict[str, list[dict]] = defaultdict(list)
    for record in records:
        by_model[record["model"]].append(record)
    marker = min(by_model["documents.correspondent"], key=lambda r: r["pk"])
    generation = int(marker["fields"]["match"].removeprefix(MARKER_PREFIX))
    documents = by_model["documents.document"]
    return generation, {
        "documents": len(documents),
        "tags": len(by_model["documents.tag"]),
        "notes": len(by_model["documents.note"]),
        "document_tags": sum(len(d["fields"]["tags"]) for d in documents),
    }


def dangling_references(records: list[dict[str, Any]]) -> list[str]:
    """Every foreign key or many-to-many id of a record that names no record of the export."""
    present: dict[str, set] = defaultdict(set)
    for record in records:
        present[record["model"]].add(record["pk"])
    problems = []
    for record in records:
        model = apps.get_model(record["model"])
        for field in model._meta.get_fields():
            if not (field.concrete and field.is_relation) or field.name not in record["fields"]:
                continue
            value = record["fields"][field.name]
            target = field.related_model._meta.label_lower
            for related in value if field.many_to_many else [value]:
                if related is not None and related not in present[target]:
                    problems.append(f"{record['model']} pk={record['pk']} {field.name}={related}")
    return problems


def check_export_of_one_moment(target: Path, states: dict[int, dict[str, int]]) -> int:
    """The export verifies, has no dangling reference, and is exactly one logged state."""
    verify(target)
    records = manifest_records(target)
    assert dangling_references(records) == []
    generation, seen = manifest_state(records)
    assert generation in states, generation
    assert seen == states[generation], (generation, seen, states[generation])
    return generation


# -- rows ------------------------------------------------------------------------------------


@pytest.fixture
def rows_archive(media):
    """A data-only archive whose marker says generation 0; its data directory."""

    def make(documents: int) -> dict[str, int]:
        generate_archive(documents=documents, seed=7, with_files=False)
        marker = Correspondent.objects.order_by("pk").first()
        Correspondent.objects.filter(pk=marker.pk).update(match=f"{MARKER_PREFIX}0")
        return counts()

    return make


def test_writer_commits_while_the_export_is_frozen_inside_its_snapshot(
    media, rows_archive, tmp_path
):
    """The export freezes at its second manifest write (the correspondents, before tags, notes
    and documents are read); a writer then commits 40 transactions, all of which the export must
    not see: its manifest is exactly the state it started from."""
    initial = rows_archive(60)
    target = tmp_path / "export"
    target.mkdir()
    log = tmp_path / "writer.log"
    export = spawn_export(
        target, ("--stream", "--data-only", "--batch-size", "5"), media.parent, "manifest:2"
    )
    try:
        wait_stopped(export, must_stop=True)
        writer = spawn_writer(media.parent, "rows", "--log", str(log), "--transactions", "40")
        code, _, err = finish(writer)
        assert code == 0, err
        # The writer committed while the export was frozen inside its snapshot.
        assert export.poll() is None
        entries = read_log(log)
        assert len(entries) == 40
        final = entries[-1]["counts"]
        assert final != initial and counts() == final
    finally:
        export.send_signal(signal.SIGCONT)
    code, _, err = finish(export)
    assert code == 0, err
    generation = check_export_of_one_moment(target, {0: initial})
    assert generation == 0


def test_export_while_a_writer_keeps_committing(media, rows_archive, tmp_path, db_vendor):
    """The writer runs before, during and after a whole export. The export's marker says which
    generation its snapshot is; the manifest's counts must be that generation's, the writer
    must have committed during the export after that generation (so the snapshot really was
    kept against newer commits), and the export must verify."""
    initial = rows_archive(1500)
    target = tmp_path / "export"
    target.mkdir()
    log, stop = tmp_path / "writer.log", tmp_path / "stop"
    writer = spawn_writer(media.parent, "rows", "--log", str(log), "--stop-file", str(stop))
    try:
        deadline = time.monotonic() + 60
        while len(read_log(log)) < 5:
            assert writer.poll() is None, writer.communicate()
            assert time.monotonic() < deadline, "the writer never committed"
            time.sleep(0.01)
        started = time.time()
        export = spawn_export(
            target, ("--stream", "--data-only", "--batch-size", "5"), media.parent
        )
        code, _, err = finish(export)
        ended = time.time()
        assert code == 0, err
    finally:
        stop.touch()
    code, _, err = finish(writer)
    assert code == 0, err
    entries = read_log(log)
    states = {0: initial} | {e["generation"]: e["counts"] for e in entries}
    generation = check_export_of_one_moment(target, states)
    # What the export saw: the commits before it started at least, and not the last ones.
    assert generation >= 5
    during = [e for e in entries if started <= e["committed_at"] <= ended]
    after_snapshot = [e for e in during if e["generation"] > generation]
    assert after_snapshot, (
        f"no commit after the snapshot (generation {generation}) and before the export ended: "
        f"{len(during)} commits during {ended - started:.2f} s of export on {db_vendor}"
    )
    # The commits after the snapshot changed what the export would otherwise have held.
    assert any(e["counts"] != states[generation] for e in after_snapshot)


# -- files -----------------------------------------------------------------------------------


@pytest.fixture
def files_archive(media):
    generate_archive(documents=12, seed=3)
    return media


def replace_without_lock(document: Document) -> str:
    """What a careless writer does: new bytes and checksum, no media lock. The new checksum."""
    path = document.source_path
    data = path.read_bytes() + b"\nreplaced without the media lock\n"
    temp = path.with_name(path.name + ".new")
    temp.write_bytes(data)
    os.replace(temp, path)
    document.checksum = hashlib.sha256(data).hexdigest()
    document.save()
    return document.checksum


def exported_original(target: Path, pk: int) -> tuple[str, str]:
    """(the record's checksum, the sha256 of the exported original) of document ``pk``."""
    [record] = [
        r for r in manifest_records(target) if r["model"] == "documents.document" and r["pk"] == pk
    ]
    data = (target / record["__exported_file_name__"]).read_bytes()
    return record["fields"]["checksum"], hashlib.sha256(data).hexdigest()


def test_a_cooperating_writer_waits_for_the_export(files_archive, tmp_path):
    """The export freezes at its first file copy, holding the media lock; a writer that takes
    the lock to replace the last document's file blocks until the export ended, and the export
    holds that document's old file with its old checksum."""
    last = Document.global_objects.order_by("pk").last()
    old_checksum = last.checksum
    target = tmp_path / "export"
    target.mkdir()
    log = tmp_path / "writer.log"
    export = spawn_export(target, ("--stream",), files_archive.parent, "file:1")
    writer = None
    try:
        wait_stopped(export, must_stop=True)
        writer = spawn_writer(
            files_archive.parent, "replace-file", "--document", str(last.pk), "--log", str(log)
        )
        deadline = time.monotonic() + 60
        while not read_log(log):
            assert writer.poll() is None, writer.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.01)
        time.sleep(1.0)
        assert [e["event"] for e in read_log(log)] == ["waiting"], "the lock did not hold"
        resumed = time.time()
    finally:
        export.send_signal(signal.SIGCONT)
    code, _, err = finish(export)
    assert code == 0, err
    code, _, err = finish(writer)
    assert code == 0, err
    events = {e["event"]: e for e in read_log(log)}
    assert events["acquired"]["time"] > resumed
    verify(target)
    assert exported_original(target, last.pk) == (old_checksum, old_checksum)
    last.refresh_from_db()
    assert last.checksum == events["done"]["checksum"] != old_checksum
    # The next export takes the new file.
    call_command("document_exporter", str(target), "--stream", "--no-progress-bar", verbosity=0)
    verify(target)
    assert exported_original(target, last.pk) == (last.checksum, last.checksum)


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("--stream",), id="stream"),
        # The snapshot is the database's; which exporter or sink meets the file is not.
        pytest.param((), id="classic", marks=pytest.mark.one_database),
        pytest.param(
            ("--stream", "-z", "-zn", "backup"), id="stream-zip", marks=pytest.mark.one_database
        ),
    ],
)
@pytest.mark.parametrize("strict", [True, False], ids=["strict", "partial"])
def test_a_file_replaced_without_the_lock_fails_the_export(files_archive, tmp_path, args, strict):
    """The export freezes at its first file copy (document 1's original), inside its snapshot;
    the last document's file and checksum are replaced without the media lock; the export,
    resumed, finds the copied bytes do not match the snapshot's checksum. With --strict it
    fails naming the document and the file, and leaves the previous export untouched; without,
    it exports everything else, keeps the previous good copy (in a directory) and exits 3. The
    next run succeeds."""
    data_dir = files_archive.parent
    target = tmp_path / "export"
    target.mkdir()
    call_command("document_exporter", str(target), *args, "--no-progress-bar", verbosity=0)
    before = tree_digest(target)
    documents = list(Document.global_objects.order_by("pk"))
    first, last = documents[0], documents[-1]
    # A new mtime, same bytes: the first document's original is copied again, and frozen in.
    os.utime(first.source_path, ns=(10**18, 10**18))
    # Into a zip, the first write is the local header of that original's entry.
    stop_at = "zip:1" if "-z" in args else "file:1"
    export = spawn_export(target, (*args, *(["--strict"] if strict else [])), data_dir, stop_at)
    try:
        wait_stopped(export, must_stop=True)
        new_checksum = replace_without_lock(last)
    finally:
        export.send_signal(signal.SIGCONT)
    code, _, err = finish(export)
    assert "Traceback" not in err, err
    assert str(last.source_path) in err and "changed during the export" in err, err
    assert new_checksum in err and "run the export again" in err, err
    if strict:
        assert code == 1, err
        assert f"Document {last.pk} (" in err, err
        assert tree_digest(target) == before
    else:
        assert code == 3, err
        assert f"document {last.pk} (" in err, err
        after = tree_digest(target)
        if "-z" not in args:
            # Everything but metadata.json (which records the problem) as it was: the previous
            # good copy of the replaced file was kept.
            assert {k: v for k, v in after.items() if k != "metadata.json"} == {
                k: v for k, v in before.items() if k != "metadata.json"
            }
    # The next run exports the new file with its new checksum.
    call_command("document_exporter", str(target), *args, "--no-progress-bar", verbosity=0)
    if "-z" in args:
        verify(target / "backup.zip")
        return
    verify(target)
    assert exported_original(target, last.pk) == (new_checksum, new_checksum)
