"""document_importer as users run it: what it refuses, how it stops, what it leaves.

Real processes against the test database: an unknown field, a media directory that holds
files, a passphrase the export has no use for (or none where it needs one), bad options; a
SIGINT or SIGTERM at a seeded point of the load or of the file stage (no temporary file left,
the database as it was or loaded, the hint that resumes); files the export recorded as problems
(imported, listed, exit status 3); the exporter's own files in the export.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from documents.models import Document
from exporter.batches import MAX_BATCH_SIZE
from exporter.errors import ImportUsageError
from exporter.readback.importing import ArchiveImporter, ImportOptions
from exporter.readback.opening import open_source
from exporter.site_plan import load_plan
from tests.helpers.archives import database_state, wipe
from tests.helpers.exports import (
    FILE,
    PASSPHRASE,
    add_unknown_field,
    documents,
    export,
    record_problem,
    records,
)
from tests.helpers.processes import ROOT, command_environment, run_import, temp_files
from tests.helpers.stop_points import spawn_import, wait_stopped

pytestmark = pytest.mark.django_db(transaction=True)

DOCUMENTS = 5


ARCHIVE = {"documents": DOCUMENTS, "seed": 41}


def media_files(media: Path) -> dict[str, bytes]:
    return {
        p.relative_to(media).as_posix(): p.read_bytes()
        for p in sorted(media.rglob("*"))
        if p.is_file() and p.name != "media.lock"
    }


def test_an_unknown_field_is_an_error_naming_the_record(archive, tmp_path):
    target = export(tmp_path / "e")
    index, tag = add_unknown_field(target)
    wipe(archive)
    before = database_state()
    done = run_import(target, "--no-progress-bar", data_dir=tmp_path)
    assert done.returncode == 1, done.stderr
    assert (
        f"manifest.json record {index} (documents.tag pk={tag['pk']}): unknown field "
        "'colour_name': documents.tag has no such field here."
    ) in done.stderr
    assert database_state() == before
    assert media_files(archive) == {}


def test_a_media_directory_holding_files_is_refused_unless_force(archive, tmp_path):
    target = export(tmp_path / "e")
    files = media_files(archive)
    by_folder = {name.split("/")[0] for name in files}
    wipe(archive)
    # Another archive's files (here: this one's, restored by hand) in the media directory.
    for name, data in files.items():
        (archive / name).parent.mkdir(parents=True, exist_ok=True)
        (archive / name).write_bytes(data)
    before = database_state()
    done = run_import(target, "--no-progress-bar", data_dir=tmp_path)
    assert done.returncode == 1, done.stderr
    assert f"The media directory {archive.resolve()} already holds {len(files)} files (" in (
        done.stderr
    )
    for folder in by_folder:
        count = sum(1 for name in files if name.startswith(f"{folder}/"))
        assert f"{folder} {count}" in done.stderr
    assert "pass --force" in done.stderr
    assert database_state() == before
    assert media_files(archive) == files
    forced = run_import(target, "--force", "--no-progress-bar", data_dir=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert Document.global_objects.count() == DOCUMENTS
    assert media_files(archive) == files


def test_the_media_lock_and_temporary_files_do_not_count(archive, tmp_path):
    target = export(tmp_path / "e")
    files = media_files(archive)
    wipe(archive)
    (archive / "media.lock").write_text("")
    (archive / "originals").mkdir(exist_ok=True)
    stray = archive / "originals" / ".unrelated.pdf.0123456789ab.tmp"
    stray.write_bytes(b"a stopped copy of a file this export does not have")
    done = run_import(target, "--no-progress-bar", data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    assert media_files(archive) == {
        **files,
        stray.relative_to(archive).as_posix(): stray.read_bytes(),
    }


PASSPHRASE_SOURCES = {
    "--passphrase": (["--passphrase", "x"], {}, "(--passphrase)"),
    "--passphrase-file": (["--passphrase-file", "{file}"], {}, "(--passphrase-file "),
    "environment": ([], {"DOCUMENT_EXPORTER_PASSPHRASE": "x"}, "DOCUMENT_EXPORTER_PASSPHRASE"),
}


@pytest.mark.one_database  # refused before anything is loaded
@pytest.mark.parametrize("source", PASSPHRASE_SOURCES)
def test_a_passphrase_for_a_plain_export_is_refused(archive, tmp_path, source):
    target = export(tmp_path / "e")
    secret = tmp_path / "passphrase.txt"
    secret.write_text("x\n")
    args, env, named = PASSPHRASE_SOURCES[source]
    args = [a.replace("{file}", str(secret)) for a in args]
    wipe(archive)
    before = database_state()
    done = run_import(target, *args, "--no-progress-bar", data_dir=tmp_path, env=env)
    assert done.returncode == 2, done.stderr
    assert "A passphrase was given" in done.stderr and named in done.stderr
    assert "not encrypted" in done.stderr and "import it without a passphrase" in done.stderr
    assert database_state() == before


def test_an_encrypted_export_needs_its_passphrase(archive, tmp_path):
    target = export(tmp_path / "e", "--passphrase", PASSPHRASE)
    wipe(archive)
    before = database_state()
    done = run_import(target, "--no-progress-bar", data_dir=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "secrets are encrypted" in done.stderr and "--passphrase-file" in done.stderr
    assert database_state() == before
    secret = tmp_path / "passphrase.txt"
    secret.write_text(PASSPHRASE + "\n")
    done = run_import(
        target, "--passphrase-file", str(secret), "--no-progress-bar", data_dir=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr
    assert Document.global_objects.count() == DOCUMENTS


BAD_USAGE = {
    "batch size 0": (["--batch-size", "0"], "--batch-size"),
    "batch size abc": (["--batch-size", "abc"], "--batch-size"),
    "data and files only": (["--data-only", "--files-only"], "exclude each other"),
    "two passphrase sources": (["--passphrase", "a", "--ask-passphrase"], "not allowed with"),
}


@pytest.mark.one_database  # refused while parsing the command line
@pytest.mark.parametrize("case", BAD_USAGE)
def test_bad_usage_is_status_2(archive, tmp_path, case):
    args, message = BAD_USAGE[case]
    done = run_import(tmp_path, *args, data_dir=tmp_path)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr


@pytest.mark.one_database  # refused before the database is read
@pytest.mark.parametrize("batch_size", [0, MAX_BATCH_SIZE + 1, True, "5"])
def test_the_importer_refuses_what_is_not_a_batch_size(archive, tmp_path, batch_size):
    target = export(tmp_path / "e")
    wipe(archive)
    before = database_state()
    importer = ArchiveImporter(
        open_source(target), load_plan(), ImportOptions(batch_size=batch_size)
    )
    with pytest.raises(ImportUsageError) as refused:
        importer.run()
    assert str(refused.value) == (
        f"--batch_size must be a whole number, at least 1 and at most {MAX_BATCH_SIZE}; "
        f"got {batch_size!r}."
    )
    assert database_state() == before


def test_a_missing_source_fails_clearly(archive, tmp_path):
    done = run_import(tmp_path / "nowhere", data_dir=tmp_path)
    assert done.returncode == 1 and "Cannot import: " in done.stderr
    assert "does not exist" in done.stderr


def test_a_failed_file_stage_says_files_only_and_leaves_no_temporary_file(archive, tmp_path):
    target = export(tmp_path / "e")
    files = media_files(archive)
    document = documents(target)[-1]
    good = (target / document[FILE]).read_bytes()
    broken = bytearray(good)
    broken[len(broken) // 2] ^= 0xFF
    (target / document[FILE]).write_bytes(bytes(broken))
    wipe(archive)
    done = run_import(target, "--no-progress-bar", data_dir=tmp_path)
    assert done.returncode == 1, done.stderr
    assert f"document {document['pk']} failed: its sha256 is" in done.stderr
    assert "--files-only" in done.stderr and "--force" not in done.stderr
    assert temp_files(archive, pattern="*.tmp") == []
    assert Document.global_objects.count() == DOCUMENTS  # the load stands
    (target / document[FILE]).write_bytes(good)
    resumed = run_import(target, "--files-only", "--no-progress-bar", data_dir=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert media_files(archive) == files


def stop_and_signal(manage_args: list[str], data_dir: Path, stop_at: str, signum: int):
    """Run manage.py frozen at ``stop_at``, send ``signum`` there; its status and stderr."""
    process = spawn_import(manage_args, command_environment(data_dir), stop_at)
    try:
        assert wait_stopped(process), f"{stop_at} not reached: {process.stderr.read()}"
        process.send_signal(signum)
        process.send_signal(signal.SIGCONT)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert f"STOPPED {stop_at}" in err, err
    assert "Traceback" not in err, err
    return process.returncode, err


FILE_STAGE_STOPS = [
    # Just after a temporary file was created, before the caller holds its descriptor.
    ("temp:1", signal.SIGINT),
    ("temp:4", signal.SIGTERM),
    # In the middle of a copy: a partial temporary file on disk.
    ("copy:3", signal.SIGINT),
    ("copy:7", signal.SIGTERM),
]


@pytest.mark.one_database  # the rows are committed: the subject is the files
@pytest.mark.parametrize(("stop_at", "signum"), FILE_STAGE_STOPS)
def test_a_signal_in_the_file_stage_leaves_no_temporary_file(archive, tmp_path, stop_at, signum):
    target = export(tmp_path / "e")
    files = media_files(archive)
    wipe(archive)
    args = ["document_importer", str(target), "--no-progress-bar"]
    status, err = stop_and_signal(args, tmp_path, stop_at, signum)
    name = signal.Signals(signum).name
    assert status == 128 + signum, err
    assert f"Stopped by {name}. The database is loaded; run the import again with --files-only" in (
        err
    )
    assert temp_files(archive, pattern="*.tmp") == []
    assert Document.global_objects.count() == DOCUMENTS
    resumed = run_import(target, "--files-only", "--no-progress-bar", data_dir=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert media_files(archive) == files
    assert temp_files(archive, pattern="*.tmp") == []


def test_a_signal_during_the_load_leaves_the_database_unchanged(archive, tmp_path):
    target = export(tmp_path / "e")
    wipe(archive)
    before = database_state()
    args = ["document_importer", str(target), "--no-progress-bar", "--batch-size", "3"]
    status, err = stop_and_signal(args, tmp_path, "bulk:4", signal.SIGTERM)
    assert status == 143, err
    assert "Stopped by SIGTERM. The load is one transaction: the database is as it was" in err
    assert database_state() == before
    assert media_files(archive) == {}


def test_files_only_removes_what_a_killed_import_left(archive, tmp_path):
    target = export(tmp_path / "e")
    files = media_files(archive)
    wipe(archive)
    args = ["document_importer", str(target), "--no-progress-bar"]
    process = spawn_import(args, command_environment(tmp_path), "copy:4")
    assert wait_stopped(process)
    process.kill()  # kill -9: no clean-up ran
    process.communicate()
    left = temp_files(archive, pattern="*.tmp")
    assert len(left) == 1
    resumed = run_import(target, "--files-only", "--no-progress-bar", data_dir=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "removed 1 temporary files an earlier, stopped import had left" in resumed.stderr
    assert temp_files(archive, pattern="*.tmp") == []
    assert media_files(archive) == files


def test_files_recorded_as_problems_are_skipped_and_listed_with_status_3(archive, tmp_path):
    target = export(tmp_path / "e")
    files = media_files(archive)
    first, second = documents(target)[:2]
    missing = record_problem(target, first)
    kept = record_problem(target, second, problem="damaged", kept=True, remove=False)
    wipe(archive)
    done = run_import(target, "--no-progress-bar", data_dir=tmp_path)
    assert done.returncode == 3, done.stderr
    assert f"Imported {sum(1 for _ in records(target))} records" in done.stdout
    assert "1 not imported (recorded as problems)" in done.stdout
    title = first["fields"]["title"]
    assert (
        f"Warning: Recorded by the export: document {first['pk']} ({title!r}): original "
        f"{missing} missing"
    ) in done.stderr
    assert f"document {second['pk']}" in done.stderr and kept in done.stderr
    assert "The export's copy was imported" in done.stderr
    assert "Imported with problems: the export recorded 2 document files as problems" in (
        done.stderr
    )
    assert Document.global_objects.count() == DOCUMENTS
    imported = media_files(archive)
    left_out = Document.global_objects.get(pk=first["pk"]).source_path.relative_to(archive)
    assert set(files) - set(imported) == {left_out.as_posix()}
    assert all(imported[name] == files[name] for name in imported)


def test_the_exporters_own_files_are_not_read(archive, tmp_path):
    target = export(tmp_path / "e")
    for name in (".document_exporter-run", ".document_exporter-x-manifest.json"):
        (target / name).write_text("not json [")
    wipe(archive)
    done = run_import(target, "--no-progress-bar", data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    assert Document.global_objects.count() == DOCUMENTS


def test_help_documents_force_and_the_exit_statuses(tmp_path):
    done = subprocess.run(
        [sys.executable, "manage.py", "document_importer", "--help"],
        cwd=ROOT,
        env=command_environment(tmp_path),
        capture_output=True,
        text=True,
    )
    text = " ".join(done.stdout.split())
    assert "a media directory that already holds files" in text
    assert "0 imported; 1 failed" in text and "3 imported with problems" in text
    assert "130 or 143" in text


def test_a_partial_export_verifies_and_imports_with_status_3(archive, tmp_path):
    """The exporter's own record of a missing original, end to end."""
    from django.core.management import CommandError

    document = Document.global_objects.order_by("pk").first()
    document.source_path.unlink()
    target = tmp_path / "e"
    target.mkdir()
    with pytest.raises(CommandError) as exported:
        export(target)
    assert exported.value.returncode == 3
    verified = subprocess.run(
        [sys.executable, "manage.py", "verify_export", str(target)],
        cwd=ROOT,
        env=command_environment(tmp_path),
        capture_output=True,
        text=True,
    )
    assert verified.returncode == 3, verified.stderr
    assert f"Recorded by the export: document {document.pk} ({document.title!r})" in (
        verified.stderr
    )
    wipe(archive)
    done = run_import(target, "--no-progress-bar", data_dir=tmp_path)
    assert done.returncode == 3, done.stderr
    assert f"Warning: Recorded by the export: document {document.pk}" in done.stderr
    assert Document.global_objects.count() == DOCUMENTS
    assert not document.source_path.exists()
